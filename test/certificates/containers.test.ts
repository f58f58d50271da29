import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as asn1js from 'asn1js';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createSecureContext, createServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { readCertificateData, toPem, writePkcs12 } from '../../src/certificates/containers.js';
import { privateKeyMatchesCertificate, privateKeyToPem } from '../../src/certificates/keys.js';
import { writePkcs12Sync } from '../../src/certificates/pkcs12.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';
import { corruptPfx, createTestPki, pem, pfx, withOpenssl, type TestCert } from '../support/pki.js';

const execFileAsync = promisify(execFile);
const WRONG = 'The source data cannot be imported or the wrong password was specified.';
const CORRUPT = 'The source data is corrupted or not properly Base64 encoded.';

function code(c: string, message?: RegExp) {
  return (e: unknown) => isInterchangeError(e) && e.code === c && (!message || message.test(e.message));
}

function assertBundle(bundle: { certificates: Buffer[]; privateKeyPkcs8?: Buffer }, expected: Buffer[], withKey: boolean) {
  assert.equal(bundle.certificates.length, expected.length);
  expected.forEach((der, i) => assert.ok(bundle.certificates[i].equals(der), `certificate ${i} in order`));
  if (withKey) {
    assert.ok(bundle.privateKeyPkcs8);
    assert.ok(privateKeyMatchesCertificate(bundle.privateKeyPkcs8, bundle.certificates[0]));
  } else {
    assert.equal(bundle.privateKeyPkcs8, undefined);
  }
}

/** `openssl pkcs12 -info` output; the algorithm lines go to stderr, so both streams are returned. */
async function pfxInfo(file: Buffer, password: string, legacy = false): Promise<string> {
  return withOpenssl({ 'f.pfx': file }, async (dir) => {
    const args = ['pkcs12', '-in', join(dir, 'f.pfx'), '-info', '-noout', '-passin', `pass:${password}`, ...(legacy ? ['-legacy'] : [])];
    const { stdout, stderr } = await execFileAsync('openssl', args);
    return stdout + stderr;
  });
}

const pfxVariants: Array<{ name: string; legacy: boolean; password: string; info: RegExp[] }> = [
  { name: 'OpenSSL 3 default', legacy: false, password: 'P@ssw0rd!', info: [/AES-256-CBC/, /hmacWithSHA256/, /MAC: sha256/] },
  { name: 'OpenSSL 3 default, empty password', legacy: false, password: '', info: [/AES-256-CBC/] },
  { name: '-legacy (RC2-40 certificates, 3DES key)', legacy: true, password: 'P@ssw0rd!', info: [/pbeWithSHA1And40BitRC2-CBC/, /pbeWithSHA1And3-KeyTripleDES-CBC/, /MAC: sha1/] },
  { name: '-legacy, empty password', legacy: true, password: '', info: [/pbeWithSHA1And40BitRC2-CBC/] },
  { name: 'non-ASCII password', legacy: false, password: 'Pässwörd€', info: [/AES-256-CBC/] },
];

for (const v of pfxVariants) {
  test(`PFX made by openssl pkcs12 -export: ${v.name}`, async () => {
    const pki = await createTestPki();
    const file = await pfx(pki.oldCert, v.password, { withChain: true, legacy: v.legacy, friendlyName: 'Contoso Mail' });
    const info = await pfxInfo(file, v.password, v.legacy);
    for (const re of v.info) assert.match(info, re);

    const bundle = await readCertificateData(file, v.password);
    assertBundle(bundle, [pki.oldCert.der, pki.ca.der], true);
    assert.ok(bundle.privateKeyPkcs8!.equals(pki.oldCert.privateKeyPkcs8) || privateKeyMatchesCertificate(bundle.privateKeyPkcs8!, pki.oldCert.der));
    assert.equal(bundle.friendlyName, 'Contoso Mail');

    await assert.rejects(readCertificateData(file, v.password + 'x'), code('ICX_CERT_WRONG_PASSWORD', new RegExp(`^${WRONG.replace(/\./g, '\\.')}$`)));
    // Base64 text of the PFX, as a pasted FileData, reads the same.
    const fromBase64 = await readCertificateData(Buffer.from(file.toString('base64').replace(/(.{76})/g, '$1\r\n')), v.password);
    assertBundle(fromBase64, [pki.oldCert.der, pki.ca.der], true);
  });
}

