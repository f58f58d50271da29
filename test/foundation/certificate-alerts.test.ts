import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueCertificate } from '../../src/certificates/generate.js';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { type AdminApi, bytes, secure, startOrganization, type TestOrganization } from '../support/interchange.js';

describe('Get-ExchangeCertificateAlert', () => {
  let org: TestOrganization;
  let api: AdminApi;
  let pki: TestPki;

  before(async () => {
    org = await startOrganization('alerts', ['EX01', 'EX02']);
    api = org.api();
    pki = await createTestPki();
  });
  after(async () => {
    await org?.stop();
  });

  const put = async (server: string, cert: { der: Buffer; privateKeyPkcs8: Buffer; facts: any; chain: Buffer[] }) => {
    await api.ok('Import-ExchangeCertificate', { Server: server, FileData: bytes(await pfx(cert, 'pw', { withChain: true })), Password: secure('pw') });
  };

  it('flags expired certificates, ones expiring within 90 days, and connectors whose certificate is missing or unusable on a source server', async () => {
    assert.deepEqual(await api.ok('Get-ExchangeCertificateAlert'), [], 'a new organization needs no attention');
    await put('EX01', pki.expired);
    const soon = await issueCertificate({
      issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 },
      subjectName: 'CN=soon.contoso.com',
      domainNames: ['soon.contoso.com'],
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 30.5 * 86_400_000),
    });
    await put('EX02', { der: soon.der, privateKeyPkcs8: soon.privateKeyPkcs8!, facts: readCertificateFacts(soon.der), chain: [pki.ca.der] });
    await put('EX01', pki.oldCert);
    await api.ok('Enable-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.oldCert.facts.thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    const f = pki.oldCert.facts;
    await api.ok('New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` });

    const alerts = await api.ok('Get-ExchangeCertificateAlert');
    assert.deepEqual(
      alerts.map((a) => [a.Severity, a.Kind, a.Server, a.Thumbprint ?? a.Connector]),
      [
        ['Error', 'Expired', 'EX01', pki.expired.facts.thumbprint],
        ['Warning', 'ExpiresSoon', 'EX02', readCertificateFacts(soon.der).thumbprint],
        ['Error', 'MissingOnSourceServer', 'EX02', 'Contoso Outbound'],
      ],
    );
    assert.match(alerts[1].Message, /expires in 30 days/);
    assert.match(alerts[2].Message, /^Send connector "Contoso Outbound" names the certificate <I>.*<S>.* in TlsCertificateName, but no such certificate is installed on its source server EX02\.$/);
    assert.deepEqual((await api.ok('Get-ExchangeCertificateAlert', { Server: 'EX01' })).map((a) => a.Kind), ['Expired']);
    assert.deepEqual((await api.ok('Get-ExchangeCertificateAlert', { ExpiryWarningDays: 10 })).map((a) => a.Kind), ['Expired', 'MissingOnSourceServer']);

    // Installed on EX02 but without SMTP-usable state: still an alert, saying why.
    await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(Buffer.from(`-----BEGIN CERTIFICATE-----\n${pki.oldCert.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`)) });
    const [missingKey] = (await api.ok('Get-ExchangeCertificateAlert', { Server: 'EX02' })).filter((a) => a.Kind === 'MissingOnSourceServer');
    assert.match(missingKey.Message, /but the matching certificate on its source server EX02 is not usable \([0-9A-F]{40}: \w+, no private key\)\.$/);
  });
});
