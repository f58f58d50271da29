import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificateFacts, isCertificateDomainName } from '../../src/certificates/certificate-facts.js';
import { toPem } from '../../src/certificates/containers.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';
import { createTestPki, withOpenssl, type TestPki } from '../support/pki.js';

async function opensslFacts(der: Buffer): Promise<{ fingerprint: string; serial: string; notBefore: Date; notAfter: Date; san: string }> {
  return withOpenssl({ 'c.pem': toPem(der, 'CERTIFICATE') }, async (_dir, openssl) => {
    const out = await openssl(['x509', '-in', 'c.pem', '-noout', '-fingerprint', '-sha1', '-serial', '-startdate', '-enddate', '-ext', 'subjectAltName']);
    const line = (prefix: string) => out.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length).trim() ?? '';
    return {
      fingerprint: line('sha1 Fingerprint=').replace(/:/g, ''),
      serial: line('serial='),
      notBefore: new Date(line('notBefore=')),
      notAfter: new Date(line('notAfter=')),
      san: out.split('X509v3 Subject Alternative Name:')[1]?.trim() ?? '',
    };
  });
}

const names: Array<keyof TestPki> = ['ca', 'intermediate', 'oldCert', 'renewedCert', 'selfSigned', 'wildcard', 'expired', 'viaIntermediate'];

for (const name of names) {
  test(`facts of ${name} agree with openssl (thumbprint, serial, dates, SANs)`, async () => {
    const pki = await createTestPki();
    const cert = pki[name];
    const facts = readCertificateFacts(cert.der);
    const o = await opensslFacts(cert.der);
    assert.match(facts.thumbprint, /^[0-9A-F]{40}$/);
    assert.equal(facts.thumbprint, o.fingerprint);
    assert.equal(facts.serialNumber, o.serial);
    assert.equal(facts.notBefore.getTime(), o.notBefore.getTime());
    assert.equal(facts.notAfter.getTime(), o.notAfter.getTime());
    assert.deepEqual(facts.dnsNames, o.san ? o.san.split(', ').map((s) => s.replace(/^DNS:/, '')) : []);
    assert.equal(facts.version, 3);
    assert.equal(facts.publicKeySize, 2048);
    assert.equal(facts.keyAlgorithm, 'RSA');
    assert.equal(facts.signatureAlgorithm, 'sha256RSA');
  });
}

test('facts of the contoso certificates: Exchange subject/issuer strings, domains, EKU, key identifiers', async () => {
  const pki = await createTestPki();
  for (const c of [pki.oldCert, pki.renewedCert]) {
    assert.equal(c.facts.subject, 'CN=mail.contoso.com, O=Contoso, C=US');
    assert.equal(c.facts.issuer, 'CN=Interchange Test Root CA, O=Interchange Tests, C=US');
    assert.deepEqual(c.facts.certificateDomains, ['mail.contoso.com', 'autodiscover.contoso.com']);
    assert.deepEqual(c.facts.enhancedKeyUsageList, ['Server Authentication (1.3.6.1.5.5.7.3.1)', 'Client Authentication (1.3.6.1.5.5.7.3.2)']);
    assert.equal(c.facts.isSelfSigned, false);
    assert.equal(c.facts.isCertificateAuthority, false);
    assert.equal(c.facts.authorityKeyIdentifier, pki.ca.facts.subjectKeyIdentifier);
    assert.match(c.facts.subjectKeyIdentifier ?? '', /^[0-9A-F]{40}$/);
  }
  assert.notEqual(pki.oldCert.facts.serialNumber, pki.renewedCert.facts.serialNumber);
  assert.ok(pki.renewedCert.facts.notBefore > pki.oldCert.facts.notBefore);
  assert.ok(pki.renewedCert.facts.notAfter > pki.oldCert.facts.notAfter);
  assert.ok(!pki.renewedCert.facts.publicKeySpki.equals(pki.oldCert.facts.publicKeySpki));
});

