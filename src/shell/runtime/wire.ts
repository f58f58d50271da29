// Shell values to and from the wire encoding of src/cmdlets/contract.ts.

import type { ParameterInfo, WireValue } from '../../cmdlets/contract.js';
import type { TypeRegistry } from '../formatting/views.js';
import { Hashtable, PSObject, ScriptBlock, SecureString, SwitchValue, TimeSpan, TypeLiteral, toPSString } from './values.js';

function isByteList(v: unknown[]): boolean {
  return v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255);
}

/**
 * Encodes a parameter value. `text` is the source text of a number typed in
 * argument mode: a String parameter receives it unchanged (`0123` stays `0123`).
 */
export function toWire(value: unknown, param?: ParameterInfo, text?: string): WireValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (text !== undefined && param && (param.type === 'String' || param.type === 'Enum' || param.type === 'Flags')) return text;
    return value;
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof SwitchValue) return value.isPresent;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof TimeSpan) return value.toString();
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof SecureString) return { $secure: value.plainText };
  if (value instanceof ScriptBlock) return value.toString();
  if (value instanceof TypeLiteral) return value.name;
  if (Array.isArray(value)) {
    if (param?.type === 'Byte[]' && isByteList(value)) return { $bytes: Buffer.from(value as number[]).toString('base64') };
    return value.map((v) => toWire(v, param && param.multiValued ? { ...param, multiValued: false } : undefined));
  }
  if (value instanceof Hashtable) {
    const out: Record<string, WireValue> = {};
    for (const [k, v] of value.entries()) out[toPSString(k)] = toWire(v, param);
    return out;
  }
  if (value instanceof PSObject && value.typeName === 'System.Management.Automation.PSCredential') {
    const password = value.get('Password');
    return { $credential: { userName: toPSString(value.get('UserName')), password: password instanceof SecureString ? password.plainText : toPSString(password) } };
  }
  if (value instanceof PSObject) {
    // An object given to a parameter stands for its identity, as Exchange's *IdParameter types do.
    if (value.has('Identity')) return toWire(value.get('Identity'));
    const out: Record<string, WireValue> = {};
    for (const [k, v] of value.entries()) out[k] = toWire(v);
    return out;
  }
  return toPSString(value);
}

function fromWireValue(v: unknown, type: string | undefined, types: TypeRegistry): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => fromWireValue(x, type, types));
  if (typeof v === 'string' && type === 'DateTime') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : new Date(t);
  }
  if (typeof v === 'string' && type === 'TimeSpan') return TimeSpan.parse(v) ?? v;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$bytes === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
    if (typeof o.$secure === 'string' && Object.keys(o).length === 1) return new SecureString(o.$secure);
    return fromWireObject(o as Record<string, unknown>, types);
  }
  return v;
}

/** An output object: `$type` names its ObjectTypeInfo, whose property order and DateTime types apply. */
export function fromWireObject(o: Record<string, unknown>, types: TypeRegistry): PSObject {
  const typeName = typeof o.$type === 'string' ? o.$type : 'System.Management.Automation.PSCustomObject';
  const type = types.get(typeName);
  const obj = new PSObject(typeName);
  const declared = new Map((type?.properties ?? []).map((p) => [p.name.toLowerCase(), p]));
  const keys = Object.keys(o).filter((k) => k !== '$type');
  const ordered = [
    ...(type?.properties ?? []).map((p) => keys.find((k) => k.toLowerCase() === p.name.toLowerCase())).filter((k): k is string => k !== undefined),
    ...keys.filter((k) => !declared.has(k.toLowerCase())),
  ];
  for (const k of ordered) {
    const p = declared.get(k.toLowerCase());
    obj.set(p?.name ?? k, fromWireValue(o[k], p?.type, types));
  }
  if (type?.toStringProperty) {
    obj.toStringValue = toPSString(obj.get(type.toStringProperty));
    obj.equalsAsText = true;
  }
  // A .NET type without its own ToString() shows its name, as a CryptoKeyAccessRule in AccessRules does.
  else if (type?.name.startsWith('System.')) obj.toStringValue = type.name;
  return obj;
}
