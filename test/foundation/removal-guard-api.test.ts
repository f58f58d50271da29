import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { type AdminApi, bytes, secure, startOrganization, type TestOrganization } from '../support/interchange.js';

const GUARD = (server: string, connectors: string) =>
  `A special Rpc error occurs on server ${server}: These certificates are tagged with following Send Connectors : ${connectors}. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.`;

describe('the certificate removal guard, end to end through the HTTP API with two servers', () => {
  let org: TestOrganization;
  let api1: AdminApi;
  let api2: AdminApi;
  let pki: TestPki;

  before(async () => {
    org = await startOrganization('guard', ['EX01', 'EX02']);
    api1 = org.api('EX01');
    api2 = org.api('EX02');
    pki = await createTestPki();
  });

  after(async () => {
    await org?.stop();
  });

  const thumbprints = async (api: AdminApi, server: string) => (await api.ok('Get-ExchangeCertificate', { Server: server })).map((c) => c.Thumbprint as string);

  it("joins both servers to one organization and gives each the certificates Exchange Setup installs", async () => {
    const servers = await api1.ok('Get-ExchangeServer');
    assert.deepEqual(servers.map((s) => s.Name).sort(), ['EX01', 'EX02']);
    const authThumbprints: string[] = [];
    for (const [api, name] of [[api1, 'EX01'], [api2, 'EX02']] as const) {
      const certs = await api.ok('Get-ExchangeCertificate');
      assert.deepEqual(certs.map((c) => c.Subject).sort(), [`CN=${name}`, 'CN=Microsoft Exchange Server Auth Certificate', `CN=WMSvc-${name}`]);
      const auth = certs.find((c) => c.Subject === 'CN=Microsoft Exchange Server Auth Certificate')!;
      assert.deepEqual([auth.Services, auth.CertificateDomains, auth.PrivateKeyExportable, auth.RootCAType, auth.FriendlyName], ['SMTP', [], true, 'None', 'Microsoft Exchange Server Auth Certificate']);
      authThumbprints.push(auth.Thumbprint);
      const wmsvc = certs.find((c) => c.Subject === `CN=WMSvc-${name}`)!;
      assert.deepEqual([wmsvc.Services, wmsvc.CertificateDomains.map((d: { Address: string }) => d.Address), wmsvc.PrivateKeyExportable, wmsvc.RootCAType, wmsvc.Status], ['None', [`WMSvc-${name}`], true, 'Registry', 'Valid']);
      const years = (new Date(wmsvc.NotAfter).getTime() - new Date(wmsvc.NotBefore).getTime()) / (365 * 86_400_000);
      assert.ok(years > 9.9 && years < 10.1, `WMSvc is valid for 10 years (${years})`);
      const cert = certs.find((c) => c.Subject === `CN=${name}`)!;
      assert.equal(cert.RootCAType, 'Registry', "Setup puts the server's self-signed certificate in the machine's root store");
      assert.deepEqual(cert.CertificateDomains.map((d: { Address: string }) => d.Address), [name, `${name.toLowerCase()}.interchange.local`]);
      assert.equal(cert.Subject, `CN=${name}`);
      assert.equal(cert.Issuer, `CN=${name}`);
      assert.equal(cert.Services, 'IMAP, POP, IIS, SMTP');
      assert.equal(cert.ServicesStringForm, 'IP.WS..');
      assert.equal(cert.IsSelfSigned, true);
      assert.equal(cert.Status, 'Valid');
      assert.match(cert.Thumbprint, /^[0-9A-F]{40}$/);
      const [transport] = await api.ok('Get-TransportService', { Identity: name });
      assert.equal(transport.InternalTransportCertificateThumbprint, cert.Thumbprint, 'the internal transport certificate is the server certificate, not the Auth certificate');
    }
    assert.equal(authThumbprints[0], authThumbprints[1], 'one Auth certificate for the organization, on every server');
  });

  it('installs the old and the renewed certificate on both servers, acting on EX02 from EX01 with -Server', async () => {
    const oldPfx = await pfx(pki.oldCert, 'P@ssw0rd1', { withChain: true });
    const renewedPfx = await pfx(pki.renewedCert, 'P@ssw0rd1', { withChain: true });
    for (const server of ['EX01', 'EX02']) {
      for (const file of [oldPfx, renewedPfx]) {
        const [imported] = await api1.ok('Import-ExchangeCertificate', { Server: server, FileData: bytes(file), Password: secure('P@ssw0rd1'), PrivateKeyExportable: true });
        assert.equal(imported.Services, 'None');
        assert.equal(imported.HasPrivateKey, true);
        // "No" to replacing the internal transport certificate, the usual answer for CA certificates.
        await api1.ok('Enable-ExchangeCertificate', { Server: server, Thumbprint: imported.Thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
        const [enabled] = await api1.ok('Get-ExchangeCertificate', { Server: server, Thumbprint: imported.Thumbprint });
        assert.equal(enabled.Services, 'SMTP');
      }
    }
    for (const [api, server] of [[api1, 'EX01'], [api2, 'EX02']] as const) {
      const tps = await thumbprints(api, server);
      assert.ok(tps.includes(pki.oldCert.facts.thumbprint) && tps.includes(pki.renewedCert.facts.thumbprint), `${server} has both certificates`);
    }
    const both = (await api2.ok('Get-ExchangeCertificate')).filter((c) => c.Subject === 'CN=mail.contoso.com, O=Contoso, C=US');
    assert.equal(both.length, 2);
    assert.equal(both[0].Issuer, both[1].Issuer);
    assert.equal(both[0].Status, 'Valid', 'the chain came with the PFX, so its root is trusted on the server');
    assert.equal(both[0].RootCAType, 'Registry');
  });

  it('refuses to remove either certificate while a Send connector names them, with Exchange\'s exact message', async () => {
    const cert = pki.oldCert.facts;
    await api1.ok('New-SendConnector', {
      Name: 'Contoso Outbound',
      AddressSpaces: ['contoso.com'],
      SmartHosts: ['127.0.0.1'],
      DNSRoutingEnabled: false,
      SourceTransportServers: ['EX01', 'EX02'],
      RequireTLS: true,
      TlsCertificateName: `<I>${cert.issuer}<S>${cert.subject}`,
    });
    const [connector] = await api1.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(connector.TlsCertificateName, `<I>CN=Interchange Test Root CA, O=Interchange Tests, C=US<S>CN=mail.contoso.com, O=Contoso, C=US`);
    assert.deepEqual(connector.SourceTransportServers, ['EX01', 'EX02']);

    for (const [api, server] of [[api1, 'EX01'], [api2, 'EX02']] as const) {
      for (const tp of [pki.oldCert.facts.thumbprint, pki.renewedCert.facts.thumbprint]) {
        const r = await api.invoke('Remove-ExchangeCertificate', { Server: server, Thumbprint: tp });
        assert.equal(r.ok, false);
        assert.equal(r.status, 409);
        assert.equal(r.error?.code, 'ICX_CERT_IN_USE_SEND_CONNECTOR');
        assert.equal(r.error?.message, GUARD(server, 'Contoso Outbound'));
        assert.deepEqual(r.error?.details, { server, connectors: ['Contoso Outbound'], thumbprint: tp }, 'front ends get the connectors without parsing the message');
        assert.ok((await thumbprints(api, server)).includes(tp), 'the refused certificate is still installed');
      }
    }
  });

  it('lists every connector that names the certificate, joined with ", "', async () => {
    const cert = pki.renewedCert.facts;
    await api1.ok('New-SendConnector', { Name: 'Contoso Backup', AddressSpaces: ['*.contoso.com;5'], SourceTransportServers: ['EX02'], TlsCertificateName: `<i>${cert.issuer}<s>${cert.subject}` });
    const r = await api2.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.renewedCert.facts.thumbprint });
    assert.equal(r.error?.message, GUARD('EX02', 'Contoso Backup, Contoso Outbound'));
    await api1.ok('Remove-SendConnector', { Identity: 'Contoso Backup' });
  });

  it('refuses the internal transport certificate', async () => {
    const [transport] = await api1.ok('Get-TransportService', { Identity: 'EX01' });
    const r = await api1.invoke('Remove-ExchangeCertificate', { Thumbprint: transport.InternalTransportCertificateThumbprint });
    assert.equal(r.error?.code, 'ICX_CERT_IN_USE_INTERNAL_TRANSPORT');
    assert.match(r.error!.message, /^A special Rpc error occurs on server EX01: The internal transport certificate cannot be removed because that would cause the Microsoft Exchange Transport service to stop\./);
  });

  it('asks for confirmation before removing, and -WhatIf changes nothing', async () => {
    const prompt = await api1.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint }, {});
    assert.equal(prompt.error?.code, 'ICX_CONFIRMATION_REQUIRED');
    assert.equal(prompt.error?.confirmation?.query, `Remove certificate with thumbprint ${pki.oldCert.facts.thumbprint} from the computer's certificate store?`);
    const whatIf = await api1.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint }, { whatIf: true });
    assert.equal(whatIf.ok, true);
    assert.deepEqual(whatIf.whatIf, [`What if: Remove certificate with thumbprint ${pki.oldCert.facts.thumbprint} from the computer's certificate store?`]);
    assert.ok((await thumbprints(api1, 'EX01')).includes(pki.oldCert.facts.thumbprint));
  });

  it('lets the old certificate go once TlsCertificateName is cleared; removal on one server leaves the other server\'s copy', async () => {
    await api1.ok('Set-SendConnector', { Identity: 'Contoso Outbound', TlsCertificateName: null });
    const [cleared] = await api1.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(cleared.TlsCertificateName, null);

    await api1.ok('Remove-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.oldCert.facts.thumbprint });
    assert.ok(!(await thumbprints(api1, 'EX01')).includes(pki.oldCert.facts.thumbprint));
    assert.ok((await thumbprints(api1, 'EX02')).includes(pki.oldCert.facts.thumbprint), "EX02's copy is untouched");

    await api2.ok('Remove-ExchangeCertificate', { Identity: `EX02\\${pki.oldCert.facts.thumbprint.toLowerCase()}` });
    assert.ok(!(await thumbprints(api2, 'EX02')).includes(pki.oldCert.facts.thumbprint));
  });

  it('takes the value built as the article builds it, and protects the renewed certificate again', async () => {
    const [cert] = await api1.ok('Get-ExchangeCertificate', { Thumbprint: pki.renewedCert.facts.thumbprint });
    const tlsCertificateName = `<i>${cert.Issuer}<s>${cert.Subject}`;
    await api1.ok('Set-SendConnector', { Identity: 'Contoso Outbound', TlsCertificateName: tlsCertificateName });
    const [connector] = await api1.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(connector.TlsCertificateName, `<I>${cert.Issuer}<S>${cert.Subject}`);
    const r = await api1.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.renewedCert.facts.thumbprint });
    assert.equal(r.error?.message, GUARD('EX01', 'Contoso Outbound'));
  });

  it('records refused and successful removals in the admin audit log, secrets redacted', async () => {
    const entries = await api1.ok('Search-AdminAuditLog', { Cmdlets: ['Remove-ExchangeCertificate'] });
    assert.ok(entries.some((e) => e.Succeeded === false && String(e.Error).includes('ICX_CERT_IN_USE_SEND_CONNECTOR')));
    assert.ok(entries.some((e) => e.Succeeded === true && e.ObjectModified === `EX01\\${pki.oldCert.facts.thumbprint}`));
    assert.ok(entries.every((e) => e.Caller === 'Administrator'));
    const imports = await api1.ok('Search-AdminAuditLog', { Cmdlets: ['Import-ExchangeCertificate'] });
    assert.ok(imports.length >= 4);
    for (const e of imports) {
      assert.equal(e.CmdletParameters.Password, '******');
      assert.match(String(e.CmdletParameters.FileData), /^<\d+ bytes>$/);
    }
  });
});
