import * as asn1js from 'asn1js';

/**
 * A thin, tolerant view over asn1js parse results. The container formats we read
 * (PKCS#12, PKCS#7) come from many producers, some of which use BER constructs
 * (indefinite lengths, constructed OCTET STRINGs); asn1js copes with those, and
 * these helpers keep the walking code short and its failures uniform.
 */
export type Asn = asn1js.AsnType;

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export function parseDer(data: Uint8Array, what: string): Asn {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || parsed.result.error) {
    throw new DerError(`${what}: not valid ASN.1 (${parsed.result.error || 'parse error'})`);
  }
  return parsed.result;
}

/** Like parseDer, but insists the whole buffer is one element (no trailing bytes). */
export function parseDerExact(data: Uint8Array, what: string): Asn {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || parsed.result.error) {
    throw new DerError(`${what}: not valid ASN.1 (${parsed.result.error || 'parse error'})`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw new DerError(`${what}: ${bytes.byteLength - parsed.offset} unexpected trailing bytes`);
  }
  return parsed.result;
}

export function isUniversal(el: Asn, tagNumber: number): boolean {
  return el.idBlock.tagClass === 1 && el.idBlock.tagNumber === tagNumber;
}

export function isContext(el: Asn, tagNumber: number): boolean {
  return el.idBlock.tagClass === 3 && el.idBlock.tagNumber === tagNumber;
}

export function children(el: Asn | undefined, what: string): Asn[] {
  if (!el || !el.idBlock.isConstructed) throw new DerError(`${what}: expected a constructed element`);
  const value = (el.valueBlock as unknown as { value?: Asn[] }).value;
  if (!Array.isArray(value)) throw new DerError(`${what}: expected a constructed element`);
  return value;
}

export function sequence(el: Asn | undefined, what: string, minItems = 0): Asn[] {
  if (!el || !isUniversal(el, 16)) throw new DerError(`${what}: expected a SEQUENCE`);
  const items = children(el, what);
  if (items.length < minItems) throw new DerError(`${what}: expected at least ${minItems} elements`);
  return items;
}

export function oid(el: Asn | undefined, what: string): string {
  if (!el || !(el instanceof asn1js.ObjectIdentifier)) throw new DerError(`${what}: expected an OBJECT IDENTIFIER`);
  return el.valueBlock.toString();
}

export function integerBytes(el: Asn | undefined, what: string): Buffer {
  if (!el || !(el instanceof asn1js.Integer)) throw new DerError(`${what}: expected an INTEGER`);
  return Buffer.from(el.valueBlock.valueHexView);
}

export function integerValue(el: Asn | undefined, what: string): number {
  const bytes = integerBytes(el, what);
  if (bytes.length > 6) throw new DerError(`${what}: integer too large`);
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/**
 * Content octets of an OCTET STRING, or of an IMPLICIT-tagged one (primitive or
 * constructed, as BER allows).
 */
export function octets(el: Asn | undefined, what: string): Buffer {
  if (!el) throw new DerError(`${what}: expected an OCTET STRING`);
  if (el instanceof asn1js.OctetString) return Buffer.from(el.getValue());
  if (el.idBlock.isConstructed) {
    const parts = children(el, what).map((c) => octets(c, what));
    return Buffer.concat(parts);
  }
  const hex = (el.valueBlock as unknown as { valueHexView?: Uint8Array }).valueHexView;
  if (!hex) throw new DerError(`${what}: expected an OCTET STRING`);
  return Buffer.from(hex);
}

/** The element's own encoding, exactly as it appeared in the input. */
export function rawBytes(el: Asn): Buffer {
  return Buffer.from(el.valueBeforeDecodeView);
}
