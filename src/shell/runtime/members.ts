// Member access and method calls on the few .NET-like things Exchange
// procedures touch: strings, arrays, dates, hashtables, server objects, and the
// static members [System.IO.File]::ReadAllBytes(), [DateTime]::Now, [Math]::Round().

import fs from 'node:fs';
import { ErrorRecord, PSRuntimeError } from './errors.js';
import { canonicalTypeName, convertTo, toDate, toNumber } from './convert.js';
import { resolvePath, resolveWritePath } from './paths.js';
import { compareValues, scalarEquals } from './operators.js';
import { formatDateCustom } from './date-format.js';

export { formatDateCustom };
import {
  Hashtable, PSObject, ScriptBlock, SecureString, TextEncoding, TimeSpan, TypeLiteral,
  collect, dayName, formatDateDisplay, getProperty, toBool, toPSString, typeNameOf,
} from './values.js';

export interface MemberContext {
  cwd: string;
  /** Runs a script block with `$_` bound, for the .Where() and .ForEach() methods. */
  invokeScriptBlock(block: ScriptBlock, dollarUnder: unknown, args: unknown[]): Promise<unknown[]>;
}

function shortName(fullName: string): string {
  const i = fullName.lastIndexOf('.');
  return i >= 0 ? fullName.slice(i + 1) : fullName;
}

function timeSpanProperty(t: TimeSpan, lower: string): number | undefined {
  const ms = t.ms;
  const whole = (unit: number, mod?: number): number => {
    const n = Math.trunc(ms / unit);
    return mod ? n % mod : n;
  };
  switch (lower) {
    case 'days': return whole(86400000);
    case 'hours': return whole(3600000, 24);
    case 'minutes': return whole(60000, 60);
    case 'seconds': return whole(1000, 60);
    case 'milliseconds': return whole(1, 1000);
    case 'ticks': return Math.round(ms * 10000);
    case 'totaldays': return ms / 86400000;
    case 'totalhours': return ms / 3600000;
    case 'totalminutes': return ms / 60000;
    case 'totalseconds': return ms / 1000;
    case 'totalmilliseconds': return ms;
    default: return undefined;
  }
}

function dateProperty(d: Date, name: string): { found: boolean; value: unknown } {
  switch (name.toLowerCase()) {
    case 'year': return { found: true, value: d.getFullYear() };
    case 'month': return { found: true, value: d.getMonth() + 1 };
    case 'day': return { found: true, value: d.getDate() };
    case 'hour': return { found: true, value: d.getHours() };
    case 'minute': return { found: true, value: d.getMinutes() };
    case 'second': return { found: true, value: d.getSeconds() };
    case 'millisecond': return { found: true, value: d.getMilliseconds() };
    case 'dayofweek': return { found: true, value: dayName(d) };
    case 'dayofyear': {
      const start = new Date(d.getFullYear(), 0, 1);
      return { found: true, value: Math.floor((d.getTime() - start.getTime()) / 86400000) + 1 };
    }
    case 'date': return { found: true, value: new Date(d.getFullYear(), d.getMonth(), d.getDate()) };
    case 'ticks': return { found: true, value: d.getTime() * 10000 + 621355968000000000 };
    default: return { found: false, value: undefined };
  }
}

