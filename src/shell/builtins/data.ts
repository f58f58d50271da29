// Dates, files and secure strings: Get-Date, Get-Content, Set-Content,
// Add-Content, Test-Path, Get-Location, Start-Sleep, ConvertTo-SecureString.

import fs from 'node:fs';
import { toDate, toNumber } from '../runtime/convert.js';
import { StatementTerminatingError } from '../runtime/errors.js';
import { formatDateCustom, getMember } from '../runtime/members.js';
import { resolvePath, resolveWritePath } from '../runtime/paths.js';
import { PSObject, SecureString, TimeSpan, toPSString } from '../runtime/values.js';
import { P } from './objects.js';
import { builtin, type Builtin, type BuiltinCall } from './types.js';

const S = (name: string, extra = {}): ReturnType<typeof P> => P(name, 'SwitchParameter', extra);

const getDate = builtin('Get-Date', 'Gets the current date and time.', [
  P('Date', 'DateTime', { position: 0, valueFromPipeline: true }),
  P('Format', 'String'),
  P('Year', 'Int32'), P('Month', 'Int32'), P('Day', 'Int32'), P('Hour', 'Int32'), P('Minute', 'Int32'), P('Second', 'Int32'),
  P('DisplayHint', 'Enum', { values: ['Date', 'Time', 'DateTime'] }),
], async (call) => {
  const d = new Date(call.params.has('Date') ? toDate(call.params.get('Date')).getTime() : Date.now());
  const n = (k: string): number | undefined => (call.params.has(k) ? toNumber(call.params.get(k)) : undefined);
  if (n('Year') !== undefined) d.setFullYear(n('Year')!);
  if (n('Month') !== undefined) d.setMonth(n('Month')! - 1);
  if (n('Day') !== undefined) d.setDate(n('Day')!);
  if (n('Hour') !== undefined) d.setHours(n('Hour')!);
  if (n('Minute') !== undefined) d.setMinutes(n('Minute')!);
  if (n('Second') !== undefined) d.setSeconds(n('Second')!);
  if (call.params.has('Format')) return [formatDateCustom(d, toPSString(call.params.get('Format')))];
  return [d];
}, { examples: [{ code: '(Get-Date).AddDays(30)', remarks: 'The date 30 days from now.' }] });

function pathNotFound(call: BuiltinCall, typed: string): void {
  call.writeError(call.error(`Cannot find path '${typed}' because it does not exist.`, 'PathNotFound', 'ObjectNotFound', 'ItemNotFoundException', typed));
}

function paths(call: BuiltinCall, name = 'Path'): string[] {
  const v = call.params.get(name);
  return (Array.isArray(v) ? v : [v]).map(toPSString);
}

function isByteEncoding(call: BuiltinCall): boolean {
  return call.params.get('AsByteStream') === true || toPSString(call.params.get('Encoding')).toLowerCase() === 'byte';
}

const getContent = builtin('Get-Content', 'Gets the content of the item at the specified location.', [
  P('Path', 'String', { position: 0, mandatory: true, multiValued: true, aliases: ['FullName', 'LiteralPath', 'PSPath'], valueFromPipelineByPropertyName: true }),
  S('Raw'),
  S('AsByteStream'),
  P('Encoding', 'String'),
  P('TotalCount', 'Int64', { aliases: ['First', 'Head'] }),
  P('Tail', 'Int32', { aliases: ['Last'] }),
  P('ReadCount', 'Int64'),
], async (call) => {
  const out: unknown[] = [];
  for (const typed of paths(call)) {
    const file = resolvePath(call.rt.cwd, typed);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
        call.writeError(call.error(`Unable to get content because it is a directory: '${typed}'. Please use 'Get-ChildItem' instead.`, 'GetContentReaderUnauthorizedAccessError', 'PermissionDenied', 'UnauthorizedAccessException', typed));
      } else pathNotFound(call, typed);
      continue;
    }
    // Byte content is returned as one byte array, which is what -FileData parameters want.
    if (isByteEncoding(call)) {
      out.push(new Uint8Array(data));
      continue;
    }
    const text = data.toString('utf8').replace(/^\uFEFF/, '');
    if (call.params.get('Raw') === true) {
      out.push(text);
      continue;
    }
    let lines = text.split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    if (call.params.has('TotalCount')) lines = lines.slice(0, toNumber(call.params.get('TotalCount')));
    if (call.params.has('Tail')) lines = lines.slice(Math.max(0, lines.length - toNumber(call.params.get('Tail'))));
    out.push(...lines);
  }
  return out;
}, { aliases: ['gc', 'cat', 'type'], examples: [{ code: 'Get-Content -Path C:\\certs\\a.pfx -AsByteStream', remarks: 'The file as a byte array, for -FileData.' }] });

function contentText(v: unknown): string | Uint8Array {
  if (v instanceof Uint8Array) return v;
  const items = Array.isArray(v) ? v : [v];
  return items.map((x) => toPSString(x) + '\n').join('');
}

