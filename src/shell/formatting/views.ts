// Table and list views in the PowerShell 5.1 console style, with the default
// views declared by the server's ObjectTypeInfo.

import type { ObjectTypeInfo } from '../../cmdlets/contract.js';
import { ErrorRecord } from '../runtime/errors.js';
import { renderError } from './error-view.js';
import { hasWildcard, wildcardPattern } from '../runtime/operators.js';
import {
  Hashtable, PSObject, ScriptBlock, SecureString, TimeSpan, TypeLiteral,
  formatDateDisplay, formatDateLong, formatNumber, toPSString,
} from '../runtime/values.js';

/** $FormatEnumerationLimit */
export const ENUMERATION_LIMIT = 4;

/** Object types known to the formatter, by name (case-insensitive). */
export class TypeRegistry {
  private readonly types = new Map<string, ObjectTypeInfo>();
  constructor(types: ObjectTypeInfo[] = []) {
    for (const t of types) this.add(t);
  }
  add(t: ObjectTypeInfo): void {
    this.types.set(t.name.toLowerCase(), t);
  }
  get(name: string): ObjectTypeInfo | undefined {
    return this.types.get(name.toLowerCase());
  }
  all(): ObjectTypeInfo[] {
    return [...this.types.values()];
  }
}

/** Text produced by Format-Table / Format-List: Out-Default writes it as is. */
export class FormattedText {
  constructor(readonly text: string) {}
}

/** One property value as shown in a table cell or list entry. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value) || value instanceof Uint8Array) {
    const items = [...value];
    const shown = items.slice(0, ENUMERATION_LIMIT).map((v) => (Array.isArray(v) ? toPSString(v) : formatCell(v)));
    return '{' + shown.join(', ') + (items.length > ENUMERATION_LIMIT ? '...' : '') + '}';
  }
  if (value instanceof Date) return formatDateDisplay(value);
  if (typeof value === 'number') return formatNumber(value);
  if (value instanceof ScriptBlock) return value.toString();
  return toPSString(value);
}

/** Property names of an object: PSObject properties, Hashtable keys. */
export function propertyNames(obj: unknown): string[] {
  if (obj instanceof PSObject) return obj.names();
  return [];
}

export function propertyValue(obj: unknown, name: string): unknown {
  if (obj instanceof PSObject) return obj.get(name);
  if (obj instanceof Hashtable) return obj.get(name);
  return undefined;
}

/** Expands `Identity,*ProtocolLogPath` against an object's properties, in the object's order for wildcards. */
export function expandPropertyPatterns(obj: unknown, patterns: string[]): string[] {
  const names = propertyNames(obj);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    if (hasWildcard(pattern)) {
      const re = wildcardPattern(pattern);
      for (const n of names) {
        if (re.test(n) && !seen.has(n.toLowerCase())) {
          seen.add(n.toLowerCase());
          out.push(n);
        }
      }
    } else {
      const actual = names.find((n) => n.toLowerCase() === pattern.toLowerCase());
      if (actual && !seen.has(actual.toLowerCase())) {
        seen.add(actual.toLowerCase());
        out.push(actual);
      }
    }
  }
  return out;
}

export interface Column {
  label: string;
  value: (obj: unknown) => unknown;
}