/** `$x.Name`; member enumeration on collections, `.Count` and `.Length` on everything, $null for unknown members. */
export function getMember(target: unknown, name: string): unknown {
  const lower = name.toLowerCase();
  if (target === null || target === undefined) return lower === 'count' || lower === 'length' ? 0 : null;
  if (target instanceof ErrorRecord) return errorRecordMember(target, lower);
  if (target instanceof PSObject || target instanceof Hashtable) {
    const p = getProperty(target, name);
    if (p.found) return p.value;
    if (target instanceof Hashtable) {
      if (lower === 'keys') return target.keys();
      if (lower === 'values') return target.values();
      if (lower === 'count') return target.size;
      return null;
    }
    if (lower === 'count' || lower === 'length') return 1;
    if (lower === 'pstypenames') return [target.typeName];
    return null;
  }
  if (Array.isArray(target)) {
    if (lower === 'count' || lower === 'length' || lower === 'longlength') return target.length;
    const values: unknown[] = [];
    for (const item of target) {
      const v = getMember(item, name);
      if (v === null || v === undefined) continue;
      if (Array.isArray(v)) values.push(...v);
      else values.push(v);
    }
    return collect(values);
  }
  if (target instanceof Uint8Array) {
    if (lower === 'count' || lower === 'length' || lower === 'longlength') return target.length;
    return null;
  }
  if (typeof target === 'string' && lower === 'length') return target.length;
  if (target instanceof SecureString && lower === 'length') return target.length;
  if (target instanceof Date) {
    const p = dateProperty(target, name);
    if (p.found) return p.value;
  }
  if (target instanceof TimeSpan) {
    const v = timeSpanProperty(target, lower);
    if (v !== undefined) return v;
  }
  if (target instanceof TextEncoding) {
    if (lower === 'webname') return target.webName;
    if (lower === 'encodingname') return target.encodingName;
    if (lower === 'bodyname' || lower === 'headername') return target.webName;
  }
  if (target instanceof TypeLiteral) {
    if (lower === 'name') return shortName(canonicalTypeName(target.name));
    if (lower === 'fullname') return canonicalTypeName(target.name);
  }
  if (lower === 'count' || lower === 'length') return 1;
  return null;
}

function errorRecordMember(rec: ErrorRecord, lower: string): unknown {
  const f = rec.fields;
  switch (lower) {
    case 'exception': return new PSObject(f.exceptionName, [['Message', rec.message]]);
    case 'fullyqualifiederrorid': return f.errorId;
    case 'categoryinfo': return new PSObject('System.Management.Automation.ErrorCategoryInfo', [
      ['Category', f.category], ['Activity', f.activity ?? f.commandName ?? ''], ['Reason', f.exceptionName], ['TargetName', f.target ?? ''], ['TargetType', f.targetType ?? ''],
    ]);
    case 'targetobject': return f.target ?? null;
    case 'count': case 'length': return 1;
    default: return null;
  }
}

/** `$x.Name = value` */
export function setMember(target: unknown, name: string, value: unknown): void {
  if (target instanceof PSObject) {
    target.set(name, value);
    return;
  }
  if (target instanceof Hashtable) {
    target.set(name, value);
    return;
  }
  throw new PSRuntimeError(`The property '${name}' cannot be found on this object. Verify that the property exists and can be set.`, 'PropertyAssignmentException');
}

function methodNotFound(target: unknown, name: string): PSRuntimeError {
  return new PSRuntimeError(
    `Method invocation failed because [${typeNameOf(target)}] does not contain a method named '${name}'.`,
    'MethodNotFound', 'InvalidOperation', 'RuntimeException',
  );
}

function str(v: unknown): string {
  return toPSString(v);
}

