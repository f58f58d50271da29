// New/Get/Set/Remove-MailUser through the admin API of a real server process:
// output like Exchange's, -WhatIf, error codes, the Recipient Management role
// group, and the password never stored or audited in clear.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminApi, secure, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const PASSWORD = 'Cl3ar-Text-Never-Stored';

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if ((await fs.promises.readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}

describe('mail users through the admin API', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let api: AdminApi;

  before(async () => {
    dataDir = await tempDir('mailuser');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    api = new AdminApi(ex01.url, ex01.token);
  });

  after(async () => {
    await ex01?.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  it('New-MailUser creates a user shaped like Exchange\'s MailUser; Get-MailUser finds it by name, alias, UPN or address', async () => {
    const [created] = await api.ok('New-MailUser', { Name: 'Ed Meadows', UserPrincipalName: 'ed@contoso.com', ExternalEmailAddress: 'SMTP:ed@fabrikam.com', Password: secure(PASSWORD) });
    assert.equal(created.Name, 'Ed Meadows');
    assert.equal(created.Alias, 'ed');
    assert.equal(created.UserPrincipalName, 'ed@contoso.com');
    assert.equal(created.PrimarySmtpAddress, 'ed@contoso.com');
    assert.equal(created.ExternalEmailAddress, 'SMTP:ed@fabrikam.com');
    assert.deepEqual(created.EmailAddresses, ['SMTP:ed@contoso.com']);
    assert.equal(created.RecipientTypeDetails, 'MailUser');
    assert.equal(created.RecipientType, 'MailUser');
    assert.ok(!('PasswordHash' in created) && !JSON.stringify(created).includes('scrypt'), 'the hash is not shown');
    for (const id of ['Ed Meadows', 'ED', 'ED@CONTOSO.COM', created.Guid]) {
      const [found] = await api.ok('Get-MailUser', { Identity: id });
      assert.equal(found.Guid, created.Guid, id);
    }
    const missing = await api.invoke('Get-MailUser', { Identity: 'nobody' });
    assert.equal(missing.error?.code, 'ICX_OBJECT_NOT_FOUND');
  });

  it('refuses a duplicate name or UPN, an address another user has, a weak or empty password, a malformed address', async () => {
    const base = { Name: 'Fay', UserPrincipalName: 'fay@contoso.com', ExternalEmailAddress: 'fay@fabrikam.com', Password: secure(PASSWORD) };
    const cases: Array<[Record<string, any>, string, RegExp]> = [
      [{ ...base, Name: 'ed meadows' }, 'ICX_OBJECT_EXISTS', /The name "ed meadows" is already used/],
      [{ ...base, UserPrincipalName: 'Ed@Contoso.com' }, 'ICX_OBJECT_EXISTS', /The user principal name "Ed@Contoso.com" is already used/],
      [{ ...base, PrimarySmtpAddress: 'ed@contoso.com' }, 'ICX_ADDRESS_IN_USE', /already being used .* of "Ed Meadows"/],
      [{ ...base, Password: secure('') }, 'ICX_PASSWORD_WEAK', /empty/],
      [{ ...base, Password: secure('password') }, 'ICX_PASSWORD_WEAK', /three of these groups/],
      [{ ...base, Password: secure('Ab1!') }, 'ICX_PASSWORD_WEAK', /at least 8/],
      [{ ...base, UserPrincipalName: 'not an address' }, 'ICX_PARAM_INVALID', /isn't correct/],
      [{ ...base, Password: PASSWORD }, 'ICX_PARAM_CONVERSION', /SecureString/],
    ];
    for (const [params, code, message] of cases) {
      const r = await api.invoke('New-MailUser', params);
      assert.equal(r.error?.code, code, JSON.stringify(params) + ' ' + r.error?.message);
      assert.match(r.error!.message, message);
    }
    assert.deepEqual((await api.ok('Get-MailUser')).map((u) => u.Name), ['Ed Meadows'], 'nothing was created');
  });

  it('-WhatIf changes nothing; Set-MailUser changes the password hash and addresses; Remove-MailUser asks first', async () => {
    const w = await api.invoke('New-MailUser', { Name: 'Gus', UserPrincipalName: 'gus@contoso.com', ExternalEmailAddress: 'gus@fabrikam.com', Password: secure(PASSWORD) }, { whatIf: true });
    assert.ok(w.ok);
    assert.deepEqual(w.whatIf, ['What if: Creating mail user "Gus" with user principal name "gus@contoso.com".']);
    assert.equal((await api.invoke('Get-MailUser', { Identity: 'Gus' })).error?.code, 'ICX_OBJECT_NOT_FOUND');

    await api.ok('Set-MailUser', { Identity: 'ed@contoso.com', PrimarySmtpAddress: 'edward@contoso.com', ExternalEmailAddress: 'edward@fabrikam.com', Password: secure('An0ther-Secret') });
    const [ed] = await api.ok('Get-MailUser', { Identity: 'Ed Meadows' });
    assert.equal(ed.PrimarySmtpAddress, 'edward@contoso.com');
    assert.deepEqual(ed.EmailAddresses, ['SMTP:edward@contoso.com', 'smtp:ed@contoso.com']);
    assert.equal(ed.ExternalEmailAddress, 'SMTP:edward@fabrikam.com');
    assert.equal((await api.invoke('Set-MailUser', { Identity: 'Ed Meadows', Password: secure('short') })).error?.code, 'ICX_PASSWORD_WEAK');

    const rw = await api.invoke('Remove-MailUser', { Identity: 'Ed Meadows' }, { whatIf: true });
    assert.deepEqual(rw.whatIf, ['What if: Removing the mail user "Ed Meadows" will remove the user object.']);
    const prompt = await api.invoke('Remove-MailUser', { Identity: 'Ed Meadows' }, {});
    assert.equal(prompt.error?.code, 'ICX_CONFIRMATION_REQUIRED', 'impact High asks first');
    assert.equal((await api.ok('Get-MailUser')).length, 1);
    await api.ok('Remove-MailUser', { Identity: 'Ed Meadows' });
    assert.deepEqual(await api.ok('Get-MailUser'), []);
  });

  it('the Recipient Management role group manages mail users and nothing else; View-Only reads them', async () => {
    const [rm] = await api.ok('New-AdministratorCredential', { Name: 'helpdesk', RoleGroup: ['Recipient Management'] });
    const [vo] = await api.ok('New-AdministratorCredential', { Name: 'auditor', RoleGroup: ['View-Only Organization Management'] });
    const helpdesk = new AdminApi(ex01.url, rm.Token);
    const auditor = new AdminApi(ex01.url, vo.Token);
    await helpdesk.ok('New-MailUser', { Name: 'Hal', UserPrincipalName: 'hal@contoso.com', ExternalEmailAddress: 'hal@fabrikam.com', Password: secure(PASSWORD) });
    assert.equal((await helpdesk.invoke('New-SendConnector', { Name: 'X', AddressSpaces: ['*'] })).error?.code, 'ICX_ACCESS_DENIED');
    assert.equal((await auditor.ok('Get-MailUser', { Identity: 'Hal' }))[0].Name, 'Hal');
    const denied = await auditor.invoke('Set-MailUser', { Identity: 'Hal', DisplayName: 'x' });
    assert.match(denied.error!.message, /"Mail Recipients" role/);
  });

  it('the password is in no file of the data folder and the audit log shows it as ******', async () => {
    const audit = await api.ok('Search-AdminAuditLog', { Cmdlets: ['New-MailUser', 'Set-MailUser'] });
    assert.ok(audit.length >= 3);
    for (const e of audit) if ('Password' in e.CmdletParameters) assert.equal(e.CmdletParameters.Password, '******');
    assert.deepEqual(await filesContaining(dataDir, PASSWORD), []);
    assert.deepEqual(await filesContaining(dataDir, 'An0ther-Secret'), []);
  });

  it('Get-Help and the command list come from the declaration', async () => {
    const res = await fetch(`${ex01.url}/api/v1/cmdlets`, { headers: { authorization: `Bearer ${ex01.token}` } });
    const described = (await res.json()) as { cmdlets: Array<{ name: string; role: string; parameters: Array<{ name: string; type: string; mandatory?: unknown }> }> };
    const n = described.cmdlets.find((c) => c.name === 'New-MailUser')!;
    assert.equal(n.role, 'Mail Recipient Creation');
    assert.equal(n.parameters.find((p) => p.name === 'Password')?.type, 'SecureString');
    assert.deepEqual(described.cmdlets.filter((c) => c.name.endsWith('-MailUser')).map((c) => c.name).sort(), ['Get-MailUser', 'New-MailUser', 'Remove-MailUser', 'Set-MailUser']);
  });
});
