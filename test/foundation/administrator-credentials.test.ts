// Administrator credentials that can expire and be revoked on every server at
// once, and an admin API that answers malformed requests with 400 and keeps
// strangers out of the audit log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminApi, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

describe('administrator credentials', () => {
  let ex01: ServerProcess;
  let ex02: ServerProcess;
  let api: AdminApi;
  before(async () => {
    const dataDir = await tempDir('admin-credentials');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
    api = new AdminApi(ex01.url, ex01.token);
  });
  after(async () => {
    await ex02?.stop();
    await ex01?.stop();
  });

  it('a removed credential is refused by every server from the next request, its admin center sessions included', async () => {
    const [cred] = await api.ok('New-AdministratorCredential', { Name: 'contractor', RoleGroup: ['Organization Management'] });
    const on01 = new AdminApi(ex01.url, cred.Token);
    const on02 = new AdminApi(ex02.url, cred.Token);
    assert.equal((await on02.invoke('Get-SendConnector')).status, 200);
    const signIn = await fetch(`${ex02.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: cred.Token }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const session = () => fetch(`${ex02.url}/api/v1/session`, { headers: { cookie } });
    assert.equal((await session()).status, 200);

    await api.ok('Remove-AdministratorCredential', { Identity: 'contractor' });
    assert.equal((await on01.invoke('Get-SendConnector')).status, 401);
    assert.equal((await on02.invoke('Get-SendConnector')).status, 401, 'the other server refuses it at once: it reads the shared directory');
    assert.equal((await session()).status, 401, 'the admin center session ends with its credential');
    assert.deepEqual((await api.ok('Get-AdministratorCredential')).map((a) => a.Name), ['Administrator']);
  });

  it('an expired credential is refused; expiry and role changes are shown and audited', async () => {
    const [cred] = await api.ok('New-AdministratorCredential', { Name: 'temp', RoleGroup: ['View-Only Organization Management'], ExpirationTime: new Date(Date.now() + 3_600_000).toISOString() });
    const temp = new AdminApi(ex02.url, cred.Token);
    assert.equal((await temp.invoke('Get-SendConnector')).status, 200);
    const [shown] = await api.ok('Get-AdministratorCredential', { Identity: 'temp' });
    assert.ok(shown.ExpirationTime, 'Get-AdministratorCredential shows the expiry');
    assert.equal(shown.Token, null, 'never the token');

    await api.ok('Set-AdministratorCredential', { Identity: 'temp', ExpirationTime: new Date(Date.now() - 1000).toISOString() });
    assert.equal((await temp.invoke('Get-SendConnector')).status, 401);
    const audit = await api.ok('Search-AdminAuditLog', { Cmdlets: ['Set-AdministratorCredential'] });
    assert.ok(audit.some((e) => e.ObjectModified === 'temp' && e.Succeeded === true));
    await api.ok('Remove-AdministratorCredential', { Identity: 'temp' });
  });

  it('refuses what would leave nobody in Organization Management, and a past expiry for a new credential', async () => {
    for (const [cmdlet, params] of [
      ['Remove-AdministratorCredential', { Identity: 'Administrator' }],
      ['Set-AdministratorCredential', { Identity: 'Administrator', RoleGroup: ['View-Only Organization Management'] }],
      ['Set-AdministratorCredential', { Identity: 'Administrator', ExpirationTime: '2020-01-01T00:00:00Z' }],
    ] as const) {
      const r = await api.invoke(cmdlet, params);
      assert.equal(r.error?.code, 'ICX_LAST_ORGANIZATION_ADMIN', cmdlet);
    }
    assert.equal((await api.invoke('Get-SendConnector')).status, 200, 'the credential still works');
    const past = await api.invoke('New-AdministratorCredential', { Name: 'late', RoleGroup: ['Organization Management'], ExpirationTime: '2020-01-01T00:00:00Z' });
    assert.equal(past.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(past.error?.parameter, 'ExpirationTime');
    const missing = await api.invoke('Remove-AdministratorCredential', { Identity: 'nobody-of-that-name' });
    assert.equal(missing.error?.code, 'ICX_OBJECT_NOT_FOUND');
  });

  it('malformed request bodies are 400 ICX_REQUEST_INVALID, never 500', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${ex01.url}/api/v1/cmdlets/Get-SendConnector`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${ex01.token}` }, body });
    const deep = '{"parameters":{"Identity":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}}';
    for (const body of ['{"positional":{}}', '{"parameters":[]}', '{"parameters":"x"}', '{"whatIf":"yes"}', '{"answers":{"a":1}}', '{"unknown":1}', '[]', '"text"', '{"parameters":', deep]) {
      const res = await post(body);
      const json = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 400, `${body.slice(0, 40)}: ${json.error?.message}`);
      assert.equal(json.error.code, 'ICX_REQUEST_INVALID', body.slice(0, 40));
    }
    assert.equal((await post('<xml/>', 'application/xml')).status, 415);
  });

  it('unauthenticated calls write nothing to the audit log, whatever cmdlet name they invent', async () => {
    const before = (await api.ok('Search-AdminAuditLog')).length;
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => fetch(`${ex01.url}/api/v1/cmdlets/Invented-Name${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => assert.equal(r.status, 401))),
    );
    assert.equal((await api.ok('Search-AdminAuditLog')).length, before);
  });
});

describe('audit rows stay small', () => {
  it('cuts long values, long lists and the whole row', async () => {
    const { boundedForAudit } = await import('../../src/cmdlets/framework/runner.js');
    const row = boundedForAudit({ Comment: 'x'.repeat(100_000), AddressSpaces: Array.from({ length: 10_000 }, (_, i) => `d${i}.example`), Deep: { a: { b: { c: { d: { e: 1 } } } } } });
    assert.ok(JSON.stringify(row).length < 20 * 1024, 'one row stays under 20 KB');
    const many = boundedForAudit(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`P${i}`, 'y'.repeat(1000)])));
    assert.ok(JSON.stringify(many).length < 20 * 1024);
    assert.deepEqual(boundedForAudit({ Name: 'Out', Port: 25 }), { Name: 'Out', Port: 25 }, 'ordinary values are kept as they are');
  });
});