test('facts of CA, self-signed and wildcard certificates', async () => {
  const pki = await createTestPki();
  assert.equal(pki.ca.facts.isSelfSigned, true);
  assert.equal(pki.ca.facts.isCertificateAuthority, true);
  assert.deepEqual(pki.ca.facts.certificateDomains, []);
  assert.equal(pki.ca.facts.subject, pki.ca.facts.issuer);
  assert.equal(pki.intermediate.facts.isSelfSigned, false);
  assert.equal(pki.intermediate.facts.isCertificateAuthority, true);
  assert.equal(pki.selfSigned.facts.isSelfSigned, true);
  assert.equal(pki.selfSigned.facts.isCertificateAuthority, false);
  assert.equal(pki.selfSigned.facts.subject, 'CN=EX01');
  assert.deepEqual(pki.selfSigned.facts.certificateDomains, ['EX01', 'ex01.contoso.com']);
  assert.deepEqual(pki.wildcard.facts.certificateDomains, ['*.contoso.com']);
  assert.ok(pki.expired.facts.notAfter.getTime() < Date.now());
});

test('serial numbers keep the leading 00 of a positive high-bit serial, as .NET shows them', async () => {
  const pki = await createTestPki();
  const issued = await issueCertificate({
    issuer: pki.ca,
    subjectName: 'CN=serial.contoso.com',
    domainNames: [],
    keySize: 1024,
    serialNumber: Buffer.from('8A0102', 'hex'),
  });
  const facts = readCertificateFacts(issued.der);
  assert.equal(facts.serialNumber, '008A0102');
  const o = await opensslFacts(issued.der);
  assert.equal(o.serial, '8A0102'); // OpenSSL prints the integer's magnitude
});

test('EC certificates made by openssl: key algorithm, size, signature algorithm, self-signed', async () => {
  await withOpenssl({}, async (dir, openssl) => {
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '30', '-subj', '/CN=ec.contoso.com', '-addext', 'subjectAltName=DNS:ec.contoso.com,DNS:smtp.contoso.com',
      '-addext', 'extendedKeyUsage=serverAuth',
    ]);
    await openssl(['x509', '-in', 'c.pem', '-outform', 'DER', '-out', 'c.der']);
    const facts = readCertificateFacts(await readFile(join(dir, 'c.der')));
    assert.equal(facts.keyAlgorithm, 'EC');
    assert.equal(facts.publicKeySize, 384);
    assert.equal(facts.signatureAlgorithm, 'sha256ECDSA');
    assert.equal(facts.isSelfSigned, true);
    assert.deepEqual(facts.certificateDomains, ['ec.contoso.com', 'smtp.contoso.com']);
    assert.deepEqual(facts.enhancedKeyUsageList, ['Server Authentication (1.3.6.1.5.5.7.3.1)']);
  });
});

test('a certificate whose subject equals its issuer but signed by another key is not self-signed', async () => {
  const pki = await createTestPki();
  // Issued by the root CA with the root's own subject name, but with a fresh key.
  const impostor = await issueCertificate({
    issuer: pki.ca,
    subjectName: 'CN=Interchange Test Root CA, O=Interchange Tests, C=US',
    domainNames: [],
    keySize: 1024,
  });
  const facts = readCertificateFacts(impostor.der);
  assert.equal(facts.subject, facts.issuer);
  assert.equal(facts.isSelfSigned, false);
});

test('readCertificateFacts rejects damaged data with ICX_CERT_DATA_CORRUPT', async () => {
  const pki = await createTestPki();
  for (const bad of [Buffer.from('not a certificate'), pki.oldCert.der.subarray(0, 200), Buffer.alloc(0)]) {
    assert.throws(
      () => readCertificateFacts(bad),
      (e: unknown) => isInterchangeError(e) && e.code === 'ICX_CERT_DATA_CORRUPT' && e.message.startsWith('The source data is corrupted or not properly Base64 encoded.'),
    );
  }
});

const domainCases: Array<[string, boolean]> = [
  ['mail.contoso.com', true],
  ['*.contoso.com', true],
  ['EX01', true],
  ['autodiscover.contoso.com', true],
  ['bad domain.com', false],
  ['mail.*.com', false],
  ['-bad.contoso.com', false],
  ['', false],
  ['Interchange Test Root CA', false],
];
for (const [name, ok] of domainCases) {
  test(`isCertificateDomainName(${JSON.stringify(name)}) is ${ok}`, () => {
    assert.equal(isCertificateDomainName(name), ok);
  });
}
