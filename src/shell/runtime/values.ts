// The shell's value model: JavaScript primitives, arrays, Date, Uint8Array, plus
// the few PowerShell types that have no JavaScript equivalent. Conversions follow
// PowerShell's rules (invariant culture inside strings, $OFS = ' ' for arrays).

import type { ScriptBlockAst } from '../language/ast.js';

/** An object with named, case-insensitive properties in a fixed order (server objects, Select-Object output). */
export class PSObject {
  private readonly props = new Map<string, { name: string; value: unknown }>();
  /** ToString() of an Exchange value type (an SmtpDomainWithSubdomains is its address) or of a .NET object (its type name). */
  toStringValue?: string;
  /** A value type, equal to another value of the same text (SmtpDomainWithSubdomains), unlike a .NET object. */
  equalsAsText = false;

  constructor(readonly typeName: string, entries: Iterable<[string, unknown]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  get(name: string): unknown {
    return this.props.get(name.toLowerCase())?.value;
  }
  has(name: string): boolean {
    return this.props.has(name.toLowerCase());
  }
  set(name: string, value: unknown): void {
    const key = name.toLowerCase();
    const existing = this.props.get(key);
    if (existing) existing.value = value;
    else this.props.set(key, { name, value });
  }
  /** Property names in order, with their declared spelling. */
  names(): string[] {
    return [...this.props.values()].map((p) => p.name);
  }
  entries(): Array<[string, unknown]> {
    return [...this.props.values()].map((p) => [p.name, p.value]);
  }
}

/** PowerShell's Hashtable: case-insensitive keys (ordered here, which only makes output stable). */
export class Hashtable {
  private readonly map = new Map<string, { key: unknown; value: unknown }>();

