// The life of a server as its process lives it: a binary older than the directory's schema refuses to start.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { CLI, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function serve(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn' } });
  assert.equal(r.error, undefined, `serve did not finish: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineFailure(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

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