function padRight(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

/** A table: blank line, header, dashes under each header, rows, two blank lines. */
export function renderTable(objects: unknown[], columns: Column[], width?: number): string {
  if (columns.length === 0) return '';
  const rows = objects.map((o) => columns.map((c) => formatCell(c.value(o)).replace(/\r?\n/g, ' ')));
  const numeric = columns.map((c, i) => objects.length > 0 && objects.every((o) => {
    const v = c.value(o);
    return typeof v === 'number' || v === null || v === undefined;
  }) && rows.some((r) => r[i] !== ''));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], isHeader: boolean): string => {
    const parts = cells.map((cell, i) => {
      const w = widths[i];
      const last = i === cells.length - 1;
      if (numeric[i] && !isHeader) return cell.padStart(w);
      if (numeric[i] && isHeader) return cell.padStart(w);
      return last ? cell : padRight(cell, w);
    });
    let text = parts.join(' ').replace(/\s+$/, '');
    if (width && text.length > width) text = text.slice(0, Math.max(0, width - 3)) + '...';
    return text;
  };
  const out: string[] = [''];
  out.push(line(columns.map((c) => c.label), true));
  out.push(line(columns.map((c, i) => (numeric[i] ? '-'.repeat(c.label.length).padStart(widths[i]) : '-'.repeat(c.label.length))), true));
  for (const r of rows) out.push(line(r, false));
  out.push('', '', '');
  return out.join('\n');
}

/** A list: blank line, then each object's `Name : value` lines followed by a blank line, one more blank line at the end. */
export function renderList(objects: unknown[], columnsFor: (obj: unknown) => Column[]): string {
  const out: string[] = [''];
  for (const obj of objects) {
    const columns = columnsFor(obj);
    const w = Math.max(0, ...columns.map((c) => c.label.length));
    for (const c of columns) {
      const text = formatCell(c.value(obj));
      const [first, ...rest] = text.split(/\r?\n/);
      out.push(`${padRight(c.label, w)} : ${first}`.replace(/\s+$/, (m) => (first === '' ? '' : m)));
      for (const r of rest) out.push(' '.repeat(w + 3) + r);
    }
    out.push('');
  }
  out.push('', '');
  return out.join('\n');
}

function columnsOf(names: string[]): Column[] {
  return names.map((n) => ({ label: n, value: (o: unknown) => propertyValue(o, n) }));
}

export function listColumns(obj: unknown, patterns: string[] | undefined, registry: TypeRegistry): Column[] {
  if (obj instanceof Hashtable) {
    return obj.keys().map((k) => ({ label: toPSString(k), value: () => obj.get(k) }));
  }
  if (!(obj instanceof PSObject)) return [];
  if (patterns && patterns.length) return columnsOf(expandPropertyPatterns(obj, patterns));
  const view = registry.get(obj.typeName)?.defaultListView;
  if (view && view.length) return columnsOf(expandPropertyPatterns(obj, view));
  return columnsOf(obj.names());
}

export function tableColumns(sample: unknown, patterns: string[] | undefined, registry: TypeRegistry): Column[] {
  if (sample instanceof Hashtable) {
    return [{ label: 'Name', value: (o) => (o as { k: unknown }).k }, { label: 'Value', value: (o) => (o as { v: unknown }).v }];
  }
  if (!(sample instanceof PSObject)) return [];
  if (patterns && patterns.length) return columnsOf(expandPropertyPatterns(sample, patterns));
  const type = registry.get(sample.typeName);
  const view = type?.defaultTableView;
  if (view && view.length) {
    // A view may label a column differently from its property (ServicesStringForm shown as "Services").
    const labels = type?.tableColumnLabels ?? {};
    return expandPropertyPatterns(sample, view).map((n) => ({ label: labels[n] ?? n, value: (o: unknown) => propertyValue(o, n) }));
  }
  return columnsOf(sample.names());
}

/** Format-List over any objects; scalars print as themselves. */
export function formatList(objects: unknown[], patterns: string[] | undefined, registry: TypeRegistry): string {
  const parts: string[] = [];
  let group: unknown[] = [];
  const flush = (): void => {
    if (group.length) parts.push(renderList(group, (o) => listColumns(o, patterns, registry)));
    group = [];
  };
  for (const o of objects) {
    if (o instanceof PSObject || o instanceof Hashtable) group.push(o);
    else {
      flush();
      parts.push(scalarText(o));
    }
  }
  flush();
  return parts.join('');
}

