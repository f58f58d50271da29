import * as asn1js from 'asn1js';
import { InterchangeError } from '../errors/interchange-error.js';
import { children, oid as readOid, parseDerExact, rawBytes, sequence, type Asn } from './der.js';
import { x509 } from './x509-provider.js';

/**
 * X.500 names the way Exchange shows and compares them: .NET's
 * X500DistinguishedName.Name on Windows (CryptoAPI's CertNameToStr with the
 * reverse flag). Subject and Issuer strings are compared as strings by Exchange
 * (Send connector TlsCertificateName), so the rendering must be exact and stable.
 */

export interface X500Attribute {
  /** Short name as Exchange renders it (CN, O, S, E, ...) or `OID.1.2.3`. */
  type: string;
  value: string;
}

/** One relative distinguished name: usually one attribute, several when joined with `+`. */
export type X500Rdn = X500Attribute[];

const SHORT_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['CN', '2.5.4.3'],
  ['OU', '2.5.4.11'],
  ['O', '2.5.4.10'],
  ['L', '2.5.4.7'],
  ['S', '2.5.4.8'],
  ['C', '2.5.4.6'],
  ['E', '1.2.840.113549.1.9.1'],
  ['STREET', '2.5.4.9'],
  ['DC', '0.9.2342.19200300.100.1.25'],
  ['SERIALNUMBER', '2.5.4.5'],
  ['G', '2.5.4.42'],
  ['SN', '2.5.4.4'],
  ['T', '2.5.4.12'],
  ['I', '2.5.4.43'],
];

const OID_BY_SHORT = new Map<string, string>(SHORT_NAMES);
const SHORT_BY_OID = new Map<string, string>(SHORT_NAMES.map(([s, o]) => [o, s]));

/** Other spellings administrators type, mapped to the name Exchange renders. */
const ALIASES = new Map<string, string>([
  ['ST', 'S'],
  ['EMAIL', 'E'],
  ['EMAILADDRESS', 'E'],
  ['GN', 'G'],
  ['GIVENNAME', 'G'],
  ['SURNAME', 'SN'],
  ['TITLE', 'T'],
  ['INITIALS', 'I'],
  ['COMMONNAME', 'CN'],
  ['ORGANIZATIONNAME', 'O'],
  ['ORGANIZATIONALUNITNAME', 'OU'],
  ['LOCALITYNAME', 'L'],
  ['STATEORPROVINCENAME', 'S'],
  ['COUNTRYNAME', 'C'],
  ['STREETADDRESS', 'STREET'],
  ['DOMAINCOMPONENT', 'DC'],
]);

const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** The OID of a rendered or typed attribute name (`CN`, `S`, `OID.2.5.4.97`). */
export function attributeTypeToOid(type: string): string | undefined {
  const upper = type.toUpperCase();
  const canonical = ALIASES.get(upper) ?? upper;
  const known = OID_BY_SHORT.get(canonical);
  if (known) return known;
  const dotted = upper.startsWith('OID.') ? type.slice(4) : type;
  return OID_PATTERN.test(dotted) ? dotted : undefined;
}

/** The name Exchange renders for an attribute OID. */
export function oidToAttributeType(oid: string): string {
  return SHORT_BY_OID.get(oid) ?? `OID.${oid}`;
}

