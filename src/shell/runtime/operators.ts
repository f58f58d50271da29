// PowerShell's operators: the left operand decides the conversion, comparisons
// are case-insensitive unless the `c` variant is used, and a collection on the
// left filters instead of comparing.

import { compileWildcard, type WildcardPattern } from '../../cmdlets/framework/wildcard.js';
import { PSRuntimeError } from './errors.js';
import { convertTo, isOfType, toDate, toNumber } from './convert.js';
import { formatDateCustom } from './date-format.js';
import { Hashtable, PSObject, SwitchValue, TimeSpan, formatNumber, toBool, toPSString } from './values.js';

export type MatchesSink = (matches: Hashtable) => void;

/** A PowerShell wildcard pattern (`*ProtocolLogPath`, `Get-?x[ab]`), matched in linear time (no RegExp backtracking). */
export function wildcardPattern(pattern: string, caseSensitive = false): WildcardPattern {
  return compileWildcard(pattern, { caseSensitive });
}

export function hasWildcard(text: string): boolean {
  return /[*?[]/.test(text);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function toRegExp(pattern: unknown, caseSensitive: boolean, global = false): RegExp {
  const source = toPSString(pattern);
  try {
    // .NET inline options such as (?i) have no JavaScript equivalent; drop them.
    return new RegExp(source.replace(/^\(\?i\)/, ''), (caseSensitive ? '' : 'i') + (global ? 'g' : ''));
  } catch (e) {
    throw new PSRuntimeError(`The regular expression pattern ${source} is not valid.`, 'InvalidRegularExpression', 'InvalidOperation', 'RuntimeException');
  }
}

function isNull(v: unknown): boolean {
  return v === null || v === undefined;
}

/** Scalar equality with the left operand's type deciding the conversion of the right. */
export function scalarEquals(left: unknown, right: unknown, caseSensitive = false): boolean {
  if (isNull(left)) return isNull(right);
  if (isNull(right)) return false;
  if (left instanceof SwitchValue) left = left.isPresent;
  if (right instanceof SwitchValue) right = right.isPresent;
  if (typeof left === 'string') {
    const r = toPSString(right);
    return caseSensitive ? left === r : left.toLowerCase() === r.toLowerCase();
  }
  if (typeof left === 'number') {
    if (typeof right === 'string' && right.trim() === '') return false;
    try {
      return left === toNumber(right);
    } catch {
      return false;
    }
  }
  if (typeof left === 'boolean') return left === toBool(right);
  // An Exchange value type compares as its text, as SmtpDomain does (without regard to case).
  if (left instanceof PSObject && left.equalsAsText && left.toStringValue !== undefined) {
    const r = toPSString(right);
    return caseSensitive ? left.toStringValue === r : left.toStringValue.toLowerCase() === r.toLowerCase();
  }
  if (left instanceof TimeSpan) return right instanceof TimeSpan && left.ms === right.ms;
  if (left instanceof Date) {
    try {
      return left.getTime() === toDate(right).getTime();
    } catch {
      return false;
    }
  }
  return left === right;
}

/** Ordering for -lt/-gt and Sort-Object: negative, zero or positive. */
export function compareValues(left: unknown, right: unknown, caseSensitive = false): number {
  if (isNull(left) && isNull(right)) return 0;
  if (isNull(left)) return -1;
  if (isNull(right)) return 1;
  if (typeof left === 'number') {
    const r = toNumber(right);
    return left < r ? -1 : left > r ? 1 : 0;
  }
  if (left instanceof Date) {
    const r = toDate(right).getTime();
    const l = left.getTime();
    return l < r ? -1 : l > r ? 1 : 0;
  }
  if (left instanceof TimeSpan) {
    const r = right instanceof TimeSpan ? right.ms : TimeSpan.parse(toPSString(right))?.ms ?? toNumber(right) / 10000;
    return left.ms < r ? -1 : left.ms > r ? 1 : 0;
  }
  if (typeof left === 'boolean') {
    const l = left ? 1 : 0;
    const r = toBool(right) ? 1 : 0;
    return l - r;
  }
  const l = toPSString(left);
  const r = toPSString(right);
  if (caseSensitive) return l < r ? -1 : l > r ? 1 : 0;
  return l.localeCompare(r, 'en', { sensitivity: 'base' });
}

function like(left: unknown, pattern: unknown, caseSensitive: boolean): boolean {
  return wildcardPattern(toPSString(pattern), caseSensitive).test(toPSString(left));
}

function matchOne(left: unknown, pattern: unknown, caseSensitive: boolean, sink?: MatchesSink): boolean {
  const m = toRegExp(pattern, caseSensitive).exec(toPSString(left));
  if (!m) return false;
  if (sink) {
    const h = new Hashtable();
    m.forEach((g, i) => {
      if (g !== undefined) h.set(i, g);
    });
    if (m.groups) for (const [k, v] of Object.entries(m.groups)) if (v !== undefined) h.set(k, v);
    sink(h);
  }
  return true;
}

function collection(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array) return [...v];
  return [v];
}

function contains(coll: unknown, item: unknown, caseSensitive: boolean): boolean {
  return collection(coll).some((x) => scalarEquals(x, item, caseSensitive));
}

function netReplacement(replacement: string): string {
  return replacement.replace(/\$\{(\w+)\}/g, '$<$1>').replace(/\$0/g, '$$&');
}

function formatOperator(format: unknown, args: unknown): string {
  const list = Array.isArray(args) ? args : [args];
  return toPSString(format).replace(/\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}/g, (whole, index, align, spec) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const value = list[Number(index)];
    let text = formatWithSpec(value, spec);
    if (align) {
      const width = Number(align);
      text = width < 0 ? text.padEnd(-width) : text.padStart(width);
    }
    return text;
  });
}

