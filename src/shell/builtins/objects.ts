// Where-Object, ForEach-Object, Select-Object, Sort-Object, Measure-Object, Get-Member.

import type { LocalParameterInfo } from '../runtime/parameters.js';
import { binaryOperation, compareValues, hasWildcard, scalarEquals } from '../runtime/operators.js';
import { getMember, invokeMethod } from '../runtime/members.js';
import { expandPropertyPatterns, FormattedText, propertyNames, renderTable } from '../formatting/views.js';
import { Hashtable, PSObject, ScriptBlock, collect, toBool, toPSString, typeNameOf } from '../runtime/values.js';
import { builtin, type Builtin, type BuiltinCall } from './types.js';

export function P(name: string, type: LocalParameterInfo['type'] = 'String', extra: Partial<LocalParameterInfo> = {}): LocalParameterInfo {
  return { name, type, description: extra.description ?? '', ...extra };
}
const S = (name: string, extra: Partial<LocalParameterInfo> = {}): LocalParameterInfo => P(name, 'SwitchParameter', extra);

function inputOf(call: BuiltinCall): unknown[] {
  if (call.input !== undefined) return call.input;
  if (call.params.has('InputObject')) {
    const v = call.params.get('InputObject');
    return Array.isArray(v) ? v : [v];
  }
  return [];
}

function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

const WHERE_OPERATORS = [
  'EQ', 'NE', 'GT', 'GE', 'LT', 'LE', 'Like', 'NotLike', 'Match', 'NotMatch', 'Contains', 'NotContains', 'In', 'NotIn', 'Is', 'IsNot',
  'CEQ', 'CNE', 'CGT', 'CGE', 'CLT', 'CLE', 'CLike', 'CNotLike', 'CMatch', 'CNotMatch', 'CContains', 'CNotContains', 'CIn', 'CNotIn',
];

/** Property value of any object, or the result of a script block / calculated property. */
async function propertyOrExpression(call: BuiltinCall, obj: unknown, spec: unknown): Promise<unknown> {
  if (spec instanceof ScriptBlock) return collect(await call.rt.invokeScriptBlock(spec, obj, [obj]));
  return getMember(obj, toPSString(spec));
}

function streamed(b: Builtin, stream: NonNullable<Builtin['stream']>): Builtin {
  b.stream = stream;
  // All input at once is the same stream, collected.
  b.run = async (call) => {
    const out: unknown[] = [];
    const p = stream(call, async (o) => { out.push(o); });
    for (const o of call.input ?? []) await p.process(o);
    await p.end();
    return out;
  };
  return b;
}

/** Objects given with -InputObject when the cmdlet starts the pipeline. */
function inputObjects(call: BuiltinCall): unknown[] {
  if (call.input !== undefined || !call.params.has('InputObject')) return [];
  const v = call.params.get('InputObject');
  return Array.isArray(v) ? v : [v];
}

const whereObject = streamed(builtin('Where-Object', 'Selects objects from a collection based on their property values.', [
  P('Property', 'String', { position: 0, description: 'A property name, or a script block that returns true for the objects to keep.' }),
  P('Value', 'String', { position: 1 }),
  P('FilterScript', 'String'),
  P('InputObject', 'String', { valueFromPipeline: true }),
  ...WHERE_OPERATORS.map((o) => S(o)),
], async () => [], { aliases: ['where', '?'], examples: [{ code: "Get-ExchangeCertificate | Where-Object {$_.NotAfter -lt (Get-Date).AddDays(30)}", remarks: 'Certificates that expire within 30 days.' }, { code: 'Get-ExchangeCertificate | Where-Object Status -eq Valid', remarks: 'The short form.' }] }),
(call, emit) => {
  const script = call.params.get('FilterScript') ?? (call.params.get('Property') instanceof ScriptBlock ? call.params.get('Property') : undefined);
  const property = toPSString(call.params.get('Property'));
  const op = WHERE_OPERATORS.find((o) => call.params.get(o) === true);
  const value = call.params.get('Value');
  const keep = async (item: unknown): Promise<boolean> => {
    if (script instanceof ScriptBlock) return toBool(collect(await call.rt.invokeScriptBlock(script, item, [item])));
    const v = getMember(item, property);
    if (!op) return toBool(v);
    const r = binaryOperation('-' + op.toLowerCase(), v, value);
    return Array.isArray(r) ? r.length > 0 : toBool(r);
  };
  return {
    process: async (o) => {
      if (await keep(o)) await emit(o);
    },
    end: async () => {
      for (const o of inputObjects(call)) if (await keep(o)) await emit(o);
    },
  };
});