function stringMethod(s: string, name: string, args: unknown[]): { found: boolean; value?: unknown } {
  const a = args;
  switch (name.toLowerCase()) {
    case 'toupper': case 'toupperinvariant': return { found: true, value: s.toUpperCase() };
    case 'tolower': case 'tolowerinvariant': return { found: true, value: s.toLowerCase() };
    case 'trim': return { found: true, value: a.length ? trimChars(s, str(a[0]), true, true) : s.trim() };
    case 'trimstart': return { found: true, value: a.length ? trimChars(s, str(a[0]), true, false) : s.trimStart() };
    case 'trimend': return { found: true, value: a.length ? trimChars(s, str(a[0]), false, true) : s.trimEnd() };
    case 'split': {
      const seps = a.length === 0 ? [' '] : a.flatMap((x) => (Array.isArray(x) ? x.map(str) : [...str(x)]));
      const re = new RegExp(seps.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'));
      return { found: true, value: s.split(re) };
    }
    case 'replace': return { found: true, value: s.split(str(a[0])).join(str(a[1])) };
    case 'contains': return { found: true, value: s.includes(str(a[0])) };
    case 'startswith': return { found: true, value: s.startsWith(str(a[0])) };
    case 'endswith': return { found: true, value: s.endsWith(str(a[0])) };
    case 'substring': return { found: true, value: a.length > 1 ? s.substr(toNumber(a[0]), toNumber(a[1])) : s.substring(toNumber(a[0])) };
    case 'indexof': return { found: true, value: s.indexOf(str(a[0])) };
    case 'lastindexof': return { found: true, value: s.lastIndexOf(str(a[0])) };
    case 'padleft': return { found: true, value: s.padStart(toNumber(a[0]), a.length > 1 ? str(a[1]) : ' ') };
    case 'padright': return { found: true, value: s.padEnd(toNumber(a[0]), a.length > 1 ? str(a[1]) : ' ') };
    case 'insert': return { found: true, value: s.slice(0, toNumber(a[0])) + str(a[1]) + s.slice(toNumber(a[0])) };
    case 'remove': {
      const i = toNumber(a[0]);
      return { found: true, value: a.length > 1 ? s.slice(0, i) + s.slice(i + toNumber(a[1])) : s.slice(0, i) };
    }
    case 'equals': return { found: true, value: s === str(a[0]) };
    case 'compareto': return { found: true, value: compareValues(s, a[0]) };
    case 'tochararray': return { found: true, value: [...s] };
    case 'tostring': return { found: true, value: s };
    default: return { found: false };
  }
}

function trimChars(s: string, chars: string, start: boolean, end: boolean): string {
  let i = 0;
  let j = s.length;
  if (start) while (i < j && chars.includes(s[i])) i++;
  if (end) while (j > i && chars.includes(s[j - 1])) j--;
  return s.slice(i, j);
}

function addMonths(d: Date, months: number): Date {
  const r = new Date(d.getTime());
  const day = r.getDate();
  r.setDate(1);
  r.setMonth(r.getMonth() + months);
  const last = new Date(r.getFullYear(), r.getMonth() + 1, 0).getDate();
  r.setDate(Math.min(day, last));
  return r;
}

function dateMethod(d: Date, name: string, a: unknown[]): { found: boolean; value?: unknown } {
  const n = (): number => toNumber(a[0]);
  switch (name.toLowerCase()) {
    case 'adddays': return { found: true, value: new Date(d.getTime() + n() * 86400000) };
    case 'addhours': return { found: true, value: new Date(d.getTime() + n() * 3600000) };
    case 'addminutes': return { found: true, value: new Date(d.getTime() + n() * 60000) };
    case 'addseconds': return { found: true, value: new Date(d.getTime() + n() * 1000) };
    case 'addmilliseconds': return { found: true, value: new Date(d.getTime() + n()) };
    case 'addmonths': return { found: true, value: addMonths(d, Math.trunc(n())) };
    case 'addyears': return { found: true, value: addMonths(d, 12 * Math.trunc(n())) };
    case 'tostring': return { found: true, value: a.length ? formatDateCustom(d, str(a[0])) : formatDateDisplay(d) };
    case 'toshortdatestring': return { found: true, value: formatDateCustom(d, 'M/d/yyyy') };
    case 'tolongdatestring': return { found: true, value: formatDateCustom(d, 'dddd, MMMM d, yyyy') };
    case 'toshorttimestring': return { found: true, value: formatDateCustom(d, 'h:mm tt') };
    case 'touniversaltime': case 'tolocaltime': return { found: true, value: new Date(d.getTime()) };
    case 'subtract': {
      const other = a[0];
      if (other instanceof TimeSpan) return { found: true, value: new Date(d.getTime() - other.ms) };
      return { found: true, value: new TimeSpan(d.getTime() - toDate(other).getTime()) };
    }
    case 'add': return { found: true, value: new Date(d.getTime() + (a[0] instanceof TimeSpan ? a[0].ms : 0)) };
    case 'compareto': return { found: true, value: compareValues(d, a[0]) };
    case 'equals': return { found: true, value: scalarEquals(d, a[0]) };
    default: return { found: false };
  }
}

/** `$x.Method(args)` */
export async function invokeMethod(target: unknown, name: string, args: unknown[], ctx: MemberContext): Promise<unknown> {
  const lower = name.toLowerCase();
  if (lower === 'gettype') return new TypeLiteral(typeNameOf(target));
  if (target === null || target === undefined) {
    throw new PSRuntimeError('You cannot call a method on a null-valued expression.', 'InvokeMethodOnNull', 'InvalidOperation', 'RuntimeException');
  }
  if (typeof target === 'string') {
    const r = stringMethod(target, name, args);
    if (r.found) return r.value;
  }
  if (target instanceof Date) {
    const r = dateMethod(target, name, args);
    if (r.found) return r.value;
  }
  if (target instanceof TextEncoding) {
    switch (lower) {
      case 'getbytes': {
        if (args.length !== 1) break;
        const v = args[0];
        if (v === null || v === undefined) throw encodingNullArgument('GetBytes');
        return target.getBytes(Array.isArray(v) ? v.map(str).join('') : str(v));
      }
      case 'getstring': {
        const v = args[0];
        if (v === null || v === undefined) throw encodingNullArgument('GetString');
        const bytes = convertTo(v, 'byte[]') as Uint8Array;
        if (args.length === 3) return target.getString(bytes.subarray(toNumber(args[1]), toNumber(args[1]) + toNumber(args[2])));
        if (args.length === 1) return target.getString(bytes);
        break;
      }
      case 'getbytecount': return target.getBytes(str(args[0])).length;
      case 'getpreamble': return new Uint8Array(target.kind === 'Unicode' ? [0xff, 0xfe] : target.kind === 'BigEndianUnicode' ? [0xfe, 0xff] : target.kind === 'UTF8' ? [0xef, 0xbb, 0xbf] : []);
      case 'tostring': return target.typeName;
    }
  }
  if (Array.isArray(target) || target instanceof Uint8Array) {
    const items = Array.isArray(target) ? target : [...target];
    switch (lower) {
      case 'contains': return items.some((x) => scalarEquals(x, args[0]));
      case 'indexof': return items.findIndex((x) => scalarEquals(x, args[0]));
      case 'where': {
        const block = args[0];
        if (!(block instanceof ScriptBlock)) break;
        const out: unknown[] = [];
        for (const item of items) if (toBool(collect(await ctx.invokeScriptBlock(block, item, [item])))) out.push(item);
        return out;
      }
      case 'foreach': {
        const block = args[0];
        if (!(block instanceof ScriptBlock)) break;
        const out: unknown[] = [];
        for (const item of items) out.push(...(await ctx.invokeScriptBlock(block, item, [item])));
        return out;
      }
      case 'tostring': return Array.isArray(target) ? 'System.Object[]' : 'System.Byte[]';
    }
  }
  if (target instanceof Hashtable) {
    switch (lower) {
      case 'containskey': case 'contains': return target.has(args[0]);
      case 'containsvalue': return target.values().some((v) => scalarEquals(v, args[0]));
      case 'add':
        if (target.has(args[0])) throw new PSRuntimeError(`Item has already been added. Key in dictionary: '${str(args[0])}'`, 'ArgumentException', 'NotSpecified', 'MethodInvocationException');
        target.set(args[0], args[1]);
        return undefined;
      case 'remove': target.delete(args[0]); return undefined;
      case 'tostring': return 'System.Collections.Hashtable';
    }
  }
  if (typeof target === 'number' && lower === 'tostring') {
    if (args.length) {
      const fmt = str(args[0]);
      const m = /^([NnDdXxFf])(\d*)$/.exec(fmt);
      if (m) {
        const digits = m[2] === '' ? undefined : Number(m[2]);
        switch (m[1]) {
          case 'N': case 'n': return target.toLocaleString('en-US', { minimumFractionDigits: digits ?? 2, maximumFractionDigits: digits ?? 2 });
          case 'F': case 'f': return target.toFixed(digits ?? 2);
          case 'D': case 'd': return String(Math.trunc(target)).padStart(digits ?? 0, '0');
          case 'X': return target.toString(16).toUpperCase().padStart(digits ?? 0, '0');
          case 'x': return target.toString(16).padStart(digits ?? 0, '0');
        }
      }
    }
    return toPSString(target);
  }
  if (lower === 'tostring') return toPSString(target);
  if (lower === 'equals') return scalarEquals(target, args[0]);
  if (target instanceof SecureString && lower === 'dispose') return undefined;
  throw methodNotFound(target, name);
}

/** $null fits several overloads (string, char[], byte[]), and PowerShell cannot pick one. */
function encodingNullArgument(method: string): PSRuntimeError {
  return new PSRuntimeError(`Multiple ambiguous overloads found for "${method}" and the argument count: "1".`, 'MethodCountCouldNotFindBest', 'NotSpecified', 'MethodException');
}

function readFileBytes(ctx: MemberContext, typed: string): Uint8Array {
  const file = resolvePath(ctx.cwd, typed);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw fileError(typed, e, 'ReadAllBytes');
  }
}

