import * as asn1js from 'asn1js';
import { InterchangeError } from '../errors/interchange-error.js';
import { parseCertificateParts } from './certificate-facts.js';
import { children, isContext, oid as readOid, parseDer, parseDerExact, sequence, type Asn } from './der.js';
import { derToPem, privateKeyMatchesCertificate, privateKeyToPkcs8 } from './keys.js';
import { Pkcs12PasswordError, Pkcs12UnsupportedError, looksLikePkcs12, readPkcs12, writePkcs12Sync } from './pkcs12.js';

/**
 * Certificate files as administrators bring them to Import-ExchangeCertificate:
 * PFX/PKCS#12, PEM (certificates, keys, PKCS#7), PKCS#7 (.p7b), a single DER
 * certificate, or Base64 text of any of these. The result is normalized: DER
 * certificates with the end-entity first, and an unencrypted PKCS#8 key.
 */

export interface CertificateBundle {
  /** DER; the end-entity certificate first (the one matching the key if a key is present), then its chain. */
  certificates: Buffer[];
  privateKeyPkcs8?: Buffer;
  /** Friendly name stored in a PFX for the end-entity certificate, if any. */
  friendlyName?: string;
}

const WRONG_PASSWORD = 'The source data cannot be imported or the wrong password was specified.';
const CORRUPT = 'The source data is corrupted or not properly Base64 encoded.';

function corrupt(detail: string, cause?: unknown): InterchangeError {
  return new InterchangeError('ICX_CERT_DATA_CORRUPT', `${CORRUPT} ${detail}`, cause === undefined ? {} : { cause });
}

function wrongPassword(cause?: unknown): InterchangeError {
  return new InterchangeError('ICX_CERT_WRONG_PASSWORD', WRONG_PASSWORD, cause === undefined ? {} : { cause });
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/** DER text of PEM data under a label, 64 columns. */
export function toPem(der: Buffer, label: string): string {
  return derToPem(der, label);
}

function isCertificateShape(el: Asn): boolean {
  try {
    const items = sequence(el, 'certificate', 3);
    return items[0] instanceof asn1js.Sequence && items[1] instanceof asn1js.Sequence && items[2] instanceof asn1js.BitString;
  } catch {
    return false;
  }
}

function isPkcs7Shape(el: Asn): boolean {
  try {
    const items = sequence(el, 'ContentInfo', 2);
    return readOid(items[0], 'contentType') === OID_SIGNED_DATA && isContext(items[1], 0);
  } catch {
    return false;
  }
}

/** Certificates of a PKCS#7 SignedData ("certs-only" .p7b, or the certificates of any SignedData). */
function readPkcs7(el: Asn): Buffer[] {
  const [, content] = sequence(el, 'ContentInfo', 2);
  const signedData = sequence(children(content, 'SignedData wrapper')[0], 'SignedData', 4);
  const certsEl = signedData.find((c) => isContext(c, 0));
  if (!certsEl) return [];
  // Only plain certificates (SEQUENCE); attribute and other certificate choices are tagged.
  return children(certsEl, 'certificates')
    .filter((c) => c instanceof asn1js.Sequence)
    .map((c) => Buffer.from(c.valueBeforeDecodeView));
}

function checkCertificate(der: Buffer, where: string): Buffer {
  try {
    parseCertificateParts(der);
  } catch (e) {
    throw corrupt(`${where} is not a valid X.509 certificate (${e instanceof Error ? e.message : String(e)}).`, e);
  }
  return der;
}

interface PemBlock {
  label: string;
  text: string;
  body: Buffer;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const inner = m[2];
    // Encrypted legacy PEM keys carry headers before the Base64 body.
    const body = inner.includes(':') ? inner.split(/\r?\n\r?\n/).slice(1).join('') : inner;
    const compact = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw corrupt(`The PEM block "${m[1]}" is not valid Base64.`);
    blocks.push({ label: m[1], text: m[0], body: Buffer.from(compact, 'base64') });
  }
  return blocks;
}

interface Parsed {
  certificates: Buffer[];
  keys: Buffer[];
  friendlyName?: string;
}

