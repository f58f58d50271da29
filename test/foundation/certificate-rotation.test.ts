import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { type AdminApi, bytes, secure, startOrganization, type TestOrganization } from '../support/interchange.js';

describe('Switch-ExchangeCertificate: rotation in one step on every source server', () => {
  let org: TestOrganization;
  let api: AdminApi;
  let pki: TestPki;

  before(async () => {
    org = await startOrganization('rotate', ['EX01', 'EX02']);
    api = org.api();
    pki = await createTestPki();
    const put = async (server: string, cert: typeof pki.oldCert, exportable: boolean) => {
      const [c] = await api.ok('Import-ExchangeCertificate', { Server: server, FileData: bytes(await pfx(cert, 'pw', { withChain: true })), Password: secure('pw'), PrivateKeyExportable: exportable });
      await api.ok('Enable-ExchangeCertificate', { Server: server, Thumbprint: c.Thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    };
    await put('EX01', pki.oldCert, false);
    await put('EX02', pki.oldCert, false);
    await put('EX01', pki.renewedCert, true);
    const f = pki.oldCert.facts;
    await api.ok('New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['relay.contoso.com'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` });
  });

  after(async () => {
    await org?.stop();
  });

  const state = async () => ({
    ex01: (await api.ok('Get-ExchangeCertificate', { Server: 'EX01' })).map((c) => `${c.Thumbprint}:${c.Services}`).sort(),
    ex02: (await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })).map((c) => `${c.Thumbprint}:${c.Services}`).sort(),
    connector: (await api.ok('Get-SendConnector', { Identity: 'Contoso Outbound' }))[0].TlsCertificateName,
  });

  it('refuses, changing nothing, while a source server lacks the new certificate', async () => {
    const before_ = await state();
    const r = await api.invoke('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint });
    assert.equal(r.error?.code, 'ICX_CERT_ROTATION_FAILED');
    assert.match(r.error!.message, /nothing was changed: EX02 does not have the new certificate \(use -DeployToSourceServers to copy it there\)/);
    assert.deepEqual(await state(), before_);
  });

  it('-WhatIf lists the plan per server and changes nothing', async () => {
    const before_ = await state();
    const r = await api.invoke('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint, DeployToSourceServers: true }, { whatIf: true });
    assert.equal(r.ok, true);
    assert.equal(r.whatIf.length, 1);
    assert.match(r.whatIf[0], /^What if: Replace certificate [0-9A-F]{40} with [0-9A-F]{40}: EX01 \(Contoso Outbound\): TlsCertificateName "<I>CN=Interchange Test Root CA, O=Interchange Tests, C=US<S>CN=mail.contoso.com, O=Contoso, C=US", old certificate Removed; EX02 \(Contoso Outbound\): deploy new, /);
    assert.deepEqual(await state(), before_);
  });

  it('asks for confirmation (High impact)', async () => {
    const r = await api.invoke('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint, DeployToSourceServers: true }, {});
    assert.equal(r.error?.code, 'ICX_CONFIRMATION_REQUIRED');
  });

  it('deploys, re-points the connector and removes the old certificate everywhere, in one step', async () => {
    const steps = await api.ok('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint, DeployToSourceServers: true });
    assert.deepEqual(
      steps.map((s) => [s.Connector, s.Server, s.OldCertificate, s.Deployed]),
      [
        ['Contoso Outbound', 'EX01', 'Removed', false],
        ['Contoso Outbound', 'EX02', 'Removed', true],
      ],
    );
    for (const server of ['EX01', 'EX02']) {
      const certs = await api.ok('Get-ExchangeCertificate', { Server: server });
      assert.ok(!certs.some((c) => c.Thumbprint === pki.oldCert.facts.thumbprint), `old certificate gone from ${server}`);
      const renewed = certs.find((c) => c.Thumbprint === pki.renewedCert.facts.thumbprint);
      assert.ok(renewed, `renewed certificate on ${server}`);
      assert.equal(renewed.Status, 'Valid');
      assert.equal(renewed.HasPrivateKey, true);
      assert.match(renewed.Services, /SMTP/);
    }
    const [connector] = await api.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(connector.TlsCertificateName, `<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`);
    const audit = await api.ok('Search-AdminAuditLog', { Cmdlets: ['Switch-ExchangeCertificate'], IsSuccess: true });
    assert.equal(audit.length, 1);
  });
});