const moreVariants: Array<{ name: string; args: string[]; info: RegExp; noKey?: boolean; anyPassword?: boolean }> = [
  { name: 'no encryption and no MAC (plain key bag)', args: ['-keypbe', 'NONE', '-certpbe', 'NONE', '-nomac'], info: /PKCS7 Data/, anyPassword: true },
  { name: 'AES-128-CBC with a SHA-512 MAC and one iteration', args: ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC', '-macalg', 'sha512', '-iter', '1'], info: /AES-128-CBC/ },
  { name: '3DES PBES2 certificates', args: ['-certpbe', 'DES-EDE3-CBC', '-keypbe', 'DES-EDE3-CBC'], info: /DES-EDE3-CBC/ },
  { name: 'certificates only (-nokeys)', args: [], info: /PKCS7 Encrypted data/, noKey: true },
];

for (const v of moreVariants) {
  test(`PFX made by openssl pkcs12 -export: ${v.name}`, async () => {
    const pki = await createTestPki();
    const file = await pfx(pki.oldCert, 'pw', { withChain: true, extraArgs: v.args, noKey: v.noKey });
    assert.match(await pfxInfo(file, 'pw'), v.info);
    assertBundle(await readCertificateData(file, 'pw'), [pki.oldCert.der, pki.ca.der], !v.noKey);
    if (v.anyPassword) assertBundle(await readCertificateData(file, 'anything'), [pki.oldCert.der, pki.ca.der], true);
    else await assert.rejects(readCertificateData(file, 'other'), code('ICX_CERT_WRONG_PASSWORD'));
  });
}

test('PFX without a password given is a wrong password, not corrupt data', async () => {
  const pki = await createTestPki();
  const file = await pfx(pki.selfSigned, 'secret');
  await assert.rejects(readCertificateData(file), code('ICX_CERT_WRONG_PASSWORD'));
  assertBundle(await readCertificateData(file, 'secret'), [pki.selfSigned.der], true);
});

test('PFX chain order: leaf first, then intermediate, then root, whatever the file order', async () => {
  const pki = await createTestPki();
  const file = await pfx(pki.viaIntermediate, 'pw', { withChain: true });
  assertBundle(await readCertificateData(file, 'pw'), [pki.viaIntermediate.der, pki.intermediate.der, pki.ca.der], true);
  // Our own writer with the chain deliberately out of order.
  const shuffled = writePkcs12Sync({
    certificates: [pki.ca.der, pki.viaIntermediate.der, pki.intermediate.der],
    privateKeyPkcs8: pki.viaIntermediate.privateKeyPkcs8,
    password: 'pw',
  });
  assertBundle(await readCertificateData(shuffled, 'pw'), [pki.viaIntermediate.der, pki.intermediate.der, pki.ca.der], true);
});

test('damaged PFX is ICX_CERT_DATA_CORRUPT with a detail', async () => {
  await assert.rejects(readCertificateData(await corruptPfx(), 'P@ssw0rd'), code('ICX_CERT_DATA_CORRUPT', /^The source data is corrupted or not properly Base64 encoded\. .+/));
});

test('PFX whose key matches none of its certificates is ICX_CERT_KEY_MISMATCH', async () => {
  const pki = await createTestPki();
  const file = writePkcs12Sync({ certificates: [pki.oldCert.der, pki.ca.der], privateKeyPkcs8: pki.renewedCert.privateKeyPkcs8, password: 'pw' });
  await assert.rejects(readCertificateData(file, 'pw'), code('ICX_CERT_KEY_MISMATCH'));
});

test('PKCS#7 made by openssl crl2pkcs7 -nocrl -certfile, DER and PEM, root listed first', async () => {
  const pki = await createTestPki();
  const chainPem = [pki.ca, pki.intermediate, pki.viaIntermediate].map((c) => toPem(c.der, 'CERTIFICATE')).join('');
  await withOpenssl({ 'chain.pem': chainPem }, async (dir, openssl) => {
    await openssl(['crl2pkcs7', '-nocrl', '-certfile', 'chain.pem', '-outform', 'DER', '-out', 'c.p7b']);
    await openssl(['crl2pkcs7', '-nocrl', '-certfile', 'chain.pem', '-out', 'c.p7b.pem']);
    const expected = [pki.viaIntermediate.der, pki.intermediate.der, pki.ca.der];
    const der = await readFile(join(dir, 'c.p7b'));
    const pemText = await readFile(join(dir, 'c.p7b.pem'));
    assert.match(pemText.toString(), /-----BEGIN PKCS7-----/);
    assertBundle(await readCertificateData(der), expected, false);
    assertBundle(await readCertificateData(pemText), expected, false);
    assertBundle(await readCertificateData(Buffer.from(der.toString('base64'))), expected, false);
  });
});

test('PEM: certificate, chain and PKCS#8 key in any order', async () => {
  const pki = await createTestPki();
  const p = pem(pki.oldCert);
  const text = p.privateKey + toPem(pki.ca.der, 'CERTIFICATE') + 'some comment line\n' + p.certificate;
  assertBundle(await readCertificateData(Buffer.from(text)), [pki.oldCert.der, pki.ca.der], true);
  // Windows line endings and a byte order mark.
  const crlf = Buffer.from('\uFEFF' + (p.certificate + p.privateKey).replace(/\n/g, '\r\n'));
  assertBundle(await readCertificateData(crlf), [pki.oldCert.der], true);
});

test('PEM with traditional RSA, EC and encrypted PKCS#8 keys made by openssl', async () => {
  const pki = await createTestPki();
  const p = pem(pki.renewedCert);
  await withOpenssl({ 'k.pem': p.privateKey }, async (dir, openssl) => {
    await openssl(['rsa', '-in', 'k.pem', '-traditional', '-out', 'rsa.pem']);
    await openssl(['pkcs8', '-topk8', '-in', 'k.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:keypass', '-out', 'enc.pem']);
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ec8.pem', '-out', 'ec.crt', '-days', '5', '-subj', '/CN=ec.contoso.com',
    ]);
    await openssl(['ec', '-in', 'ec8.pem', '-out', 'ec.pem']);
    const rsa = await readFile(join(dir, 'rsa.pem'), 'utf8');
    const enc = await readFile(join(dir, 'enc.pem'), 'utf8');
    const ecKey = await readFile(join(dir, 'ec.pem'), 'utf8');
    const ecCert = await readFile(join(dir, 'ec.crt'), 'utf8');
    assert.match(rsa, /BEGIN RSA PRIVATE KEY/);
    assert.match(enc, /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.match(ecKey, /BEGIN EC PRIVATE KEY/);

    assertBundle(await readCertificateData(Buffer.from(p.certificate + rsa)), [pki.renewedCert.der], true);
    assertBundle(await readCertificateData(Buffer.from(p.certificate + enc), 'keypass'), [pki.renewedCert.der], true);
    await assert.rejects(readCertificateData(Buffer.from(p.certificate + enc), 'nope'), code('ICX_CERT_WRONG_PASSWORD'));
    const ec = await readCertificateData(Buffer.from(ecCert + ecKey));
    assert.equal(ec.certificates.length, 1);
    assert.ok(privateKeyMatchesCertificate(ec.privateKeyPkcs8!, ec.certificates[0]));
  });
});

