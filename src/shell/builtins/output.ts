// Formatting and output cmdlets: Format-List, Format-Table, Out-*, Write-*,
// ConvertTo-Json, Export-Csv, Read-Host, Clear-Host.

import fs from 'node:fs';
import { formatDefault, formatList, formatTable, FormattedText } from '../formatting/views.js';
import { toCsvLines, toJson } from '../formatting/serialize.js';
import { ErrorRecord } from '../runtime/errors.js';
import { resolvePath, resolveWritePath } from '../runtime/paths.js';
import { Hashtable, PSObject, ScriptBlock, SecureString, toPSString } from '../runtime/values.js';
import { P, projectObject } from './objects.js';
import { builtin, type Builtin, type BuiltinCall } from './types.js';

const S = (name: string, extra = {}): ReturnType<typeof P> => P(name, 'SwitchParameter', extra);

function inputOf(call: BuiltinCall): unknown[] {
  if (call.input !== undefined) return call.input;
  if (call.params.has('InputObject')) {
    const v = call.params.get('InputObject');
    return Array.isArray(v) ? v : [v];
  }
  return [];
}

/**
 * The objects to format and the property patterns. Calculated properties
 * (@{Label=...; Expression={...}} or script blocks) are evaluated first, the way
 * Select-Object does, and the result is formatted by its labels.
 */