function needsQuotes(value: string): boolean {
  if (value === '') return true;
  if (/^\s|\s$/.test(value)) return true;
  return /[,"+=<>#;\r\n]/.test(value);
}

function renderValue(value: string): string {
  return needsQuotes(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Renders RDNs given in display order (CN first). */
export function renderX500Rdns(rdns: X500Rdn[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${renderValue(a.value)}`).join(' + ')).join(', ');
}

function attributeValueToString(el: Asn): string {
  const block = el.valueBlock as unknown as { value?: unknown };
  if (
    el instanceof asn1js.PrintableString ||
    el instanceof asn1js.Utf8String ||
    el instanceof asn1js.IA5String ||
    el instanceof asn1js.TeletexString ||
    el instanceof asn1js.VisibleString ||
    el instanceof asn1js.BmpString ||
    el instanceof asn1js.UniversalString ||
    el instanceof asn1js.NumericString ||
    el instanceof asn1js.GeneralString ||
    el instanceof asn1js.GraphicString ||
    el instanceof asn1js.VideotexString
  ) {
    return typeof block.value === 'string' ? block.value : '';
  }
  // CryptoAPI shows non-string values as the hex of their encoding.
  return `#${rawBytes(el).toString('hex').toUpperCase()}`;
}

/** Reads the RDNs of a DER Name, in encoding order (C first for typical names). */
export function decodeX500Name(der: Uint8Array): X500Rdn[] {
  const root = parseDerExact(der, 'X.500 name');
  return sequence(root, 'X.500 name').map((set, i) => {
    if (set.idBlock.tagClass !== 1 || set.idBlock.tagNumber !== 17) {
      throw new InterchangeError('ICX_CERT_DATA_CORRUPT', `The X.500 name is malformed: RDN ${i + 1} is not a SET.`);
    }
    return children(set, 'RDN').map((atv) => {
      const [typeEl, valueEl] = sequence(atv, 'AttributeTypeAndValue', 2);
      return { type: oidToAttributeType(readOid(typeEl, 'attribute type')), value: attributeValueToString(valueEl) };
    });
  });
}

/**
 * Exchange's rendering of a Name: RDNs in reverse encoding order (CN first),
 * `, ` between RDNs, ` + ` inside a multi-valued RDN, values quoted when needed.
 */
export function formatX500Name(name: x509.Name | Buffer | Uint8Array): string {
  const der = name instanceof x509.Name ? new Uint8Array(name.toArrayBuffer()) : name;
  return renderX500Rdns(decodeX500Name(der).reverse());
}

function invalid(text: string, problem: string): InterchangeError {
  return new InterchangeError('ICX_PARAM_INVALID', `The X.500 name "${text}" is not valid: ${problem}.`);
}

/**
 * Parses a name as typed, keeping the typed order and multi-valued RDNs.
 * Accepts `,` or `;` between RDNs, `+` inside one, double-quoted values (with
 * `""` for a quote), backslash escapes, and the aliases in ALIASES.
 */
export function parseX500NameRdns(text: string): X500Rdn[] {
  const rdns: X500Rdn[] = [];
  let current: X500Rdn = [];
  let i = 0;
  const n = text.length;
  const skipSpaces = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };

  skipSpaces();
  if (i >= n) throw invalid(text, 'it is empty');

  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && text[i] !== '=' && text[i] !== ',' && text[i] !== ';' && text[i] !== '+') i++;
    const rawType = text.slice(typeStart, i).trim();
    if (i >= n || text[i] !== '=') {
      throw invalid(text, rawType ? `"${rawType}" has no "=" and value` : `an attribute is missing before position ${i + 1}`);
    }
    if (!rawType) throw invalid(text, `an attribute name is missing before "=" at position ${i + 1}`);
    const oid = attributeTypeToOid(rawType);
    if (!oid) throw invalid(text, `"${rawType}" is not a known attribute name`);
    i++; // '='
    skipSpaces();

    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        value += text[i++];
      }
      if (!closed) throw invalid(text, `the quoted value of ${rawType} is not closed`);
      skipSpaces();
      if (i < n && text[i] !== ',' && text[i] !== ';' && text[i] !== '+') {
        throw invalid(text, `unexpected text after the quoted value of ${rawType}`);
      }
    } else {
      while (i < n && text[i] !== ',' && text[i] !== ';' && text[i] !== '+') {
        if (text[i] === '\\' && i + 1 < n) {
          const hex = /^[0-9a-fA-F]{2}/.exec(text.slice(i + 1, i + 3));
          if (hex) {
            value += String.fromCharCode(parseInt(hex[0], 16));
            i += 3;
          } else {
            value += text[i + 1];
            i += 2;
          }
          continue;
        }
        if (text[i] === '"') throw invalid(text, `the value of ${rawType} has a quote that does not start it`);
        value += text[i++];
      }
      value = value.trim();
    }

    const type = oidToAttributeType(oid);
    if (value === '' && type === 'CN') throw invalid(text, 'CN has an empty value');
    current.push({ type, value });

    if (i >= n) break;
    const sep = text[i++];
    if (sep !== '+') {
      rdns.push(current);
      current = [];
    }
    skipSpaces();
    if (i >= n) throw invalid(text, `it ends with "${sep}"`);
  }
  rdns.push(current);
  return rdns;
}

/** Parses a typed name into attributes in the order written (CN first as typed). */
export function parseX500Name(text: string): X500Attribute[] {
  return parseX500NameRdns(text).flat();
}

/** The canonical Exchange form of a typed name. */
export function normalizeX500Name(text: string): string {
  return renderX500Rdns(parseX500NameRdns(text));
}

/** Names equal after normalization, ignoring case (Exchange's TlsCertificateName rule). */
export function x500NamesEqual(a: string, b: string): boolean {
  const canon = (s: string) => {
    try {
      return normalizeX500Name(s);
    } catch {
      return s.trim();
    }
  };
  return canon(a).toLowerCase() === canon(b).toLowerCase();
}

function isPrintable(value: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value);
}

function encodeValue(oid: string, value: string): Asn {
  if (oid === '2.5.4.6' || oid === '2.5.4.5') {
    if (!isPrintable(value)) {
      throw new InterchangeError('ICX_PARAM_INVALID', `The value "${value}" of ${oidToAttributeType(oid)} must use printable characters only.`);
    }
    return new asn1js.PrintableString({ value });
  }
  if (oid === '1.2.840.113549.1.9.1' || oid === '0.9.2342.19200300.100.1.25') {
    if (!/^[\x00-\x7f]*$/.test(value)) {
      throw new InterchangeError('ICX_PARAM_INVALID', `The value "${value}" of ${oidToAttributeType(oid)} must be ASCII.`);
    }
    return new asn1js.IA5String({ value });
  }
  return isPrintable(value) ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value });
}

/**
 * DER of the Name for a subject typed CN-first. The encoding order is the
 * reverse of the typed order, so formatX500Name gives back the typed text
 * (normalized).
 */
export function x500NameToDer(text: string): Buffer {
  const rdns = parseX500NameRdns(text).slice().reverse();
  const seq = new asn1js.Sequence({
    value: rdns.map(
      (rdn) =>
        new asn1js.Set({
          value: rdn.map((a) => {
            const oid = attributeTypeToOid(a.type);
            if (!oid) throw invalid(text, `"${a.type}" is not a known attribute name`);
            return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), encodeValue(oid, a.value)] });
          }),
        }),
    ),
  });
  return Buffer.from(seq.toBER(false));
}

/** A @peculiar/x509 Name for a subject typed CN-first (see x500NameToDer). */
export function x500NameToX509Name(text: string): x509.Name {
  return new x509.Name(x500NameToDer(text));
}

/** The common names of a parsed name, in the order given. */
export function commonNames(rdns: X500Rdn[]): string[] {
  return rdns.flat().filter((a) => a.type === 'CN').map((a) => a.value);
}
