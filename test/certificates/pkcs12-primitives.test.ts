import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { rc2CbcDecrypt, rc2DecryptBlock, rc2EncryptBlock, rc2ExpandKey } from '../../src/certificates/rc2.js';
import { pkcs12Kdf } from '../../src/certificates/pkcs12.js';

const run = promisify(execFile);

// RFC 2268 section 5 test vectors: key, effective bits, plaintext, ciphertext.
const vectors: Array<[string, number, string, string]> = [
  ['0000000000000000', 63, '0000000000000000', 'ebb773f993278eff'],
  ['ffffffffffffffff', 64, 'ffffffffffffffff', '278b27e42e2f0d49'],
  ['3000000000000000', 64, '1000000000000001', '30649edf9be7d2c2'],
  ['88', 64, '0000000000000000', '61a8a244adacccf0'],
  ['88bca90e90875a', 64, '0000000000000000', '6ccf4308974c267f'],
  ['88bca90e90875a7f0f79c384627bafb2', 64, '0000000000000000', '1a807d272bbe5db1'],
  ['88bca90e90875a7f0f79c384627bafb2', 128, '0000000000000000', '2269552ab0f85ca6'],
];

for (const [key, bits, plain, cipher] of vectors) {
  test(`RC2 RFC 2268 vector key=${key} bits=${bits}`, () => {
    const K = rc2ExpandKey(Buffer.from(key, 'hex'), bits);
    assert.equal(Buffer.from(rc2EncryptBlock(K, Buffer.from(plain, 'hex'))).toString('hex'), cipher);
    assert.equal(Buffer.from(rc2DecryptBlock(K, Buffer.from(cipher, 'hex'))).toString('hex'), plain);
  });
}

test('RC2-40-CBC decrypts what openssl enc -rc2-40-cbc encrypted, and a wrong key fails', async () => {
  const key = randomBytes(5);
  const iv = randomBytes(8);
  const plain = randomBytes(100);
  const child = execFile('openssl', ['enc', '-rc2-40-cbc', '-provider', 'legacy', '-provider', 'default', '-K', key.toString('hex'), '-iv', iv.toString('hex')], {
    encoding: 'buffer',
  });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stdin!.end(plain);
  await new Promise<void>((resolve, reject) => child.on('close', (codeNum) => (codeNum === 0 ? resolve() : reject(new Error(`openssl exited ${codeNum}`)))));
  const encrypted = Buffer.concat(chunks);
  assert.deepEqual(rc2CbcDecrypt(key, 40, iv, encrypted), plain);
  const wrongKey = Buffer.from(key);
  wrongKey[0] ^= 1;
  assert.throws(() => {
    const out = rc2CbcDecrypt(wrongKey, 40, iv, encrypted);
    // A wrong key can, rarely, leave valid-looking padding; then the content differs.
    if (!out.equals(plain)) throw new Error('bad decrypt');
  });
});

test('PKCS#12 KDF matches the published SHA-1 vector and OpenSSL\'s PKCS12KDF', async () => {
  // The Bouncy Castle vector (password "smeg", id 1, one iteration).
  assert.equal(
    pkcs12Kdf('sha1', Buffer.concat([Buffer.from('smeg', 'utf16le').swap16(), Buffer.alloc(2)]), Buffer.from('0a58cf64530d823f', 'hex'), 1, 1, 24).toString('hex'),
    '8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3',
  );
  // `openssl kdf` exposes PKCS12KDF in OpenSSL 3; it takes the password bytes as given, so pass the BMP form.
  const salt = Buffer.from('0a58cf64530d823f', 'hex');
  const password = 'smeg';
  const bmp = Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
  for (const [id, len] of [[1, 24], [2, 8], [3, 20]] as const) {
    const { stdout } = await run('openssl', [
      'kdf', '-keylen', String(len), '-kdfopt', 'digest:SHA1', '-kdfopt', `hexpass:${bmp.toString('hex')}`, '-kdfopt', `hexsalt:${salt.toString('hex')}`,
      '-kdfopt', 'iter:1', '-kdfopt', `id:${id}`, 'PKCS12KDF',
    ]);
    const expected = stdout.trim().replace(/:/g, '').toLowerCase();
    assert.equal(pkcs12Kdf('sha1', bmp, salt, id, 1, len).toString('hex'), expected);
  }
  const bmp2 = Buffer.concat([Buffer.from('Pässwörd€', 'utf16le').swap16(), Buffer.alloc(2)]);
  const { stdout } = await run('openssl', [
    'kdf', '-keylen', '32', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexpass:${bmp2.toString('hex')}`, '-kdfopt', 'hexsalt:0102030405060708',
    '-kdfopt', 'iter:2048', '-kdfopt', 'id:3', 'PKCS12KDF',
  ]);
  assert.equal(pkcs12Kdf('sha256', bmp2, Buffer.from('0102030405060708', 'hex'), 3, 2048, 32).toString('hex'), stdout.trim().replace(/:/g, '').toLowerCase());
});