const forEachObject = streamed(builtin('ForEach-Object', 'Performs an operation against each item in a collection of input objects.', [
  P('Process', 'String', { position: 0, remaining: true, multiValued: true }),
  P('Begin', 'String'),
  P('End', 'String'),
  P('MemberName', 'String'),
  P('ArgumentList', 'String', { multiValued: true }),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async () => [], { aliases: ['foreach', '%'] }),
(call, emit) => {
  const rt = call.rt;
  let process = list(call.params.get('Process'));
  let begin = call.params.get('Begin') as ScriptBlock | undefined;
  let end = call.params.get('End') as ScriptBlock | undefined;
  const member = call.params.get('MemberName') ?? (process.length >= 1 && !(process[0] instanceof ScriptBlock) ? process[0] : undefined);
  const memberArgs = call.params.has('ArgumentList') ? list(call.params.get('ArgumentList')) : process.slice(1);
  if (member === undefined) {
    if (process.length >= 3) {
      begin = process[0] as ScriptBlock;
      end = process[process.length - 1] as ScriptBlock;
      process = process.slice(1, -1);
    } else if (process.length === 2) {
      begin = process[0] as ScriptBlock;
      process = process.slice(1);
    }
  }
  const emitAll = async (items: unknown[]): Promise<void> => {
    for (const o of items) await emit(o);
  };
  let begun = false;
  const start = async (): Promise<void> => {
    if (begun) return;
    begun = true;
    if (begin instanceof ScriptBlock) await emitAll(await rt.invokeScriptBlock(begin, null));
  };
  const one = async (item: unknown): Promise<void> => {
    rt.checkStopped();
    if (member !== undefined) {
      const name = toPSString(member);
      const isProperty = item instanceof PSObject ? item.has(name) : memberArgs.length === 0 && getMember(item, name) !== null;
      if (isProperty) {
        const v = getMember(item, name);
        await emitAll(Array.isArray(v) ? v : [v]);
      } else {
        await emit(await invokeMethod(item, name, memberArgs, rt));
      }
      return;
    }
    for (const block of process) if (block instanceof ScriptBlock) await emitAll(await rt.invokeScriptBlock(block, item, [item]));
  };
  return {
    process: async (o) => {
      await start();
      await one(o);
    },
    end: async () => {
      await start();
      // First in its pipeline, the process block runs once ($_ is $null) or over -InputObject.
      if (call.input === undefined) for (const o of call.params.has('InputObject') ? [call.params.get('InputObject')] : [null]) await one(o);
      if (end instanceof ScriptBlock) await emitAll(await rt.invokeScriptBlock(end, null));
    },
  };
});

function calculatedName(h: Hashtable): { name: string; expression: unknown } {
  let name: string | undefined;
  let expression: unknown;
  for (const [k, v] of h.entries()) {
    const key = toPSString(k).toLowerCase();
    if ('name'.startsWith(key) || 'label'.startsWith(key)) name = toPSString(v);
    else if ('expression'.startsWith(key)) expression = v;
  }
  return { name: name ?? toPSString(expression), expression };
}

const selectObject = builtin('Select-Object', 'Selects objects or object properties.', [
  P('Property', 'String', { position: 0, multiValued: true }),
  P('ExpandProperty', 'String'),
  P('ExcludeProperty', 'String', { multiValued: true }),
  P('First', 'Int32'),
  P('Last', 'Int32'),
  P('Skip', 'Int32'),
  P('Index', 'Int32', { multiValued: true }),
  S('Unique'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  let items = inputOf(call);
  const num = (n: string): number | undefined => (call.params.has(n) ? Math.trunc(Number(call.params.get(n))) : undefined);
  const skip = num('Skip');
  if (skip) items = items.slice(skip);
  if (call.params.has('Index')) items = list(call.params.get('Index')).map((i) => items[Math.trunc(Number(i))]).filter((x) => x !== undefined);
  const first = num('First');
  const last = num('Last');
  if (first !== undefined || last !== undefined) {
    const head = first !== undefined ? items.slice(0, first) : [];
    const tail = last !== undefined ? items.slice(Math.max(items.length - last, first ?? 0)) : [];
    items = [...head, ...tail];
  }
  const props = list(call.params.get('Property'));
  const exclude = list(call.params.get('ExcludeProperty')).map((x) => toPSString(x).toLowerCase());
  const expand = call.params.get('ExpandProperty');
  let out: unknown[] = [];
  for (const item of items) {
    if (props.length) {
      const obj = await projectObject(call, item, props, exclude);
      if (expand !== undefined) {
        out.push(...list(getMember(obj, toPSString(expand)) ?? getMember(item, toPSString(expand))));
        continue;
      }
      out.push(obj);
    } else if (expand !== undefined) {
      const name = toPSString(expand);
      const has = item instanceof PSObject ? item.has(name) : item instanceof Hashtable ? item.has(name) : getMember(item, name) !== null;
      if (!has) {
        call.writeError(call.error(`Property "${name}" cannot be found.`, 'ExpandPropertyNotFound', 'InvalidArgument', 'PSArgumentException', toPSString(item)));
        continue;
      }
      const v = getMember(item, name);
      if (Array.isArray(v)) out.push(...v);
      else out.push(v);
    } else {
      out.push(item);
    }
  }
  if (call.params.get('Unique') === true) {
    const unique: unknown[] = [];
    for (const o of out) if (!unique.some((u) => sameObject(u, o))) unique.push(o);
    out = unique;
  }
  return out;
}, { aliases: ['select'] });

/** Select-Object's projection: names, wildcards, script blocks and @{Name=...; Expression=...}. */
export async function projectObject(call: BuiltinCall, item: unknown, specs: unknown[], exclude: string[] = []): Promise<PSObject> {
  const typeName = item instanceof PSObject ? 'Selected.' + item.typeName : 'Selected.' + typeNameOf(item);
  const obj = new PSObject(typeName);
  for (const spec of specs) {
    if (spec instanceof Hashtable) {
      const { name, expression } = calculatedName(spec);
      obj.set(name, await propertyOrExpression(call, item, expression));
    } else if (spec instanceof ScriptBlock) {
      obj.set(spec.toString(), await propertyOrExpression(call, item, spec));
    } else {
      const pattern = toPSString(spec);
      const names = hasWildcard(pattern) ? expandPropertyPatterns(item, [pattern]) : [propertyNames(item).find((n) => n.toLowerCase() === pattern.toLowerCase()) ?? pattern];
      for (const n of names) if (!exclude.includes(n.toLowerCase())) obj.set(n, getMember(item, n));
    }
  }
  return obj;
}

function sameObject(a: unknown, b: unknown): boolean {
  if (a instanceof PSObject && b instanceof PSObject) {
    const an = a.names();
    return an.length === b.names().length && an.every((n) => scalarEquals(toPSString(a.get(n)), toPSString(b.get(n)), true));
  }
  return scalarEquals(a, b, true);
}

const sortObject = builtin('Sort-Object', 'Sorts objects by property values.', [
  P('Property', 'String', { position: 0, multiValued: true }),
  S('Descending'),
  S('Unique'),
  S('CaseSensitive'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const items = inputOf(call);
  const specs = list(call.params.get('Property'));
  const descending = call.params.get('Descending') === true;
  const cs = call.params.get('CaseSensitive') === true;
  const keyed: Array<{ item: unknown; keys: unknown[]; i: number }> = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const keys: unknown[] = [];
    if (specs.length === 0) keys.push(item);
    for (const s of specs) {
      const expr = s instanceof Hashtable ? calculatedName(s).expression ?? s.get('Expression') : s;
      keys.push(await propertyOrExpression(call, item, expr));
    }
    keyed.push({ item, keys, i });
  }
  const directions = specs.map((s) => (s instanceof Hashtable && s.has('Descending') ? toBool(s.get('Descending')) : s instanceof Hashtable && s.has('Ascending') ? !toBool(s.get('Ascending')) : descending));
  keyed.sort((a, b) => {
    for (let k = 0; k < a.keys.length; k++) {
      const c = compareValues(a.keys[k], b.keys[k], cs);
      if (c !== 0) return (directions[k] ?? descending) ? -c : c;
    }
    return a.i - b.i;
  });
  let out = keyed.map((k) => k.item);
  if (call.params.get('Unique') === true) {
    const unique: typeof keyed = [];
    for (const k of keyed) if (!unique.some((u) => u.keys.every((x, i) => compareValues(x, k.keys[i], cs) === 0))) unique.push(k);
    out = unique.map((k) => k.item);
  }
  return out;
}, { aliases: ['sort'] });

const measureObject = builtin('Measure-Object', 'Calculates the numeric properties of objects, and the characters, words, and lines in string objects.', [
  P('Property', 'String', { position: 0, multiValued: true }),
  S('Sum'), S('Average'), S('Maximum'), S('Minimum'), S('Line'), S('Word'), S('Character'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const items = inputOf(call).filter((x) => x !== null && x !== undefined);
  const flag = (n: string): boolean => call.params.get(n) === true;
  if (flag('Line') || flag('Word') || flag('Character')) {
    const text = items.map(toPSString);
    return [new PSObject('Microsoft.PowerShell.Commands.TextMeasureInfo', [
      ['Lines', flag('Line') ? text.reduce((n, t) => n + t.split(/\r?\n/).length, 0) : null],
      ['Words', flag('Word') ? text.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0) : null],
      ['Characters', flag('Character') ? text.reduce((n, t) => n + t.length, 0) : null],
      ['Property', null],
    ])];
  }
  const props = list(call.params.get('Property')).map(toPSString);
  const measure = (values: unknown[], property: string | null): PSObject => {
    const nums = values.filter((v) => v !== null && v !== undefined);
    const asNum = (): number[] => nums.map((v) => Number(typeof v === 'string' ? v : v instanceof Date ? v.getTime() : v));
    const want = (n: string): boolean => flag(n);
    const ns = want('Sum') || want('Average') || want('Maximum') || want('Minimum') ? asNum() : [];
    const best = (dir: number): unknown => (nums.length ? nums.reduce((a, b) => (compareValues(b, a) * dir > 0 ? b : a)) : null);
    return new PSObject('Microsoft.PowerShell.Commands.GenericMeasureInfo', [
      ['Count', nums.length],
      ['Average', want('Average') && ns.length ? ns.reduce((a, b) => a + b, 0) / ns.length : null],
      ['Sum', want('Sum') ? ns.reduce((a, b) => a + b, 0) : null],
      ['Maximum', want('Maximum') ? best(1) : null],
      ['Minimum', want('Minimum') ? best(-1) : null],
      ['Property', property],
    ]);
  };
  if (props.length === 0) return [measure(items, null)];
  return props.map((p) => measure(items.map((i) => getMember(i, p)), p));
}, { aliases: ['measure'] });

const getMemberCmd = builtin('Get-Member', 'Gets the properties and methods of objects.', [
  P('Name', 'String', { position: 0, multiValued: true }),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const items = inputOf(call);
  const seen = new Set<string>();
  let text = '';
  for (const item of items) {
    const typeName = typeNameOf(item);
    if (seen.has(typeName)) continue;
    seen.add(typeName);
    const type = item instanceof PSObject ? call.rt.types.get(item.typeName) : undefined;
    const names = item instanceof PSObject ? item.names() : typeof item === 'string' ? ['Length'] : [];
    const rows = names.map((n) => {
      const declared = type?.properties.find((p) => p.name.toLowerCase() === n.toLowerCase());
      const v = item instanceof PSObject ? item.get(n) : getMember(item, n);
      const t = declared ? (declared.objectType ?? declared.type) + (declared.multiValued ? '[]' : '') : typeNameOf(v).replace(/^System\./, '');
      return new PSObject('MemberDefinition', [['Name', n], ['MemberType', 'Property'], ['Definition', `${t} ${n} {get;}`]]);
    });
    text += `\n   TypeName: ${typeName}\n` + renderTable(rows, [
      { label: 'Name', value: (o) => (o as PSObject).get('Name') },
      { label: 'MemberType', value: (o) => (o as PSObject).get('MemberType') },
      { label: 'Definition', value: (o) => (o as PSObject).get('Definition') },
    ]);
  }
  return text ? [new FormattedText(text)] : [];
}, { aliases: ['gm'] });

const GROUP_TYPE = 'Microsoft.PowerShell.Commands.GroupInfo';

const groupObject = builtin('Group-Object', 'Groups objects that contain the same value for specified properties.', [
  P('Property', 'String', { position: 0, multiValued: true }),
  S('NoElement'),
  S('CaseSensitive'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  if (!call.rt.types.get(GROUP_TYPE)) {
    call.rt.types.add({ name: GROUP_TYPE, properties: [{ name: 'Count', type: 'Int32' }, { name: 'Name', type: 'String' }, { name: 'Group', type: 'Object', multiValued: true }], defaultTableView: ['Count', 'Name', 'Group'], defaultListView: [] });
  }
  const specs = list(call.params.get('Property'));
  const cs = call.params.get('CaseSensitive') === true;
  const groups: Array<{ key: string; values: unknown[]; items: unknown[] }> = [];
  for (const item of inputOf(call)) {
    const values: unknown[] = [];
    if (specs.length === 0) values.push(item);
    for (const spec of specs) values.push(await propertyOrExpression(call, item, spec instanceof Hashtable ? calculatedName(spec).expression : spec));
    const key = values.map(toPSString).join(', ');
    const g = groups.find((x) => (cs ? x.key === key : x.key.toLowerCase() === key.toLowerCase()));
    if (g) g.items.push(item);
    else groups.push({ key, values, items: [item] });
  }
  const noElement = call.params.get('NoElement') === true;
  return groups.map((g) => new PSObject(GROUP_TYPE, [
    ['Count', g.items.length], ['Name', g.key], ...(noElement ? [] : [['Group', g.items] as [string, unknown]]), ['Values', g.values],
  ]));
}, { aliases: ['group'] });

export const objectBuiltins: Builtin[] = [whereObject, forEachObject, selectObject, sortObject, measureObject, groupObject, getMemberCmd];
