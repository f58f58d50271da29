import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { readCertificateData, toPem } from '../../src/certificates/containers.js';
import {
  createCertificateRequest,
  createSelfSignedCertificate,
  issueCertificate,
  readCertificateRequest,
  signCertificateRequest,
  verifyCertificateRequest,
} from '../../src/certificates/generate.js';
import { privateKeyMatchesCertificate, privateKeyToPem } from '../../src/certificates/keys.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';
import { createTestPki, withOpenssl } from '../support/pki.js';

function code(c: string, message?: RegExp) {
  return (e: unknown) => isInterchangeError(e) && e.code === c && (!message || message.test(e.message));
}

test('createSelfSignedCertificate: subject, SANs with the CN first, EKU, key usage, 5-year default, key matches', async () => {
  const notBefore = new Date('2026-01-15T10:00:00Z');
  const cert = await createSelfSignedCertificate({
    subjectName: 'cn=mail.contoso.com,o=Contoso,st=WA,c=US',
    domainNames: ['autodiscover.contoso.com', 'MAIL.contoso.com'],
    notBefore,
  });
  const facts = readCertificateFacts(cert.der);
  assert.equal(facts.subject, 'CN=mail.contoso.com, O=Contoso, S=WA, C=US');
  assert.equal(facts.issuer, facts.subject);
  assert.equal(facts.isSelfSigned, true);
  assert.deepEqual(facts.dnsNames, ['mail.contoso.com', 'autodiscover.contoso.com']);
  assert.deepEqual(facts.certificateDomains, ['mail.contoso.com', 'autodiscover.contoso.com']);
  assert.equal(facts.notBefore.toISOString(), '2026-01-15T10:00:00.000Z');
  assert.equal(facts.notAfter.toISOString(), '2031-01-15T10:00:00.000Z');
  assert.equal(facts.publicKeySize, 2048);
  assert.equal(facts.signatureAlgorithm, 'sha256RSA');
  assert.ok(privateKeyMatchesCertificate(cert.privateKeyPkcs8, cert.der));

  await withOpenssl({ 'c.pem': toPem(cert.der, 'CERTIFICATE') }, async (_dir, openssl) => {
    const text = await openssl(['x509', '-in', 'c.pem', '-noout', '-text']);
    assert.match(text, /Digital Signature, Key Encipherment/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, /sha256WithRSAEncryption/);
    const subject = await openssl(['x509', '-in', 'c.pem', '-noout', '-subject', '-nameopt', 'RFC2253']);
    assert.match(subject, /subject=CN=mail.contoso.com,O=Contoso,ST=WA,C=US/);
  });
});

test('createSelfSignedCertificate honours keySize and serialNumber, and rejects bad input with Exchange texts', async () => {
  const small = await createSelfSignedCertificate({ subjectName: 'CN=EX02', domainNames: [], keySize: 1024, serialNumber: Buffer.from('1234', 'hex') });
  const facts = readCertificateFacts(small.der);
  assert.equal(facts.publicKeySize, 1024);
  assert.equal(facts.serialNumber, '1234');
  assert.deepEqual(facts.certificateDomains, ['EX02']);

  await assert.rejects(
    createSelfSignedCertificate({ subjectName: 'CN=EX02', domainNames: [], keySize: 3072 }),
    code('ICX_PARAM_INVALID', /^3072 is not a valid key size\. Valid key sizes are 4096, 2048, and 1024\.$/),
  );
  await assert.rejects(
    createSelfSignedCertificate({ subjectName: 'CN=EX02', domainNames: ['bad domain!'] }),
    code('ICX_PARAM_INVALID', /^Domain name bad domain! is not valid for a certificate\.$/),
  );
  await assert.rejects(createSelfSignedCertificate({ subjectName: 'CN=EX02, BOGUS=1', domainNames: [] }), code('ICX_PARAM_INVALID', /BOGUS/));
  await assert.rejects(
    createSelfSignedCertificate({ subjectName: 'CN=EX02', domainNames: [], notBefore: new Date('2030-01-01'), notAfter: new Date('2029-01-01') }),
    code('ICX_PARAM_INVALID'),
  );
});

test('issueCertificate: same CA and subject give byte-identical Subject and Issuer strings (TlsCertificateName matching)', async () => {
  const pki = await createTestPki();
  assert.equal(pki.oldCert.facts.subject, pki.renewedCert.facts.subject);
  assert.equal(pki.oldCert.facts.issuer, pki.renewedCert.facts.issuer);
  assert.ok(pki.oldCert.facts.subjectDer.equals(pki.renewedCert.facts.subjectDer));
  assert.ok(pki.oldCert.facts.issuerDer.equals(pki.renewedCert.facts.issuerDer));
  // The issuer field is the CA's subject exactly as encoded in the CA certificate.
  assert.ok(pki.oldCert.facts.issuerDer.equals(pki.ca.facts.subjectDer));
  assert.equal(pki.oldCert.facts.issuer, pki.ca.facts.subject);
  assert.equal(`<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}`, '<I>CN=Interchange Test Root CA, O=Interchange Tests, C=US<S>CN=mail.contoso.com, O=Contoso, C=US');
});