function formatWithSpec(value: unknown, spec: string | undefined): string {
  if (!spec) return toPSString(value);
  if (value instanceof Date) return formatDateCustom(value, spec);
  const m = /^([NnDdXxFfPp])(\d*)$/.exec(spec);
  if (!m || typeof value !== 'number') return toPSString(value);
  const digits = m[2] === '' ? undefined : Number(m[2]);
  switch (m[1]) {
    case 'N': case 'n':
      return value.toLocaleString('en-US', { minimumFractionDigits: digits ?? 2, maximumFractionDigits: digits ?? 2 });
    case 'F': case 'f':
      return value.toFixed(digits ?? 2);
    case 'D': case 'd':
      return String(Math.trunc(value)).padStart(digits ?? 0, '0');
    case 'X':
      return value.toString(16).toUpperCase().padStart(digits ?? 0, '0');
    case 'x':
      return value.toString(16).padStart(digits ?? 0, '0');
    case 'P': case 'p':
      return (value * 100).toFixed(digits ?? 2) + ' %';
  }
  return toPSString(value);
}

function add(left: unknown, right: unknown): unknown {
  if (isNull(left)) return Array.isArray(right) ? [...right] : right;
  if (Array.isArray(left)) return Array.isArray(right) ? [...left, ...right] : [...left, right];
  if (left instanceof Uint8Array) return [...left, ...collection(right)];
  if (typeof left === 'string') return left + toPSString(right);
  if (left instanceof Hashtable) {
    if (!(right instanceof Hashtable)) throw new PSRuntimeError('A hash table can only be added to another hash table.', 'AddHashTableToNonHashTable');
    const out = new Hashtable();
    for (const [k, v] of left.entries()) out.set(k, v);
    for (const [k, v] of right.entries()) {
      if (out.has(k)) throw new PSRuntimeError(`Item has already been added. Key in dictionary: '${toPSString(k)}'  Key being added: '${toPSString(k)}'`, 'DuplicateKeyInHashLiteral');
      out.set(k, v);
    }
    return out;
  }
  if (left instanceof Date) return new Date(left.getTime() + (right instanceof TimeSpan ? right.ms : toNumber(right) / 10000));
  if (left instanceof TimeSpan) return new TimeSpan(left.ms + (right instanceof TimeSpan ? right.ms : toNumber(right) / 10000));
  if (typeof left === 'number' || typeof left === 'boolean') return toNumber(left) + toNumber(right, 'System.Int32');
  throw new PSRuntimeError(`Method invocation failed because [${left instanceof PSObject ? left.typeName : typeof left}] does not contain a method named 'op_Addition'.`, 'MethodNotFound');
}

function multiply(left: unknown, right: unknown): unknown {
  if (typeof left === 'string') {
    const n = toNumber(right);
    return left.repeat(Math.max(0, Math.trunc(n)));
  }
  if (Array.isArray(left)) {
    const n = Math.max(0, Math.trunc(toNumber(right)));
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(...left);
    return out;
  }
  return toNumber(left) * toNumber(right);
}

function divide(left: unknown, right: unknown): number {
  const r = toNumber(right);
  if (r === 0) throw new PSRuntimeError('Attempted to divide by zero.', 'RuntimeException', 'NotSpecified', 'RuntimeException');
  return toNumber(left) / r;
}

function range(left: unknown, right: unknown): number[] {
  const a = Math.trunc(toNumber(left));
  const b = Math.trunc(toNumber(right));
  const out: number[] = [];
  if (a <= b) for (let i = a; i <= b; i++) out.push(i);
  else for (let i = a; i >= b; i--) out.push(i);
  return out;
}

function split(left: unknown, right: unknown, caseSensitive: boolean): string[] {
  const args = Array.isArray(right) ? right : [right];
  const re = toRegExp(args[0], caseSensitive, false);
  const max = args.length > 1 ? Math.trunc(toNumber(args[1])) : 0;
  const out: string[] = [];
  for (const item of collection(left)) {
    const parts = toPSString(item).split(re);
    if (max > 0 && parts.length > max) {
      // With a maximum, the last element keeps the rest of the string unsplit.
      const text = toPSString(item);
      const kept: string[] = [];
      let rest = text;
      for (let i = 0; i < max - 1; i++) {
        const m = re.exec(rest);
        if (!m) break;
        kept.push(rest.slice(0, m.index));
        rest = rest.slice(m.index + m[0].length);
      }
      kept.push(rest);
      out.push(...kept);
    } else {
      out.push(...parts);
    }
  }
  return out;
}

