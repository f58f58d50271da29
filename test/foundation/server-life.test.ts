// The life of a server as its process lives it: a binary older than the directory's schema refuses to start.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertOneLineFailure, runCli } from '../support/cli.js';
import { AdminApi, CLI, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const serve = (args: string[]) => runCli(['serve', ...args], { timeoutMs: 30_000 });

function sqlite<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

test('serve on a directory a newer Interchange migrated exits with one line naming both schema versions, and writes nothing to it', async () => {
  const dataDir = await tempDir('life-schema');
  cleanups.push(() => fs.promises.rm(dataDir, { recursive: true, force: true }));
  const first = await startServerProcess({ dataDir, serverName: 'EX01' });
  await first.stop();
  const file = path.join(dataDir, 'directory.sqlite');
  sqlite(file, (db) => db.prepare("insert into interchange_migration (name, applied_at) values ('0099_from_a_newer_interchange', '2030-01-01T00:00:00.000Z')").run());
  const snapshot = () => sqlite(file, (db) => ({ meta: db.prepare('select * from meta').all(), servers: db.prepare('select * from servers').all(), heartbeats: db.prepare('select * from server_heartbeats').all() }));
  const before = snapshot();

  const r = serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', String(await freeTcpPort()), '--admin-port', String(await freeTcpPort())]);
  assertOneLineFailure(r, /^The directory \S+directory\.sqlite has schema version 99 \(0099_from_a_newer_interchange\), newer than version \d+ of this Interchange \d+\.\d+\.\d+: a newer Interchange upgraded it; run that version or a later one\.$/);
  assert.deepEqual(snapshot(), before, 'the directory is as it was');
  assert.ok(!fs.existsSync(path.join(dataDir, 'EX01.lock')), 'no lock left behind');
});

const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a running server records its heartbeat: Get-ExchangeServer shows its own version, when it was last seen, its listeners, and what became of a server killed or stopped', async () => {
  const dataDir = await tempDir('life-heartbeat');
  cleanups.push(() => fs.promises.rm(dataDir, { recursive: true, force: true }));
  const env = { INTERCHANGE_HEARTBEAT_INTERVAL_MS: '300' };
  const ex01 = await startServerProcess({ dataDir, serverName: 'EX01', env });
  cleanups.push(() => ex01.stop());
  const ex02 = await startServerProcess({ dataDir, serverName: 'EX02', env });
  cleanups.push(() => ex02.stop());
  const api = new AdminApi(ex01.url, ex01.token);
  const file = path.join(dataDir, 'directory.sqlite');
  const revision = () => sqlite(file, (db) => (db.prepare("select value from meta where key = 'revision'").get() as { value: number }).value);

  const [first] = await api.ok('Get-ExchangeServer', { Identity: 'EX02' });
  assert.equal(first.InterchangeVersion, PACKAGE_VERSION);
  // What scripts written for Exchange parse: `Version 15.x (Build …)`.
  assert.equal(first.AdminDisplayVersion, 'Version 15.2 (Build 1748.10)');
  assert.equal(first.Site, `${String(first.Fqdn).split('.').slice(1).join('.')}/Configuration/Sites/Default-First-Site-Name`, "Exchange's form of a site's name");
  assert.match(first.Site, /^[a-z0-9.-]+\.[a-z]+\/Configuration\/Sites\/Default-First-Site-Name$/);
  assert.equal(first.Reachability, 'Reachable');
  assert.deepEqual(first.ListenerStatus, [`Default Frontend EX02: [::]:${ex02.smtpPort} Listening`, `Default Frontend EX02: 0.0.0.0:${ex02.smtpPort} Listening`]);
  const seen = Date.parse(first.LastSeen);
  const revisionBefore = revision();
  // Later heartbeats move LastSeen, and never the revision that makes transports reload.
  await until('a later heartbeat of EX02', async () => {
    const [s] = await api.ok('Get-ExchangeServer', { Identity: 'EX02' });
    return Date.parse(s.LastSeen) > seen ? s : undefined;
  });
  assert.equal(revision(), revisionBefore, 'heartbeats are not configuration changes');

  // Killed: it says nothing more, and after three of its intervals it is Unreachable.
  await ex02.stop('SIGKILL');
  const killed = await until('EX02 to go Unreachable', async () => {
    const [s] = await api.ok('Get-ExchangeServer', { Identity: 'EX02' });
    return s.Reachability === 'Unreachable' ? s : undefined;
  });
  assert.equal(killed.InterchangeVersion, PACKAGE_VERSION, 'the version it last ran stays shown');

  // The shell's Format-List shows the same, from the server it is connected to.
  const shell = spawnSync(process.execPath, [CLI, 'shell', '--data', dataDir, '--server', 'EX01', '-Command', 'Get-ExchangeServer | Format-List Name,InterchangeVersion,Reachability'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(shell.status, 0, shell.stderr);
  assert.match(shell.stdout, new RegExp(`Name\\s+: EX01\\s+InterchangeVersion : ${PACKAGE_VERSION.replace(/\./g, '\\.')}\\s+Reachability\\s+: Reachable`));
  assert.match(shell.stdout, /Name\s+: EX02\s+InterchangeVersion : \S+\s+Reachability\s+: Unreachable/);

  // Stopped cleanly: it says so on its way out.
  await ex01.stop();
  const rows = sqlite(file, (db) => db.prepare('select server_key, data from server_heartbeats order by server_key').all() as Array<{ server_key: string; data: string }>);
  assert.deepEqual(rows.map((r) => [r.server_key, JSON.parse(r.data).state]), [['ex01', 'Stopped'], ['ex02', 'Running']]);
});

test('an SMTP port of 0 or any port that is not one is refused at start with one line, before anything is written', async () => {
  const base = await tempDir('life-port');
  cleanups.push(() => fs.promises.rm(base, { recursive: true, force: true }));
  const dataDir = path.join(base, 'data');
  const admin = String(await freeTcpPort());
  assertOneLineFailure(serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', '0', '--admin-port', admin]), /^--smtp-port 0 cannot be used for the Default Frontend Receive connector: give a TCP port from 1 to 65535\.$/);
  assertOneLineFailure(serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', '65536', '--admin-port', admin]), /^--smtp-port 65536 cannot be used for the Default Frontend Receive connector/);
  assertOneLineFailure(serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', '25x', '--admin-port', admin]), /^--smtp-port '25x' is not a TCP port\.$/);
  assertOneLineFailure(serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', '2525', '--admin-port', 'http']), /^--admin-port 'http' is not a TCP port\.$/);
  assert.ok(!fs.existsSync(dataDir), 'no data folder, directory or lock was made');
});