  private static norm(key: unknown): string {
    return typeof key === 'string' ? 's:' + key.toLowerCase() : 'o:' + String(key);
  }
  get(key: unknown): unknown {
    return this.map.get(Hashtable.norm(key))?.value;
  }
  has(key: unknown): boolean {
    return this.map.has(Hashtable.norm(key));
  }
  set(key: unknown, value: unknown): void {
    const k = Hashtable.norm(key);
    const existing = this.map.get(k);
    if (existing) existing.value = value;
    else this.map.set(k, { key, value });
  }
  delete(key: unknown): void {
    this.map.delete(Hashtable.norm(key));
  }
  get size(): number {
    return this.map.size;
  }
  entries(): Array<[unknown, unknown]> {
    return [...this.map.values()].map((e) => [e.key, e.value]);
  }
  keys(): unknown[] {
    return [...this.map.values()].map((e) => e.key);
  }
  values(): unknown[] {
    return [...this.map.values()].map((e) => e.value);
  }
}

/** System.Security.SecureString: the text never shows in output. */
export class SecureString {
  constructor(readonly plainText: string) {}
  get length(): number {
    return this.plainText.length;
  }
}

export class ScriptBlock {
  constructor(readonly ast: ScriptBlockAst) {}
  toString(): string {
    return this.ast.text;
  }
}

/** System.TimeSpan, kept in milliseconds. */
export class TimeSpan {
  constructor(readonly ms: number) {}
  /** .NET's "c" format: [-][d.]hh:mm:ss[.fffffff] */
  toString(): string {
    const neg = this.ms < 0;
    let rest = Math.abs(this.ms);
    const days = Math.floor(rest / 86400000);
    rest -= days * 86400000;
    const h = Math.floor(rest / 3600000);
    rest -= h * 3600000;
    const m = Math.floor(rest / 60000);
    rest -= m * 60000;
    const sec = Math.floor(rest / 1000);
    const frac = Math.round((rest - sec * 1000) * 10000);
    const p2 = (n: number): string => String(n).padStart(2, '0');
    return `${neg ? '-' : ''}${days ? days + '.' : ''}${p2(h)}:${p2(m)}:${p2(sec)}${frac ? '.' + String(frac).padStart(7, '0') : ''}`;
  }
  static parse(text: string): TimeSpan | undefined {
    const m = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/.exec(text.trim());
    if (!m) return undefined;
    const ms = Number(m[2] ?? 0) * 86400000 + Number(m[3]) * 3600000 + Number(m[4]) * 60000 + Number(m[5] ?? 0) * 1000 + Number((m[6] ?? '').padEnd(7, '0')) / 10000;
    return new TimeSpan(m[1] ? -ms : ms);
  }
}

/**
 * A System.Text.Encoding from [System.Text.Encoding]::Unicode, ::UTF8, ::ASCII
 * or ::BigEndianUnicode, as Microsoft's recipes use them to write a request
 * file: GetBytes() writes no byte order mark, as in .NET.
 */
export class TextEncoding {
  constructor(readonly kind: 'Unicode' | 'BigEndianUnicode' | 'UTF8' | 'ASCII') {}
  get typeName(): string {
    return { Unicode: 'System.Text.UnicodeEncoding', BigEndianUnicode: 'System.Text.UnicodeEncoding', UTF8: 'System.Text.UTF8Encoding', ASCII: 'System.Text.ASCIIEncoding' }[this.kind];
  }
  get webName(): string {
    return { Unicode: 'utf-16', BigEndianUnicode: 'utf-16BE', UTF8: 'utf-8', ASCII: 'us-ascii' }[this.kind];
  }
  get encodingName(): string {
    return { Unicode: 'Unicode', BigEndianUnicode: 'Unicode (Big-Endian)', UTF8: 'Unicode (UTF-8)', ASCII: 'US-ASCII' }[this.kind];
  }
  getBytes(text: string): Uint8Array {
    switch (this.kind) {
      case 'Unicode': return new Uint8Array(Buffer.from(text, 'utf16le'));
      case 'BigEndianUnicode': return new Uint8Array(Buffer.from(text, 'utf16le').swap16());
      case 'UTF8': return new Uint8Array(Buffer.from(text, 'utf8'));
      // .NET's ASCIIEncoding writes '?' for every character beyond 0x7F (a surrogate pair is one character).
      case 'ASCII': return new Uint8Array([...text].map((c) => (c.codePointAt(0)! < 0x80 ? c.codePointAt(0)! : 0x3f)));
    }
  }
  getString(bytes: Uint8Array): string {
    const b = Buffer.from(bytes);
    switch (this.kind) {
      case 'Unicode': return b.subarray(0, b.length - (b.length % 2)).toString('utf16le');
      case 'BigEndianUnicode': return Buffer.from(b.subarray(0, b.length - (b.length % 2))).swap16().toString('utf16le');
      case 'UTF8': return b.toString('utf8');
      case 'ASCII': return [...b].map((x) => (x < 0x80 ? String.fromCharCode(x) : '?')).join('');
    }
  }
}

/** A type literal such as `[System.IO.File]`. */
export class TypeLiteral {
  constructor(readonly name: string) {}
}

/** A switch parameter value: `-Force` alone. */
export class SwitchValue {
  constructor(readonly isPresent: boolean) {}
}

export function isEnumerable(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/** Output of a pipeline collected as PowerShell assigns it: nothing → $null, one → the item, many → an array. */
export function collect(items: unknown[]): unknown {
  if (items.length === 0) return null;
  if (items.length === 1) return items[0];
  return items;
}

/** Values written to the pipeline are enumerated one level (byte arrays stay whole, see the wire contract). */
export function enumerate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === undefined) return [];
  return [value];
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Culture display form "M/d/yyyy h:mm:ss tt" (en-US), used by formatting and ToString(). */
export function formatDateDisplay(d: Date): string {
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${h12}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

/** Invariant form "MM/dd/yyyy HH:mm:ss", which PowerShell uses for dates inside strings. */
export function formatDateInvariant(d: Date): string {
  return `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${d.getFullYear()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Get-Date's own display: "Thursday, November 26, 2026 11:10:00 PM". */
export function formatDateLong(d: Date): string {
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${DAYS[d.getDay()]}, ${MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()} ${h12}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

export function dayName(d: Date): string {
  return DAYS[d.getDay()];
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  // .NET prints doubles with up to 15 significant digits.
  return String(Number(n.toPrecision(15)));
}

/** PowerShell's conversion to string as done inside expandable strings and by [string]. */
export function toPSString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return formatNumber(value);
  if (value instanceof Date) return formatDateInvariant(value);
  if (Array.isArray(value)) return value.map(toPSString).join(' ');
  if (value instanceof Uint8Array) return [...value].join(' ');
  if (value instanceof SecureString) return 'System.Security.SecureString';
  if (value instanceof Hashtable) return 'System.Collections.Hashtable';
  if (value instanceof ScriptBlock) return value.toString();
  if (value instanceof TypeLiteral) return value.name;
  if (value instanceof TextEncoding) return value.typeName;
  if (value instanceof TimeSpan) return value.toString();
  if (value instanceof SwitchValue) return value.isPresent ? 'True' : 'False';
  if (value instanceof PSObject) return psObjectToString(value);
  return String(value);
}

function psObjectToString(obj: PSObject): string {
  if (obj.toStringValue !== undefined) return obj.toStringValue;
  for (const key of ['Identity', 'Name', 'DisplayName']) {
    const v = obj.get(key);
    if (v !== undefined && v !== null && typeof v !== 'object') return toPSString(v);
  }
  return '@{' + obj.entries().map(([k, v]) => `${k}=${toPSString(v)}`).join('; ') + '}';
}

/** PowerShell truthiness. */
export function toBool(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (value instanceof SwitchValue) return value.isPresent;
  if (Array.isArray(value)) {
    if (value.length === 0) return false;
    if (value.length === 1) return toBool(value[0]);
    return true;
  }
  return true;
}

export function typeNameOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'System.String';
  if (typeof value === 'boolean') return 'System.Boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'System.Int32' : 'System.Double';
  if (value instanceof Date) return 'System.DateTime';
  if (Array.isArray(value)) return 'System.Object[]';
  if (value instanceof Uint8Array) return 'System.Byte[]';
  if (value instanceof SecureString) return 'System.Security.SecureString';
  if (value instanceof Hashtable) return 'System.Collections.Hashtable';
  if (value instanceof ScriptBlock) return 'System.Management.Automation.ScriptBlock';
  if (value instanceof TypeLiteral) return 'System.RuntimeType';
  if (value instanceof TextEncoding) return value.typeName;
  if (value instanceof TimeSpan) return 'System.TimeSpan';
  if (value instanceof PSObject) return value.typeName;
  return 'System.Object';
}

/** Property lookup on any value, case-insensitive (PSObject, Hashtable keys, a few intrinsic members). */
export function getProperty(value: unknown, name: string): { found: boolean; value: unknown } {
  if (value instanceof PSObject) {
    return value.has(name) ? { found: true, value: value.get(name) } : { found: false, value: undefined };
  }
  if (value instanceof Hashtable) {
    if (value.has(name)) return { found: true, value: value.get(name) };
    return { found: false, value: undefined };
  }
  return { found: false, value: undefined };
}