async function formatInput(call: BuiltinCall): Promise<{ items: unknown[]; patterns: string[] | undefined }> {
  const items = inputOf(call);
  if (!call.params.has('Property')) return { items, patterns: undefined };
  const v = call.params.get('Property');
  const specs = Array.isArray(v) ? v : [v];
  if (!specs.some((x) => x instanceof Hashtable || x instanceof ScriptBlock)) return { items, patterns: specs.map(toPSString) };
  const projected: unknown[] = [];
  for (const item of items) projected.push(item instanceof PSObject || item instanceof Hashtable ? await projectObject(call, item, specs) : item);
  const first = projected.find((p) => p instanceof PSObject) as PSObject | undefined;
  return { items: projected, patterns: first ? first.names().map((n) => n.replace(/([*?[`])/g, '`$1')) : undefined };
}

const formatListCmd = builtin('Format-List', 'Formats the output as a list of properties in which each property appears on a new line.', [
  P('Property', 'String', { position: 0, multiValued: true, description: 'Property names; wildcards such as *ProtocolLogPath and * are allowed.' }),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const { items, patterns } = await formatInput(call);
  return [new FormattedText(formatList(items, patterns, call.rt.types))];
}, {
  aliases: ['fl'],
  examples: [{ code: 'Get-TransportService | Format-List Identity,*ProtocolLogPath', remarks: 'The identity and every property whose name ends in ProtocolLogPath.' }],
});

const formatTableCmd = builtin('Format-Table', 'Formats the output as a table.', [
  P('Property', 'String', { position: 0, multiValued: true }),
  S('AutoSize'),
  S('Wrap'),
  S('HideTableHeaders'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const { items, patterns } = await formatInput(call);
  let text = formatTable(items, patterns, call.rt.types, call.params.get('Wrap') === true ? undefined : call.rt.ui.width());
  if (call.params.get('HideTableHeaders') === true) text = text.split('\n').filter((_, i) => i !== 1 && i !== 2).join('\n');
  return [new FormattedText(text)];
}, { aliases: ['ft'] });

function renderForFile(call: BuiltinCall, items: unknown[]): string {
  return formatDefault(items, call.rt.types, undefined);
}

const outString = builtin('Out-String', 'Outputs input objects as a string.', [
  S('Stream'),
  P('Width', 'Int32'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const text = renderForFile(call, inputOf(call));
  if (call.params.get('Stream') === true) return text.replace(/\n$/, '').split('\n');
  return [text];
});

function writeTextFile(call: BuiltinCall, typed: string, text: string, append: boolean): boolean {
  const file = resolveWritePath(call.rt.cwd, typed);
  try {
    if (append) fs.appendFileSync(file, text);
    else fs.writeFileSync(file, text);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `Could not find a part of the path '${typed}'.` : code === 'EACCES' ? `Access to the path '${typed}' is denied.` : (e as Error).message;
    call.writeError(call.error(message, code === 'ENOENT' ? 'DirectoryNotFound' : 'FileOpenFailure', 'OpenError' as never, code === 'ENOENT' ? 'DirectoryNotFoundException' : 'IOException', typed));
    return false;
  }
}

const outFile = builtin('Out-File', 'Sends output to a file.', [
  P('FilePath', 'String', { position: 0, mandatory: true, aliases: ['Path'] }),
  S('Append'),
  P('Encoding', 'String'),
  S('NoNewline'),
  S('Force'),
  P('Width', 'Int32'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  let text = renderForFile(call, inputOf(call));
  if (call.params.get('NoNewline') === true) text = text.replace(/\n/g, '');
  writeTextFile(call, toPSString(call.params.get('FilePath')), text, call.params.get('Append') === true);
  return [];
});

const outNull = builtin('Out-Null', 'Hides the output instead of sending it down the pipeline or displaying it.', [
  P('InputObject', 'String', { valueFromPipeline: true }),
], async () => []);

const outHost = builtin('Out-Host', 'Sends output to the command line.', [
  S('Paging'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  call.rt.outDefault(inputOf(call));
  return [];
}, { aliases: ['oh'] });

const outDefaultCmd = builtin('Out-Default', 'Sends the output to the default formatter and to the default output cmdlet.', [
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  call.rt.outDefault(inputOf(call));
  return [];
});

const convertToJson = builtin('ConvertTo-Json', 'Converts an object to a JSON-formatted string.', [
  P('InputObject', 'String', { position: 0, valueFromPipeline: true }),
  P('Depth', 'Int32'),
  S('Compress'),
  S('AsArray'),
], async (call) => {
  const items = call.input ?? (call.params.has('InputObject') ? [call.params.get('InputObject')] : []);
  if (items.length === 0) return [];
  const depth = call.params.has('Depth') ? Math.trunc(Number(call.params.get('Depth'))) : 2;
  return [toJson(items, { depth, compress: call.params.get('Compress') === true, asArray: call.params.get('AsArray') === true })];
});

function fromJsonValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v && typeof v === 'object') return new PSObject('System.Management.Automation.PSCustomObject', Object.entries(v).map(([k, x]) => [k, fromJsonValue(x)]));
  return v;
}

const convertFromJson = builtin('ConvertFrom-Json', 'Converts a JSON-formatted string to a custom object.', [
  P('InputObject', 'String', { position: 0, valueFromPipeline: true, mandatory: true }),
], async (call) => {
  const text = (call.input ?? [call.params.get('InputObject')]).map(toPSString).join('\n');
  try {
    const v = fromJsonValue(JSON.parse(text));
    return Array.isArray(v) ? v : [v];
  } catch (e) {
    call.writeError(call.error(`Conversion from JSON failed with error: ${(e as Error).message}`, 'System.ArgumentException', 'NotSpecified', 'ArgumentException'));
    return [];
  }
});

const exportCsv = builtin('Export-Csv', 'Converts objects into a series of comma-separated value (CSV) strings and saves the strings to a file.', [
  P('Path', 'String', { position: 0, aliases: ['FilePath', 'LiteralPath'] }),
  S('NoTypeInformation', { aliases: ['NTI'] }),
  S('Append'),
  S('Force'),
  S('NoClobber'),
  P('Delimiter', 'String'),
  P('Encoding', 'String'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => {
  const items = inputOf(call);
  const append = call.params.get('Append') === true;
  const typed = toPSString(call.params.get('Path'));
  let lines = toCsvLines(items, { noTypeInformation: call.params.get('NoTypeInformation') === true, delimiter: call.params.has('Delimiter') ? toPSString(call.params.get('Delimiter')) : undefined });
  if (append && fs.existsSync(resolveWritePath(call.rt.cwd, typed))) lines = lines.filter((l) => !l.startsWith('#TYPE')).slice(1);
  if (lines.length) writeTextFile(call, typed, lines.join('\n') + '\n', append);
  return [];
}, { aliases: ['epcsv'] });

/** RFC 4180 fields as Export-Csv writes them (quoted, "" for a quote). */
function parseCsvLine(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    let field = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else field += line[i++];
      }
      while (i < line.length && line[i] !== delimiter) i++;
    } else {
      while (i < line.length && line[i] !== delimiter) field += line[i++];
    }
    out.push(field);
    i++;
  }
  return out;
}

const importCsv = builtin('Import-Csv', 'Creates table-like custom objects from the items in a CSV file.', [
  P('Path', 'String', { position: 0, mandatory: true, aliases: ['LiteralPath'] }),
  P('Delimiter', 'String'),
  P('Header', 'String', { multiValued: true }),
], async (call) => {
  const typed = toPSString(call.params.get('Path'));
  let text: string;
  try {
    text = fs.readFileSync(resolvePath(call.rt.cwd, typed), 'utf8').replace(/^\uFEFF/, '');
  } catch {
    call.writeError(call.error(`Cannot find path '${typed}' because it does not exist.`, 'PathNotFound', 'ObjectNotFound', 'ItemNotFoundException', typed));
    return [];
  }
  const delimiter = call.params.has('Delimiter') ? toPSString(call.params.get('Delimiter')) : ',';
  const rows = text.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('#TYPE'));
  const header = call.params.has('Header') ? [call.params.get('Header')].flat().map(toPSString) : parseCsvLine(rows.shift() ?? '', delimiter);
  return rows.map((r) => {
    const fields = parseCsvLine(r, delimiter);
    return new PSObject('System.Management.Automation.PSCustomObject', header.map((h, i) => [h, fields[i] ?? null]));
  });
}, { aliases: ['ipcsv'] });

const convertToCsv = builtin('ConvertTo-Csv', 'Converts objects into a series of comma-separated value (CSV) strings.', [
  S('NoTypeInformation', { aliases: ['NTI'] }),
  P('Delimiter', 'String'),
  P('InputObject', 'String', { valueFromPipeline: true }),
], async (call) => toCsvLines(inputOf(call), { noTypeInformation: call.params.get('NoTypeInformation') === true, delimiter: call.params.has('Delimiter') ? toPSString(call.params.get('Delimiter')) : undefined }));

function hostText(v: unknown, separator: string): string {
  if (Array.isArray(v)) return v.map((x) => hostText(x, separator)).join(separator);
  return toPSString(v);
}

const writeHost = builtin('Write-Host', 'Writes customized output to a host.', [
  P('Object', 'String', { position: 0, remaining: true }),
  S('NoNewline'),
  P('Separator', 'String'),
  P('ForegroundColor', 'String'),
  P('BackgroundColor', 'String'),
], async (call) => {
  const sep = call.params.has('Separator') ? toPSString(call.params.get('Separator')) : ' ';
  const values = call.params.has('Object') ? call.params.get('Object') : call.input ?? [];
  call.rt.ui.write(hostText(values, sep) + (call.params.get('NoNewline') === true ? '' : '\n'));
  return [];
});

const writeOutput = builtin('Write-Output', 'Writes the specified objects to the pipeline.', [
  P('InputObject', 'String', { position: 0, remaining: true, multiValued: true, valueFromPipeline: true }),
  S('NoEnumerate'),
], async (call) => {
  if (call.input !== undefined) return call.input;
  const v = call.params.get('InputObject');
  if (v === undefined) return [];
  if (call.params.get('NoEnumerate') === true) return [v];
  return Array.isArray(v) ? v : [v];
}, { aliases: ['echo', 'write'] });

const writeWarning = builtin('Write-Warning', 'Writes a warning message.', [
  P('Message', 'String', { position: 0, mandatory: true, valueFromPipeline: true }),
], async (call) => {
  call.rt.writeWarning(toPSString(call.params.get('Message')));
  return [];
});

const writeVerbose = builtin('Write-Verbose', 'Writes text to the verbose message stream.', [
  P('Message', 'String', { position: 0, mandatory: true }),
], async (call) => {
  if (toPSString(call.rt.getVariable('VerbosePreference')).toLowerCase() === 'continue') call.rt.ui.write(`VERBOSE: ${toPSString(call.params.get('Message'))}\n`);
  return [];
});

const writeError = builtin('Write-Error', 'Writes an object to the error stream.', [
  P('Message', 'String', { position: 0 }),
  P('Category', 'String'),
  P('ErrorId', 'String'),
  P('TargetObject', 'String'),
  P('CategoryTargetName', 'String'),
], async (call) => {
  const message = toPSString(call.params.get('Message'));
  const category = toPSString(call.params.get('Category') ?? 'NotSpecified') || 'NotSpecified';
  const errorId = call.params.has('ErrorId') ? toPSString(call.params.get('ErrorId')) + ',Write-Error' : 'Microsoft.PowerShell.Commands.WriteErrorException';
  call.writeError(new ErrorRecord(message, {
    errorId, category: category as never, exceptionName: 'WriteErrorException', commandName: 'Write-Error', activity: 'Write-Error',
    target: call.params.has('TargetObject') ? toPSString(call.params.get('TargetObject')) : undefined,
  }));
  return [];
});

const readHost = builtin('Read-Host', 'Reads a line of input from the console.', [
  P('Prompt', 'String', { position: 0, remaining: true }),
  S('AsSecureString'),
], async (call) => {
  if (!call.rt.ui.canPrompt()) {
    throw new (await import('../runtime/errors.js')).StatementTerminatingError(call.error(
      'PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.',
      'System.Management.Automation.PSInvalidOperationException', 'InvalidOperation', 'PSInvalidOperationException',
    ));
  }
  const prompt = call.params.has('Prompt') ? hostText(call.params.get('Prompt'), ' ') + ': ' : '';
  const secure = call.params.get('AsSecureString') === true;
  const answer = await call.rt.ui.readLine(prompt, { secret: secure });
  return [secure ? new SecureString(answer) : answer];
});

const clearHost = builtin('Clear-Host', 'Clears the display in the host program.', [], async (call) => {
  if (call.rt.ui.clear) call.rt.ui.clear();
  else call.rt.ui.write('\x1b[2J\x1b[H');
  return [];
}, { aliases: ['cls', 'clear'] });

export const outputBuiltins: Builtin[] = [
  formatListCmd, formatTableCmd, outString, outFile, outNull, outHost, outDefaultCmd, convertToJson, convertFromJson,
  exportCsv, importCsv, convertToCsv, writeHost, writeOutput, writeWarning, writeVerbose, writeError, readHost, clearHost,
];

export { Hashtable };
