// Switch-ExchangeCertificate when the replacement comes from another CA or names another subject:
// the Send connectors that named the old certificate are re-pointed at the new one in the same
// checked transaction; a renewal with the same issuer and subject leaves them as they were written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pfx, type TestCert, type TestPki } from '../support/pki.js';
import { opensslSClientStartTls } from '../support/smtp-tools.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

describe('Switch-ExchangeCertificate: issuer or subject change', () => {
  let s: TestServer;
  let pki: TestPki;
  const install = async (c: TestCert) => {
    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(c, 'pw', { withChain: true })), Password: secure('pw') });
    await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: c.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
  };
  const connector = async (name: string) => (await s.api.ok('Get-SendConnector', { Identity: name }))[0];

  before(async () => {
    s = await startTestServer();
    pki = await createTestPki();
    await install(pki.oldCert);
    await install(pki.renewedCert);
    await install(pki.viaIntermediate);
    await install(pki.wildcard);
    const f = pki.oldCert.facts;
    // Written by hand, lower-case tags and all, as Microsoft's article writes it.
    await s.api.ok('New-SendConnector', { Name: 'Contoso A', AddressSpaces: ['a.example'], SmartHosts: ['127.0.0.1'], TlsCertificateName: `<i>${f.issuer}<s>${f.subject}` });
    await s.api.ok('New-SendConnector', { Name: 'Contoso B', AddressSpaces: ['b.example'], SmartHosts: ['127.0.0.1'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` });
    const w = pki.wildcard.facts;
    await s.api.ok('New-SendConnector', { Name: 'Wildcard', AddressSpaces: ['c.example'], SmartHosts: ['127.0.0.1'], TlsCertificateName: `<I>${w.issuer}<S>${w.subject}` });
  });
  after(async () => {
    await s?.close();
  });

  it('leaves the connectors alone when the renewal has the same issuer and subject', async () => {
    const beforeA = await connector('Contoso A');
    const beforeB = await connector('Contoso B');
    const steps = await s.api.ok('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint });
    assert.deepEqual(steps.map((x) => [x.Connector, x.TlsCertificateNameChanged, x.OldCertificate]).sort(), [
      ['Contoso A', false, 'Removed'],
      ['Contoso B', false, 'Removed'],
    ]);
    const afterA = await connector('Contoso A');
    assert.equal(afterA.TlsCertificateName, beforeA.TlsCertificateName);
    assert.equal(new Date(afterA.WhenChanged).getTime(), new Date(beforeA.WhenChanged).getTime(), 'not written at all');
    assert.equal((await connector('Contoso B')).TlsCertificateName, beforeB.TlsCertificateName);
  });

  it('-WhatIf shows the re-pointing when the issuer and subject change, and changes nothing', async () => {
    const before_ = (await connector('Contoso A')).TlsCertificateName;
    const r = await s.api.invoke('Switch-ExchangeCertificate', { Thumbprint: pki.renewedCert.facts.thumbprint, NewThumbprint: pki.viaIntermediate.facts.thumbprint }, { whatIf: true });
    assert.ok(r.ok, JSON.stringify(r.error));
    const v = pki.viaIntermediate.facts;
    assert.ok(r.whatIf[0].includes(`EX01 (Contoso A): TlsCertificateName "<I>${v.issuer}<S>${v.subject}" (new issuer or subject)`), r.whatIf[0]);
    assert.equal((await connector('Contoso A')).TlsCertificateName, before_);
  });

  it('re-points every connector that named the old certificate, Send and Receive, and only those, in the same step', async () => {
    const wildcardBefore = await connector('Wildcard');
    // The Default Frontend presents the old certificate for STARTTLS, chosen by its TlsCertificateName.
    const r = pki.renewedCert.facts;
    await s.api.ok('Set-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01', TlsCertificateName: `<I>${r.issuer}<S>${r.subject}` });
    await s.transport.reload();
    assert.equal((await opensslSClientStartTls(s.smtpPort)).fingerprintSha1, r.thumbprint);

    const steps = await s.api.ok('Switch-ExchangeCertificate', { Thumbprint: pki.renewedCert.facts.thumbprint, NewThumbprint: pki.viaIntermediate.facts.thumbprint });
    const v = pki.viaIntermediate.facts;
    const name = `<I>${v.issuer}<S>${v.subject}`;
    assert.deepEqual(steps.map((x) => [x.Connector, x.ConnectorType, x.TlsCertificateName, x.TlsCertificateNameChanged]).sort(), [
      ['Contoso A', 'Send', name, true],
      ['Contoso B', 'Send', name, true],
      ['EX01\\Default Frontend EX01', 'Receive', name, true],
    ]);
    assert.equal((await connector('Contoso A')).TlsCertificateName, name);
    assert.equal((await connector('Contoso B')).TlsCertificateName, name);
    assert.equal((await s.api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01' }))[0].TlsCertificateName, name);
    await s.transport.reload();
    assert.equal((await opensslSClientStartTls(s.smtpPort)).fingerprintSha1, v.thumbprint, 'STARTTLS presents the new certificate');
    const wildcardAfter = await connector('Wildcard');
    assert.equal(wildcardAfter.TlsCertificateName, wildcardBefore.TlsCertificateName);
    assert.equal(new Date(wildcardAfter.WhenChanged).getTime(), new Date(wildcardBefore.WhenChanged).getTime());
    const installed = (await s.api.ok('Get-ExchangeCertificate')).map((c) => c.Thumbprint);
    assert.ok(!installed.includes(pki.renewedCert.facts.thumbprint), 'the old certificate is gone: nothing names it any more');
    // The connectors now select the new certificate: no alert says the transport would find none.
    const alerts = await s.api.ok('Get-ExchangeCertificateAlert');
    assert.ok(!alerts.some((a) => a.Kind === 'MissingOnSourceServer'), JSON.stringify(alerts));
  });
});
