// Hosts sharing one PostgreSQL directory: a mistyped URL, a missing or wrong keyvault.key, or another
// organization's data folder stops `serve` with one line before the data folder or the directory changes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openDirectory } from '../../src/directory/open-directory.js';
import { assertOneLineFailure, runCli } from '../support/cli.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { AdminApi, freeTcpPort, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const cli = (args: string[]) => runCli(args);

async function serve(dataDir: string, server: string, directory?: string) {
  const args = ['serve', '--data', dataDir, '--server', server, '--smtp-port', String(await freeTcpPort()), '--admin-port', String(await freeTcpPort())];
  return cli(directory === undefined ? args : [...args, '--directory', directory]);
}

/** Every file of a folder with a hash of its content: what "untouched" means. */
function folderState(dir: string): Record<string, string> {
  const state: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else state[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return state;
}

/** Every row of every table of a PostgreSQL directory. */
/**
 * Every table's rows, to show a refused start changed nothing. A heartbeat's lastSeen is left out: a server
 * that is running rewrites its own every 15 s, which a slow machine lets fall between two readings.
 */
async function directoryState(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (await client.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by tablename")).rows.map((r) => r.tablename);
    const dump: Record<string, unknown[]> = {};
    for (const t of tables) dump[t] = (await client.query(`select * from "${t}" order by 1`)).rows;
    dump.server_heartbeats = dump.server_heartbeats?.map((r) => {
      const row = r as { data: string | Record<string, unknown> };
      const { lastSeen: _lastSeen, ...data } = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
      return { ...row, data };
    });
    return JSON.stringify(dump);
  } finally {
    await client.end();
  }
}

async function organizationIn(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ guid: string }>('select guid from organization')).rows[0].guid;
  } finally {
    await client.end();
  }
}