test('PEM key that belongs to no certificate is ICX_CERT_KEY_MISMATCH', async () => {
  const pki = await createTestPki();
  const text = pem(pki.oldCert).certificate + privateKeyToPem(pki.renewedCert.privateKeyPkcs8);
  await assert.rejects(readCertificateData(Buffer.from(text)), code('ICX_CERT_KEY_MISMATCH'));
});

test('single DER certificate and its Base64 text', async () => {
  const pki = await createTestPki();
  assertBundle(await readCertificateData(pki.wildcard.der), [pki.wildcard.der], false);
  assertBundle(await readCertificateData(Buffer.from(pki.wildcard.der.toString('base64'))), [pki.wildcard.der], false);
});

const corruptCases: Array<[string, Buffer, RegExp]> = [
  ['empty data', Buffer.alloc(0), /empty/],
  ['random text', Buffer.from('hello, this is not a certificate'), /neither PEM nor Base64/],
  ['Base64 of garbage', Buffer.from(Buffer.from('garbage garbage garbage').toString('base64')), /neither PEM nor Base64/],
  ['binary garbage', Buffer.from([0x30, 0x82, 0x05, 0x00, 1, 2, 3]), /not valid DER/],
  ['PEM with broken Base64', Buffer.from('-----BEGIN CERTIFICATE-----\nMII$$$\n-----END CERTIFICATE-----\n'), /not valid Base64/],
  ['PEM with only a key', Buffer.from('-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n'), /private key|cannot be read/],
  ['DER SEQUENCE that is nothing known', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]), /neither a PFX, a PKCS#7 file nor a certificate/],
];