test('issued certificates verify with openssl against the test CA, through the intermediate too', async () => {
  const pki = await createTestPki();
  await withOpenssl(
    {
      'ca.pem': toPem(pki.ca.der, 'CERTIFICATE'),
      'inter.pem': toPem(pki.intermediate.der, 'CERTIFICATE'),
      'old.pem': toPem(pki.oldCert.der, 'CERTIFICATE'),
      'wild.pem': toPem(pki.wildcard.der, 'CERTIFICATE'),
      'via.pem': toPem(pki.viaIntermediate.der, 'CERTIFICATE'),
      'expired.pem': toPem(pki.expired.der, 'CERTIFICATE'),
    },
    async (_dir, openssl) => {
      assert.match(await openssl(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslserver', 'old.pem', 'wild.pem']), /old.pem: OK\nwild.pem: OK/);
      assert.match(await openssl(['verify', '-CAfile', 'ca.pem', '-untrusted', 'inter.pem', '-purpose', 'sslserver', 'via.pem']), /via.pem: OK/);
      await assert.rejects(openssl(['verify', '-CAfile', 'ca.pem', 'expired.pem']), /certificate has expired/);
    },
  );
});

test('issueCertificate refuses an issuer key that does not belong to the issuer certificate', async () => {
  const pki = await createTestPki();
  await assert.rejects(
    issueCertificate({ issuer: { der: pki.ca.der, privateKeyPkcs8: pki.oldCert.privateKeyPkcs8 }, subjectName: 'CN=x.contoso.com', domainNames: [], keySize: 1024 }),
    code('ICX_CERT_KEY_MISMATCH'),
  );
});

test('CSR made by us: openssl verifies it, we read it back, the test CA signs it, the key matches the issued certificate', async () => {
  const pki = await createTestPki();
  const req = await createCertificateRequest({ subjectName: 'CN=mail.fabrikam.com, O=Fabrikam, C=US', domainNames: ['autodiscover.fabrikam.com'] });
  assert.match(req.csrPem, /^-----BEGIN NEW CERTIFICATE REQUEST-----\n/);
  await withOpenssl({ 'r.pem': req.csrPem }, async (_dir, openssl) => {
    const out = await openssl(['req', '-in', 'r.pem', '-noout', '-verify', '-text']);
    assert.match(out, /DNS:mail.fabrikam.com, DNS:autodiscover.fabrikam.com/);
  });

  for (const form of [req.csrDer, req.csrPem, Buffer.from(req.csrPem), req.csrDer.toString('base64')]) {
    const info = readCertificateRequest(form);
    assert.equal(info.subject, 'CN=mail.fabrikam.com, O=Fabrikam, C=US');
    assert.deepEqual(info.domainNames, ['mail.fabrikam.com', 'autodiscover.fabrikam.com']);
  }
  assert.equal(await verifyCertificateRequest(req.csrPem), true);

  const issued = await signCertificateRequest({ issuer: pki.ca, request: req.csrPem, serialNumber: Buffer.from('0B01', 'hex') });
  const facts = readCertificateFacts(issued.der);
  assert.equal(facts.subject, 'CN=mail.fabrikam.com, O=Fabrikam, C=US');
  assert.equal(facts.issuer, pki.ca.facts.subject);
  assert.deepEqual(facts.certificateDomains, ['mail.fabrikam.com', 'autodiscover.fabrikam.com']);
  assert.equal(facts.serialNumber, '0B01');
  assert.ok(privateKeyMatchesCertificate(req.privateKeyPkcs8, issued.der));
  assert.ok(!privateKeyMatchesCertificate(pki.oldCert.privateKeyPkcs8, issued.der));

  // Completing the request: the CA response (cert + chain) and the pending key make a bundle.
  const response = Buffer.from(toPem(pki.ca.der, 'CERTIFICATE') + toPem(issued.der, 'CERTIFICATE') + privateKeyToPem(req.privateKeyPkcs8));
  const bundle = await readCertificateData(response);
  assert.ok(bundle.certificates[0].equals(issued.der));
  assert.ok(bundle.certificates[1].equals(pki.ca.der));
});

test('a CSR made by openssl is read, and a tampered CSR is refused', async () => {
  const pki = await createTestPki();
  await withOpenssl({}, async (dir, openssl) => {
    await openssl([
      'req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'k.pem', '-out', 'r.pem',
      '-subj', '/C=US/O=Contoso, Ltd/CN=relay.contoso.com', '-addext', 'subjectAltName=DNS:relay.contoso.com,DNS:relay2.contoso.com',
    ]);
    const csr = await readFile(join(dir, 'r.pem'), 'utf8');
    const info = readCertificateRequest(csr);
    assert.equal(info.subject, 'CN=relay.contoso.com, O="Contoso, Ltd", C=US');
    assert.deepEqual(info.domainNames, ['relay.contoso.com', 'relay2.contoso.com']);
    const issued = await signCertificateRequest({ issuer: pki.ca, request: csr });
    const issuedFacts = readCertificateFacts(issued.der);
    assert.equal(issuedFacts.subject, 'CN=relay.contoso.com, O="Contoso, Ltd", C=US');
    // A CA copies the requested subject encoding unchanged (openssl writes UTF8String values).
    assert.ok(issuedFacts.subjectDer.equals(info.subjectDer));

    const der = Buffer.from(info.der);
    der[der.length - 10] ^= 0xff; // inside the signature
    assert.equal(await verifyCertificateRequest(der), false);
    await assert.rejects(signCertificateRequest({ issuer: pki.ca, request: der }), code('ICX_CERT_DATA_CORRUPT', /signature/));
  });
  assert.throws(() => readCertificateRequest('garbage!'), code('ICX_CERT_DATA_CORRUPT'));
});
