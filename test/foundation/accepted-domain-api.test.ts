// Accepted domains and Receive connector permissions through the admin API of a
// real server process: the domain a new organization starts with, Exchange's
// output shapes, the default domain rules, -WhatIf, errors that leave state as
// it was, and the roles that may run them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { AdminApi, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

describe('accepted domains and Receive connector permissions through the admin API', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let api: AdminApi;

  before(async () => {
    dataDir = await tempDir('accepted');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01', extraArgs: ['--fqdn', 'ex01.mail.contoso.com'] });
    api = new AdminApi(ex01.url, ex01.token);
  });

  after(async () => {
    await ex01?.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  it("a new organization accepts its first server's domain; New-AcceptedDomain adds others, shaped like Exchange's", async () => {
    const [first] = await api.ok('Get-AcceptedDomain');
    assert.deepEqual([first.Name, first.DomainName, first.DomainType, first.Default, first.MatchSubDomains], ['mail.contoso.com', 'mail.contoso.com', 'Authoritative', true, false]);

    const [fab] = await api.ok('New-AcceptedDomain', { Name: 'Fabrikam', DomainName: 'Fabrikam.COM' });
    assert.deepEqual([fab.Identity, fab.DomainName, fab.DomainType, fab.Default, fab.AddressBookEnabled], ['Fabrikam', 'fabrikam.com', 'Authoritative', false, true]);
    const [wild] = await api.ok('New-AcceptedDomain', { Name: 'Tailspin', DomainName: '*.tailspintoys.com', DomainType: 'ExternalRelay' });
    assert.equal(wild.AddressBookEnabled, false);
    for (const id of ['fabrikam', 'FABRIKAM.com', fab.Guid]) assert.equal((await api.ok('Get-AcceptedDomain', { Identity: id }))[0].Guid, fab.Guid, id);
    assert.deepEqual((await api.ok('Get-AcceptedDomain')).map((d) => d.Name), ['Fabrikam', 'mail.contoso.com', 'Tailspin']);
  });

  it('refuses a malformed or duplicate domain, an unknown type, and leaves the list as it was', async () => {
    const before = await api.ok('Get-AcceptedDomain');
    const cases: Array<[Record<string, any>, string, RegExp]> = [
      [{ Name: 'Bad', DomainName: 'not a domain' }, 'ICX_PARAM_INVALID', /"not a domain" isn't a valid SMTP domain/],
      [{ Name: 'Bad', DomainName: 'contoso..com' }, 'ICX_PARAM_INVALID', /isn't a valid SMTP domain/],
      [{ Name: 'Bad', DomainName: '*' }, 'ICX_PARAM_INVALID', /isn't a valid SMTP domain/],
      [{ Name: 'Again', DomainName: 'fabrikam.com' }, 'ICX_OBJECT_EXISTS', /The domain "fabrikam.com" is already used by another accepted domain/],
      [{ Name: 'fabrikam', DomainName: 'other.com' }, 'ICX_OBJECT_EXISTS', /The name "fabrikam" is already used/],
      [{ Name: 'Bad', DomainName: 'ok.com', DomainType: 'Hosted' }, 'ICX_PARAM_CONVERSION', /Hosted/],
    ];
    for (const [params, code, message] of cases) {
      const r = await api.invoke('New-AcceptedDomain', params);
      assert.equal(r.error?.code, code, JSON.stringify(params));
      assert.match(r.error!.message, message);
    }
    assert.deepEqual(await api.ok('Get-AcceptedDomain'), before);
  });

  it('one default at a time: -MakeDefault moves it, it cannot be unset, and the default cannot be removed while others exist', async () => {
    await api.ok('Set-AcceptedDomain', { Identity: 'Fabrikam', MakeDefault: true });
    const defaults = (await api.ok('Get-AcceptedDomain')).filter((d) => d.Default).map((d) => d.Name);
    assert.deepEqual(defaults, ['Fabrikam']);
    const unset = await api.invoke('Set-AcceptedDomain', { Identity: 'Fabrikam', MakeDefault: false });
    assert.equal(unset.error?.code, 'ICX_PARAM_INVALID');
    const removeDefault = await api.invoke('Remove-AcceptedDomain', { Identity: 'Fabrikam' });
    assert.equal(removeDefault.error?.code, 'ICX_ACCEPTED_DOMAIN_DEFAULT');
    assert.match(removeDefault.error!.message, /is the default accepted domain and can't be removed/);

    await api.ok('Set-AcceptedDomain', { Identity: 'Tailspin', DomainType: 'InternalRelay', MatchSubDomains: true, Name: 'Tailspin Toys' });
    const [t] = await api.ok('Get-AcceptedDomain', { Identity: 'Tailspin Toys' });
    assert.deepEqual([t.DomainType, t.MatchSubDomains], ['InternalRelay', true]);

    const w = await api.invoke('Remove-AcceptedDomain', { Identity: 'Tailspin Toys' }, { whatIf: true });
    assert.deepEqual(w.whatIf, ['What if: Removing accepted domain "Tailspin Toys".']);
    assert.equal((await api.ok('Get-AcceptedDomain')).length, 3);
    const ask = await api.invoke('Remove-AcceptedDomain', { Identity: 'Tailspin Toys' }, {});
    assert.equal(ask.error?.code, 'ICX_CONFIRMATION_REQUIRED');
    await api.ok('Remove-AcceptedDomain', { Identity: 'Tailspin Toys' });
    assert.deepEqual((await api.ok('Get-AcceptedDomain')).map((d) => d.Name), ['Fabrikam', 'mail.contoso.com']);
  });

  it('Add-ADPermission grants a Receive connector right, Get-ADPermission lists it with the permission groups\' entries, Remove-ADPermission takes it back', async () => {
    await api.ok('New-ReceiveConnector', { Name: 'Relay', Usage: 'Custom', Bindings: ['0.0.0.0:2526'], RemoteIPRanges: ['192.168.1.10'], PermissionGroups: 'AnonymousUsers' });
    const [added] = await api.ok('Add-ADPermission', { Identity: 'Relay', User: 'nt authority\\anonymous logon', ExtendedRights: ['MS-EXCH-SMTP-ACCEPT-ANY-RECIPIENT'] });
    assert.deepEqual([added.Identity, added.User, added.ExtendedRights, added.Deny, added.IsInherited], ['EX01\\Relay', 'NT AUTHORITY\\ANONYMOUS LOGON', ['ms-Exch-SMTP-Accept-Any-Recipient'], false, false]);
    // Twice is once.
    await api.ok('Add-ADPermission', { Identity: 'EX01\\Relay', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });

    const all = await api.ok('Get-ADPermission', { Identity: 'EX01\\Relay' });
    assert.deepEqual(
      all.map((a) => [a.User, a.ExtendedRights[0], a.PermissionGroup]),
      [
        ['NT AUTHORITY\\ANONYMOUS LOGON', 'ms-Exch-SMTP-Submit', 'AnonymousUsers'],
        ['NT AUTHORITY\\ANONYMOUS LOGON', 'ms-Exch-SMTP-Accept-Any-Sender', 'AnonymousUsers'],
        ['NT AUTHORITY\\ANONYMOUS LOGON', 'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender', 'AnonymousUsers'],
        ['NT AUTHORITY\\ANONYMOUS LOGON', 'ms-Exch-Accept-Headers-Routing', 'AnonymousUsers'],
        ['NT AUTHORITY\\ANONYMOUS LOGON', 'ms-Exch-SMTP-Accept-Any-Recipient', null],
      ],
    );

    const badUser = await api.invoke('Add-ADPermission', { Identity: 'Relay', User: 'CONTOSO\\kim', ExtendedRights: ['ms-Exch-SMTP-Submit'] });
    assert.equal(badUser.error?.code, 'ICX_PARAM_INVALID');
    assert.match(badUser.error!.message, /The user "CONTOSO\\kim" wasn't found/);
    const badRight = await api.invoke('Add-ADPermission', { Identity: 'Relay', User: 'Everyone', ExtendedRights: ['GenericAll'] });
    assert.match(badRight.error!.message, /The extended right "GenericAll" isn't one a Receive connector grants/);
    const fromGroup = await api.invoke('Remove-ADPermission', { Identity: 'Relay', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Submit'] });
    assert.equal(fromGroup.error?.code, 'ICX_PERMISSION_FROM_GROUP');
    assert.equal((await api.ok('Get-ADPermission', { Identity: 'Relay' })).length, 5, 'refusals changed nothing');

    await api.ok('Remove-ADPermission', { Identity: 'Relay', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });
    assert.equal((await api.ok('Get-ADPermission', { Identity: 'Relay' })).length, 4);
    const again = await api.invoke('Remove-ADPermission', { Identity: 'Relay', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });
    assert.equal(again.error?.code, 'ICX_OBJECT_NOT_FOUND');
  });

  it('Organization Management manages accepted domains and permissions; Server Management and view-only administrators may only read domains', async () => {
    const [sm] = await api.ok('New-AdministratorCredential', { Name: 'server-admin', RoleGroup: ['Server Management'] });
    const [vo] = await api.ok('New-AdministratorCredential', { Name: 'viewer', RoleGroup: ['View-Only Organization Management'] });
    const serverAdmin = new AdminApi(ex01.url, sm.Token);
    const viewer = new AdminApi(ex01.url, vo.Token);
    for (const caller of [serverAdmin, viewer]) {
      assert.equal((await caller.invoke('New-AcceptedDomain', { Name: 'X', DomainName: 'x.com' })).error?.code, 'ICX_ACCESS_DENIED');
      assert.equal((await caller.invoke('Add-ADPermission', { Identity: 'Relay', User: 'Everyone', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] })).error?.code, 'ICX_ACCESS_DENIED');
    }
    assert.equal((await viewer.ok('Get-AcceptedDomain')).length, 2);
  });
});
