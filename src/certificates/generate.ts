import { createPrivateKey, randomBytes, type webcrypto } from 'node:crypto';
import { InterchangeError } from '../errors/interchange-error.js';
import { isCertificateDomainName, parseCertificateParts, readCertificateFacts } from './certificate-facts.js';
import { derToPem, privateKeyMatchesSpki } from './keys.js';
import { commonNames, formatX500Name, parseX500NameRdns, x500NameToX509Name } from './x500-name.js';
import { subtle, x509 } from './x509-provider.js';

/**
 * Building certificates and requests: self-signed ones (New-ExchangeCertificate),
 * PKCS#10 requests (-GenerateRequest), and CA issuance for tests and for the
 * self-signed-CA flows. RSA with SHA-256 throughout, like Exchange 2016+.
 */

export const VALID_KEY_SIZES = [1024, 2048, 4096] as const;

const RSA_SIGN = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

type WebCryptoKey = Awaited<ReturnType<typeof subtle.importKey>>;
type WebCryptoKeyPair = { publicKey: WebCryptoKey; privateKey: WebCryptoKey };

export interface IssuedCertificate {
  der: Buffer;
  privateKeyPkcs8: Buffer;
}

export interface CertificateIssuer {
  der: Buffer;
  privateKeyPkcs8: Buffer;
}

function checkKeySize(keySize: number): void {
  if (!(VALID_KEY_SIZES as readonly number[]).includes(keySize)) {
    throw new InterchangeError('ICX_PARAM_INVALID', `${keySize} is not a valid key size. Valid key sizes are 4096, 2048, and 1024.`, {
      parameter: 'KeySize',
    });
  }
}

/** Subject CN (when a host name) first, then the given names, without duplicates; every name validated. */
export function certificateDomainList(subjectName: string, domainNames: string[]): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string) => {
    const key = n.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    names.push(n);
  };
  for (const cn of commonNames(parseX500NameRdns(subjectName))) if (isCertificateDomainName(cn)) add(cn);
  for (const raw of domainNames) {
    const name = raw.trim();
    if (!isCertificateDomainName(name)) {
      throw new InterchangeError('ICX_PARAM_INVALID', `Domain name ${raw} is not valid for a certificate.`, { parameter: 'DomainName' });
    }
    add(name);
  }
  return names;
}

async function generateRsaKeys(keySize: number): Promise<WebCryptoKeyPair> {
  checkKeySize(keySize);
  return (await subtle.generateKey(
    { ...RSA_SIGN, modulusLength: keySize, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  )) as WebCryptoKeyPair;
}

/** Imports a PKCS#8 private key (RSA or EC) for signing, with the matching algorithm. */
export async function importSigningKey(privateKeyPkcs8: Buffer): Promise<{ key: WebCryptoKey; algorithm: webcrypto.Algorithm | webcrypto.EcdsaParams }> {
  const ko = createPrivateKey({ key: privateKeyPkcs8, format: 'der', type: 'pkcs8' });
  if (ko.asymmetricKeyType === 'rsa') {
    return { key: await subtle.importKey('pkcs8', privateKeyPkcs8, RSA_SIGN, false, ['sign']), algorithm: RSA_SIGN };
  }
  if (ko.asymmetricKeyType === 'ec') {
    const curve = ko.asymmetricKeyDetails?.namedCurve;
    const map: Record<string, [string, string]> = {
      prime256v1: ['P-256', 'SHA-256'],
      secp384r1: ['P-384', 'SHA-384'],
      secp521r1: ['P-521', 'SHA-512'],
    };
    const entry = curve ? map[curve] : undefined;
    if (!entry) throw new InterchangeError('ICX_PARAM_INVALID', `The issuer key uses an unsupported curve (${curve ?? 'unknown'}).`);
    const key = await subtle.importKey('pkcs8', privateKeyPkcs8, { name: 'ECDSA', namedCurve: entry[0] }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: entry[1] } as webcrypto.EcdsaParams };
  }
  throw new InterchangeError('ICX_PARAM_INVALID', `The issuer key type ${ko.asymmetricKeyType ?? 'unknown'} is not supported.`);
}

function serialHex(serialNumber?: Buffer): string {
  if (serialNumber && serialNumber.length > 0) return serialNumber.toString('hex');
  // 16 random bytes with the top bit clear: positive without a 00 pad, so .NET's and
  // OpenSSL's renderings of the serial agree.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function sanExtension(names: string[]): x509.Extension[] {
  return names.length ? [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })), false)] : [];
}