/** Format-Table over any objects: one table per run of objects of the same type. */
export function formatTable(objects: unknown[], patterns: string[] | undefined, registry: TypeRegistry, width?: number): string {
  const parts: string[] = [];
  for (const group of groupByType(objects)) {
    const first = group[0];
    if (first instanceof Hashtable) {
      const rows = group.flatMap((h) => (h as Hashtable).entries().map(([k, v]) => ({ k, v })));
      parts.push(renderTable(rows, tableColumns(first, undefined, registry), width));
    } else if (first instanceof PSObject) {
      parts.push(renderTable(group, tableColumns(first, patterns, registry), width));
    } else {
      parts.push(group.map(scalarText).join(''));
    }
  }
  return parts.join('');
}

function groupKey(o: unknown): string {
  if (o instanceof PSObject) return 'o:' + o.typeName.toLowerCase() + (o.typeName === 'System.Management.Automation.PSCustomObject' || o.typeName.startsWith('Selected.') ? ':' + o.names().join(',').toLowerCase() : '');
  if (o instanceof Hashtable) return 'h';
  if (o instanceof FormattedText) return 'f';
  return 's';
}

function groupByType(objects: unknown[]): unknown[][] {
  const groups: unknown[][] = [];
  let key: string | undefined;
  for (const o of objects) {
    const k = groupKey(o);
    if (k !== key || k === 'f') {
      groups.push([]);
      key = k;
    }
    groups[groups.length - 1].push(o);
  }
  return groups;
}

/** A TimeSpan on its own shows as PowerShell's list of its properties. */
function timeSpanList(t: TimeSpan): string {
  const names = ['Days', 'Hours', 'Minutes', 'Seconds', 'Milliseconds', 'Ticks', 'TotalDays', 'TotalHours', 'TotalMinutes', 'TotalSeconds', 'TotalMilliseconds'];
  const ms = t.ms;
  const whole = (unit: number, mod?: number): number => (mod ? Math.trunc(ms / unit) % mod : Math.trunc(ms / unit));
  const values = [whole(86400000), whole(3600000, 24), whole(60000, 60), whole(1000, 60), whole(1, 1000), Math.round(ms * 10000), ms / 86400000, ms / 3600000, ms / 60000, ms / 1000, ms];
  return renderList([new PSObject('System.TimeSpan', names.map((n, i) => [n, values[i]]))], (o) => (o as PSObject).names().map((n) => ({ label: n, value: (x: unknown) => (x as PSObject).get(n) })));
}

/** A value written directly to the console (not as a property). */
export function scalarText(o: unknown): string {
  if (o === null || o === undefined) return '';
  if (o instanceof FormattedText) return o.text;
  if (o instanceof ErrorRecord) return renderError(o);
  if (o instanceof TimeSpan) return timeSpanList(o);
  if (o instanceof Date) return formatDateLong(o) + '\n';
  if (o instanceof Uint8Array) return [...o].map((b) => b + '\n').join('');
  if (Array.isArray(o)) return o.map(scalarText).join('');
  if (o instanceof SecureString) return 'System.Security.SecureString\n';
  if (o instanceof TypeLiteral) return o.name + '\n';
  if (typeof o === 'number') return formatNumber(o) + '\n';
  return toPSString(o) + '\n';
}

/** Out-Default: what the console shows for pipeline output. */
export function formatDefault(objects: unknown[], registry: TypeRegistry, width?: number): string {
  const parts: string[] = [];
  for (const group of groupByType(objects)) {
    const first = group[0];
    if (first instanceof PSObject) {
      const type = registry.get(first.typeName);
      if (type && type.defaultTableView.length) parts.push(formatTable(group, undefined, registry, width));
      else if (type && type.defaultListView.length) parts.push(formatList(group, undefined, registry));
      else if (first.names().length <= 4) parts.push(formatTable(group, undefined, registry, width));
      else parts.push(formatList(group, undefined, registry));
    } else if (first instanceof Hashtable) {
      parts.push(formatTable(group, undefined, registry, width));
    } else {
      parts.push(group.map(scalarText).join(''));
    }
  }
  return parts.join('');
}
