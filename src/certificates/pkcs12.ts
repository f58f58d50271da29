import { createCipheriv, createDecipheriv, createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as asn1js from 'asn1js';
import { DerError, children, integerValue, isContext, octets, oid as readOid, parseDer, parseDerExact, sequence, type Asn } from './der.js';
import { rc2CbcDecrypt } from './rc2.js';

/**
 * PKCS#12 (RFC 7292) read and write. Reading covers what administrators bring:
 * OpenSSL 3 defaults (PBES2/AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC),
 * legacy files (SHA-1 PBE with 3DES and 40-bit RC2), unencrypted bags and
 * empty passwords. Writing produces the modern OpenSSL 3 layout.
 */

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const DIGESTS: Record<string, { name: string; size: number; block: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', size: 20, block: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', size: 28, block: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', size: 32, block: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', size: 48, block: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', size: 64, block: 128 },
};

const PBKDF2_PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const PBES2_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

/** PKCS#12 PBE schemes (RFC 7292 Appendix C), all with the SHA-1 PKCS#12 KDF. */
const PKCS12_PBE: Record<string, { cipher: 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2'; keyLength: number; rc2Bits?: number }> = {
  '1.2.840.113549.1.12.1.3': { cipher: 'des-ede3-cbc', keyLength: 24 },
  '1.2.840.113549.1.12.1.4': { cipher: 'des-ede-cbc', keyLength: 16 },
  '1.2.840.113549.1.12.1.5': { cipher: 'rc2', keyLength: 16, rc2Bits: 128 },
  '1.2.840.113549.1.12.1.6': { cipher: 'rc2', keyLength: 5, rc2Bits: 40 },
};

/** The password is wrong (MAC or decryption fails). */
export class Pkcs12PasswordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs12PasswordError';
  }
}

/** The file uses a construct we cannot read (not a damaged file, an unsupported one). */
export class Pkcs12UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs12UnsupportedError';
  }
}

export interface Pkcs12Contents {
  certificates: Array<{ der: Buffer; localKeyId?: Buffer; friendlyName?: string }>;
  keys: Array<{ pkcs8: Buffer; localKeyId?: Buffer; friendlyName?: string }>;
}

/** The password as PKCS#12's KDF wants it: UTF-16BE with a two-byte terminator. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 Appendix B.2 key derivation. */
export function pkcs12Kdf(hash: string, password: Buffer, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const digest = Object.values(DIGESTS).find((d) => d.name === hash);
  if (!digest) throw new Pkcs12UnsupportedError(`PKCS#12 KDF hash ${hash} is not supported`);
  const { size: u, block: v } = digest;
  const repeat = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const len = v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length];
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([repeat(salt), repeat(password)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash).update(A).digest();
    blocks.push(A);
    const B = Buffer.alloc(v);
    for (let i = 0; i < v; i++) B[i] = A[i % u];
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k] + B[k] + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function algorithm(el: Asn | undefined, what: string): { oid: string; params?: Asn } {
  const items = sequence(el, what, 1);
  return { oid: readOid(items[0], what), params: items[1] };
}

function explicitChild(el: Asn | undefined, what: string): Asn {
  if (!el || !isContext(el, 0)) throw new DerError(`${what}: expected [0]`);
  const c = children(el, what)[0];
  if (!c) throw new DerError(`${what}: empty [0]`);
  return c;
}

/** Password forms to try: "" is tried both as an empty BMPString and as no password, as OpenSSL does. */
interface PasswordForms {
  text: string;
  bmp: Buffer;
}