/** Evaluates a binary operator. */
export function binaryOperation(operator: string, left: unknown, right: unknown, sink?: MatchesSink): unknown {
  let op = operator.toLowerCase();
  let caseSensitive = false;
  if (/^-[ci](eq|ne|gt|ge|lt|le|like|notlike|match|notmatch|contains|notcontains|in|notin|replace|split)$/.test(op)) {
    caseSensitive = op[1] === 'c';
    op = '-' + op.slice(2);
  }
  switch (op) {
    case '+': return add(left, right);
    case '-':
      if (left instanceof Date && right instanceof Date) return new TimeSpan(left.getTime() - right.getTime());
      if (left instanceof Date && right instanceof TimeSpan) return new Date(left.getTime() - right.ms);
      if (left instanceof TimeSpan && right instanceof TimeSpan) return new TimeSpan(left.ms - right.ms);
      return toNumber(left) - toNumber(right);
    case '*': return multiply(left, right);
    case '/': return divide(left, right);
    case '%': {
      const r = toNumber(right);
      if (r === 0) throw new PSRuntimeError('Attempted to divide by zero.', 'RuntimeException', 'NotSpecified');
      return toNumber(left) % r;
    }
    case '..': return range(left, right);
    case '-f': return formatOperator(left, right);
    case '-and': return toBool(left) && toBool(right);
    case '-or': return toBool(left) || toBool(right);
    case '-xor': return toBool(left) !== toBool(right);
    case '-band': return toNumber(left) & toNumber(right);
    case '-bor': return toNumber(left) | toNumber(right);
    case '-bxor': return toNumber(left) ^ toNumber(right);
    case '-shl': return toNumber(left) << toNumber(right);
    case '-shr': return toNumber(left) >> toNumber(right);
    case '-contains': return contains(left, right, caseSensitive);
    case '-notcontains': return !contains(left, right, caseSensitive);
    case '-in': return contains(right, left, caseSensitive);
    case '-notin': return !contains(right, left, caseSensitive);
    case '-is': return isOfType(left, typeArg(right));
    case '-isnot': return !isOfType(left, typeArg(right));
    case '-as':
      try {
        return convertTo(left, typeArg(right));
      } catch {
        return null;
      }
    case '-join': return collection(left).map(toPSString).join(toPSString(right));
    case '-split': return split(left, right, caseSensitive);
    case '-replace': {
      const args = Array.isArray(right) ? right : [right];
      const re = toRegExp(args[0], caseSensitive, true);
      const replacement = netReplacement(args.length > 1 ? toPSString(args[1]) : '');
      const apply = (v: unknown): string => toPSString(v).replace(re, replacement);
      return Array.isArray(left) ? left.map(apply) : apply(left);
    }
  }
  const test = comparisonTest(op, right, caseSensitive, sink);
  if (!test) throw new PSRuntimeError(`The operator '${operator}' is not supported.`, 'OperatorNotSupported');
  if (Array.isArray(left)) return left.filter((x) => test(x));
  return test(left);
}

function typeArg(v: unknown): string {
  if (v && typeof v === 'object' && 'name' in v && typeof (v as { name: unknown }).name === 'string') return (v as { name: string }).name;
  return toPSString(v);
}

function comparisonTest(op: string, right: unknown, cs: boolean, sink?: MatchesSink): ((x: unknown) => boolean) | undefined {
  switch (op) {
    case '-eq': return (x) => scalarEquals(x, right, cs);
    case '-ne': return (x) => !scalarEquals(x, right, cs);
    case '-gt': return (x) => compareValues(x, right, cs) > 0;
    case '-ge': return (x) => compareValues(x, right, cs) >= 0;
    case '-lt': return (x) => compareValues(x, right, cs) < 0;
    case '-le': return (x) => compareValues(x, right, cs) <= 0;
    case '-like': return (x) => like(x, right, cs);
    case '-notlike': return (x) => !like(x, right, cs);
    case '-match': return (x) => matchOne(x, right, cs, sink);
    case '-notmatch': return (x) => !matchOne(x, right, cs, sink);
    default: return undefined;
  }
}

export function unaryOperation(operator: string, operand: unknown): unknown {
  switch (operator) {
    case '-not':
    case '!': return !toBool(operand);
    case '-': return -toNumber(operand);
    case '+': return toNumber(operand);
    case '-bnot': return ~toNumber(operand);
    case ',': return [operand];
    case '-join': return collection(operand).map(toPSString).join('');
    case '-split': return collection(operand).flatMap((x) => toPSString(x).trim().split(/\s+/).filter((s) => s !== ''));
    default: throw new PSRuntimeError(`The operator '${operator}' is not supported.`, 'OperatorNotSupported');
  }
}

export { formatNumber };