function leafExtensions(names: string[]): x509.Extension[] {
  return [
    ...sanExtension(names),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
  ];
}

function caExtensions(names: string[]): x509.Extension[] {
  return [
    ...sanExtension(names),
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
  ];
}

function addYears(d: Date, years: number): Date {
  const out = new Date(d.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}

function defaultValidity(notBefore?: Date, notAfter?: Date): { notBefore: Date; notAfter: Date } {
  // Backdate a little so a freshly made certificate is valid on a peer whose clock lags.
  const nb = notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const na = notAfter ?? addYears(nb, 5);
  if (na.getTime() <= nb.getTime()) throw new InterchangeError('ICX_PARAM_INVALID', 'NotAfter must be later than NotBefore.');
  return { notBefore: nb, notAfter: na };
}

async function exportPkcs8(key: WebCryptoKey): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('pkcs8', key));
}

export async function createSelfSignedCertificate(opts: {
  subjectName: string;
  domainNames: string[];
  keySize?: number;
  notBefore?: Date;
  notAfter?: Date;
  serialNumber?: Buffer;
  /** Make a root CA (basicConstraints cA, keyCertSign) instead of a server certificate. */
  isCertificateAuthority?: boolean;
}): Promise<IssuedCertificate> {
  const names = certificateDomainList(opts.subjectName, opts.domainNames);
  const name = x500NameToX509Name(opts.subjectName);
  const keys = await generateRsaKeys(opts.keySize ?? 2048);
  const { notBefore, notAfter } = defaultValidity(opts.notBefore, opts.notAfter);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(opts.serialNumber),
    name,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: RSA_SIGN,
    extensions: [
      ...(opts.isCertificateAuthority ? caExtensions(names) : leafExtensions(names)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { der: Buffer.from(cert.rawData), privateKeyPkcs8: await exportPkcs8(keys.privateKey) };
}

export async function issueCertificate(opts: {
  issuer: CertificateIssuer;
  subjectName: string;
  domainNames: string[];
  keySize?: number;
  notBefore?: Date;
  notAfter?: Date;
  isCertificateAuthority?: boolean;
  serialNumber?: Buffer;
  /** The subject's public key when issuing for a request: a CryptoKey or DER SubjectPublicKeyInfo. No key is generated then. */
  publicKey?: WebCryptoKey | Buffer;
  /** Use this encoded subject Name as is (e.g. copied from a request); subjectName then only supplies the CN for the SANs. */
  subjectDer?: Buffer;
}): Promise<{ der: Buffer; privateKeyPkcs8?: Buffer }> {
  const names = certificateDomainList(opts.subjectName, opts.domainNames);
  const issuerParts = parseCertificateParts(opts.issuer.der);
  if (!privateKeyMatchesSpki(opts.issuer.privateKeyPkcs8, issuerParts.spkiDer)) {
    throw new InterchangeError('ICX_CERT_KEY_MISMATCH', 'The issuer private key does not belong to the issuer certificate.');
  }
  const signing = await importSigningKey(opts.issuer.privateKeyPkcs8);

  let keys: WebCryptoKeyPair | undefined;
  let publicKey: WebCryptoKey | ArrayBuffer;
  if (opts.publicKey === undefined) {
    keys = await generateRsaKeys(opts.keySize ?? 2048);
    publicKey = keys.publicKey;
  } else if (Buffer.isBuffer(opts.publicKey)) {
    publicKey = opts.publicKey.buffer.slice(opts.publicKey.byteOffset, opts.publicKey.byteOffset + opts.publicKey.byteLength) as ArrayBuffer;
  } else {
    publicKey = opts.publicKey;
  }

  const issuerFacts = readCertificateFacts(opts.issuer.der);
  const authorityKeyId = issuerFacts.subjectKeyIdentifier
    ? new x509.AuthorityKeyIdentifierExtension(issuerFacts.subjectKeyIdentifier.toLowerCase(), false)
    : await x509.AuthorityKeyIdentifierExtension.create(issuerParts.spkiDer, false);

  const { notBefore, notAfter } = defaultValidity(opts.notBefore, opts.notAfter);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(opts.serialNumber),
    // The issuer's subject exactly as encoded in its certificate, so every certificate
    // it issues carries byte-identical Issuer (and Exchange compares the rendering).
    issuer: new x509.Name(issuerParts.subjectDer),
    subject: opts.subjectDer ? new x509.Name(opts.subjectDer) : x500NameToX509Name(opts.subjectName),
    notBefore,
    notAfter,
    publicKey,
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    extensions: [
      ...(opts.isCertificateAuthority ? caExtensions(names) : leafExtensions(names)),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      authorityKeyId,
    ],
  });
  const result: { der: Buffer; privateKeyPkcs8?: Buffer } = { der: Buffer.from(cert.rawData) };
  if (keys) result.privateKeyPkcs8 = await exportPkcs8(keys.privateKey);
  return result;
}