function fileError(typed: string, e: unknown, method: string): PSRuntimeError {
  const code = (e as NodeJS.ErrnoException).code;
  const detail = code === 'ENOENT'
    ? (typed.includes('\\') || typed.includes('/') ? `Could not find a part of the path '${typed}'.` : `Could not find file '${typed}'.`)
    : code === 'EACCES' ? `Access to the path '${typed}' is denied.` : String((e as Error).message);
  return new PSRuntimeError(
    `Exception calling "${method}" with "1" argument(s): "${detail}"`,
    code === 'ENOENT' ? 'FileNotFoundException' : 'IOException', 'NotSpecified', 'MethodInvocationException',
  );
}

/** `[Type]::Member` and `[Type]::Method(args)` */
export async function invokeStatic(typeName: string, member: string, args: unknown[] | undefined, ctx: MemberContext): Promise<unknown> {
  const type = canonicalTypeName(typeName).toLowerCase().replace(/^system\./, '');
  const m = member.toLowerCase();
  const a = args ?? [];
  const isCall = args !== undefined;
  switch (type) {
    case 'io.file':
      if (!isCall) break;
      switch (m) {
        case 'readallbytes': return readFileBytes(ctx, str(a[0]));
        case 'readalltext':
          try { return fs.readFileSync(resolvePath(ctx.cwd, str(a[0])), 'utf8'); } catch (e) { throw fileError(str(a[0]), e, 'ReadAllText'); }
        case 'readalllines':
          try { return fs.readFileSync(resolvePath(ctx.cwd, str(a[0])), 'utf8').split(/\r?\n/).filter((l, i, arr) => !(i === arr.length - 1 && l === '')); } catch (e) { throw fileError(str(a[0]), e, 'ReadAllLines'); }
        case 'exists': return fs.existsSync(resolvePath(ctx.cwd, str(a[0])));
        case 'writeallbytes':
          fs.writeFileSync(resolveWritePath(ctx.cwd, str(a[0])), convertTo(a[1], 'byte[]') as Uint8Array);
          return undefined;
        case 'writealltext':
          fs.writeFileSync(resolveWritePath(ctx.cwd, str(a[0])), str(a[1]));
          return undefined;
      }
      break;
    case 'text.encoding':
      if (isCall) break;
      switch (m) {
        case 'unicode': return new TextEncoding('Unicode');
        case 'bigendianunicode': return new TextEncoding('BigEndianUnicode');
        case 'utf8': case 'default': return new TextEncoding('UTF8');
        case 'ascii': return new TextEncoding('ASCII');
      }
      break;
    case 'io.path':
      if (m === 'combine') return a.map(str).join('/');
      if (m === 'gettemppath') return (await import('node:os')).tmpdir() + '/';
      break;
    case 'datetime':
      if (m === 'now') return new Date();
      if (m === 'utcnow') return new Date();
      if (m === 'today') { const d = new Date(); return new Date(d.getFullYear(), d.getMonth(), d.getDate()); }
      if (m === 'parse' && isCall) return toDate(a[0]);
      break;
    case 'math': {
      const nums = a.map((x) => toNumber(x, 'System.Double'));
      switch (m) {
        case 'round': {
          const digits = nums[1] ?? 0;
          const f = 10 ** digits;
          const v = nums[0] * f;
          const r = Math.round(v);
          return (Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) / f;
        }
        case 'floor': return Math.floor(nums[0]);
        case 'ceiling': return Math.ceil(nums[0]);
        case 'abs': return Math.abs(nums[0]);
        case 'max': return Math.max(nums[0], nums[1]);
        case 'min': return Math.min(nums[0], nums[1]);
        case 'pow': return Math.pow(nums[0], nums[1]);
        case 'sqrt': return Math.sqrt(nums[0]);
        case 'truncate': return Math.trunc(nums[0]);
        case 'pi': return Math.PI;
      }
      break;
    }
    case 'string':
      if (m === 'empty') return '';
      if (m === 'isnullorempty') return a[0] === null || a[0] === undefined || str(a[0]) === '';
      if (m === 'isnullorwhitespace') return a[0] === null || a[0] === undefined || str(a[0]).trim() === '';
      if (m === 'join') return (Array.isArray(a[1]) ? a[1] : a.slice(1)).map(str).join(str(a[0]));
      if (m === 'format') return (await import('./operators.js')).binaryOperation('-f', a[0], a.slice(1));
      break;
    case 'convert':
      if (m === 'tobase64string') return Buffer.from(convertTo(a[0], 'byte[]') as Uint8Array).toString('base64');
      if (m === 'frombase64string') return new Uint8Array(Buffer.from(str(a[0]), 'base64'));
      break;
    case 'int32':
    case 'int64':
      if (m === 'maxvalue') return type === 'int32' ? 2147483647 : Number.MAX_SAFE_INTEGER;
      if (m === 'minvalue') return type === 'int32' ? -2147483648 : Number.MIN_SAFE_INTEGER;
      if (m === 'parse') return convertTo(a[0], 'int');
      break;
    case 'guid':
      if (m === 'newguid') return (await import('node:crypto')).randomUUID();
      break;
    case 'environment':
      if (m === 'machinename') return (await import('node:os')).hostname();
      if (m === 'newline') return '\n';
      break;
  }
  if (!KNOWN_TYPES.has(type)) throw new PSRuntimeError(`Unable to find type [${typeName}].`, 'TypeNotFound', 'InvalidOperation', 'RuntimeException');
  if (isCall) {
    throw new PSRuntimeError(
      `Method invocation failed because [${canonicalTypeName(typeName)}] does not contain a method named '${member}'.`,
      'MethodNotFound', 'InvalidOperation', 'RuntimeException',
    );
  }
  return null;
}

const KNOWN_TYPES = new Set(['io.file', 'io.path', 'datetime', 'math', 'string', 'convert', 'int32', 'int64', 'guid', 'environment', 'boolean', 'double', 'byte', 'char', 'object', 'array', 'timespan', 'text.encoding']);
