import { createPrivateKey, createPublicKey, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import { InterchangeError } from '../errors/interchange-error.js';

function pkcs8Key(pkcs8: Buffer): KeyObject {
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/** True when the PKCS#8 private key is the partner of the certificate's public key. */
export function privateKeyMatchesCertificate(privateKeyPkcs8: Buffer, certificateDer: Buffer): boolean {
  try {
    const publicFromPrivate = createPublicKey(pkcs8Key(privateKeyPkcs8));
    return publicFromPrivate.equals(new NodeX509Certificate(certificateDer).publicKey);
  } catch {
    return false;
  }
}

/** True when the PKCS#8 private key is the partner of a DER SubjectPublicKeyInfo. */
export function privateKeyMatchesSpki(privateKeyPkcs8: Buffer, spkiDer: Buffer): boolean {
  try {
    const publicFromPrivate = createPublicKey(pkcs8Key(privateKeyPkcs8));
    return publicFromPrivate.equals(createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}

function wrapPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function privateKeyToPem(pkcs8: Buffer): string {
  return wrapPem(pkcs8, 'PRIVATE KEY');
}

/**
 * Any private key Node can read (PKCS#8, PKCS#1 RSA, SEC1 EC; PEM or DER;
 * encrypted PEM with a passphrase) as unencrypted PKCS#8 DER.
 */
export function privateKeyToPkcs8(key: Buffer | string, passphrase?: string): Buffer {
  try {
    const isPem = typeof key === 'string' || key.subarray(0, 64).toString('latin1').includes('-----BEGIN');
    let object: KeyObject;
    if (isPem) {
      object = createPrivateKey({ key: typeof key === 'string' ? key : key.toString('latin1'), format: 'pem', passphrase });
    } else {
      object = tryDer(key as Buffer);
    }
    return object.export({ type: 'pkcs8', format: 'der' }) as Buffer;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const text = typeof key === 'string' ? key : key.subarray(0, 4096).toString('latin1');
    // With a wrong password, CBC decryption ends in valid padding about once in
    // 256 tries; OpenSSL then fails to decode the garbage instead of reporting
    // "bad decrypt". For an encrypted key, any failure means the password.
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
    if ((encrypted && passphrase !== undefined) || /bad decrypt|passphrase|interrupted or cancelled/i.test(msg)) {
      throw new InterchangeError('ICX_CERT_WRONG_PASSWORD', 'The source data cannot be imported or the wrong password was specified.', { cause: e });
    }
    throw new InterchangeError('ICX_CERT_DATA_CORRUPT', `The source data is corrupted or not properly Base64 encoded. The private key cannot be read (${msg}).`, { cause: e });
  }
}

function tryDer(der: Buffer): KeyObject {
  let last: unknown;
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/** The PEM text of DER data under a label (CERTIFICATE, PKCS7, ...), 64 columns. */
export function derToPem(der: Buffer, label: string): string {
  return wrapPem(der, label);
}
