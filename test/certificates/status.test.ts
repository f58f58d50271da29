import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { toPem } from '../../src/certificates/containers.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { privateKeyToPem } from '../../src/certificates/keys.js';
import { evaluateCertificateStatus, loadSystemRoots, type StatusContext } from '../../src/certificates/status.js';
import { createTestPki, withOpenssl, type TestPki } from '../support/pki.js';

const DAY = 24 * 3600 * 1000;

async function context(overrides: Partial<StatusContext> = {}): Promise<StatusContext> {
  const pki = await createTestPki();
  return { now: new Date(), intermediates: [pki.intermediate.der], registryRoots: [pki.ca.der], thirdPartyRoots: loadSystemRoots(), ...overrides };
}

const expectations: Array<{ name: keyof TestPki; status: string; root: string; chain: Array<keyof TestPki> }> = [
  { name: 'oldCert', status: 'Valid', root: 'Registry', chain: ['oldCert', 'ca'] },
  { name: 'renewedCert', status: 'Valid', root: 'Registry', chain: ['renewedCert', 'ca'] },
  { name: 'wildcard', status: 'Valid', root: 'Registry', chain: ['wildcard', 'ca'] },
  { name: 'selfSigned', status: 'Valid', root: 'None', chain: ['selfSigned'] },
  { name: 'expired', status: 'DateInvalid', root: 'Registry', chain: ['expired', 'ca'] },
  { name: 'viaIntermediate', status: 'Valid', root: 'Registry', chain: ['viaIntermediate', 'intermediate', 'ca'] },
  { name: 'ca', status: 'Valid', root: 'Registry', chain: ['ca'] },
];

for (const e of expectations) {
  test(`status of ${e.name}: ${e.status} + ${e.root}`, async () => {
    const pki = await createTestPki();
    const result = evaluateCertificateStatus(pki[e.name].der, await context());
    assert.equal(result.status, e.status);
    assert.equal(result.rootCAType, e.root);
    assert.deepEqual(
      result.chain.map((d) => readCertificateFacts(d).thumbprint),
      e.chain.map((n) => pki[n].facts.thumbprint),
    );
  });
}

test('no trusted root: a CA-issued certificate is Untrusted + Unknown', async () => {
  const pki = await createTestPki();
  const result = evaluateCertificateStatus(pki.oldCert.der, await context({ registryRoots: [] }));
  assert.deepEqual([result.status, result.rootCAType], ['Untrusted', 'Unknown']);
  assert.equal(result.chain.length, 1);
});

test('root present only as an intermediate (not installed as a root) is still Untrusted', async () => {
  const pki = await createTestPki();
  const result = evaluateCertificateStatus(pki.oldCert.der, await context({ registryRoots: [], intermediates: [pki.ca.der] }));
  assert.deepEqual([result.status, result.rootCAType], ['Untrusted', 'Unknown']);
  assert.equal(result.chain.length, 2);
});

test('missing intermediate: Untrusted + Unknown', async () => {
  const pki = await createTestPki();
  const result = evaluateCertificateStatus(pki.viaIntermediate.der, await context({ intermediates: [] }));
  assert.deepEqual([result.status, result.rootCAType], ['Untrusted', 'Unknown']);
});

test('root in the third-party store: ThirdParty', async () => {
  const pki = await createTestPki();
  const result = evaluateCertificateStatus(pki.oldCert.der, await context({ registryRoots: [], thirdPartyRoots: [...loadSystemRoots(), pki.ca.der] }));
  assert.deepEqual([result.status, result.rootCAType], ['Valid', 'ThirdParty']);
});

test('a self-signed certificate installed as a root is Valid + Registry (Exchange default certificate)', async () => {
  const pki = await createTestPki();
  const result = evaluateCertificateStatus(pki.selfSigned.der, await context({ registryRoots: [pki.ca.der, pki.selfSigned.der] }));
  assert.deepEqual([result.status, result.rootCAType], ['Valid', 'Registry']);
});

