// Discovery and session state: Get-Help and Get-Command (from the cmdlet
// declarations), Get-Variable, Set-Variable, Get-Alias.

import type { CmdletInfo, ParameterInfo } from '../../cmdlets/contract.js';
import { StatementTerminatingError } from '../runtime/errors.js';
import { hasWildcard, wildcardPattern } from '../runtime/operators.js';
import { SHOULD_PROCESS_PARAMETERS, parameterTypeDisplay } from '../runtime/parameters.js';
import { FormattedText } from '../formatting/views.js';
import { PSObject, toPSString } from '../runtime/values.js';
import { P } from './objects.js';
import { builtin, type Builtin, type BuiltinCall } from './types.js';

const S = (name: string, extra = {}): ReturnType<typeof P> => P(name, 'SwitchParameter', extra);

function typeToken(p: ParameterInfo): string {
  if (p.type === 'SwitchParameter') return '';
  if ((p.type === 'Enum' || p.type === 'Flags') && p.values?.length) return ` {${p.values.join(' | ')}}`;
  return ` <${parameterTypeDisplay(p)}>`;
}

function inSet(p: ParameterInfo, set: string): boolean {
  return !p.sets?.length || p.sets.includes(set);
}

function mandatoryIn(p: ParameterInfo, set: string): boolean {
  if (!p.mandatory) return false;
  return p.mandatory === true ? true : p.mandatory.includes(set);
}

/** One SYNTAX line per parameter set, in PowerShell's notation. */
export function syntaxLines(info: CmdletInfo): string[] {
  const sets = info.parameterSets.length ? info.parameterSets : [info.defaultParameterSet];
  return sets.map((set) => {
    const params = info.parameters.filter((p) => inSet(p, set));
    const positional = params.filter((p) => p.position !== undefined).sort((a, b) => a.position! - b.position!);
    const named = params.filter((p) => p.position === undefined).sort((a, b) => Number(mandatoryIn(b, set)) - Number(mandatoryIn(a, set)));
    const parts = [info.name];
    for (const p of [...positional, ...named]) {
      const mandatory = mandatoryIn(p, set);
      const nameToken = p.position !== undefined ? `[-${p.name}]` : `-${p.name}`;
      const body = nameToken + typeToken(p);
      parts.push(mandatory ? body : `[${body}]`);
    }
    if (info.changesState) parts.push('[-Confirm]', '[-WhatIf]');
    parts.push('[<CommonParameters>]');
    return parts.join(' ');
  });
}

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => (l ? ' '.repeat(n) + l : l)).join('\n');
}

function pipelineInput(p: ParameterInfo): string {
  const kinds: string[] = [];
  if (p.valueFromPipeline) kinds.push('ByValue');
  if (p.valueFromPipelineByPropertyName) kinds.push('ByPropertyName');
  return kinds.length ? `True (${kinds.join(', ')})` : 'False';
}

function parameterHelp(p: ParameterInfo): string {
  const lines = [`-${p.name}${typeToken(p)}`];
  if (p.description) lines.push(indent(p.description, 4));
  lines.push('');
  lines.push(indent([
    `Required?                    ${p.mandatory ? 'true' : 'false'}`,
    `Position?                    ${p.position !== undefined ? p.position + 1 : 'named'}`,
    'Default value',
    `Accept pipeline input?       ${pipelineInput(p)}`,
    `Accept wildcard characters?  false`,
  ].join('\n'), 4));
  if (p.aliases?.length) lines.push(indent(`Aliases                      ${p.aliases.join(', ')}`, 4));
  return lines.join('\n');
}

function exampleHelp(info: CmdletInfo): string {
  return info.examples.map((ex, i) => [
    `-------------------------- Example ${i + 1} --------------------------`,
    '',
    `${ex.code}`,
    '',
    ex.remarks,
  ].join('\n')).join('\n\n');
}

