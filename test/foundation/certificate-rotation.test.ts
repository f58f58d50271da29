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
    const o = pki.oldCert.facts.thumbprint;
    const n = pki.renewedCert.facts.thumbprint;
    assert.equal(
      r.error!.message,
      `The certificate can't be rotated safely, so nothing was changed: EX02 does not have the new certificate: run Switch-ExchangeCertificate -Thumbprint ${o} -NewThumbprint ${n} -DeployToSourceServers to copy it there from EX01, or install it there with Import-ExchangeCertificate -Server EX02 -FileData ([System.IO.File]::ReadAllBytes('<renewed.pfx>')) -Password (ConvertTo-SecureString -String '<password>' -AsPlainText -Force) and run Switch-ExchangeCertificate -Thumbprint ${o} -NewThumbprint ${n} again.`,
    );
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

describe('Switch-ExchangeCertificate: a renewed certificate whose private key is not exportable', () => {
  let org: TestOrganization;
  let api: AdminApi;
  let pki: TestPki;
  let oldTp: string;
  let newTp: string;

  before(async () => {
    org = await startOrganization('rotate-nx', ['EX01', 'EX02']);
    api = org.api();
    pki = await createTestPki();
    oldTp = pki.oldCert.facts.thumbprint;
    newTp = pki.renewedCert.facts.thumbprint;
    // The path: the renewal imported on EX01 as Import-ExchangeCertificate does by default, key not exportable.
    for (const [server, cert] of [['EX01', pki.oldCert], ['EX02', pki.oldCert], ['EX01', pki.renewedCert]] as const) {
      await api.ok('Import-ExchangeCertificate', { Server: server, FileData: bytes(await pfx(cert, 'pw', { withChain: true })), Password: secure('pw') });
      await api.ok('Enable-ExchangeCertificate', { Server: server, Thumbprint: cert.facts.thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    }
    const f = pki.oldCert.facts;
    await api.ok('New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['relay.contoso.com'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` });
  });

  after(async () => {
    await org?.stop();
  });

  const state = async () => ({
    ex01: (await api.ok('Get-ExchangeCertificate', { Server: 'EX01' })).map((c) => `${c.Thumbprint}:${c.Services}:${c.HasPrivateKey}`).sort(),
    ex02: (await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })).map((c) => `${c.Thumbprint}:${c.Services}:${c.HasPrivateKey}`).sort(),
    connector: (await api.ok('Get-SendConnector', { Identity: 'Contoso Outbound' }))[0].TlsCertificateName,
  });

  it('the removal guard refuses both certificates with the article\'s text, as Exchange does', async () => {
    for (const tp of [oldTp, newTp]) {
      const r = await api.invoke('Remove-ExchangeCertificate', { Server: 'EX01', Thumbprint: tp }, { confirmed: true });
      assert.equal(r.error?.code, 'ICX_CERT_IN_USE_SEND_CONNECTOR');
      assert.equal(
        r.error?.message,
        'A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.',
      );
    }
  });

  it('Get-ExchangeCertificateAlert lists the rotation left half done, with the command that finishes it', async () => {
    const alerts = (await api.ok('Get-ExchangeCertificateAlert')).filter((a) => a.Kind === 'RotationIncomplete');
    const command = `Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers`;
    assert.deepEqual(
      alerts.map((a) => [a.Severity, a.Server, a.Connector, a.Thumbprint, a.NewThumbprint, a.Command]),
      [['Warning', 'EX02', 'Contoso Outbound', oldTp, newTp, command]],
    );
    assert.match(alerts[0].Message, new RegExp(`^The renewed certificate ${newTp} \\(expires \\d{4}-\\d\\d-\\d\\d\\) is on EX01 but not on EX02, where Send connector "Contoso Outbound" still uses ${oldTp} \\(expires \\d{4}-\\d\\d-\\d\\d\\); finish the rotation with: ${command}$`));
    assert.deepEqual((await api.ok('Get-ExchangeCertificateAlert', { Server: 'EX01' })).filter((a) => a.Kind === 'RotationIncomplete'), [], 'EX01 has the renewal');
  });

  it('-WhatIf shows the refusal, with the way forward, before anything changes', async () => {
    const before_ = await state();
    const r = await api.invoke('Switch-ExchangeCertificate', { Thumbprint: oldTp, NewThumbprint: newTp }, { whatIf: true });
    assert.equal(r.ok, false);
    assert.deepEqual(r.whatIf, [], 'no plan is shown for a rotation that would be refused');
    assert.equal(r.error?.code, 'ICX_CERT_ROTATION_FAILED');
    assert.match(r.error!.message, new RegExp(`EX02 does not have the new certificate: run Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers to copy it there from EX01, or install it there with Import-ExchangeCertificate -Server EX02 -FileData `));
    assert.deepEqual(await state(), before_);
  });

  it('a copy on a source server without its key is refused without -DeployToSourceServers, naming it', async () => {
    const pemOnly = `-----BEGIN CERTIFICATE-----\n${pki.renewedCert.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(Buffer.from(pemOnly)) });
    const before_ = await state();
    const r = await api.invoke('Switch-ExchangeCertificate', { Thumbprint: oldTp, NewThumbprint: newTp }, { whatIf: true });
    assert.equal(r.error?.code, 'ICX_CERT_ROTATION_FAILED');
    assert.match(r.error!.message, new RegExp(`on EX02 the new certificate has no private key: run Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers to give it the key held on EX01\\.$`));
    assert.deepEqual(await state(), before_);
    assert.equal((await api.ok('Get-ExchangeCertificateAlert', { Server: 'EX02' })).filter((a) => a.Kind === 'RotationIncomplete').length, 1, 'still half done');
  });

  it('-DeployToSourceServers copies the key inside the organization, exportable or not, and finishes the rotation', async () => {
    const steps = await api.ok('Switch-ExchangeCertificate', { Thumbprint: oldTp, NewThumbprint: newTp, DeployToSourceServers: true });
    assert.deepEqual(
      steps.map((s) => [s.Server, s.OldCertificate, s.Deployed]),
      [
        ['EX01', 'Removed', false],
        ['EX02', 'Removed', true],
      ],
    );
    for (const server of ['EX01', 'EX02']) {
      const certs = await api.ok('Get-ExchangeCertificate', { Server: server });
      assert.deepEqual(
        certs.filter((c) => c.Thumbprint === oldTp || c.Thumbprint === newTp).map((c) => [c.Thumbprint, c.Status, c.HasPrivateKey, c.PrivateKeyExportable, /SMTP/.test(String(c.Services))]),
        [[newTp, 'Valid', true, false, true]],
        server,
      );
    }
    // The copy keeps the rule it came with: it still can't leave the organization as a PFX.
    const exported = await api.invoke('Export-ExchangeCertificate', { Server: 'EX02', Thumbprint: newTp, Password: secure('pw'), BinaryEncoded: true }, { confirmed: true });
    assert.equal(exported.error?.code, 'ICX_CERT_NOT_EXPORTABLE');
    assert.deepEqual((await api.ok('Get-ExchangeCertificateAlert')).filter((a) => a.Kind === 'RotationIncomplete'), []);
  });
});