function readBinary(data: Buffer, password: string | undefined): Parsed {
  let el: Asn;
  try {
    el = parseDerExact(data, 'data');
  } catch (e) {
    throw corrupt(`The data is not valid DER (${e instanceof Error ? e.message : String(e)}).`, e);
  }
  if (looksLikePkcs12(el)) {
    try {
      const contents = readPkcs12(data, password ?? '');
      const withId = contents.certificates.find((c) => c.friendlyName !== undefined && c.localKeyId);
      return {
        certificates: contents.certificates.map((c) => checkCertificate(c.der, 'A certificate in the PFX')),
        keys: contents.keys.map((k) => k.pkcs8),
        friendlyName: withId?.friendlyName ?? contents.keys.find((k) => k.friendlyName !== undefined)?.friendlyName,
      };
    } catch (e) {
      if (e instanceof InterchangeError) throw e;
      if (e instanceof Pkcs12PasswordError) throw wrongPassword(e);
      if (e instanceof Pkcs12UnsupportedError) throw corrupt(`The PFX file uses a format that cannot be read: ${e.message}.`, e);
      throw corrupt(`The PFX file is damaged (${e instanceof Error ? e.message : String(e)}).`, e);
    }
  }
  if (isPkcs7Shape(el)) {
    try {
      return { certificates: readPkcs7(el).map((c) => checkCertificate(c, 'A certificate in the PKCS#7 data')), keys: [] };
    } catch (e) {
      if (e instanceof InterchangeError) throw e;
      throw corrupt(`The PKCS#7 data is damaged (${e instanceof Error ? e.message : String(e)}).`, e);
    }
  }
  if (isCertificateShape(el)) return { certificates: [checkCertificate(data, 'The certificate')], keys: [] };
  throw corrupt('The data is neither a PFX, a PKCS#7 file nor a certificate.');
}

function readPemText(text: string, password: string | undefined): Parsed {
  const out: Parsed = { certificates: [], keys: [] };
  for (const block of pemBlocks(text)) {
    switch (block.label) {
      case 'CERTIFICATE':
      case 'X509 CERTIFICATE':
      case 'TRUSTED CERTIFICATE':
        out.certificates.push(checkCertificate(block.label === 'TRUSTED CERTIFICATE' ? firstElement(block.body) : block.body, 'A PEM certificate'));
        break;
      case 'PKCS7':
      case 'CERTIFICATE CHAIN': {
        const parsed = readBinary(block.body, password);
        out.certificates.push(...parsed.certificates);
        break;
      }
      case 'PRIVATE KEY':
      case 'RSA PRIVATE KEY':
      case 'EC PRIVATE KEY':
      case 'ENCRYPTED PRIVATE KEY':
        out.keys.push(privateKeyToPkcs8(block.text, password));
        break;
      default:
        // Parameters, requests and the like are not part of an import.
        break;
    }
  }
  if (out.certificates.length === 0) {
    throw corrupt(out.keys.length ? 'The PEM data holds a private key but no certificate.' : 'The PEM data holds no certificate.');
  }
  return out;
}

/** OpenSSL's TRUSTED CERTIFICATE is a certificate followed by trust settings. */
function firstElement(body: Buffer): Buffer {
  try {
    return Buffer.from(parseDer(body, 'trusted certificate').valueBeforeDecodeView);
  } catch {
    return body;
  }
}

/** Text as opposed to DER: no control characters other than whitespace (UTF-8 letters allowed). */
function isText(data: Buffer): boolean {
  for (const b of data.subarray(0, 4096)) {
    if (b === 9 || b === 10 || b === 13 || b >= 32) continue;
    return false;
  }
  return true;
}

function parseAny(data: Buffer, password: string | undefined, depth: number): Parsed {
  if (data.length === 0) throw corrupt('The data is empty.');
  // Binary DER always starts with a SEQUENCE tag, which is not printable text.
  if (data[0] === 0x30) return readBinary(data, password);
  if (!isText(data)) throw corrupt('The data is neither DER nor text.');
  // A UTF-8 byte order mark sometimes precedes files saved by Windows editors.
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  if (text.includes('-----BEGIN')) return readPemText(text, password);
  const compact = text.replace(/\s+/g, '');
  if (depth > 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw corrupt('The text is neither PEM nor Base64.');
  }
  return parseAny(Buffer.from(compact, 'base64'), password, depth + 1);
}