export function renderHelp(info: CmdletInfo, mode: { examples?: boolean; parameter?: string }): string {
  const out: string[] = ['', 'NAME', indent(info.name, 4), '', 'SYNOPSIS', indent(info.synopsis, 4), ''];
  if (mode.parameter !== undefined) {
    const re = wildcardPattern(mode.parameter);
    const params = [...info.parameters, ...(info.changesState ? SHOULD_PROCESS_PARAMETERS : [])].filter((p) => re.test(p.name));
    return ['', ...params.map((p) => indent(parameterHelp(p), 0)), '', ''].join('\n');
  }
  if (mode.examples) {
    out.push('', 'EXAMPLES', indent(exampleHelp(info) || 'There are no examples for this cmdlet.', 4), '', '');
    return out.join('\n');
  }
  out.push('', 'SYNTAX', indent(syntaxLines(info).join('\n\n'), 4), '', '');
  out.push('DESCRIPTION', indent(info.description ?? info.synopsis, 4), '', '');
  out.push('PARAMETERS');
  const params = [...info.parameters, ...(info.changesState ? SHOULD_PROCESS_PARAMETERS : [])];
  for (const p of params) out.push(indent(parameterHelp(p), 4), '');
  out.push(indent([
    '<CommonParameters>',
    '    This cmdlet supports the common parameters: Verbose, Debug,',
    '    ErrorAction, ErrorVariable, WarningAction, WarningVariable,',
    '    OutBuffer, PipelineVariable, and OutVariable. For more information, see',
    '    about_CommonParameters (https:/go.microsoft.com/fwlink/?LinkID=113216).',
  ].join('\n'), 4), '');
  if (info.outputType) out.push('OUTPUTS', indent(info.outputType, 4), '', '');
  if (info.examples.length) out.push('EXAMPLES', indent(exampleHelp(info), 4), '', '');
  out.push('');
  return out.join('\n');
}

function commandInfos(call: BuiltinCall): Array<{ info: CmdletInfo; remote: boolean }> {
  return [
    ...call.rt.catalog.cmdlets.map((info) => ({ info, remote: true })),
    ...call.rt.builtins.map((b) => ({ info: b.info as CmdletInfo, remote: false })),
  ];
}

const getHelp = builtin('Get-Help', 'Displays information about cmdlets and concepts.', [
  P('Name', 'String', { position: 0 }),
  S('Full'),
  S('Detailed'),
  S('Examples'),
  P('Parameter', 'String'),
], async (call) => {
  if (!call.params.has('Name')) {
    return [new FormattedText([
      '',
      'TOPIC',
      '    Interchange Management Shell help',
      '',
      'SHORT DESCRIPTION',
      '    Get-Command lists the cmdlets. Get-Help <cmdlet> shows the syntax, the parameters and',
      '    examples of a cmdlet; Get-Help <cmdlet> -Examples shows only the examples.',
      '',
      '',
    ].join('\n'))];
  }
  const name = toPSString(call.params.get('Name'));
  const all = commandInfos(call);
  const alias = call.rt.aliasNames().find((a) => a.alias.toLowerCase() === name.toLowerCase());
  const target = alias ? alias.target : name;
  if (hasWildcard(target)) {
    const re = wildcardPattern(target);
    const hits = all.filter((c) => re.test(c.info.name)).sort((a, b) => a.info.name.localeCompare(b.info.name));
    if (hits.length !== 1) {
      return hits.map((h) => new PSObject('HelpInfoShort', [['Name', h.info.name], ['Category', 'Cmdlet'], ['Synopsis', h.info.synopsis]]));
    }
    return [new FormattedText(renderHelp(hits[0].info, { examples: call.params.get('Examples') === true, parameter: call.params.has('Parameter') ? toPSString(call.params.get('Parameter')) : undefined }))];
  }
  const hit = all.find((c) => c.info.name.toLowerCase() === target.toLowerCase());
  if (!hit) {
    throw new StatementTerminatingError(call.error(
      `Get-Help could not find ${name} in a help file in this session. To download updated help topics type: "Update-Help". To get help online, search for the help topic in the TechNet library at https:/go.microsoft.com/fwlink/?LinkID=107116.`,
      'HelpNotFound', 'ResourceUnavailable', 'HelpNotFoundException', name,
    ));
  }
  return [new FormattedText(renderHelp(hit.info, { examples: call.params.get('Examples') === true, parameter: call.params.has('Parameter') ? toPSString(call.params.get('Parameter')) : undefined }))];
}, { aliases: ['help', 'man'] });

const COMMAND_TYPE = { name: 'System.Management.Automation.CommandInfo', properties: [
  { name: 'CommandType', type: 'String' as const }, { name: 'Name', type: 'String' as const }, { name: 'Version', type: 'String' as const }, { name: 'Source', type: 'String' as const },
], defaultTableView: ['CommandType', 'Name', 'Version', 'Source'], defaultListView: [] };

