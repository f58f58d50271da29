import { InterchangeError } from '../../errors/interchange-error.js';
import { compileWildcard, type WildcardPattern } from './wildcard.js';

/**
 * The OPath filters of Get-Queue and Get-Message: `Property -op Value`
 * comparisons joined by -and (the queue viewer accepts only -and).
 * Written by hand: no maintained package parses OPath, and the subset is a
 * dozen lines of grammar.
 */
export type FilterPredicate = (o: Record<string, unknown>) => boolean;

const OPERATORS = ['-eq', '-ne', '-gt', '-ge', '-lt', '-le', '-like', '-notlike'] as const;
type Operator = (typeof OPERATORS)[number];

interface Comparison {
  property: string;
  op: Operator;
  value: string | number | boolean | null;
  /** For -like and -notlike, compiled once for every object the filter sees. */
  pattern?: WildcardPattern;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|([^\s'"]+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) tokens.push(`'${m[1].replace(/''/g, "'")}`);
    else if (m[2] !== undefined) tokens.push(`'${m[2].replace(/""/g, '"')}`);
    else tokens.push(m[3]);
    if (re.lastIndex >= text.length) break;
  }
  if (text.trim() && re.lastIndex < text.trimEnd().length) throw invalid(text, `an unterminated quote at position ${re.lastIndex + 1}`);
  return tokens;
}

const invalid = (text: string, why: string) => new InterchangeError('ICX_PARAM_INVALID', `Invalid filter syntax "${text}": ${why}. Use Property -eq Value, joined with -and.`, { parameter: 'Filter' });

function literal(token: string): Comparison['value'] {
  if (token.startsWith("'")) return token.slice(1);
  if (/^\$null$/i.test(token)) return null;
  if (/^\$true$/i.test(token)) return true;
  if (/^\$false$/i.test(token)) return false;
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  return token;
}

export function parseOPathFilter(text: string): FilterPredicate {
  const tokens = tokenize(text.replace(/^\s*\{(.*)\}\s*$/s, '$1'));
  const comparisons: Comparison[] = [];
  for (let i = 0; i < tokens.length; ) {
    const [property, op, value] = tokens.slice(i, i + 3);
    if (!property || property.startsWith("'") || !/^[A-Za-z][A-Za-z0-9]*$/.test(property)) throw invalid(text, `expected a property name, found "${property ?? 'the end'}"`);
    if (!op || !OPERATORS.includes(op.toLowerCase() as Operator)) throw invalid(text, `"${op ?? 'the end'}" after ${property} is not one of ${OPERATORS.join(' ')}`);
    if (value === undefined) throw invalid(text, `${property} ${op} has no value`);
    const operator = op.toLowerCase() as Operator;
    const v = literal(value);
    comparisons.push({ property, op: operator, value: v, ...(operator === '-like' || operator === '-notlike' ? { pattern: compileWildcard(String(v ?? ''), { shell: false }) } : {}) });
    i += 3;
    if (i < tokens.length) {
      if (tokens[i].toLowerCase() !== '-and') throw invalid(text, `"${tokens[i]}" where -and was expected (only -and joins conditions)`);
      i++;
      if (i === tokens.length) throw invalid(text, 'nothing after -and');
    }
  }
  return (o) => comparisons.every((c) => compare(lookup(o, c.property), c));
}

function lookup(o: Record<string, unknown>, property: string): unknown {
  const key = Object.keys(o).find((k) => k.toLowerCase() === property.toLowerCase());
  return key === undefined ? undefined : o[key];
}

const ISO = /^\d{4}-\d{2}-\d{2}T/;

function compare(actual: unknown, { op, value: expected, pattern: re }: Comparison): boolean {
  if (re) {
    const hit = Array.isArray(actual) ? actual.some((a) => re.test(String(a))) : re.test(String(actual ?? ''));
    return op === '-like' ? hit : !hit;
  }
  const order = ordering(actual, expected);
  switch (op) {
    case '-eq':
      return order === 0;
    case '-ne':
      return order !== 0;
    case '-gt':
      return order !== undefined && order > 0;
    case '-ge':
      return order !== undefined && order >= 0;
    case '-lt':
      return order !== undefined && order < 0;
    default:
      return order !== undefined && order <= 0;
  }
}

/** Numbers compare as numbers, dates as dates, everything else as case-insensitive text; undefined when incomparable. */
function ordering(actual: unknown, expected: Comparison['value']): number | undefined {
  if (expected === null) return actual === null || actual === undefined ? 0 : 1;
  if (actual === null || actual === undefined) return undefined;
  if (typeof expected === 'number' && typeof actual === 'number') return actual - expected;
  if (typeof expected === 'boolean') return actual === expected ? 0 : 1;
  const actualDate = actual instanceof Date ? actual : typeof actual === 'string' && ISO.test(actual) ? new Date(actual) : undefined;
  if (actualDate) {
    const e = new Date(String(expected));
    return Number.isNaN(e.getTime()) ? undefined : actualDate.getTime() - e.getTime();
  }
  if (typeof actual === 'number') {
    const n = Number(expected);
    return Number.isNaN(n) ? undefined : actual - n;
  }
  return String(actual).localeCompare(String(expected), undefined, { sensitivity: 'accent' });
}
