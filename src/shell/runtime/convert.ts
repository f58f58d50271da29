// PowerShell type conversion for casts, -as, and operator operands.

import { parseNumberLiteral } from '../language/parser.js';
import { PSRuntimeError } from './errors.js';
import { Hashtable, PSObject, ScriptBlock, SecureString, SwitchValue, TimeSpan, toBool, toPSString, typeNameOf } from './values.js';

const TYPE_ALIASES: Record<string, string> = {
  string: 'System.String', 'system.string': 'System.String',
  int: 'System.Int32', int32: 'System.Int32', 'system.int32': 'System.Int32',
  long: 'System.Int64', int64: 'System.Int64', 'system.int64': 'System.Int64',
  double: 'System.Double', 'system.double': 'System.Double', decimal: 'System.Decimal', float: 'System.Single', single: 'System.Single',
  byte: 'System.Byte', 'system.byte': 'System.Byte',
  bool: 'System.Boolean', boolean: 'System.Boolean', 'system.boolean': 'System.Boolean',
  datetime: 'System.DateTime', 'system.datetime': 'System.DateTime',
  'byte[]': 'System.Byte[]', 'system.byte[]': 'System.Byte[]',
  array: 'System.Array', 'object[]': 'System.Object[]', 'system.object[]': 'System.Object[]', 'string[]': 'System.String[]', 'system.string[]': 'System.String[]', 'int[]': 'System.Int32[]',
  hashtable: 'System.Collections.Hashtable', 'system.collections.hashtable': 'System.Collections.Hashtable', ordered: 'System.Collections.Hashtable',
  pscustomobject: 'System.Management.Automation.PSCustomObject', psobject: 'System.Management.Automation.PSObject', object: 'System.Object', 'system.object': 'System.Object',
  securestring: 'System.Security.SecureString', 'system.security.securestring': 'System.Security.SecureString',
  scriptblock: 'System.Management.Automation.ScriptBlock',
  switch: 'System.Management.Automation.SwitchParameter',
  void: 'System.Void',
  char: 'System.Char',
  regex: 'System.Text.RegularExpressions.Regex',
  timespan: 'System.TimeSpan', 'system.timespan': 'System.TimeSpan',
};

export function canonicalTypeName(name: string): string {
  return TYPE_ALIASES[name.toLowerCase()] ?? name;
}

function conversionError(value: unknown, typeName: string, detail: string): PSRuntimeError {
  const shown = Array.isArray(value) ? 'System.Object[]' : toPSString(value);
  const errorId = typeName === 'System.Int32' || typeName === 'System.Int64' || typeName === 'System.Byte' ? 'InvalidCastFromStringToInteger' : 'InvalidCastParseTargetInvocation';
  return new PSRuntimeError(`Cannot convert value "${shown}" to type "${typeName}". Error: "${detail}"`, errorId, 'InvalidArgument', 'RuntimeException');
}

/** Number conversion following PowerShell: strings parse as number literals, $null is 0, booleans are 0/1. */
export function toNumber(value: unknown, typeName = 'System.Int32'): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof SwitchValue) return value.isPresent ? 1 : 0;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return 0;
    const n = parseNumberLiteral(trimmed);
    if (n === undefined) throw conversionError(value, typeName, 'Input string was not in a correct format.');
    return n;
  }
  if (Array.isArray(value) && value.length === 1) return toNumber(value[0], typeName);
  if (value instanceof Date) return value.getTime();
  throw new PSRuntimeError(
    `Cannot convert the "${toPSString(value)}" value of type "${typeNameOf(value)}" to type "${typeName}".`,
    'ConvertToFinalInvalidCastException', 'InvalidArgument', 'RuntimeException',
  );
}

/** .NET rounds to even when converting to an integer type. */
function roundHalfEven(n: number): number {
  const r = Math.round(n);
  if (Math.abs(n % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

const INVARIANT_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?$/i;

export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const m = INVARIANT_DATE.exec(value.trim());
    if (m) {
      let hour = Number(m[4] ?? 0);
      if (m[7]) {
        const pm = m[7].toUpperCase() === 'PM';
        if (hour === 12) hour = pm ? 12 : 0;
        else if (pm) hour += 12;
      }
      return new Date(Number(m[3]), Number(m[1]) - 1, Number(m[2]), hour, Number(m[5] ?? 0), Number(m[6] ?? 0));
    }
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
    throw conversionError(value, 'System.DateTime', `String '${value}' was not recognized as a valid DateTime.`);
  }
  if (typeof value === 'number') return new Date(value);
  throw conversionError(value, 'System.DateTime', 'Invalid cast.');
}

export function toByteArray(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value === null || value === undefined) return new Uint8Array();
  const items = Array.isArray(value) ? value : [value];
  const out = new Uint8Array(items.length);
  items.forEach((item, i) => {
    const n = roundHalfEven(toNumber(item, 'System.Byte'));
    if (n < 0 || n > 255) throw conversionError(item, 'System.Byte', 'Value was either too large or too small for an unsigned byte.');
    out[i] = n;
  });
  return out;
}