const getCommand = builtin('Get-Command', 'Gets all commands.', [
  P('Name', 'String', { position: 0, multiValued: true }),
  P('Verb', 'String', { multiValued: true }),
  P('Noun', 'String', { multiValued: true }),
  P('Module', 'String', { multiValued: true }),
], async (call) => {
  if (!call.rt.types.get(COMMAND_TYPE.name)) call.rt.types.add(COMMAND_TYPE);
  const list = (n: string): string[] | undefined => (call.params.has(n) ? [call.params.get(n)].flat().map(toPSString) : undefined);
  const names = list('Name');
  const verbs = list('Verb');
  const nouns = list('Noun');
  const modules = list('Module');
  const test = (patterns: string[] | undefined, value: string): boolean => !patterns || patterns.some((p) => wildcardPattern(p).test(value));
  const entries: PSObject[] = [];
  for (const { info, remote } of commandInfos(call)) {
    const [verb, noun] = info.name.split('-');
    const source = remote ? 'Interchange' : 'Microsoft.PowerShell';
    if (!test(names, info.name) || !test(verbs, verb ?? '') || !test(nouns, noun ?? '') || !test(modules, source)) continue;
    entries.push(new PSObject(COMMAND_TYPE.name, [['CommandType', 'Cmdlet'], ['Name', info.name], ['Version', remote ? '' : '5.1'], ['Source', source]]));
  }
  if (names && !verbs && !nouns) {
    for (const a of call.rt.aliasNames()) {
      if (test(names, a.alias)) entries.push(new PSObject(COMMAND_TYPE.name, [['CommandType', 'Alias'], ['Name', `${a.alias} -> ${a.target}`], ['Version', ''], ['Source', '']]));
    }
  }
  entries.sort((a, b) => toPSString(a.get('Name')).localeCompare(toPSString(b.get('Name')), 'en', { sensitivity: 'base' }));
  if (names && entries.length === 0 && names.every((n) => !hasWildcard(n))) {
    throw new StatementTerminatingError(call.error(
      `The term '${names[0]}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`,
      'CommandNotFoundException', 'ObjectNotFound', 'CommandNotFoundException', names[0],
    ));
  }
  return entries;
}, { aliases: ['gcm'] });

const VARIABLE_TYPE = { name: 'System.Management.Automation.PSVariable', properties: [
  { name: 'Name', type: 'String' as const }, { name: 'Value', type: 'Object' as const },
], defaultTableView: ['Name', 'Value'], defaultListView: [] };

const getVariable = builtin('Get-Variable', 'Gets the variables in the current console.', [
  P('Name', 'String', { position: 0, multiValued: true }),
  S('ValueOnly'),
], async (call) => {
  if (!call.rt.types.get(VARIABLE_TYPE.name)) call.rt.types.add(VARIABLE_TYPE);
  const patterns = call.params.has('Name') ? [call.params.get('Name')].flat().map(toPSString) : ['*'];
  const vars = call.rt.variables();
  const out: unknown[] = [];
  for (const p of patterns) {
    const re = wildcardPattern(p);
    const hits = vars.filter((v) => re.test(v.name));
    if (hits.length === 0 && !hasWildcard(p)) {
      call.writeError(call.error(`Cannot find a variable with the name '${p}'.`, 'VariableNotFound', 'ObjectNotFound', 'ItemNotFoundException', p));
      continue;
    }
    for (const v of hits) out.push(call.params.get('ValueOnly') === true ? v.value : new PSObject(VARIABLE_TYPE.name, [['Name', v.name], ['Value', v.value]]));
  }
  return out;
}, { aliases: ['gv'] });

const setVariable = builtin('Set-Variable', 'Sets the value of a variable. Creates the variable if one with the requested name does not exist.', [
  P('Name', 'String', { position: 0, mandatory: true }),
  P('Value', 'String', { position: 1, valueFromPipeline: true }),
  P('Scope', 'String'),
  S('PassThru'),
], async (call) => {
  const name = toPSString(call.params.get('Name'));
  const value = call.params.has('Value') ? call.params.get('Value') : call.input !== undefined ? (call.input.length === 1 ? call.input[0] : call.input) : null;
  const scope = call.params.has('Scope') ? toPSString(call.params.get('Scope')).toLowerCase() : '';
  call.rt.setVariable(scope === 'global' || scope === 'script' ? `${scope}:${name}` : name, value);
  return call.params.get('PassThru') === true ? [new PSObject(VARIABLE_TYPE.name, [['Name', name], ['Value', value]])] : [];
}, { aliases: ['sv', 'set'] });

const getAlias = builtin('Get-Alias', 'Gets the aliases for the current session.', [
  P('Name', 'String', { position: 0, multiValued: true }),
], async (call) => {
  if (!call.rt.types.get(COMMAND_TYPE.name)) call.rt.types.add(COMMAND_TYPE);
  const patterns = call.params.has('Name') ? [call.params.get('Name')].flat().map(toPSString) : ['*'];
  return call.rt.aliasNames()
    .filter((a) => patterns.some((p) => wildcardPattern(p).test(a.alias)))
    .sort((a, b) => a.alias.localeCompare(b.alias))
    .map((a) => new PSObject(COMMAND_TYPE.name, [['CommandType', 'Alias'], ['Name', `${a.alias} -> ${a.target}`], ['Version', ''], ['Source', '']]));
}, { aliases: ['gal'] });

export const sessionBuiltins: Builtin[] = [getHelp, getCommand, getVariable, setVariable, getAlias];