/** Issuer-before-subject ordering from the leaf: leaf, its issuer, that one's issuer, ...; the rest after. */
function orderChain(certificates: Buffer[], leaf: Buffer): Buffer[] {
  const parts = new Map(certificates.map((c) => [c, parseCertificateParts(c)]));
  const ordered = [leaf];
  const remaining = certificates.filter((c) => c !== leaf);
  for (;;) {
    const current = parts.get(ordered[ordered.length - 1])!;
    if (current.subjectDer.equals(current.issuerDer)) break;
    const idx = remaining.findIndex((c) => parts.get(c)!.subjectDer.equals(current.issuerDer));
    if (idx < 0) break;
    ordered.push(remaining.splice(idx, 1)[0]);
  }
  return [...ordered, ...remaining];
}

/** Without a key, the end-entity is the certificate that issued none of the others (preferring non-CAs). */
function guessLeaf(certificates: Buffer[]): Buffer {
  const parts = certificates.map((c) => ({ der: c, p: parseCertificateParts(c) }));
  const issuesOther = (x: (typeof parts)[number]) =>
    parts.some((y) => y !== x && y.p.issuerDer.equals(x.p.subjectDer) && !y.p.subjectDer.equals(y.p.issuerDer));
  const leaves = parts.filter((x) => !issuesOther(x));
  const nonCa = leaves.find((x) => !x.p.extensions.has('2.5.29.19') || !isCa(x.p.extensions.get('2.5.29.19')!.value));
  return (nonCa ?? leaves[0] ?? parts[0]).der;
}

function isCa(basicConstraints: Buffer): boolean {
  try {
    const items = sequence(parseDerExact(basicConstraints, 'basicConstraints'), 'basicConstraints');
    return items[0] instanceof asn1js.Boolean && items[0].getValue();
  } catch {
    return false;
  }
}

function dedupe(certificates: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of certificates) if (!out.some((o) => o.equals(c))) out.push(c);
  return out;
}

/**
 * Reads any supported certificate container. Errors: ICX_CERT_WRONG_PASSWORD,
 * ICX_CERT_DATA_CORRUPT (with a detail of what was wrong), ICX_CERT_KEY_MISMATCH.
 */
export async function readCertificateData(data: Buffer, password?: string): Promise<CertificateBundle> {
  const parsed = parseAny(Buffer.from(data), password, 0);
  const certificates = dedupe(parsed.certificates);
  if (certificates.length === 0) throw corrupt('The data holds no certificate.');

  if (parsed.keys.length === 0) {
    const bundle: CertificateBundle = { certificates: orderChain(certificates, guessLeaf(certificates)) };
    if (parsed.friendlyName !== undefined) bundle.friendlyName = parsed.friendlyName;
    return bundle;
  }
  for (const key of parsed.keys) {
    const leaf = certificates.find((c) => privateKeyMatchesCertificate(key, c));
    if (leaf) {
      const bundle: CertificateBundle = { certificates: orderChain(certificates, leaf), privateKeyPkcs8: key };
      if (parsed.friendlyName !== undefined) bundle.friendlyName = parsed.friendlyName;
      return bundle;
    }
  }
  throw new InterchangeError('ICX_CERT_KEY_MISMATCH', 'The private key in the source data does not belong to any of its certificates.');
}

/**
 * A PFX in OpenSSL 3's default layout (PBES2/AES-256-CBC, PBKDF2-HMAC-SHA256,
 * HMAC-SHA256 MAC). The first certificate is the one the key belongs to.
 */
export async function writePkcs12(opts: { certificates: Buffer[]; privateKeyPkcs8: Buffer; password: string; friendlyName?: string }): Promise<Buffer> {
  if (opts.certificates.length === 0) throw new InterchangeError('ICX_PARAM_INVALID', 'A PFX needs at least one certificate.');
  if (!privateKeyMatchesCertificate(opts.privateKeyPkcs8, opts.certificates[0])) {
    throw new InterchangeError('ICX_CERT_KEY_MISMATCH', 'The private key does not belong to the certificate.');
  }
  return writePkcs12Sync(opts);
}
