import { createHash, X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { InterchangeError } from '../errors/interchange-error.js';
import { DerError, integerBytes, isContext, oid as readOid, parseDerExact, rawBytes, sequence, type Asn } from './der.js';
import { decodeX500Name, renderX500Rdns } from './x500-name.js';

/**
 * Everything Exchange shows about a certificate (Get-ExchangeCertificate), read
 * once from the DER. Pure: no store, no clock.
 */
export interface CertificateFacts {
  der: Buffer;
  /** SHA-1 of the DER, 40 upper-case hex characters. */
  thumbprint: string;
  subject: string;
  issuer: string;
  /** Upper-case hex of the serial's content octets as stored (a leading 00 kept, as .NET does). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** Subject CN values that are host names, then SAN DNS names; case-insensitively deduplicated. */
  certificateDomains: string[];
  /** SAN DNS names only, in certificate order. */
  dnsNames: string[];
  /** Key size in bits. */
  publicKeySize: number;
  keyAlgorithm: 'RSA' | 'EC' | string;
  /** DER SubjectPublicKeyInfo. */
  publicKeySpki: Buffer;
  /** Subject equals issuer and the signature verifies with the certificate's own key. */
  isSelfSigned: boolean;
  isCertificateAuthority: boolean;
  /** .NET friendly name of the signature algorithm, e.g. sha256RSA. */
  signatureAlgorithm: string;
  version: number;
  /** e.g. `Server Authentication (1.3.6.1.5.5.7.3.1)`; an unnamed OID alone. */
  enhancedKeyUsageList: string[];
  /** Upper-case hex. */
  subjectKeyIdentifier?: string;
  /** Upper-case hex of the keyIdentifier field. */
  authorityKeyIdentifier?: string;
  /** The extensions in certificate order: their OID and whether they are critical. */
  extensions?: Array<{ oid: string; critical: boolean }>;
  /** DER of the subject and issuer Names, for exact chain matching. */
  subjectDer: Buffer;
  issuerDer: Buffer;
}

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2RSA',
  '1.2.840.113549.1.1.4': 'md5RSA',
  '1.2.840.113549.1.1.5': 'sha1RSA',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256RSA',
  '1.2.840.113549.1.1.12': 'sha384RSA',
  '1.2.840.113549.1.1.13': 'sha512RSA',
  '1.2.840.113549.1.1.14': 'sha224RSA',
  '1.2.840.10045.4.1': 'sha1ECDSA',
  '1.2.840.10045.4.3.1': 'sha224ECDSA',
  '1.2.840.10045.4.3.2': 'sha256ECDSA',
  '1.2.840.10045.4.3.3': 'sha384ECDSA',
  '1.2.840.10045.4.3.4': 'sha512ECDSA',
  '1.2.840.10040.4.3': 'sha1DSA',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/** Windows' friendly names for extended key usages. */
export const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'Server Authentication',
  '1.3.6.1.5.5.7.3.2': 'Client Authentication',
  '1.3.6.1.5.5.7.3.3': 'Code Signing',
  '1.3.6.1.5.5.7.3.4': 'Secure Email',
  '1.3.6.1.5.5.7.3.5': 'IP security end system',
  '1.3.6.1.5.5.7.3.6': 'IP security tunnel termination',
  '1.3.6.1.5.5.7.3.7': 'IP security user',
  '1.3.6.1.5.5.7.3.8': 'Time Stamping',
  '1.3.6.1.5.5.7.3.9': 'OCSP Signing',
  '1.3.6.1.5.5.8.2.2': 'IP security IKE intermediate',
  '1.3.6.1.4.1.311.10.3.4': 'Encrypting File System',
  '1.3.6.1.4.1.311.20.2.2': 'Smart Card Logon',
  '2.5.29.37.0': 'Any Purpose',
};

export const SERVER_AUTH_EKU = '1.3.6.1.5.5.7.3.1';
export const ANY_EKU = '2.5.29.37.0';

