import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { KNOWN_SCHEMA_VERSION } from '../../src/directory/migrations.js';
import { assertOneLineFailure, runCli } from '../support/cli.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { AdminApi, freeTcpPort, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const cli = (args: string[], input?: string) => runCli(args, { input });
const refused = assertOneLineFailure;

/** An address of this host other than loopback: the admin API there is served over HTTPS, as on a real network. */
function hostAddress(): string {
  const found = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  assert.ok(found, 'this test needs an IPv4 address other than loopback');
  return found.address;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe('prepare-directory and join: a second host from a running server, nothing secret in clear', () => {
  let pgi: PostgresInstance;
  let admin: pg.Client;
  let directoryUrl: string;
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];

  before(async () => {
    pgi = await startPostgres();
    admin = new pg.Client({ connectionString: pgi.url('postgres') });
    await admin.connect();
    directoryUrl = pgi.url('interchange').replace('postgres@', 'interchange@');
  });

  after(async () => {
    for (const s of servers) await s.stop();
    await admin?.end();
    await pgi?.stop();
    for (const d of dirs) await fs.promises.rm(d, { recursive: true, force: true });
  });

  const roles = async () => (await admin.query<{ rolname: string }>("select rolname from pg_roles where rolname not like 'pg\\_%' order by 1")).rows.map((r) => r.rolname);
  const databases = async () => (await admin.query<{ datname: string }>('select datname from pg_database order by 1')).rows.map((r) => r.datname);

  it('prepare-directory refuses bad input with one line and changes nothing', async () => {
    const rolesBefore = await roles();
    const dbsBefore = await databases();
    refused(cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', 'mysql://interchange@127.0.0.1/interchange']), /scheme 'mysql:' is not supported/);
    refused(cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', directoryUrl.replace(/\/interchange$/, '/')]), /names no database/);
    const closed = await freeTcpPort();
    refused(cli(['prepare-directory', '--admin-directory', `postgres://postgres@127.0.0.1:${closed}/postgres`, '--directory', `postgres://interchange@127.0.0.1:${closed}/interchange`]), /cannot be reached.*ECONNREFUSED.*Nothing was changed/);
    // A role that may log in but not create roles.
    await admin.query('create role weak login');
    refused(cli(['prepare-directory', '--admin-directory', pgi.url('postgres').replace('postgres@', 'weak@'), '--directory', directoryUrl]), /role weak of --admin-directory may not create roles.*Nothing was changed/);
    await admin.query('drop role weak');
    assert.deepEqual(await roles(), rolesBefore);
    assert.deepEqual(await databases(), dbsBefore);
  });

  it('prepare-directory creates the role, its database and the schema; a second run is a no-op', async () => {
    const host1 = await tempDir('join-host1');
    dirs.push(host1);
    const first = cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', directoryUrl, '--data', host1]);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /Created role interchange \(LOGIN, NOSUPERUSER/);
    assert.match(first.stdout, /Created database interchange, owned by interchange/);
    assert.match(first.stdout, /applied 0001_initial, .*0005_remote_domains as interchange/, 'every migration, the newest last');
    assert.doesNotMatch(first.stdout, /Password of role/, 'with --data the password is kept, not printed');

    const role = (await admin.query('select rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolpassword is not null as has_password from pg_authid where rolname = $1', ['interchange'])).rows[0];
    assert.deepEqual(role, { rolsuper: false, rolcanlogin: true, rolcreaterole: false, rolcreatedb: false, has_password: true });
    assert.equal((await admin.query("select pg_get_userbyid(datdba) as o from pg_database where datname = 'interchange'")).rows[0].o, 'interchange');
    const asRole = new pg.Client({ connectionString: directoryUrl });
    await asRole.connect();
    try {
      const owners = (await asRole.query("select distinct tableowner from pg_tables where schemaname = 'public'")).rows.map((r) => r.tableowner);
      assert.deepEqual(owners, ['interchange'], 'the servers\' role owns the schema it will migrate');
    } finally {
      await asRole.end();
    }
    assert.equal(fs.readFileSync(path.join(host1, 'directory-url'), 'utf8').trim(), directoryUrl);
    assert.equal(modeOf(path.join(host1, 'directory-password')), 0o600);
    assert.ok(fs.readFileSync(path.join(host1, 'directory-password'), 'utf8').length >= 30, 'a generated password');

    const password = fs.readFileSync(path.join(host1, 'directory-password'), 'utf8');
    const again = cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', directoryUrl, '--data', host1]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.equal(fs.readFileSync(path.join(host1, 'directory-password'), 'utf8'), password, 'a second run keeps the password it kept');
    // A folder that uses another directory is not pointed at this one.
    refused(cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', directoryUrl.replace(/\/interchange$/, '/other'), '--data', host1]), /already uses the directory .*\/interchange: .*Nothing was changed/);
    assert.ok(!(await databases()).includes('other'));
    assert.match(again.stdout, new RegExp(`is prepared already \\(role interchange, database interchange, schema version ${KNOWN_SCHEMA_VERSION}\\): nothing was changed`));
    assert.doesNotMatch(again.stdout, /Created|Password/);

    // Names come from the URL: quoted as identifiers, whatever they hold.
    const odd = pgi.url('postgres').replace('postgres@', 'o%27brien%22x@').replace(/\/postgres$/, '/odd%22db');
    const made = cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', odd]);
    assert.equal(made.status, 0, made.stdout + made.stderr);
    assert.match(made.stdout, /Password of role o'brien"x \(shown once/);
    assert.equal((await admin.query('select pg_get_userbyid(datdba) as o from pg_database where datname = $1', ['odd"db'])).rows[0]?.o, 'o\'brien"x');

    // A database administrator who is no superuser, only CREATEROLE and CREATEDB, is enough, and keeps no membership in the new role.
    await admin.query('create role dba login createrole createdb');
    const byDba = cli(['prepare-directory', '--admin-directory', pgi.url('postgres').replace('postgres@', 'dba@'), '--directory', pgi.url('postgres').replace('postgres@', 'ops@').replace(/\/postgres$/, '/opsdb')]);
    assert.equal(byDba.status, 0, byDba.stdout + byDba.stderr);
    assert.equal((await admin.query("select pg_get_userbyid(datdba) as o from pg_database where datname = 'opsdb'")).rows[0]?.o, 'ops');
    assert.equal((await admin.query("select pg_has_role('dba', 'ops', 'MEMBER') as m")).rows[0].m, false);
  });

  it('join fetches the organization over HTTPS pinned to the thumbprint; EX02 serves from it', async () => {
    const host1 = dirs[0];
    const address = hostAddress();
    // The URL without its password: serve takes the password prepare-directory kept in the data folder.
    const ex01 = await startServerProcess({ dataDir: host1, serverName: 'EX01', extraArgs: ['--directory', directoryUrl, '--admin-host', address] });
    servers.push(ex01);
    assert.match(ex01.url, new RegExp(`^https://${address.replace(/\./g, '\\.')}:`));
    // The thumbprint as the administrator reads it on EX01.
    const listed = cli(['shell', '--data', host1, '-Command', 'Get-ExchangeCertificate -Server EX01 | Format-List Thumbprint,Services']);
    assert.equal(listed.status, 0, listed.stdout + listed.stderr);
    const iis = listed.stdout.split(/\n\s*\n/).find((block) => /Services\s*:.*IIS/.test(block));
    const thumbprint = /Thumbprint\s*:\s*([0-9A-F]{40})/.exec(iis ?? '')?.[1];
    assert.ok(thumbprint, listed.stdout);
    const tokenFile = path.join(host1, 'admin-token');
    const whatIf = cli(['shell', '--data', host1, '-Command', 'Export-OrganizationJoinData -Server EX09 -WhatIf']);
    assert.equal(whatIf.status, 0, whatIf.stdout + whatIf.stderr);
    assert.match(whatIf.stdout, /What if: Handing out the organization's key and directory credentials for server EX09\./);
    assert.doesNotMatch(whatIf.stdout, /KeyVaultKey|OrganizationGuid/);
    // A view-only administrator may run every cmdlet that changes nothing, but not this one.
    const viewer = cli(['shell', '--data', host1, '-Command', "New-AdministratorCredential -Name viewer -RoleGroup 'View-Only Organization Management' | Format-List Token"]);
    const viewerToken = /Token\s*:\s*(\S+)/.exec(viewer.stdout)?.[1];
    assert.ok(viewerToken, viewer.stdout + viewer.stderr);

    const host2 = await tempDir('join-host2');
    dirs.push(host2);
    const wrong = 'AB'.repeat(20);
    refused(cli(['join', '--data', host2, '--server', 'EX02', '--from', ex01.url, '--thumbprint', wrong, '--token-file', tokenFile]), new RegExp(`presented the certificate with thumbprint ${thumbprint}, not the expected ${wrong}: nothing was sent`));
    assert.deepEqual(fs.readdirSync(host2), [], 'a refused join leaves the folder empty');
    refused(cli(['join', '--data', host2, '--server', 'EX02', '--from', ex01.url, '--thumbprint', thumbprint], 'icx_not-a-token\n'), /refused the administrator token/);
    assert.deepEqual(fs.readdirSync(host2), []);
    refused(cli(['join', '--data', host2, '--server', 'EX02', '--from', ex01.url, '--thumbprint', thumbprint], viewerToken), /isn't assigned to any management roles that are included in the "Organization Configuration" role/);
    assert.deepEqual(fs.readdirSync(host2), []);
    refused(cli(['join', '--data', host2, '--server', 'EX02', '--from', ex01.url.replace('https:', 'http:'), '--thumbprint', thumbprint, '--token-file', tokenFile]), /is not HTTPS/);
    // A folder of an organization is refused before anything is fetched: here from an address where nothing answers.
    refused(cli(['join', '--data', host1, '--server', 'EX02', '--from', `https://127.0.0.1:${await freeTcpPort()}`, '--thumbprint', thumbprint, '--token-file', tokenFile]), /already belongs to organization [0-9a-f-]{36} .*nothing was fetched/);

    // The right thumbprint, the token on standard input (never in argv).
    const joined = cli(['join', '--data', host2, '--server', 'EX02', '--from', ex01.url, '--thumbprint', thumbprint.toLowerCase().replace(/(..)(?!$)/g, '$1:')], fs.readFileSync(tokenFile, 'utf8'));
    assert.equal(joined.status, 0, joined.stdout + joined.stderr);
    const serveLine = /^\s+node \S+ serve (.*)$/m.exec(joined.stdout)?.[1];
    assert.equal(serveLine, `--data ${host2} --server EX02 --directory ${directoryUrl}`);
    assert.deepEqual(fs.readdirSync(host2).sort(), ['admin-token', 'directory-password', 'directory-url', 'keyvault.key', 'organization']);
    for (const f of fs.readdirSync(host2)) assert.equal(modeOf(path.join(host2, f)), 0o600, f);
    assert.ok(fs.readFileSync(path.join(host1, 'keyvault.key')).equals(fs.readFileSync(path.join(host2, 'keyvault.key'))), 'the same key, byte for byte');
    assert.equal(fs.readFileSync(path.join(host2, 'organization'), 'utf8'), fs.readFileSync(path.join(host1, 'organization'), 'utf8'));
    assert.equal(fs.readFileSync(path.join(host2, 'directory-password'), 'utf8'), fs.readFileSync(path.join(host1, 'directory-password'), 'utf8'));

    // EX02 on plain HTTP off loopback: its shell works, and the key is not handed out there.
    const ex02 = await startServerProcess({ dataDir: host2, serverName: 'EX02', extraArgs: ['--directory', directoryUrl, '--admin-host', address, '--insecure-admin-http'] });
    servers.push(ex02);
    assert.doesNotMatch(ex02.output(), /Organization created/);
    const shown = cli(['shell', '--data', host2, '--server', 'EX02', '-Command', 'Get-ExchangeServer | Format-List Name']);
    assert.equal(shown.status, 0, shown.stdout + shown.stderr);
    assert.deepEqual([...shown.stdout.matchAll(/Name\s*:\s*(\S+)/g)].map((m) => m[1]), ['EX01', 'EX02']);

    const key = fs.readFileSync(path.join(host1, 'keyvault.key')).toString('base64');
    const plain = await new AdminApi(ex02.url, ex02.token).invoke('Export-OrganizationJoinData', { Server: 'EX03' });
    assert.equal(ex02.url.startsWith(`http://${address}:`), true);
    assert.equal(plain.status, 403);
    assert.equal(plain.error?.code, 'ICX_CHANNEL_NOT_SECURE');
    assert.doesNotMatch(JSON.stringify(plain), new RegExp(key.replace(/[+/=]/g, '\\$&')));

    // The audit log has both calls, with the server named and without the secret.
    const audit = cli(['shell', '--data', host2, '--server', 'EX01', '-Command', 'Search-AdminAuditLog -Cmdlets Export-OrganizationJoinData | Format-List Succeeded,ObjectModified,OriginatingServer,Error']);
    assert.equal(audit.status, 0, audit.stdout + audit.stderr);
    assert.match(audit.stdout, /Succeeded\s*:\s*True\s+ObjectModified\s*:\s*EX02\s+OriginatingServer\s*:\s*EX01/);
    assert.match(audit.stdout, /Succeeded\s*:\s*False[\s\S]*OriginatingServer\s*:\s*EX02\s+Error\s*:\s*ICX_CHANNEL_NOT_SECURE/);
    const rows = await new pg.Client({ connectionString: directoryUrl });
    await rows.connect();
    try {
      const text = JSON.stringify((await rows.query("select * from audit_log where cmdlet_name = 'Export-OrganizationJoinData'")).rows);
      assert.ok(text.length > 0 && !text.includes(key), 'no audit row holds the key');
    } finally {
      await rows.end();
    }

    const again = cli(['prepare-directory', '--admin-directory', pgi.url('postgres'), '--directory', directoryUrl]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /nothing was changed/);
  });
});