function hashtableToObject(h: Hashtable): PSObject {
  return new PSObject('System.Management.Automation.PSCustomObject', h.entries().map(([k, v]) => [toPSString(k), v]));
}

/** `[type]value` */
export function convertTo(value: unknown, rawTypeName: string): unknown {
  const typeName = canonicalTypeName(rawTypeName);
  switch (typeName) {
    case 'System.String':
      return value === null || value === undefined ? '' : toPSString(value);
    case 'System.Int32':
    case 'System.Int64':
    case 'System.Byte': {
      const n = roundHalfEven(toNumber(value, typeName));
      if (typeName === 'System.Byte' && (n < 0 || n > 255)) throw conversionError(value, typeName, 'Value was either too large or too small for an unsigned byte.');
      return n;
    }
    case 'System.Double':
    case 'System.Decimal':
    case 'System.Single':
      return toNumber(value, typeName);
    case 'System.Boolean':
    case 'System.Management.Automation.SwitchParameter':
      return toBool(value);
    case 'System.DateTime':
      return toDate(value);
    case 'System.Byte[]':
      return toByteArray(value);
    case 'System.Array':
    case 'System.Object[]':
      if (value === null || value === undefined) return [];
      return Array.isArray(value) ? value : value instanceof Uint8Array ? [...value] : [value];
    case 'System.String[]':
      return (Array.isArray(value) ? value : [value]).map((v) => toPSString(v));
    case 'System.Int32[]':
      return (Array.isArray(value) ? value : [value]).map((v) => roundHalfEven(toNumber(v)));
    case 'System.Collections.Hashtable':
      if (value instanceof Hashtable) return value;
      break;
    case 'System.Management.Automation.PSCustomObject':
    case 'System.Management.Automation.PSObject':
      if (value instanceof Hashtable) return hashtableToObject(value);
      return value;
    case 'System.Object':
      return value;
    case 'System.Void':
      return null;
    case 'System.Char':
      if (typeof value === 'number') return String.fromCharCode(value);
      if (typeof value === 'string' && value.length === 1) return value;
      break;
    case 'System.Security.SecureString':
      if (value instanceof SecureString) return value;
      break;
    case 'System.Management.Automation.ScriptBlock':
      if (value instanceof ScriptBlock) return value;
      break;
    case 'System.Text.RegularExpressions.Regex':
      return toPSString(value);
    case 'System.TimeSpan': {
      if (value instanceof TimeSpan) return value;
      if (typeof value === 'number') return new TimeSpan(value / 10000);
      const t = TimeSpan.parse(toPSString(value));
      if (t) return t;
      throw conversionError(value, typeName, `String '${toPSString(value)}' was not recognized as a valid TimeSpan.`);
    }
    default:
      throw new PSRuntimeError(`Unable to find type [${rawTypeName}].`, 'TypeNotFound', 'InvalidOperation', 'RuntimeException');
  }
  throw new PSRuntimeError(
    `Cannot convert the "${toPSString(value)}" value of type "${typeNameOf(value)}" to type "${typeName}".`,
    'ConvertToFinalInvalidCastException', 'InvalidArgument', 'RuntimeException',
  );
}

/** `-is [type]` */
export function isOfType(value: unknown, rawTypeName: string): boolean {
  const typeName = canonicalTypeName(rawTypeName);
  switch (typeName) {
    case 'System.String': return typeof value === 'string';
    case 'System.Int32': case 'System.Int64': return typeof value === 'number' && Number.isInteger(value);
    case 'System.Double': return typeof value === 'number';
    case 'System.Boolean': return typeof value === 'boolean';
    case 'System.DateTime': return value instanceof Date;
    case 'System.TimeSpan': return value instanceof TimeSpan;
    case 'System.Byte[]': return value instanceof Uint8Array;
    case 'System.Array': case 'System.Object[]': return Array.isArray(value) || value instanceof Uint8Array;
    case 'System.Collections.Hashtable': return value instanceof Hashtable;
    case 'System.Security.SecureString': return value instanceof SecureString;
    case 'System.Management.Automation.ScriptBlock': return value instanceof ScriptBlock;
    case 'System.Management.Automation.PSCustomObject': case 'System.Management.Automation.PSObject': return value instanceof PSObject;
    case 'System.Object': return value !== null && value !== undefined;
    default:
      return value instanceof PSObject && value.typeName.toLowerCase() === typeName.toLowerCase();
  }
}
