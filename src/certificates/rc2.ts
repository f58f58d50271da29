/**
 * RC2 (RFC 2268) in CBC mode. Legacy PKCS#12 files (`openssl pkcs12 -legacy`,
 * older Windows exports) encrypt their certificates with 40-bit RC2, and the
 * OpenSSL 3 inside Node does not load the legacy provider, so node:crypto cannot
 * decrypt them. Only used to read such files; nothing is ever written with it.
 */

const PITABLE = Uint8Array.from(
  Buffer.from(
    'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2' +
    '179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
    '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
    '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
    '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec' +
    'c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
    '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9' +
    '0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
    'hex',
  ),
);

if (PITABLE.length !== 256) throw new Error('RC2 PITABLE must have 256 entries');

/** Expands a key into the 64 16-bit round keys for the given effective key bits. */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  if (key.length < 1 || key.length > 128) throw new Error('RC2 key must be 1..128 bytes');
  const L = new Uint8Array(128);
  L.set(key);
  const T = key.length;
  for (let i = T; i < 128; i++) L[i] = PITABLE[(L[i - 1] + L[i - T]) & 0xff];
  const T8 = (effectiveBits + 7) >> 3;
  const TM = 0xff >> (8 * T8 - effectiveBits);
  L[128 - T8] = PITABLE[L[128 - T8] & TM];
  for (let i = 127 - T8; i >= 0; i--) L[i] = PITABLE[L[i + 1] ^ L[i + T8]];
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i++) K[i] = L[2 * i] | (L[2 * i + 1] << 8);
  return K;
}

function words(block: Uint8Array): number[] {
  return [block[0] | (block[1] << 8), block[2] | (block[3] << 8), block[4] | (block[5] << 8), block[6] | (block[7] << 8)];
}

function bytes(r: number[], out: Uint8Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    out[offset + 2 * i] = r[i] & 0xff;
    out[offset + 2 * i + 1] = (r[i] >> 8) & 0xff;
  }
}

const SHIFTS = [1, 2, 3, 5];

export function rc2EncryptBlock(K: Uint16Array, block: Uint8Array): Uint8Array {
  const r = words(block);
  let j = 0;
  const mix = () => {
    for (let i = 0; i < 4; i++) {
      const t = (r[i] + K[j++] + (r[(i + 3) & 3] & r[(i + 2) & 3]) + (~r[(i + 3) & 3] & r[(i + 1) & 3])) & 0xffff;
      r[i] = ((t << SHIFTS[i]) | (t >> (16 - SHIFTS[i]))) & 0xffff;
    }
  };
  const mash = () => {
    for (let i = 0; i < 4; i++) r[i] = (r[i] + K[r[(i + 3) & 3] & 63]) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
  const out = new Uint8Array(8);
  bytes(r, out, 0);
  return out;
}

export function rc2DecryptBlock(K: Uint16Array, block: Uint8Array): Uint8Array {
  const r = words(block);
  let j = 63;
  const rmix = () => {
    for (let i = 3; i >= 0; i--) {
      const t = ((r[i] >> SHIFTS[i]) | (r[i] << (16 - SHIFTS[i]))) & 0xffff;
      r[i] = (t - K[j--] - (r[(i + 3) & 3] & r[(i + 2) & 3]) - (~r[(i + 3) & 3] & r[(i + 1) & 3])) & 0xffff;
    }
  };
  const rmash = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i] - K[r[(i + 3) & 3] & 63]) & 0xffff;
  };
  for (let n = 0; n < 5; n++) rmix();
  rmash();
  for (let n = 0; n < 6; n++) rmix();
  rmash();
  for (let n = 0; n < 5; n++) rmix();
  const out = new Uint8Array(8);
  bytes(r, out, 0);
  return out;
}

/** RC2-CBC decryption with PKCS#7 padding removed; throws on bad padding (a wrong key, usually). */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Buffer {
  if (data.length === 0 || data.length % 8 !== 0) throw new Error('RC2 ciphertext is not a whole number of blocks');
  const K = rc2ExpandKey(key, effectiveBits);
  const out = Buffer.alloc(data.length);
  let prev = iv;
  for (let o = 0; o < data.length; o += 8) {
    const c = data.subarray(o, o + 8);
    const p = rc2DecryptBlock(K, c);
    for (let i = 0; i < 8; i++) out[o + i] = p[i] ^ prev[i];
    prev = c;
  }
  const pad = out[out.length - 1];
  if (pad < 1 || pad > 8) throw new Error('bad decrypt');
  for (let i = out.length - pad; i < out.length; i++) if (out[i] !== pad) throw new Error('bad decrypt');
  return out.subarray(0, out.length - pad);
}