function setContentImpl(append: boolean) {
  return async (call: BuiltinCall): Promise<unknown[]> => {
    let value: unknown = call.params.has('Value') ? call.params.get('Value') : call.input ?? [];
    if (isByteEncoding(call) && Array.isArray(value)) value = Uint8Array.from(value.map((x) => toNumber(x)));
    let data = contentText(value);
    if (call.params.get('NoNewline') === true && typeof data === 'string') data = data.replace(/\n/g, '');
    for (const typed of paths(call)) {
      const file = resolveWritePath(call.rt.cwd, typed);
      try {
        if (append) fs.appendFileSync(file, data);
        else fs.writeFileSync(file, data);
      } catch {
        call.writeError(call.error(`Could not find a part of the path '${typed}'.`, 'GetContentWriterDirectoryNotFoundError', 'ObjectNotFound', 'DirectoryNotFoundException', typed));
      }
    }
    return [];
  };
}

const contentParams = (): ReturnType<typeof P>[] => [
  P('Path', 'String', { position: 0, mandatory: true, multiValued: true, aliases: ['LiteralPath'] }),
  P('Value', 'String', { position: 1, valueFromPipeline: true }),
  P('Encoding', 'String'),
  S('AsByteStream'),
  S('NoNewline'),
  S('Force'),
];

const setContent = builtin('Set-Content', 'Writes new content or replaces existing content in a file.', contentParams(), setContentImpl(false), { aliases: ['sc'] });
const addContent = builtin('Add-Content', 'Adds content to the specified items, such as adding words to a file.', contentParams(), setContentImpl(true), { aliases: ['ac'] });

const testPath = builtin('Test-Path', 'Determines whether all elements of a path exist.', [
  P('Path', 'String', { position: 0, mandatory: true, multiValued: true, aliases: ['LiteralPath'] }),
], async (call) => paths(call).map((p) => fs.existsSync(resolvePath(call.rt.cwd, p))));

const getLocation = builtin('Get-Location', 'Gets information about the current working location.', [], async (call) => [
  new PSObject('System.Management.Automation.PathInfo', [['Path', call.rt.cwd]]),
], { aliases: ['pwd', 'gl'] });

const startSleep = builtin('Start-Sleep', 'Suspends the activity in a script or session for the specified period of time.', [
  P('Seconds', 'Int32', { position: 0 }),
  P('Milliseconds', 'Int32'),
], async (call) => {
  const ms = call.params.has('Milliseconds') ? toNumber(call.params.get('Milliseconds')) : toNumber(call.params.get('Seconds')) * 1000;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    call.rt.signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
  call.rt.checkStopped();
  return [];
}, { aliases: ['sleep'] });

const convertToSecureString = builtin('ConvertTo-SecureString', 'Converts plain text or encrypted strings to secure strings.', [
  P('String', 'String', { position: 0, mandatory: true, valueFromPipeline: true }),
  S('AsPlainText'),
  S('Force'),
  P('Key', 'Byte[]'),
], async (call) => {
  const inputs = call.input ?? [call.params.get('String')];
  // PowerShell's parameter validation: a SecureString of nothing is refused before anything else.
  if (inputs.some((s) => s === null || s === undefined || toPSString(s) === '')) {
    throw new StatementTerminatingError(call.error(
      "Cannot bind argument to parameter 'String' because it is an empty string.",
      'ParameterArgumentValidationErrorEmptyStringNotAllowed', 'InvalidData', 'ParameterBindingValidationException',
    ));
  }
  if (call.params.get('AsPlainText') !== true) {
    throw new StatementTerminatingError(call.error(
      'The shell cannot decrypt a Windows DPAPI-encrypted string. Use -AsPlainText -Force, or Read-Host -AsSecureString.',
      'ImportSecureString_InvalidArgument_CryptographicError', 'InvalidArgument', 'CryptographicException',
    ));
  }
  if (call.params.get('Force') !== true) {
    throw new StatementTerminatingError(call.error(
      'The system cannot protect plain text input. To suppress this warning and convert the plain text to a SecureString, reissue the command specifying the Force parameter. For more information ,type: get-help ConvertTo-SecureString.',
      'ImportSecureString_AsPlainTextWithoutForce', 'InvalidArgument', 'ArgumentException',
    ));
  }
  return inputs.map((s) => new SecureString(toPSString(s)));
}, { examples: [{ code: "ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force", remarks: 'A secure string for a -Password parameter.' }] });

