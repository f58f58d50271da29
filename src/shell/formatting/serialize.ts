// ConvertTo-Json and Export-Csv text.

import { Hashtable, PSObject, ScriptBlock, SecureString, formatDateDisplay, toPSString } from '../runtime/values.js';

function jsonValue(value: unknown, depth: number, maxDepth: number): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof ScriptBlock) return value.toString();
  if (value instanceof SecureString) return { Length: value.length };
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) {
    if (depth > maxDepth) return toPSString(value);
    return value.map((v) => jsonValue(v, depth + 1, maxDepth));
  }
  if (value instanceof PSObject || value instanceof Hashtable) {
    if (depth > maxDepth) return toPSString(value);
    const out: Record<string, unknown> = {};
    const entries = value instanceof PSObject ? value.entries() : value.entries().map(([k, v]) => [toPSString(k), v] as [string, unknown]);
    for (const [k, v] of entries) out[k] = jsonValue(v, depth + 1, maxDepth);
    return out;
  }
  return toPSString(value);
}

/** ConvertTo-Json: one object → that object, several → an array. Depth 2 by default, deeper objects become strings. */
export function toJson(objects: unknown[], options: { depth?: number; compress?: boolean; asArray?: boolean } = {}): string {
  const maxDepth = options.depth ?? 2;
  const value = objects.length === 1 && !options.asArray ? jsonValue(objects[0], 0, maxDepth) : objects.map((o) => jsonValue(o, 1, maxDepth + 1));
  return options.compress ? JSON.stringify(value) : JSON.stringify(value, null, 2);
}

function csvField(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (value instanceof Date) text = formatDateDisplay(value);
  else if (Array.isArray(value)) text = 'System.Object[]';
  else if (value instanceof Uint8Array) text = 'System.Byte[]';
  else text = toPSString(value);
  return '"' + text.replace(/"/g, '""') + '"';
}

/** Export-Csv / ConvertTo-Csv lines; columns come from the first object, as PowerShell does. */
export function toCsvLines(objects: unknown[], options: { noTypeInformation?: boolean; delimiter?: string } = {}): string[] {
  const delimiter = options.delimiter ?? ',';
  const first = objects.find((o) => o !== null && o !== undefined);
  if (first === undefined) return [];
  const lines: string[] = [];
  let names: string[];
  let typeName: string;
  if (first instanceof PSObject) {
    names = first.names();
    typeName = first.typeName;
  } else if (first instanceof Hashtable) {
    names = ['IsReadOnly', 'IsFixedSize', 'IsSynchronized', 'Keys', 'Values', 'SyncRoot', 'Count'];
    typeName = 'System.Collections.Hashtable';
  } else {
    names = typeof first === 'string' ? ['Length'] : [];
    typeName = typeof first === 'string' ? 'System.String' : 'System.Object';
  }
  if (!options.noTypeInformation) lines.push('#TYPE ' + typeName);
  lines.push(names.map((n) => '"' + n + '"').join(delimiter));
  for (const o of objects) {
    const values = names.map((n) => {
      if (o instanceof PSObject) return o.get(n);
      if (typeof o === 'string' && n === 'Length') return o.length;
      if (o instanceof Hashtable && n === 'Count') return o.size;
      return undefined;
    });
    lines.push(values.map(csvField).join(delimiter));
  }
  return lines;
}