export async function createCertificateRequest(opts: {
  subjectName: string;
  domainNames: string[];
  keySize?: number;
}): Promise<{ csrDer: Buffer; csrPem: string; privateKeyPkcs8: Buffer }> {
  const names = certificateDomainList(opts.subjectName, opts.domainNames);
  const keys = await generateRsaKeys(opts.keySize ?? 2048);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: x500NameToX509Name(opts.subjectName),
    keys,
    signingAlgorithm: RSA_SIGN,
    extensions: [...leafExtensions(names)],
  });
  const csrDer = Buffer.from(csr.rawData);
  return { csrDer, csrPem: derToPem(csrDer, 'NEW CERTIFICATE REQUEST'), privateKeyPkcs8: await exportPkcs8(keys.privateKey) };
}

export interface CertificateRequestInfo {
  /** Exchange rendering of the requested subject. */
  subject: string;
  /** The requested subject Name exactly as encoded in the request. */
  subjectDer: Buffer;
  /** Subject CN (when a host name) then the SAN DNS names of the extension request. */
  domainNames: string[];
  publicKeySpki: Buffer;
  der: Buffer;
}

function requestDer(data: Buffer | string): Buffer {
  // DER starts with a SEQUENCE tag; anything else is PEM or bare Base64 text.
  if (Buffer.isBuffer(data) && data[0] === 0x30) return Buffer.from(data);
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const pem = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(text);
  const body = (pem ? pem[1] : text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('the data is neither DER, PEM nor Base64');
  return Buffer.from(body, 'base64');
}

/** Reads a PKCS#10 request (DER, PEM, or Base64 text). */
export function readCertificateRequest(data: Buffer | string): CertificateRequestInfo {
  try {
    const der = requestDer(data);
    const csr = new x509.Pkcs10CertificateRequest(der);
    const subject = formatX500Name(csr.subjectName);
    const sanExt = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    const sanNames = sanExt ? sanExt.names.items.filter((n) => n.type === 'dns').map((n) => n.value) : [];
    const cnNames = commonNames(parseX500NameRdns(subject)).filter(isCertificateDomainName);
    const seen = new Set<string>();
    const domainNames = [...cnNames, ...sanNames].filter((n) => (seen.has(n.toLowerCase()) ? false : (seen.add(n.toLowerCase()), true)));
    return { subject, subjectDer: Buffer.from(csr.subjectName.toArrayBuffer()), domainNames, publicKeySpki: Buffer.from(csr.publicKey.rawData), der };
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw new InterchangeError(
      'ICX_CERT_DATA_CORRUPT',
      `The source data is corrupted or not properly Base64 encoded. The certificate request cannot be parsed (${e instanceof Error ? e.message : String(e)}).`,
      { cause: e },
    );
  }
}

/** Verifies a request's self-signature (proof that the requester holds the key). */
export async function verifyCertificateRequest(data: Buffer | string): Promise<boolean> {
  const info = readCertificateRequest(data);
  try {
    return await new x509.Pkcs10CertificateRequest(info.der).verify();
  } catch {
    return false;
  }
}

/**
 * Acts as a CA completing a request: issues a certificate for the request's key,
 * subject and names. Used by tests and by anything playing the CA role.
 */
export async function signCertificateRequest(opts: {
  issuer: CertificateIssuer;
  request: Buffer | string;
  notBefore?: Date;
  notAfter?: Date;
  serialNumber?: Buffer;
  /** Override the requested names. */
  domainNames?: string[];
}): Promise<{ der: Buffer }> {
  const info = readCertificateRequest(opts.request);
  if (!(await verifyCertificateRequest(info.der))) {
    throw new InterchangeError('ICX_CERT_DATA_CORRUPT', 'The source data is corrupted or not properly Base64 encoded. The request signature does not verify.');
  }
  const issued = await issueCertificate({
    issuer: opts.issuer,
    subjectName: info.subject,
    subjectDer: info.subjectDer,
    domainNames: opts.domainNames ?? info.domainNames,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    serialNumber: opts.serialNumber,
    publicKey: info.publicKeySpki,
  });
  return { der: issued.der };
}