for (const [name, data, detail] of corruptCases) {
  test(`corrupt input (${name}) is ICX_CERT_DATA_CORRUPT`, async () => {
    await assert.rejects(readCertificateData(data), (e: unknown) => {
      assert.ok(isInterchangeError(e), String(e));
      assert.equal(e.code, 'ICX_CERT_DATA_CORRUPT');
      assert.ok(e.message.startsWith(CORRUPT), e.message);
      assert.match(e.message, detail);
      return true;
    });
  });
}

async function writeOurs(cert: TestCert, password: string): Promise<Buffer> {
  return writePkcs12({ certificates: [cert.der, ...cert.chain], privateKeyPkcs8: cert.privateKeyPkcs8, password, friendlyName: 'Microsoft Exchange' });
}

test('writePkcs12: openssl pkcs12 reads it (AES-256-CBC, HMAC-SHA256), with the key and the chain', async () => {
  const pki = await createTestPki();
  const file = await writeOurs(pki.viaIntermediate, 'Exp0rt!');
  const info = await pfxInfo(file, 'Exp0rt!');
  assert.match(info, /MAC: sha256, Iteration 2048/);
  assert.match(info, /PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  await withOpenssl({ 'f.pfx': file }, async (dir, openssl) => {
    await openssl(['pkcs12', '-in', 'f.pfx', '-passin', 'pass:Exp0rt!', '-nodes', '-out', 'all.pem']);
    const all = await readFile(join(dir, 'all.pem'), 'utf8');
    assert.equal(all.match(/BEGIN CERTIFICATE/g)?.length, 3);
    assert.match(all, /friendlyName: Microsoft Exchange/);
    const back = await readCertificateData(Buffer.from(all));
    assertBundle(back, [pki.viaIntermediate.der, pki.intermediate.der, pki.ca.der], true);
    await assert.rejects(openssl(['pkcs12', '-in', 'f.pfx', '-passin', 'pass:wrong', '-noout']));
  });
  assertBundle(await readCertificateData(file, 'Exp0rt!'), [pki.viaIntermediate.der, pki.intermediate.der, pki.ca.der], true);
});

test('writePkcs12: Node TLS loads it and serves the certificate in a real handshake', async () => {
  const pki = await createTestPki();
  const file = await writeOurs(pki.oldCert, 'tls-pass');
  assert.throws(() => createSecureContext({ pfx: file, passphrase: 'not-it' }));
  const server = createServer({ pfx: file, passphrase: 'tls-pass' }, (s) => s.end('220 ok\r\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as { port: number };
    const socket: TLSSocket = connect({ port, host: '127.0.0.1', servername: 'mail.contoso.com', ca: toPem(pki.ca.der, 'CERTIFICATE') });
    await once(socket, 'secureConnect');
    assert.equal(socket.authorized, true);
    const peer = socket.getPeerCertificate();
    assert.equal(peer.fingerprint.replace(/:/g, ''), pki.oldCert.facts.thumbprint);
    socket.destroy();
  } finally {
    server.close();
  }
});

test('writePkcs12 with an empty password is still readable by openssl and by us', async () => {
  const pki = await createTestPki();
  const file = await writeOurs(pki.selfSigned, '');
  assert.match(await pfxInfo(file, ''), /MAC: sha256/);
  assertBundle(await readCertificateData(file, ''), [pki.selfSigned.der], true);
});

test('writePkcs12 refuses a key that does not belong to the first certificate', async () => {
  const pki = await createTestPki();
  await assert.rejects(
    writePkcs12({ certificates: [pki.oldCert.der], privateKeyPkcs8: pki.renewedCert.privateKeyPkcs8, password: 'x' }),
    code('ICX_CERT_KEY_MISMATCH'),
  );
});

test('toPem wraps at 64 columns and round-trips', async () => {
  const pki = await createTestPki();
  const text = toPem(pki.ca.der, 'CERTIFICATE');
  const lines = text.trim().split('\n');
  assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
  assert.equal(lines[lines.length - 1], '-----END CERTIFICATE-----');
  assert.ok(lines.slice(1, -1).every((l) => l.length <= 64));
  assertBundle(await readCertificateData(Buffer.from(text)), [pki.ca.der], false);
});

test('PKCS#12 keystores made by Java keytool (modern and legacy) read with key, name and alias', async () => {
  await withOpenssl({}, async (dir) => {
    for (const legacy of [false, true]) {
      const store = join(dir, `k${legacy ? '-legacy' : ''}.p12`);
      await execFileAsync('keytool', [
        ...(legacy ? ['-J-Dkeystore.pkcs12.legacy'] : []),
        '-genkeypair', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=java.contoso.com, O="Contoso, Ltd", C=US',
        '-ext', 'san=dns:java.contoso.com,dns:smtp.contoso.com', '-storetype', 'PKCS12', '-keystore', store, '-storepass', 'pass123',
        '-validity', '30', '-alias', 'mail',
      ]);
      const bundle = await readCertificateData(await readFile(store), 'pass123');
      assert.equal(bundle.certificates.length, 1);
      assert.ok(bundle.privateKeyPkcs8 && privateKeyMatchesCertificate(bundle.privateKeyPkcs8, bundle.certificates[0]));
      assert.equal(bundle.friendlyName, 'mail');
      const facts = readCertificateFacts(bundle.certificates[0]);
      assert.equal(facts.subject, 'CN=java.contoso.com, O="Contoso, Ltd", C=US');
      assert.deepEqual(facts.certificateDomains, ['java.contoso.com', 'smtp.contoso.com']);
      await assert.rejects(readCertificateData(await readFile(store), 'pass124'), code('ICX_CERT_WRONG_PASSWORD'));
    }
  });
});

/**
 * Re-encodes DER as BER the way some Windows and Java tools write PKCS#12:
 * indefinite lengths on constructed elements and large OCTET STRINGs (and
 * [0] IMPLICIT encrypted content) split into constructed chunks.
 */
function toBer(el: asn1js.AsnType): Buffer {
  const raw = Buffer.from(el.valueBeforeDecodeView);
  if (el.idBlock.isConstructed) {
    const kids = (el.valueBlock as unknown as { value: asn1js.AsnType[] }).value.map(toBer);
    return Buffer.concat([Buffer.from([raw[0], 0x80]), ...kids, Buffer.from([0, 0])]);
  }
  const isOctets = el.idBlock.tagClass === 1 && el.idBlock.tagNumber === 4;
  const isImplicit0 = el.idBlock.tagClass === 3 && el.idBlock.tagNumber === 0;
  const content = isOctets || isImplicit0 ? Buffer.from((el.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView) : Buffer.alloc(0);
  if (content.length > 64) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < content.length; i += 64) {
      const part = content.subarray(i, i + 64);
      chunks.push(Buffer.concat([Buffer.from([0x04, part.length]), part]));
    }
    return Buffer.concat([Buffer.from([isOctets ? 0x24 : 0xa0, 0x80]), ...chunks, Buffer.from([0, 0])]);
  }
  return raw;
}

test('BER-encoded PFX (indefinite lengths, constructed OCTET STRINGs) reads like its DER original', async () => {
  const pki = await createTestPki();
  for (const legacy of [false, true]) {
    const file = await pfx(pki.oldCert, 'pw', { withChain: true, legacy });
    const ber = toBer(asn1js.fromBER(new Uint8Array(file)).result);
    assert.notEqual(ber.length, file.length);
    assert.equal(ber[1], 0x80);
    assertBundle(await readCertificateData(ber, 'pw'), [pki.oldCert.der, pki.ca.der], true);
    await assert.rejects(readCertificateData(ber, 'px'), code('ICX_CERT_WRONG_PASSWORD'));
  }
});

test('an encrypted PEM key with a wrong password is always ICX_CERT_WRONG_PASSWORD, even when the garbage decrypts with valid padding', async () => {
  const pki = await createTestPki();
  const p = pem(pki.renewedCert);
  await withOpenssl({ 'k.pem': p.privateKey }, async (dir, openssl) => {
    await openssl(['pkcs8', '-topk8', '-in', 'k.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:keypass', '-out', 'enc.pem']);
    const enc = await readFile(join(dir, 'enc.pem'), 'utf8');
    // About one wrong password in 256 yields valid padding; 1,500 tries meet that case almost surely.
    for (let i = 0; i < 1500; i++) {
      await assert.rejects(readCertificateData(Buffer.from(p.certificate + enc), `wrong-${i}`), code('ICX_CERT_WRONG_PASSWORD'));
    }
  });
});
