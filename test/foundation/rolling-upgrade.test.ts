// A rolling upgrade with two real installations on one PostgreSQL directory: the built one (version N) and a
// copy of it that reports version N+1 and carries one more schema migration, as the next release would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { AdminApi, CLI, REPO_ROOT, type ServerProcess, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';

let postgres: PostgresInstance | undefined;
const running: ServerProcess[] = [];
const folders: string[] = [];
after(async () => {
  for (const s of running) await s.stop();
  await postgres?.stop();
  for (const d of folders) await fs.promises.rm(d, { recursive: true, force: true });
});

const VERSION_N = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const VERSION_N1 = VERSION_N.replace(/^(\d+)\.(\d+)\.\d+/, (_, major, minor) => `${major}.${Number(minor) + 1}.0`);

/** The next release, installed beside this one: its own package.json version and one more migration. */
async function installNextRelease(): Promise<string> {
  const root = await tempDir('next-release');
  folders.push(root);
  fs.cpSync(path.join(REPO_ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ ...pkg, version: VERSION_N1 }));
  const migrations = path.join(root, 'dist/directory/migrations.js');
  const source = fs.readFileSync(migrations, 'utf8');
  const anchor = "'0004_server_heartbeats': {";
  assert.ok(source.includes(anchor), 'the built migrations have the anchor the next release is added at');
  fs.writeFileSync(
    migrations,
    source.replace(anchor, `'0099_next_release': { async up(db) { await db.schema.createTable('next_release_probe').addColumn('id', 'text').execute(); } },\n        ${anchor}`),
  );
  return path.join(root, 'bin', 'interchange.js');
}

function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', (d) => (s.destroy(), resolve(d.toString())));
    s.once('error', reject);
  });
}

const versions = async (api: AdminApi) => Object.fromEntries((await api.ok('Get-ExchangeServer')).map((s) => [s.Name, `Interchange ${s.InterchangeVersion} ${s.Reachability}`]));

test('servers on versions N and N+1 run side by side during an upgrade; N no longer starts on the schema N+1 migrated, and N+1 does', async () => {
  postgres = await startPostgres();
  const url = await postgres.createDatabase('interchange');
  const nextCli = await installNextRelease();
  const [host1, host2] = [await tempDir('rolling-host1'), await tempDir('rolling-host2')];
  folders.push(host1, host2);
  const directory = ['--directory', url];
  const env = { INTERCHANGE_HEARTBEAT_INTERVAL_MS: '500' };

  const ex01 = await startServerProcess({ dataDir: host1, serverName: 'EX01', env, extraArgs: directory });
  running.push(ex01);
  for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(host1, f), path.join(host2, f));
  const ex02old = await startServerProcess({ dataDir: host2, serverName: 'EX02', env, extraArgs: directory });
  running.push(ex02old);
  const api1 = new AdminApi(ex01.url, ex01.token);
  assert.deepEqual(await versions(api1), { EX01: `Interchange ${VERSION_N} Reachable`, EX02: `Interchange ${VERSION_N} Reachable` });

  // EX02 is upgraded first: N+1 migrates the directory while EX01, on N, keeps running.
  await ex02old.stop();
  const ex02 = await startServerProcess({ dataDir: host2, serverName: 'EX02', env, extraArgs: directory, cli: nextCli });
  running.push(ex02);
  const api2 = new AdminApi(ex02.url, ex02.token);
  for (const api of [api1, api2]) assert.deepEqual(await versions(api), { EX01: `Interchange ${VERSION_N} Reachable`, EX02: `Interchange ${VERSION_N1} Reachable` });
  // Both serve mail and management meanwhile: each greets, and a change made on one is seen by the other.
  assert.match(await banner(ex01.smtpPort), /^220 /);
  assert.match(await banner(ex02.smtpPort), /^220 /);
  await api2.ok('New-SendConnector', { Name: 'Made on N+1', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX01', 'EX02'] });
  assert.equal((await api1.ok('Get-SendConnector', { Identity: 'Made on N+1' })).length, 1);
  await api1.ok('Set-SendConnector', { Identity: 'Made on N+1', Comment: 'changed on N' });
  assert.equal((await api2.ok('Get-SendConnector', { Identity: 'Made on N+1' }))[0].Comment, 'changed on N');

  // EX01 is stopped for its upgrade: version N refuses the newer schema with one line...
  await ex01.stop();
  const refused = spawnSync(process.execPath, [CLI, 'serve', '--data', host1, '--server', 'EX01', '--smtp-port', String(await freeTcpPort()), '--admin-port', String(await freeTcpPort()), ...directory], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn' },
  });
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.trimEnd().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`^The directory postgres://\\S+ has schema version 99 \\(0099_next_release\\), newer than version \\d+ of this Interchange ${VERSION_N.replace(/\./g, '\\.')}: a newer Interchange upgraded it; run that version or a later one\\.\\n$`));
  // ...and N+1 starts it.
  const ex01new = await startServerProcess({ dataDir: host1, serverName: 'EX01', env, extraArgs: directory, cli: nextCli });
  running.push(ex01new);
  assert.deepEqual(await versions(new AdminApi(ex01new.url, ex01new.token)), { EX01: `Interchange ${VERSION_N1} Reachable`, EX02: `Interchange ${VERSION_N1} Reachable` });
  assert.match(await banner(ex01new.smtpPort), /^220 /);
});