const HOST_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`);

/** A DNS host name, optionally a `*.` wildcard: what Exchange accepts as a certificate domain. */
export function isCertificateDomainName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && HOST_NAME.test(name);
}

interface Extension {
  critical: boolean;
  value: Buffer;
}

/** Parsed TBSCertificate fields with the raw encodings we need. */
export interface CertificateParts {
  tbsDer: Buffer;
  version: number;
  serial: Buffer;
  issuerDer: Buffer;
  subjectDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  signatureAlgorithmOid: string;
  extensions: Map<string, Extension>;
}

function readTime(el: Asn, what: string): Date {
  if (el instanceof asn1js.UTCTime || el instanceof asn1js.GeneralizedTime) return el.toDate();
  throw new DerError(`${what}: expected a time`);
}

/** Splits a certificate into its parts; throws DerError on malformed input. */
export function parseCertificateParts(der: Uint8Array): CertificateParts {
  const cert = sequence(parseDerExact(der, 'certificate'), 'certificate', 3);
  const tbsEl = cert[0];
  const tbs = sequence(tbsEl, 'tbsCertificate', 6);
  let i = 0;
  let version = 1;
  if (isContext(tbs[0], 0)) {
    const inner = (tbs[0].valueBlock as unknown as { value: Asn[] }).value[0];
    version = integerBytes(inner, 'version')[0] + 1;
    i = 1;
  }
  const serial = integerBytes(tbs[i], 'serialNumber');
  const issuerDer = rawBytes(tbs[i + 2]);
  const validity = sequence(tbs[i + 3], 'validity', 2);
  const subjectDer = rawBytes(tbs[i + 4]);
  const spkiDer = rawBytes(tbs[i + 5]);
  sequence(tbs[i + 2], 'issuer');
  sequence(tbs[i + 4], 'subject');
  sequence(tbs[i + 5], 'subjectPublicKeyInfo', 2);
  const extensions = new Map<string, Extension>();
  for (const el of tbs.slice(i + 6)) {
    if (!isContext(el, 3)) continue;
    const list = sequence((el.valueBlock as unknown as { value: Asn[] }).value[0], 'extensions');
    for (const ext of list) {
      const parts = sequence(ext, 'extension', 2);
      const id = readOid(parts[0], 'extnID');
      const critical = parts.length === 3 && parts[1] instanceof asn1js.Boolean ? parts[1].getValue() : false;
      const valueEl = parts[parts.length - 1];
      if (!(valueEl instanceof asn1js.OctetString)) throw new DerError('extension: expected extnValue');
      extensions.set(id, { critical, value: Buffer.from(valueEl.getValue()) });
    }
  }
  return {
    tbsDer: rawBytes(tbsEl),
    version,
    serial,
    issuerDer,
    subjectDer,
    notBefore: readTime(validity[0], 'notBefore'),
    notAfter: readTime(validity[1], 'notAfter'),
    spkiDer,
    signatureAlgorithmOid: readOid(sequence(cert[1], 'signatureAlgorithm', 1)[0], 'signatureAlgorithm'),
    extensions,
  };
}

function parseExtension(ext: Extension | undefined, what: string): Asn | undefined {
  if (!ext) return undefined;
  return parseDerExact(ext.value, what);
}

function sanDnsNames(ext: Extension | undefined): string[] {
  const el = parseExtension(ext, 'subjectAltName');
  if (!el) return [];
  return sequence(el, 'subjectAltName')
    .filter((gn) => isContext(gn, 2))
    .map((gn) => Buffer.from((gn.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView).toString('latin1'));
}

function basicConstraintsCa(ext: Extension | undefined): boolean {
  const el = parseExtension(ext, 'basicConstraints');
  if (!el) return false;
  const items = sequence(el, 'basicConstraints');
  return items[0] instanceof asn1js.Boolean ? items[0].getValue() : false;
}

function ekuOids(ext: Extension | undefined): string[] {
  const el = parseExtension(ext, 'extKeyUsage');
  if (!el) return [];
  return sequence(el, 'extKeyUsage').map((o) => readOid(o, 'KeyPurposeId'));
}

function subjectKeyId(ext: Extension | undefined): string | undefined {
  const el = parseExtension(ext, 'subjectKeyIdentifier');
  if (!el || !(el instanceof asn1js.OctetString)) return undefined;
  return Buffer.from(el.getValue()).toString('hex').toUpperCase();
}

function authorityKeyId(ext: Extension | undefined): string | undefined {
  const el = parseExtension(ext, 'authorityKeyIdentifier');
  if (!el) return undefined;
  const keyId = sequence(el, 'authorityKeyIdentifier').find((c) => isContext(c, 0));
  if (!keyId) return undefined;
  return Buffer.from((keyId.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView).toString('hex').toUpperCase();
}

/** Extended key usage OIDs of a certificate (empty when it has no EKU extension: any use). */
export function extendedKeyUsageOids(parts: CertificateParts): string[] {
  return ekuOids(parts.extensions.get('2.5.29.37'));
}

const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp256k1: 256, secp384r1: 384, secp521r1: 521, secp224r1: 224 };

function dedupe(names: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    const key = n.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(n);
  }
  return out;
}

function corrupt(detail: string, cause?: unknown): InterchangeError {
  return new InterchangeError('ICX_CERT_DATA_CORRUPT', `The source data is corrupted or not properly Base64 encoded. ${detail}`, { cause });
}

export function readCertificateFacts(der: Buffer): CertificateFacts {
  try {
    return computeFacts(der);
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw corrupt(`The certificate cannot be parsed (${e instanceof Error ? e.message : String(e)}).`, e);
  }
}

function computeFacts(der: Buffer): CertificateFacts {
  const parts = parseCertificateParts(der);
  const node = new NodeX509Certificate(der);
  const subjectRdns = decodeX500Name(parts.subjectDer).reverse();
  const issuerRdns = decodeX500Name(parts.issuerDer).reverse();
  const dnsNames = sanDnsNames(parts.extensions.get('2.5.29.17'));
  const cnHosts = subjectRdns
    .flat()
    .filter((a) => a.type === 'CN' && isCertificateDomainName(a.value))
    .map((a) => a.value);

  const key = node.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const keyType = key.asymmetricKeyType ?? 'unknown';
  let publicKeySize = 0;
  if (details.modulusLength) publicKeySize = details.modulusLength;
  else if (details.namedCurve) publicKeySize = CURVE_BITS[details.namedCurve] ?? 0;
  else if (keyType === 'ed25519') publicKeySize = 256;
  else if (keyType === 'ed448') publicKeySize = 456;
  const keyAlgorithm = keyType === 'rsa' || keyType === 'rsa-pss' ? 'RSA' : keyType === 'ec' ? 'EC' : keyType.toUpperCase();

  const sameName = parts.subjectDer.equals(parts.issuerDer);
  let isSelfSigned = false;
  if (sameName) {
    try {
      isSelfSigned = node.verify(key);
    } catch {
      isSelfSigned = false;
    }
  }

  return {
    der: Buffer.from(der),
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    subject: renderX500Rdns(subjectRdns),
    issuer: renderX500Rdns(issuerRdns),
    serialNumber: parts.serial.toString('hex').toUpperCase(),
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    certificateDomains: dedupe([...cnHosts, ...dnsNames]),
    dnsNames,
    publicKeySize,
    keyAlgorithm,
    publicKeySpki: parts.spkiDer,
    isSelfSigned,
    isCertificateAuthority: basicConstraintsCa(parts.extensions.get('2.5.29.19')),
    signatureAlgorithm: SIGNATURE_ALGORITHMS[parts.signatureAlgorithmOid] ?? parts.signatureAlgorithmOid,
    version: parts.version,
    enhancedKeyUsageList: ekuOids(parts.extensions.get('2.5.29.37')).map((o) => (EKU_NAMES[o] ? `${EKU_NAMES[o]} (${o})` : o)),
    subjectKeyIdentifier: subjectKeyId(parts.extensions.get('2.5.29.14')),
    authorityKeyIdentifier: authorityKeyId(parts.extensions.get('2.5.29.35')),
    extensions: [...parts.extensions].map(([oid, e]) => ({ oid, critical: e.critical })),
    subjectDer: parts.subjectDer,
    issuerDer: parts.issuerDer,
  };
}