function decipher(name: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    const d = createDecipheriv(name, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch (e) {
    throw new Pkcs12PasswordError(`decryption failed (${e instanceof Error ? e.message : String(e)})`);
  }
}

function decrypt(algEl: Asn | undefined, data: Buffer, pw: PasswordForms): Buffer {
  const alg = algorithm(algEl, 'encryption algorithm');
  if (alg.oid === OID.pbes2) {
    const [kdfEl, encEl] = sequence(alg.params, 'PBES2 parameters', 2);
    const kdf = algorithm(kdfEl, 'PBES2 key derivation');
    if (kdf.oid !== OID.pbkdf2) throw new Pkcs12UnsupportedError(`PBES2 key derivation ${kdf.oid} is not supported`);
    const kp = sequence(kdf.params, 'PBKDF2 parameters', 2);
    const salt = octets(kp[0], 'PBKDF2 salt');
    const iterations = integerValue(kp[1], 'PBKDF2 iterations');
    let prf = 'sha1';
    for (const extra of kp.slice(2)) {
      if (extra instanceof asn1js.Sequence) {
        const prfOid = algorithm(extra, 'PBKDF2 prf').oid;
        const mapped = PBKDF2_PRFS[prfOid];
        if (!mapped) throw new Pkcs12UnsupportedError(`PBKDF2 PRF ${prfOid} is not supported`);
        prf = mapped;
      }
    }
    const enc = algorithm(encEl, 'PBES2 encryption scheme');
    const cipher = PBES2_CIPHERS[enc.oid];
    if (!cipher) throw new Pkcs12UnsupportedError(`PBES2 cipher ${enc.oid} is not supported`);
    const iv = octets(enc.params, 'PBES2 IV');
    const key = pbkdf2Sync(Buffer.from(pw.text, 'utf8'), salt, iterations, cipher.keyLength, prf);
    return decipher(cipher.name, key, iv, data);
  }
  const pbe = PKCS12_PBE[alg.oid];
  if (!pbe) throw new Pkcs12UnsupportedError(`encryption algorithm ${alg.oid} is not supported`);
  const pp = sequence(alg.params, 'PBE parameters', 2);
  const salt = octets(pp[0], 'PBE salt');
  const iterations = integerValue(pp[1], 'PBE iterations');
  const key = pkcs12Kdf('sha1', pw.bmp, salt, 1, iterations, pbe.keyLength);
  const iv = pkcs12Kdf('sha1', pw.bmp, salt, 2, iterations, 8);
  if (pbe.cipher === 'rc2') {
    try {
      return rc2CbcDecrypt(key, pbe.rc2Bits ?? key.length * 8, iv, data);
    } catch (e) {
      throw new Pkcs12PasswordError(`decryption failed (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return decipher(pbe.cipher, key, iv, data);
}

function verifyMac(macDataEl: Asn, authSafeContent: Buffer, pw: Buffer): boolean {
  const [digestInfo, saltEl, iterEl] = sequence(macDataEl, 'MacData', 2);
  const [algEl, digestEl] = sequence(digestInfo, 'MAC DigestInfo', 2);
  const alg = algorithm(algEl, 'MAC algorithm');
  if (alg.oid === OID.pbmac1) throw new Pkcs12UnsupportedError('PBMAC1 integrity protection is not supported');
  const digest = DIGESTS[alg.oid];
  if (!digest) throw new Pkcs12UnsupportedError(`MAC digest ${alg.oid} is not supported`);
  const salt = octets(saltEl, 'MAC salt');
  const iterations = iterEl ? integerValue(iterEl, 'MAC iterations') : 1;
  const expected = octets(digestEl, 'MAC value');
  const key = pkcs12Kdf(digest.name, pw, salt, 3, iterations, digest.size);
  const actual = createHmac(digest.name, key).update(authSafeContent).digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function bagAttributes(el: Asn | undefined): { localKeyId?: Buffer; friendlyName?: string } {
  const out: { localKeyId?: Buffer; friendlyName?: string } = {};
  if (!el || !(el instanceof asn1js.Set)) return out;
  for (const attr of children(el, 'bag attributes')) {
    const [typeEl, valuesEl] = sequence(attr, 'bag attribute', 2);
    const type = readOid(typeEl, 'bag attribute type');
    const first = children(valuesEl, 'bag attribute values')[0];
    if (!first) continue;
    if (type === OID.localKeyId) out.localKeyId = octets(first, 'localKeyId');
    if (type === OID.friendlyName && first instanceof asn1js.BmpString) out.friendlyName = first.valueBlock.value;
  }
  return out;
}

function readSafeContents(der: Buffer, pw: PasswordForms, out: Pkcs12Contents, depth = 0): void {
  if (depth > 4) throw new DerError('SafeContents nested too deeply');
  for (const bag of sequence(parseDer(der, 'SafeContents'), 'SafeContents')) {
    const items = sequence(bag, 'SafeBag', 2);
    const bagId = readOid(items[0], 'bagId');
    const value = explicitChild(items[1], 'bagValue');
    const attrs = bagAttributes(items[2]);
    if (bagId === OID.certBag) {
      const [certIdEl, certValueEl] = sequence(value, 'CertBag', 2);
      if (readOid(certIdEl, 'certId') !== OID.x509Certificate) continue; // SDSI certificates: ignore
      out.certificates.push({ der: octets(explicitChild(certValueEl, 'certValue'), 'certValue'), ...attrs });
    } else if (bagId === OID.keyBag) {
      out.keys.push({ pkcs8: Buffer.from(value.valueBeforeDecodeView), ...attrs });
    } else if (bagId === OID.shroudedKeyBag) {
      const [algEl, encEl] = sequence(value, 'EncryptedPrivateKeyInfo', 2);
      out.keys.push({ pkcs8: decrypt(algEl, octets(encEl, 'encryptedData'), pw), ...attrs });
    } else if (bagId === OID.safeContentsBag) {
      readSafeContents(Buffer.from(value.valueBeforeDecodeView), pw, out, depth + 1);
    }
    // CRL and secret bags carry nothing Exchange imports.
  }
}

function readAuthenticatedSafe(der: Buffer, pw: PasswordForms): Pkcs12Contents {
  const out: Pkcs12Contents = { certificates: [], keys: [] };
  for (const ci of sequence(parseDer(der, 'AuthenticatedSafe'), 'AuthenticatedSafe')) {
    const items = sequence(ci, 'ContentInfo', 1);
    const type = readOid(items[0], 'contentType');
    if (type === OID.data) {
      readSafeContents(octets(explicitChild(items[1], 'data content'), 'data content'), pw, out);
    } else if (type === OID.encryptedData) {
      const ed = sequence(explicitChild(items[1], 'encryptedData content'), 'EncryptedData', 2);
      const eci = sequence(ed[1], 'EncryptedContentInfo', 2);
      if (!eci[2]) continue; // detached content: nothing to read
      readSafeContents(decrypt(eci[1], octets(eci[2], 'encryptedContent'), pw), pw, out);
    } else if (type === OID.envelopedData) {
      throw new Pkcs12UnsupportedError('public-key privacy mode (envelopedData) is not supported');
    }
  }
  return out;
}

/** True when the data has the outer shape of a PFX (version 3 and a ContentInfo). */
export function looksLikePkcs12(el: Asn): boolean {
  try {
    const items = sequence(el, 'PFX', 2);
    if (!(items[0] instanceof asn1js.Integer) || integerValue(items[0], 'version') !== 3) return false;
    const ct = readOid(sequence(items[1], 'authSafe', 1)[0], 'contentType');
    return ct === OID.data || ct === OID.signedData;
  } catch {
    return false;
  }
}

/**
 * Reads a PFX. Throws Pkcs12PasswordError for a wrong password, DerError for a
 * damaged file, Pkcs12UnsupportedError for constructs we do not read.
 */
export function readPkcs12(data: Buffer, password = ''): Pkcs12Contents {
  const pfx = sequence(parseDerExact(data, 'PFX'), 'PFX', 2);
  const authSafe = sequence(pfx[1], 'authSafe', 2);
  const contentType = readOid(authSafe[0], 'authSafe contentType');
  if (contentType !== OID.data) throw new Pkcs12UnsupportedError('public-key integrity mode (signedData) is not supported');
  const content = octets(explicitChild(authSafe[1], 'authSafe content'), 'authSafe content');

  const candidates: PasswordForms[] = [{ text: password, bmp: bmpPassword(password) }];
  if (password === '') candidates.push({ text: '', bmp: Buffer.alloc(0) });

  if (pfx[2]) {
    const pw = candidates.find((c) => verifyMac(pfx[2], content, c.bmp));
    if (!pw) throw new Pkcs12PasswordError('the MAC does not verify');
    return readAuthenticatedSafe(content, pw);
  }
  let last: unknown;
  for (const pw of candidates) {
    try {
      return readAuthenticatedSafe(content, pw);
    } catch (e) {
      if (!(e instanceof Pkcs12PasswordError)) throw e;
      last = e;
    }
  }
  throw last;
}

// ---- writing ------------------------------------------------------------

const seq = (...value: Asn[]) => new asn1js.Sequence({ value });
const oidEl = (value: string) => new asn1js.ObjectIdentifier({ value });
const octetEl = (b: Buffer) => new asn1js.OctetString({ valueHex: b });
const intEl = (value: number) => new asn1js.Integer({ value });
const explicit0 = (inner: Asn) => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [inner] });
const der = (el: Asn) => Buffer.from(el.toBER(false));

function pbes2Encrypt(plain: Buffer, password: string, iterations: number): { algorithm: Asn; encrypted: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([c.update(plain), c.final()]);
  const algorithm = seq(
    oidEl(OID.pbes2),
    seq(
      seq(oidEl(OID.pbkdf2), seq(octetEl(salt), intEl(iterations), seq(oidEl(OID.hmacWithSHA256), new asn1js.Null()))),
      seq(oidEl(OID.aes256cbc), octetEl(iv)),
    ),
  );
  return { algorithm, encrypted };
}

function attributesEl(attrs: { localKeyId?: Buffer; friendlyName?: string }): Asn[] {
  const list: Asn[] = [];
  if (attrs.friendlyName !== undefined) {
    list.push(seq(oidEl(OID.friendlyName), new asn1js.Set({ value: [new asn1js.BmpString({ value: attrs.friendlyName })] })));
  }
  if (attrs.localKeyId) list.push(seq(oidEl(OID.localKeyId), new asn1js.Set({ value: [octetEl(attrs.localKeyId)] })));
  return list.length ? [new asn1js.Set({ value: list })] : [];
}

/**
 * Writes a PFX the way OpenSSL 3 does by default: certificates in a PBES2
 * (AES-256-CBC, PBKDF2-HMAC-SHA256) encryptedData, the key in a shrouded key bag
 * with the same scheme, and an HMAC-SHA256 MAC. The first certificate gets the
 * key's localKeyId.
 */
export function writePkcs12Sync(opts: { certificates: Buffer[]; privateKeyPkcs8?: Buffer; password: string; friendlyName?: string; iterations?: number }): Buffer {
  const iterations = opts.iterations ?? 2048;
  if (opts.certificates.length === 0) throw new Error('writePkcs12 needs at least one certificate');
  const localKeyId = createHash('sha1').update(opts.certificates[0]).digest();

  const certBags = opts.certificates.map((cert, i) =>
    seq(
      oidEl(OID.certBag),
      explicit0(seq(oidEl(OID.x509Certificate), explicit0(octetEl(cert)))),
      ...attributesEl(i === 0 && opts.privateKeyPkcs8 ? { friendlyName: opts.friendlyName, localKeyId } : i === 0 ? { friendlyName: opts.friendlyName } : {}),
    ),
  );
  const certEnc = pbes2Encrypt(der(seq(...certBags)), opts.password, iterations);
  const certContent = seq(
    oidEl(OID.encryptedData),
    explicit0(
      seq(
        intEl(0),
        seq(oidEl(OID.data), certEnc.algorithm, new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: certEnc.encrypted })),
      ),
    ),
  );
  const contents: Asn[] = [certContent];

  if (opts.privateKeyPkcs8) {
    const keyEnc = pbes2Encrypt(opts.privateKeyPkcs8, opts.password, iterations);
    const keyBag = seq(
      oidEl(OID.shroudedKeyBag),
      explicit0(seq(keyEnc.algorithm, octetEl(keyEnc.encrypted))),
      ...attributesEl({ friendlyName: opts.friendlyName, localKeyId }),
    );
    contents.push(seq(oidEl(OID.data), explicit0(octetEl(der(seq(keyBag))))));
  }

  const authSafe = der(seq(...contents));
  const macSalt = randomBytes(8);
  const macKey = pkcs12Kdf('sha256', bmpPassword(opts.password), macSalt, 3, iterations, 32);
  const mac = createHmac('sha256', macKey).update(authSafe).digest();
  const pfx = seq(
    intEl(3),
    seq(oidEl(OID.data), explicit0(octetEl(authSafe))),
    seq(seq(seq(oidEl(OID.sha256), new asn1js.Null()), octetEl(mac)), octetEl(macSalt), intEl(iterations)),
  );
  return der(pfx);
}