describe('hosts joining an organization in a shared PostgreSQL directory', () => {
  let postgres: PostgresInstance;
  let urlA: string;
  let urlB: string;
  let host1: string;
  let host2: string;
  let ex01: ServerProcess;
  const folders: string[] = [];
  const running: ServerProcess[] = [];

  /** A new host's data folder with what the administrator copied from host1. */
  async function preparedHost(prefix: string, copies: string[]): Promise<string> {
    const dir = await tempDir(prefix);
    folders.push(dir);
    for (const f of copies) await fs.promises.copyFile(path.join(host1, f), path.join(dir, f));
    return dir;
  }

  before(async () => {
    postgres = await startPostgres();
    // The test cluster trusts local connections, so a password in the URL is accepted and unchecked: enough
    // to see where Interchange keeps it.
    urlA = (await postgres.createDatabase('org_a')).replace('postgres://postgres@', 'postgres://postgres:s3cr%40t@');
    urlB = await postgres.createDatabase('org_b');
    host1 = await tempDir('join-host1');
    folders.push(host1);
    ex01 = await startServerProcess({ dataDir: host1, serverName: 'EX01', extraArgs: ['--directory', urlA] });
    running.push(ex01);
    host2 = await preparedHost('join-host2', ['keyvault.key', 'admin-token']);
  });

  after(async () => {
    for (const s of running) await s.stop();
    await postgres?.stop();
    for (const d of folders) await fs.promises.rm(d, { recursive: true, force: true });
  });

  it('a new organization records its id, and the directory it uses without the password (which goes to a 0600 file)', async () => {
    const id = fs.readFileSync(path.join(host1, 'organization'), 'utf8').trim();
    assert.equal(id, await organizationIn(urlA));
    assert.equal(fs.readFileSync(path.join(host1, 'directory-url'), 'utf8'), `${urlA.replace(':s3cr%40t@', '@')}\n`);
    assert.equal(fs.readFileSync(path.join(host1, 'directory-password'), 'utf8'), 's3cr@t');
    assert.equal(fs.statSync(path.join(host1, 'directory-password')).mode & 0o777, 0o600);
    for (const f of fs.readdirSync(host1).filter((n) => !['directory-password', 'keyvault.key'].includes(n))) {
      if (fs.statSync(path.join(host1, f)).isFile()) assert.doesNotMatch(fs.readFileSync(path.join(host1, f), 'utf8'), /s3cr/, f);
    }
  });

  it('a mistyped or forgotten --directory on a prepared host is one line, and the folder keeps its copied admin-token', async () => {
    const before = folderState(host2);
    const token = fs.readFileSync(path.join(host2, 'admin-token'), 'utf8');
    const mistyped = urlA.replace('postgres://', 'postgres:/');
    for (const [directory, problem] of [
      [mistyped, /^The directory URL 'postgres:\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/org_a' is not accepted: 'postgres:' must be followed by '\/\/' and a host\. Use postgres:\/\/user@host/],
      ['mysql://127.0.0.1/org_a', /^The directory URL 'mysql:\/\/127\.0\.0\.1\/org_a' is not accepted: the scheme 'mysql:' is not supported\./],
      [host1, /is not accepted: it has no scheme \(a path is not a directory URL\)\./],
      [undefined, /^the embedded directory .*directory\.sqlite holds no organization, but the data folder .* already has a keyvault\.key, as a host joining an organization does: pass the organization's --directory postgres:\/\/…; a new organization starts in an empty data folder\.$/],
    ] as Array<[string | undefined, RegExp]>) {
      const r = await serve(host2, 'EX02', directory);
      assertOneLineFailure(r, problem);
      assert.doesNotMatch(r.stderr, /s3cr/);
      assert.deepEqual(folderState(host2), before, `the data folder changed (--directory ${directory})`);
      assert.equal(fs.readFileSync(path.join(host2, 'admin-token'), 'utf8'), token);
    }
  });

  it('a key that is not the organization\'s is refused, and neither the directory nor the folder changes', async () => {
    const host = await preparedHost('join-wrongkey', ['admin-token']);
    fs.writeFileSync(path.join(host, 'keyvault.key'), crypto.randomBytes(32), { mode: 0o600 });
    const [folder, directory] = [folderState(host), await directoryState(urlA)];
    assertOneLineFailure(await serve(host, 'EX03', urlA), new RegExp(`^keyvault\\.key in ${host} is not this organization's key: copy it from a server of the organization\\.$`));
    assert.deepEqual(folderState(host), folder);
    assert.equal(await directoryState(urlA), directory, 'the directory changed');
  });

  it('a joining host without keyvault.key is refused and no key is made', async () => {
    const host = await preparedHost('join-nokey', ['admin-token']);
    const [folder, directory] = [folderState(host), await directoryState(urlA)];
    const r = await serve(host, 'EX03', urlA);
    assertOneLineFailure(r, new RegExp(`^There is no keyvault\\.key in ${host}, and the directory postgres://postgres@127\\.0\\.0\\.1:\\d+/org_a already holds organization [0-9a-f-]{36}: copy keyvault\\.key \\(and admin-token\\) from a server of the organization into ${host}\\.$`));
    assert.ok(!fs.existsSync(path.join(host, 'keyvault.key')), 'a key was made');
    assert.deepEqual(folderState(host), folder);
    assert.equal(await directoryState(urlA), directory, 'the directory changed');
  });

  it('the joining host with the copied key starts, adopts the organization, and its shell needs no --directory', async () => {
    const ex02 = await startServerProcess({ dataDir: host2, serverName: 'EX02', extraArgs: ['--directory', urlA] });
    running.push(ex02);
    assert.equal(fs.readFileSync(path.join(host2, 'organization'), 'utf8'), fs.readFileSync(path.join(host1, 'organization'), 'utf8'));
    assert.deepEqual((await new AdminApi(ex02.url, ex02.token).ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01', 'EX02']);
    assert.ok(!fs.existsSync(path.join(host2, 'directory.sqlite')));

    const shell = cli(['shell', '--data', host2, '--server', 'EX02', '-Command', 'Get-ExchangeServer | Format-List Name']);
    assert.equal(shell.status, 0, shell.stderr);
    assert.match(shell.stdout, /Name : EX01/);
    assert.match(shell.stdout, /Name : EX02/);
    await ex02.stop();
  });

  it("a data folder of organization A at organization B's directory is refused, and B's directory does not change", async () => {
    const hostB = await tempDir('join-org-b');
    folders.push(hostB);
    const exB = await startServerProcess({ dataDir: hostB, serverName: 'EX01', extraArgs: ['--directory', urlB] });
    await exB.stop();
    const [idA, idB] = [await organizationIn(urlA), await organizationIn(urlB)];
    assert.notEqual(idA, idB);
    const [folder, directory] = [folderState(host2), await directoryState(urlB)];
    const r = await serve(host2, 'EX02', urlB);
    assertOneLineFailure(r, new RegExp(`^The data folder ${host2} belongs to organization ${idA}, not to organization ${idB} of the directory postgres://postgres@127\\.0\\.0\\.1:\\d+/org_b: use the directory of its own organization, or another data folder\\.$`));
    assert.deepEqual(folderState(host2), folder);
    assert.equal(await directoryState(urlB), directory, "B's directory changed");

    // The same folder started without --directory at all (as a service unit names only --data): on the
    // directory it was started with, never a new embedded organization.
    const again = await startServerProcess({ dataDir: host2, serverName: 'EX02' });
    running.push(again);
    assert.deepEqual((await new AdminApi(again.url, again.token).ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01', 'EX02']);
    assert.ok(!fs.existsSync(path.join(host2, 'directory.sqlite')), 'no embedded directory was made');
    await again.stop();
  });
});

describe('an organization in the embedded directory', () => {
  it('starts on a fresh folder, takes a second server, and an organization from before the test secret gets one from the right key', async () => {
    const dataDir = await tempDir('join-embedded');
    try {
      const ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
      const ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
      assert.deepEqual((await new AdminApi(ex02.url, ex02.token).ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01', 'EX02']);
      await ex02.stop();
      await ex01.stop();
      assert.deepEqual(fs.readdirSync(dataDir).filter((f) => !fs.statSync(path.join(dataDir, f)).isDirectory()).sort(), ['admin-token', 'directory.sqlite', 'keyvault.key', 'organization']);

      // As an earlier version left it: no test secret in the directory, no organization record in the folder.
      let directory = await openDirectory({ dataDir });
      const { keyCheck, ...older } = (await directory.getOrganization())!;
      assert.ok(keyCheck, 'a new organization has its test secret');
      await directory.updateOrganization(older);
      await directory.close();
      fs.rmSync(path.join(dataDir, 'organization'));

      // A wrong key cannot open the first server's private key: refused, and no test secret is recorded.
      const key = fs.readFileSync(path.join(dataDir, 'keyvault.key'));
      fs.writeFileSync(path.join(dataDir, 'keyvault.key'), crypto.randomBytes(32));
      assertOneLineFailure(await serve(dataDir, 'EX01'), /^keyvault\.key in .* is not this organization's key: copy it from a server of the organization\.$/);
      directory = await openDirectory({ dataDir });
      assert.equal((await directory.getOrganization())!.keyCheck, undefined);
      await directory.close();

      fs.writeFileSync(path.join(dataDir, 'keyvault.key'), key);
      const again = await startServerProcess({ dataDir, serverName: 'EX01' });
      await again.stop();
      directory = await openDirectory({ dataDir });
      const org = (await directory.getOrganization())!;
      await directory.close();
      assert.ok(org.keyCheck, 'the right key recorded the test secret');
      assert.equal(fs.readFileSync(path.join(dataDir, 'organization'), 'utf8'), `${org.guid}\n`);
    } finally {
      await fs.promises.rm(dataDir, { recursive: true, force: true });
    }
  });
});
