// The organization-wide transport settings and the remote domains through the
// admin API and the shell of a real server: Exchange's defaults and output
// shapes, changes, -WhatIf, refusals that leave everything as it was, the
// Default remote domain that cannot go, and the roles that may run them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { runShell } from '../../src/shell/run.js';
import { AdminApi } from '../support/interchange.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

describe('Get-/Set-TransportConfig and the remote domain cmdlets', () => {
  let s: TestServer;
  let token: string;

  before(async () => {
    s = await startTestServer();
    token = s.server.administratorToken ?? fs.readFileSync(s.server.tokenFile, 'utf8').trim();
  });
  after(async () => {
    await s?.close();
  });

  async function shell(command: string): Promise<{ code: number; out: string; err: string }> {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d) => (o += String(d)));
    err.on('data', (d) => (e += String(d)));
    const code = await runShell({ host: createHttpCmdletHost({ url: s.server.adminUrl, token }), command, stdout: out, stderr: err, interactive: false, nonInteractive: true, prompt: '' });
    return { code, out: o, err: e };
  }

  it("Get-TransportConfig shows one object, Transport Settings, with Exchange's defaults", async () => {
    const all = await s.api.ok('Get-TransportConfig');
    assert.equal(all.length, 1);
    const [t] = all;
    assert.deepEqual(
      [t.Identity, t.MaxSendSize, t.MaxReceiveSize, t.MaxRecipientEnvelopeLimit, t.TLSSendDomainSecureList, t.TLSReceiveDomainSecureList, t.ExternalDelayDsnEnabled, t.InternalDelayDsnEnabled, t.GenerateCopyOfDSNFor],
      ['Transport Settings', '10 MB (10,485,760 bytes)', '10 MB (10,485,760 bytes)', 500, [], [], true, true, []],
    );
    // Alone, it lists every property, as Exchange's does.
    const r = await shell('Get-TransportConfig');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Identity\s+: Transport Settings$/m);
    assert.match(r.out, /^MaxReceiveSize\s+: 10 MB \(10,485,760 bytes\)$/m);
    assert.match(r.out, /^MaxRecipientEnvelopeLimit\s+: 500$/m);
    assert.match(r.out, /^TLSSendDomainSecureList\s+: \{\}$/m);
    assert.match(r.out, /^MaxSendSize\s+: 10 MB \(10,485,760 bytes\)$/m);
    assert.match(r.out, /^MaxRecipientEnvelopeLimit\s+: 500$/m);
    assert.match(r.out, /^TLSSendDomainSecureList\s+: \{\}$/m);
  });

  it('Set-TransportConfig changes sizes, limits and the domain-secure lists (whole or @{Add;Remove}); -WhatIf changes nothing', async () => {
    const whatIf = await s.api.invoke('Set-TransportConfig', { MaxSendSize: '20MB' }, { whatIf: true });
    assert.deepEqual(whatIf.whatIf, ['What if: Configuring transport configuration "Transport Settings".']);
    assert.equal((await s.api.ok('Get-TransportConfig'))[0].MaxSendSize, '10 MB (10,485,760 bytes)');

    await s.api.ok('Set-TransportConfig', { MaxSendSize: '20MB', MaxReceiveSize: 'unlimited', MaxRecipientEnvelopeLimit: 'Unlimited', TLSSendDomainSecureList: ['Fabrikam.com', 'tailspintoys.com'], ExternalDelayDsnEnabled: false, GenerateCopyOfDSNFor: ['5.4.8', '5.7.1'] });
    await s.api.ok('Set-TransportConfig', { TLSSendDomainSecureList: { Add: ['woodgrovebank.com'], Remove: ['tailspintoys.com'] }, TLSReceiveDomainSecureList: ['fabrikam.com'] });
    const [t] = await s.api.ok('Get-TransportConfig');
    assert.deepEqual(
      [t.MaxSendSize, t.MaxReceiveSize, t.MaxRecipientEnvelopeLimit, t.TLSSendDomainSecureList, t.TLSReceiveDomainSecureList, t.ExternalDelayDsnEnabled, t.InternalDelayDsnEnabled, t.GenerateCopyOfDSNFor],
      ['20 MB (20,971,520 bytes)', 'Unlimited', 'Unlimited', ['fabrikam.com', 'woodgrovebank.com'], ['fabrikam.com'], false, true, ['5.4.8', '5.7.1']],
    );
    assert.ok(t.WhenChanged, 'WhenChanged is set once changed');

    const r = await shell("Set-TransportConfig -MaxReceiveSize 15MB -TLSSendDomainSecureList @{Remove='woodgrovebank.com'}; (Get-TransportConfig).MaxReceiveSize");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^15 MB \(15,728,640 bytes\)$/m);
    assert.deepEqual((await s.api.ok('Get-TransportConfig'))[0].TLSSendDomainSecureList, ['fabrikam.com']);
    await s.api.ok('Set-TransportConfig', { MaxSendSize: '10MB', MaxReceiveSize: '10MB', MaxRecipientEnvelopeLimit: 500, TLSSendDomainSecureList: null, TLSReceiveDomainSecureList: null, ExternalDelayDsnEnabled: true, GenerateCopyOfDSNFor: null });
  });

  it('refuses wildcards and malformed domains, bad sizes and codes, and a foreign identity, changing nothing (not even the valid values given with them)', async () => {
    const before = await s.api.ok('Get-TransportConfig');
    const cases: Array<[Record<string, any>, string, RegExp]> = [
      [{ MaxSendSize: '25MB', TLSSendDomainSecureList: ['*.fabrikam.com'] }, 'ICX_PARAM_INVALID', /"\*\.fabrikam\.com" contains a wildcard, which TLSSendDomainSecureList doesn't allow/],
      [{ TLSReceiveDomainSecureList: { Add: ['*'] } }, 'ICX_PARAM_INVALID', /"\*" contains a wildcard, which TLSReceiveDomainSecureList doesn't allow/],
      [{ TLSSendDomainSecureList: ['not a domain'] }, 'ICX_PARAM_INVALID', /"not a domain" isn't a valid SMTP domain/],
      [{ MaxReceiveSize: 'ten megabytes' }, 'ICX_PARAM_CONVERSION', /MaxReceiveSize/],
      [{ MaxSendSize: '3GB' }, 'ICX_PARAM_INVALID', /MaxSendSize must be between 0 bytes and 2147483647 bytes/],
      [{ MaxRecipientEnvelopeLimit: -1 }, 'ICX_PARAM_INVALID', /MaxRecipientEnvelopeLimit/],
      [{ GenerateCopyOfDSNFor: ['2.0.0'] }, 'ICX_PARAM_INVALID', /"2\.0\.0" isn't an enhanced status code/],
      [{ Identity: 'Other Settings', MaxSendSize: '1MB' }, 'ICX_OBJECT_NOT_FOUND', /Transport Settings/],
    ];
    for (const [params, code, message] of cases) {
      const r = await s.api.invoke('Set-TransportConfig', params);
      assert.equal(r.error?.code, code, JSON.stringify(params) + ' ' + r.error?.message);
      assert.match(r.error!.message, message);
    }
    assert.deepEqual(await s.api.ok('Get-TransportConfig'), before);
  });

  it('Get-RemoteDomain: Default (*) is there from the start, with Exchange\'s settings', async () => {
    const all = await s.api.ok('Get-RemoteDomain');
    assert.deepEqual(all.map((d) => [d.Name, d.DomainName]), [['Default', '*']]);
    const [d] = all;
    assert.deepEqual(
      [d.Identity, d.AllowedOOFType, d.AutoReplyEnabled, d.AutoForwardEnabled, d.DeliveryReportEnabled, d.NDREnabled, d.TNEFEnabled, d.CharacterSet, d.ContentType, d.IsInternal, d.TrustedMailOutboundEnabled, d.ByteEncoderTypeFor7BitCharsets, d.LineWrapSize],
      ['Default', 'External', true, true, true, true, null, 'iso-8859-1', 'MimeHtmlText', false, false, 'Undefined', 'Unlimited'],
    );
    for (const id of ['default', '*', d.Guid]) assert.equal((await s.api.ok('Get-RemoteDomain', { Identity: id }))[0].Guid, d.Guid, id);
    const help = await shell('Get-Help Set-RemoteDomain');
    assert.match(help.out.replace(/\s+/g, ' '), /are stored only/);
  });

  it('New-, Set- and Remove-RemoteDomain; -WhatIf changes nothing; bad values and duplicates change nothing; Default cannot be removed or renamed', async () => {
    const w = await s.api.invoke('New-RemoteDomain', { Name: 'Fabrikam', DomainName: 'fabrikam.com' }, { whatIf: true });
    assert.deepEqual(w.whatIf, ['What if: Creating remote domain "Fabrikam" with domain name "fabrikam.com".']);
    assert.equal((await s.api.ok('Get-RemoteDomain')).length, 1);

    const [fab] = await s.api.ok('New-RemoteDomain', { Name: 'Fabrikam', DomainName: 'Fabrikam.COM' });
    assert.deepEqual([fab.Identity, fab.DomainName, fab.NDREnabled, fab.AllowedOOFType], ['Fabrikam', 'fabrikam.com', true, 'External']);
    await s.api.ok('New-RemoteDomain', { Name: 'Tailspin', DomainName: '*.tailspintoys.com' });

    await s.api.ok('Set-RemoteDomain', { Identity: 'fabrikam.com', NDREnabled: false, DeliveryReportEnabled: false, AllowedOOFType: 'None', AutoReplyEnabled: false, AutoForwardEnabled: false, TNEFEnabled: false, CharacterSet: 'UTF-8', ContentType: 'MimeText', IsInternal: true, TrustedMailOutboundEnabled: true, ByteEncoderTypeFor7BitCharsets: 'UseQP', LineWrapSize: 78 });
    const [changed] = await s.api.ok('Get-RemoteDomain', { Identity: 'Fabrikam' });
    assert.deepEqual(
      [changed.NDREnabled, changed.DeliveryReportEnabled, changed.AllowedOOFType, changed.AutoReplyEnabled, changed.AutoForwardEnabled, changed.TNEFEnabled, changed.CharacterSet, changed.ContentType, changed.IsInternal, changed.TrustedMailOutboundEnabled, changed.ByteEncoderTypeFor7BitCharsets, changed.LineWrapSize],
      [false, false, 'None', false, false, false, 'utf-8', 'MimeText', true, true, 'UseQP', 78],
    );

    const before = await s.api.ok('Get-RemoteDomain');
    const refused: Array<[string, Record<string, any>, string, RegExp]> = [
      ['New-RemoteDomain', { Name: 'Again', DomainName: 'fabrikam.com' }, 'ICX_OBJECT_EXISTS', /The domain "fabrikam.com" is already used by another remote domain/],
      ['New-RemoteDomain', { Name: 'fabrikam', DomainName: 'other.com' }, 'ICX_OBJECT_EXISTS', /The name "fabrikam" is already used/],
      ['New-RemoteDomain', { Name: 'All', DomainName: '*' }, 'ICX_OBJECT_EXISTS', /already used by the remote domain Default/],
      ['New-RemoteDomain', { Name: 'Bad', DomainName: 'not a domain' }, 'ICX_PARAM_INVALID', /isn't a valid SMTP domain/],
      ['Set-RemoteDomain', { Identity: 'Fabrikam', NDREnabled: true, LineWrapSize: 500 }, 'ICX_PARAM_INVALID', /LineWrapSize/],
      ['Set-RemoteDomain', { Identity: 'Fabrikam', AllowedOOFType: 'Sometimes' }, 'ICX_PARAM_CONVERSION', /Sometimes/],
      ['Set-RemoteDomain', { Identity: 'Fabrikam', CharacterSet: 'not a charset' }, 'ICX_PARAM_INVALID', /isn't a character set name/],
      ['Set-RemoteDomain', { Identity: 'Nowhere', NDREnabled: true }, 'ICX_OBJECT_NOT_FOUND', /'Nowhere' couldn't be found/],
      ['Set-RemoteDomain', { Identity: 'Default', Name: 'Everyone' }, 'ICX_REMOTE_DOMAIN_DEFAULT', /can't be renamed/],
      ['Remove-RemoteDomain', { Identity: 'Default' }, 'ICX_REMOTE_DOMAIN_DEFAULT', /default remote domain \(DomainName \*\) and can't be removed/],
    ];
    for (const [cmdlet, params, code, message] of refused) {
      const r = await s.api.invoke(cmdlet, params);
      assert.equal(r.error?.code, code, `${cmdlet} ${JSON.stringify(params)}: ${r.error?.message}`);
      assert.match(r.error!.message, message);
    }
    assert.deepEqual(await s.api.ok('Get-RemoteDomain'), before);

    await s.api.ok('Set-RemoteDomain', { Identity: 'Default', NDREnabled: false });
    assert.equal((await s.api.ok('Get-RemoteDomain', { Identity: 'Default' }))[0].NDREnabled, false);
    await s.api.ok('Set-RemoteDomain', { Identity: 'Default', NDREnabled: true });

    const rw = await s.api.invoke('Remove-RemoteDomain', { Identity: 'Tailspin' }, { whatIf: true });
    assert.deepEqual(rw.whatIf, ['What if: Removing remote domain "Tailspin".']);
    assert.equal((await s.api.invoke('Remove-RemoteDomain', { Identity: 'Tailspin' }, {})).error?.code, 'ICX_CONFIRMATION_REQUIRED');
    await s.api.ok('Remove-RemoteDomain', { Identity: 'Tailspin' });
    await s.api.ok('Remove-RemoteDomain', { Identity: 'Fabrikam' });
    assert.deepEqual((await s.api.ok('Get-RemoteDomain')).map((d) => d.Name), ['Default']);
  });

  it('Organization Management changes them; Server Management and view-only administrators may only read', async () => {
    const [sm] = await s.api.ok('New-AdministratorCredential', { Name: 'server-admin', RoleGroup: ['Server Management'] });
    const [vo] = await s.api.ok('New-AdministratorCredential', { Name: 'viewer', RoleGroup: ['View-Only Organization Management'] });
    for (const caller of [new AdminApi(s.server.adminUrl, sm.Token), new AdminApi(s.server.adminUrl, vo.Token)]) {
      assert.equal((await caller.invoke('Set-TransportConfig', { MaxSendSize: '1MB' })).error?.code, 'ICX_ACCESS_DENIED');
      assert.equal((await caller.invoke('New-RemoteDomain', { Name: 'X', DomainName: 'x.com' })).error?.code, 'ICX_ACCESS_DENIED');
      assert.equal((await caller.invoke('Set-RemoteDomain', { Identity: 'Default', NDREnabled: false })).error?.code, 'ICX_ACCESS_DENIED');
    }
    const viewer = new AdminApi(s.server.adminUrl, vo.Token);
    assert.equal((await viewer.ok('Get-TransportConfig')).length, 1);
    assert.equal((await viewer.ok('Get-RemoteDomain')).length, 1);
  });
});
