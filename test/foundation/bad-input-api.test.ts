import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { corruptPfx, createTestPki, pem, pfx, type TestPki } from '../support/pki.js';
import { AdminApi, bytes, secure, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

/** Everything a test can read back to prove a failed command changed nothing. */
async function snapshot(api: AdminApi) {
  // BindingStatus is the running transport's state (a new binding starts listening a moment later), not configuration.
  const strip = (objs: Array<Record<string, unknown>>) => objs.map(({ WhenChanged: _w, BindingStatus: _b, ...rest }) => rest);
  return JSON.stringify({
    certs: await api.ok('Get-ExchangeCertificate', { Server: 'EX01' }),
    send: strip(await api.ok('Get-SendConnector')),
    receive: strip(await api.ok('Get-ReceiveConnector')),
    transport: await api.ok('Get-TransportService'),
  });
}

describe('bad input gets a clear error and leaves state as it was', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let api: AdminApi;
  let pki: TestPki;
  let before_: string;

  before(async () => {
    dataDir = await tempDir('badinput');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    api = new AdminApi(ex01.url, ex01.token);
    pki = await createTestPki();
    await api.ok('New-SendConnector', { Name: 'Outbound', AddressSpaces: ['*'], SmartHosts: ['relay.contoso.com'] });
  });

  after(async () => {
    await ex01?.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  const expectFailure = async (cmdlet: string, params: Record<string, any>, code: string, message: RegExp | string, extra?: object) => {
    before_ = await snapshot(api);
    const r = await api.invoke(cmdlet, params, { confirmed: true, ...extra });
    assert.equal(r.ok, false, `${cmdlet} should fail`);
    assert.equal(r.error?.code, code, r.error?.message);
    if (typeof message === 'string') assert.equal(r.error?.message, message);
    else assert.match(r.error!.message, message);
    assert.equal(await snapshot(api), before_, 'nothing changed');
    return r;
  };

  it('a corrupt PFX', async () => {
    await expectFailure('Import-ExchangeCertificate', { FileData: bytes(await corruptPfx()), Password: secure('x') }, 'ICX_CERT_DATA_CORRUPT', /^A special Rpc error occurs on server EX01: The source data is corrupted or not properly Base64 encoded/);
  });

  it('random bytes that are no certificate format at all', async () => {
    await expectFailure('Import-ExchangeCertificate', { FileData: bytes(Buffer.from('this is not a certificate\n')) }, 'ICX_CERT_DATA_CORRUPT', /corrupted or not properly Base64 encoded/);
  });

  it('a wrong PFX password', async () => {
    const file = await pfx(pki.oldCert, 'right-password', { withChain: true });
    await expectFailure('Import-ExchangeCertificate', { FileData: bytes(file), Password: secure('wrong-password') }, 'ICX_CERT_WRONG_PASSWORD', 'A special Rpc error occurs on server EX01: The source data cannot be imported or the wrong password was specified.');
  });

  it('a certificate without a private key where one is needed', async () => {
    const [imported] = await api.ok('Import-ExchangeCertificate', { FileData: bytes(Buffer.from(pem(pki.wildcard).certificate)) });
    assert.equal(imported.HasPrivateKey, false);
    await expectFailure('Enable-ExchangeCertificate', { Thumbprint: imported.Thumbprint, Services: 'SMTP' }, 'ICX_CERT_NO_PRIVATE_KEY', /doesn't have a private key/);
    await expectFailure('Export-ExchangeCertificate', { Thumbprint: imported.Thumbprint, Password: secure('x'), BinaryEncoded: true }, 'ICX_CERT_NO_PRIVATE_KEY', /Certificates without a private key cannot be exported as PKCS-12/);
    await api.ok('Remove-ExchangeCertificate', { Thumbprint: imported.Thumbprint });
  });

  it('a private key that is not exportable', async () => {
    const cert = (await api.ok('Get-ExchangeCertificate')).find((c) => c.Subject === 'CN=EX01')!;
    await expectFailure('Export-ExchangeCertificate', { Thumbprint: cert.Thumbprint, Password: secure('x') }, 'ICX_CERT_NOT_EXPORTABLE', /isn't exportable/);
  });

  it('an unknown thumbprint', async () => {
    const tp = 'AB'.repeat(20);
    await expectFailure('Remove-ExchangeCertificate', { Thumbprint: tp }, 'ICX_CERT_NOT_FOUND', `A special Rpc error occurs on server EX01: The certificate with thumbprint ${tp} was not found.`);
    await expectFailure('Get-ExchangeCertificate', { Thumbprint: tp }, 'ICX_CERT_NOT_FOUND', /was not found/);
  });

  it('an unknown server', async () => {
    await expectFailure('Get-ExchangeCertificate', { Server: 'EX99' }, 'ICX_SERVER_NOT_FOUND', /'EX99' couldn't be found/);
  });

  for (const [value, message] of [
    ['CN=mail.contoso.com', /"CN=mail.contoso.com" isn't a valid Certificate Identifier\./],
    ['<I>CN=CA<S>', /isn't a valid Certificate Identifier/],
    ['<I>CN=CA<S>O=Contoso', /The common name in the subject needs to be a valid domain name/],
    ['<I>CN=CA<S>CN=not a host name', /The common name in the subject needs to be a valid domain name/],
    ['<I>CN=CA<S>CN="unterminated', /isn't a valid Certificate Identifier/],
  ] as const) {
    it(`a malformed TlsCertificateName: ${value}`, async () => {
      await expectFailure('Set-SendConnector', { Identity: 'Outbound', TlsCertificateName: value }, 'ICX_TLS_CERT_NAME_INVALID', message);
    });
  }

  it('an unknown parameter, an ambiguous prefix, a missing mandatory parameter, a value that does not convert', async () => {
    await expectFailure('Get-SendConnector', { Colour: 'blue' }, 'ICX_PARAM_UNKNOWN', "A parameter cannot be found that matches parameter name 'Colour'.");
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', Smart: ['a.contoso.com'] }, 'ICX_PARAM_AMBIGUOUS', /the parameter name 'Smart' is ambiguous\. Possible matches include: -SmartHosts -SmartHostAuthMechanism/);
    await expectFailure('New-SendConnector', { Name: 'X' }, 'ICX_PARAM_MISSING', 'Cannot process command because of one or more missing mandatory parameters: AddressSpaces.');
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', Port: 'twenty-five' }, 'ICX_PARAM_CONVERSION', /Cannot convert value "twenty-five" to type "System.Int32"/);
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', Port: 70000 }, 'ICX_PARAM_INVALID', /greater than the maximum allowed range of 65535/);
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', TlsAuthLevel: 'Strict' }, 'ICX_PARAM_INVALID', "'Strict' is not a known tls auth level. Valid values are: EncryptionOnly, CertificateValidation, and DomainValidation.");
    await expectFailure('Get-Nothing', {}, 'ICX_CMDLET_UNKNOWN', /The term 'Get-Nothing' is not recognized as the name of a cmdlet/);
  });

  it('a duplicate connector name, in any case', async () => {
    await expectFailure('New-SendConnector', { Name: 'OUTBOUND', AddressSpaces: ['contoso.com'], SmartHosts: ['relay.contoso.com'] }, 'ICX_OBJECT_EXISTS', 'A Send connector with the name "OUTBOUND" already exists. Choose another name.');
  });

  it("Send connector rules of Exchange's", async () => {
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', TlsDomain: 'contoso.com' }, 'ICX_CONNECTOR_INVALID', 'The TLSDomain parameter can only be set if the TLSAuthLevel parameter is set to DomainValidation.');
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', TlsAuthLevel: 'EncryptionOnly' }, 'ICX_CONNECTOR_INVALID', "The TLSAuthLevel parameter can't be set if the RequireTLS parameter is set to $false.");
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', RequireTLS: true, IgnoreSTARTTLS: true }, 'ICX_CONNECTOR_INVALID', "RequireTLS and IgnoreTLS can't both be set.");
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', SmartHosts: null }, 'ICX_CONNECTOR_INVALID', 'You must specify a smart host if you are not using DNS to route mails.');
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', AddressSpaces: ['SMTP:contoso.com;101'] }, 'ICX_CONNECTOR_INVALID', 'Cost value must be from 1 through 100.');
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', SmartHosts: ['bad host!'] }, 'ICX_CONNECTOR_INVALID', '"bad host!" is not a valid IP address or host name.');
    await expectFailure('New-SendConnector', { Name: 'Y', AddressSpaces: ['*'], Internet: true, Partner: true }, 'ICX_CONNECTOR_INVALID', 'At most one of the following parameters can be specified: -usage, -internet, -internal, -partner, -custom.');
  });

  it('refuses a TlsCertificateName whose certificate on the first source server is not enabled for SMTP', async () => {
    const [imported] = await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    const f = pki.oldCert.facts;
    await expectFailure('Set-SendConnector', { Identity: 'Outbound', TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` }, 'ICX_CERT_NOT_SMTP', /The given certificate is not enabled for SMTP protocol\./);
    await api.ok('Remove-ExchangeCertificate', { Thumbprint: imported.Thumbprint });
  });

  it('a receive connector with a bad binding or IP range', async () => {
    await expectFailure('New-ReceiveConnector', { Name: 'Relay', Bindings: ['0.0.0.0:99999'], RemoteIPRanges: ['10.0.0.0/24'] }, 'ICX_CONNECTOR_INVALID', /The binding "0.0.0.0:99999" isn't valid/);
    await expectFailure('New-ReceiveConnector', { Name: 'Relay', Bindings: ['0.0.0.0:2600'], RemoteIPRanges: ['10.0.0.0/40'] }, 'ICX_CONNECTOR_INVALID', /The remote IP range "10.0.0.0\/40" isn't valid/);
  });

  it('no credential, a bad credential, and a role that does not allow the cmdlet: refused; only the administrator\'s attempt is audited', async () => {
    const anonymous = await fetch(`${ex01.url}/api/v1/cmdlets/Get-ExchangeCertificate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
    const wrong = new AdminApi(ex01.url, 'icx_not-a-token');
    assert.equal((await wrong.invoke('Remove-SendConnector', { Identity: 'Outbound' })).status, 401);

    const [cred] = await api.ok('New-AdministratorCredential', { Name: 'helpdesk', RoleGroup: ['View-Only Organization Management'] });
    const viewer = new AdminApi(ex01.url, cred.Token);
    assert.equal((await viewer.ok('Get-SendConnector')).length, 1, 'view-only may read');
    const denied = await viewer.invoke('Remove-SendConnector', { Identity: 'Outbound' });
    assert.equal(denied.status, 403);
    assert.equal(denied.error?.code, 'ICX_ACCESS_DENIED');
    assert.match(denied.error!.message, /isn't assigned to any management roles that are included in the "Send Connectors" role/);
    assert.equal((await api.ok('Get-SendConnector')).length, 1);

    const audit = await api.ok('Search-AdminAuditLog', { Cmdlets: ['Remove-SendConnector'] });
    assert.ok(audit.some((e) => e.Caller === 'helpdesk' && e.Succeeded === false && String(e.Error).startsWith('ICX_ACCESS_DENIED')));
    // Anyone who reaches the port could fill the audit log with rows of their choosing: unauthenticated calls are counted instead.
    assert.ok(!audit.some((e) => e.Caller === '(unauthenticated)'));
  });
});