const newTimeSpan = builtin('New-TimeSpan', 'Creates a TimeSpan object.', [
  P('Start', 'DateTime', { position: 0, aliases: ['LastWriteTime'] }),
  P('End', 'DateTime', { position: 1 }),
  P('Days', 'Int32'), P('Hours', 'Int32'), P('Minutes', 'Int32'), P('Seconds', 'Int32'),
], async (call) => {
  if (call.params.has('Start') || call.params.has('End')) {
    const start = call.params.has('Start') ? toDate(call.params.get('Start')).getTime() : Date.now();
    const end = call.params.has('End') ? toDate(call.params.get('End')).getTime() : Date.now();
    return [new TimeSpan(end - start)];
  }
  const n = (k: string): number => (call.params.has(k) ? toNumber(call.params.get(k)) : 0);
  return [new TimeSpan(n('Days') * 86400000 + n('Hours') * 3600000 + n('Minutes') * 60000 + n('Seconds') * 1000)];
});

const CREDENTIAL_TYPE = 'System.Management.Automation.PSCredential';

export function credential(userName: string, password: SecureString): PSObject {
  return new PSObject(CREDENTIAL_TYPE, [['UserName', userName], ['Password', password]]);
}

const getCredential = builtin('Get-Credential', 'Gets a credential object based on a user name and password.', [
  P('UserName', 'String', { position: 0, aliases: ['Credential'] }),
  P('Message', 'String'),
], async (call) => {
  if (!call.rt.ui.canPrompt()) {
    throw new StatementTerminatingError(call.error(
      'PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.',
      'System.Management.Automation.PSInvalidOperationException', 'InvalidOperation', 'PSInvalidOperationException',
    ));
  }
  if (call.params.has('Message')) call.rt.ui.write(toPSString(call.params.get('Message')) + '\n');
  const user = call.params.has('UserName') ? toPSString(call.params.get('UserName')) : await call.rt.ui.readLine('User: ');
  const password = await call.rt.ui.readLine(`Password for user ${user}: `, { secret: true });
  return [credential(user, new SecureString(password))];
});

const newObject = builtin('New-Object', 'Creates an instance of a .NET object (PSCredential and PSObject here).', [
  P('TypeName', 'String', { position: 0, mandatory: true }),
  P('ArgumentList', 'String', { position: 1, multiValued: true, aliases: ['Args'] }),
  P('Property', 'String'),
], async (call) => {
  const type = toPSString(call.params.get('TypeName')).toLowerCase().replace(/^system\.management\.automation\./, '');
  const args = ([] as unknown[]).concat(call.params.get('ArgumentList') ?? []);
  if (type === 'pscredential') {
    const password = args[1];
    if (!(password instanceof SecureString)) {
      throw new StatementTerminatingError(call.error('The password of a PSCredential must be a SecureString.', 'ConstructorInvokedThrowException', 'InvalidOperation', 'MethodInvocationException'));
    }
    return [credential(toPSString(args[0]), password)];
  }
  if (type === 'psobject' || type === 'pscustomobject' || type === 'object') {
    const props = call.params.get('Property');
    const { Hashtable } = await import('../runtime/values.js');
    return [new PSObject('System.Management.Automation.PSCustomObject', props instanceof Hashtable ? props.entries().map(([k, v]) => [toPSString(k), v]) : [])];
  }
  throw new StatementTerminatingError(call.error(
    `Cannot find type [${toPSString(call.params.get('TypeName'))}]: verify that the assembly containing this type is loaded.`,
    'TypeNotFound', 'InvalidType', 'PSArgumentException',
  ));
});

/**
 * Exchange's shell defines AssembleMessage as a filter for Export-Message's output: the documented way
 * to save a queued message (`Export-Message EX01\\3\\12 | AssembleMessage -Path c:\\m.eml`).
 */
const assembleMessage = builtin('AssembleMessage', 'Saves the message Export-Message returns to a file (the filter Exchange\'s shell defines for it).', [
  P('Path', 'String', { position: 0, mandatory: true }),
], async (call) => {
  const chunks: Uint8Array[] = [];
  for (const o of call.input ?? []) {
    const data = o instanceof Uint8Array ? o : getMember(o, 'FileData');
    if (!(data instanceof Uint8Array)) {
      throw new StatementTerminatingError(call.error('AssembleMessage takes the output of Export-Message: objects whose FileData holds the message.', 'AssembleMessageInputInvalid', 'InvalidArgument', 'ArgumentException'));
    }
    chunks.push(data);
  }
  const typed = toPSString(call.params.get('Path'));
  try {
    fs.writeFileSync(resolveWritePath(call.rt.cwd, typed), Buffer.concat(chunks));
  } catch {
    call.writeError(call.error(`Could not find a part of the path '${typed}'.`, 'AssembleMessageDirectoryNotFoundError', 'ObjectNotFound', 'DirectoryNotFoundException', typed));
  }
  return [];
}, { changesState: true, examples: [{ code: 'Export-Message EX01\\3\\12 | AssembleMessage -Path /var/tmp/message.eml', remarks: 'Saves a suspended queued message as an .eml file.' }] });

export const dataBuiltins: Builtin[] = [assembleMessage, newTimeSpan, getDate, getContent, setContent, addContent, testPath, getLocation, startSleep, convertToSecureString, getCredential, newObject];