test('time: before NotBefore or after NotAfter of the leaf, or of the root, is DateInvalid', async () => {
  const pki = await createTestPki();
  const later = new Date(pki.selfSigned.facts.notAfter.getTime() + DAY);
  assert.deepEqual(
    (({ status, rootCAType }) => [status, rootCAType])(evaluateCertificateStatus(pki.selfSigned.der, await context({ now: later }))),
    ['DateInvalid', 'None'],
  );
  const earlier = new Date(pki.renewedCert.facts.notBefore.getTime() - DAY);
  assert.equal(evaluateCertificateStatus(pki.renewedCert.der, await context({ now: earlier })).status, 'DateInvalid');
  const oldInWindow = new Date(pki.oldCert.facts.notBefore.getTime() + DAY);
  assert.equal(evaluateCertificateStatus(pki.oldCert.der, await context({ now: oldInWindow })).status, 'Valid');
});

test('an expired intermediate makes a still-valid leaf DateInvalid', async () => {
  const pki = await createTestPki();
  const leaf = await issueCertificate({
    issuer: pki.intermediate,
    subjectName: 'CN=long.fabrikam.com',
    domainNames: [],
    keySize: 1024,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(pki.intermediate.facts.notAfter.getTime() + 100 * DAY),
  });
  const afterIntermediate = new Date(pki.intermediate.facts.notAfter.getTime() + DAY);
  const before = evaluateCertificateStatus(leaf.der, await context());
  assert.equal(before.status, 'Valid');
  const result = evaluateCertificateStatus(leaf.der, await context({ now: afterIntermediate }));
  assert.equal(result.status, 'DateInvalid');
  assert.equal(result.rootCAType, 'Registry');
  assert.equal(result.chain.length, 3);
});

test('a damaged signature is Invalid + Unknown', async () => {
  const pki = await createTestPki();
  const tampered = Buffer.from(pki.oldCert.der);
  tampered[tampered.length - 5] ^= 0x01;
  assert.deepEqual(
    (({ status, rootCAType }) => [status, rootCAType])(evaluateCertificateStatus(tampered, await context())),
    ['Invalid', 'Unknown'],
  );
  const selfTampered = Buffer.from(pki.selfSigned.der);
  selfTampered[selfTampered.length - 5] ^= 0x01;
  assert.equal(evaluateCertificateStatus(selfTampered, await context()).status, 'Invalid');
});

test('a certificate without the server-authentication purpose is Invalid', async () => {
  const pki = await createTestPki();
  const files = {
    'ca.key': privateKeyToPem(pki.ca.privateKeyPkcs8),
    'ca.pem': toPem(pki.ca.der, 'CERTIFICATE'),
    'ext.cnf': 'extendedKeyUsage=emailProtection\nsubjectAltName=DNS:mailonly.contoso.com\n',
  };
  await withOpenssl(files, async (dir, openssl) => {
    await openssl(['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'k.pem', '-out', 'r.pem', '-subj', '/CN=mailonly.contoso.com']);
    await openssl(['x509', '-req', '-in', 'r.pem', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '77', '-days', '30', '-extfile', 'ext.cnf', '-outform', 'DER', '-out', 'c.der']);
    const der = await readFile(join(dir, 'c.der'));
    assert.equal(readCertificateFacts(der).issuer, pki.ca.facts.subject);
    assert.equal(evaluateCertificateStatus(der, await context()).status, 'Invalid');
  });
});

test('loadSystemRoots returns parseable DER roots, and a current system root evaluates as ThirdParty', async () => {
  const roots = loadSystemRoots();
  assert.ok(roots.length > 50);
  const now = new Date();
  const current = roots.map((d) => readCertificateFacts(d)).find((f) => f.isSelfSigned && f.notBefore < now && now < f.notAfter);
  assert.ok(current);
  const result = evaluateCertificateStatus(current.der, { now, intermediates: [], registryRoots: [], thirdPartyRoots: roots });
  assert.deepEqual([result.status, result.rootCAType], ['Valid', 'ThirdParty']);
});

test('unreadable data is Invalid rather than an exception', () => {
  const result = evaluateCertificateStatus(Buffer.from('nope'), { now: new Date(), intermediates: [], registryRoots: [], thirdPartyRoots: [] });
  assert.deepEqual([result.status, result.rootCAType], ['Invalid', 'Unknown']);
});
