// A PostgreSQL directory that goes away: calls fail at once with one error
// that names the directory and the cause (no driver stack trace, no 500),
// while the server stays up and keeps answering SMTP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { describeDirectory, isDirectoryOutage } from '../../src/directory/postgres/outage.js';
import { startPostgres } from '../support/postgres.js';
import { AdminApi, CLI, startServerProcess, tempDir } from '../support/interchange.js';
import { RawSmtp, waitFor } from '../support/transport-harness.js';

test('which errors mean the directory cannot be reached', () => {
  const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  const outages = [
    err('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    err('terminating connection due to administrator command', '57P01'),
    err('the database system is shutting down', '57P03'),
    err('canceling statement due to statement timeout', '57014'),
    err('connection failure', '08006'),
    err('timeout exceeded when trying to connect'),
    err('Connection terminated unexpectedly'),
    err('Query read timeout'),
    new AggregateError([err('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
  ];
  for (const e of outages) assert.equal(isDirectoryOutage(e), true, e.message);
  const refusals = [err('duplicate key value violates unique constraint', '23505'), err('relation "x" does not exist', '42P01'), err('serialization failure', '40001'), new Error('anything else'), 'not an error'];
  for (const e of refusals) assert.equal(isDirectoryOutage(e), false, String(e));
  assert.equal(describeDirectory('postgres://icx:s3cret@db.contoso.com:5432/interchange?sslmode=require'), 'postgres://icx@db.contoso.com:5432/interchange');
});

test('the directory stops: cmdlets and the shell fail at once with one line naming it, SMTP goes on', { timeout: 180_000 }, async () => {
  const pg = await startPostgres();
  const dataDir = await tempDir('outage');
  const url = await pg.createDatabase('interchange');
  const server = await startServerProcess({ dataDir, serverName: 'EX01', extraArgs: ['--directory', url] });
  let pgStopped = false;
  try {
    const api = new AdminApi(server.url, server.token);
    await api.ok('Get-SendConnector');
    await pg.stop();
    pgStopped = true;

    const started = Date.now();
    const r = await api.invoke('Get-SendConnector');
    assert.equal(r.ok, false);
    assert.equal(r.status, 503);
    assert.equal(r.error?.code, 'ICX_DIRECTORY_UNAVAILABLE', r.error?.message);
    assert.match(r.error!.message, new RegExp(`^The directory at postgres://postgres@127\\.0\\.0\\.1:\\d+/interchange cannot be reached: .*(ECONNREFUSED|ECONNRESET)`));
    assert.ok(Date.now() - started < 10_000, 'a refused connection fails the call at once, not after a timeout');

    const shell = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'shell', '--url', server.url, '--token', server.token, '-Command', 'Get-SendConnector'], { timeout: 60_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    assert.notEqual(shell.code, 0);
    assert.match(shell.out, /The directory at postgres:\/\/postgres@127\.0\.0\.1:\d+\/interchange cannot be reached/);
    assert.doesNotMatch(shell.out, /\n\s+at /, 'no stack trace');

    // What this server answers from its running state still works, with the credential it last read.
    const queues = await api.invoke('Get-Queue');
    assert.equal(queues.ok, true, queues.error?.message);
    assert.ok(queues.warnings.some((w) => /credential was accepted as EX01 last read it there/.test(w)), queues.warnings.join(' | '));
    const stopped = await api.invoke('Stop-Service', { Name: ['MSExchangeTransport'] }, { confirmed: true });
    assert.equal(stopped.ok, true, stopped.error?.message);
    assert.equal((await api.ok('Get-Service', { Name: ['MSExchangeTransport'] }))[0].Status, 'Stopped');
    const started2 = await api.invoke('Start-Service', { Name: ['MSExchangeTransport'] }, { confirmed: true });
    assert.equal(started2.ok, true, started2.error?.message);
    const transportService = await api.invoke('Get-TransportService');
    assert.equal(transportService.ok, true, transportService.error?.message);
    assert.deepEqual(transportService.output.map((o) => o.Name), ['EX01']);
    // A token this server never read while the directory answered is refused.
    const stranger = await new AdminApi(server.url, 'icx_neverseen').invoke('Get-Queue');
    assert.equal(stranger.ok, false);

    // The shell on the server's host finds it through its data folder, not the directory.
    const local = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'shell', '--data', dataDir, '-Command', 'Get-Service MSExchangeTransport'], { timeout: 60_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    assert.equal(local.code, 0, local.out);
    assert.match(local.out, /Connecting to EX01 at .*, as its data folder records it/);
    assert.match(local.out, /Running/);

    // The server logged the outage once, not per failed call.
    const log = server.output();
    assert.equal((log.match(/cannot be reached: .*The server goes on with the configuration it has/g) ?? []).length, 1, log);
    assert.doesNotMatch(log, /Reloading the transport configuration failed/);

    // The transport runs on the configuration it has.
    const c = await RawSmtp.connect(server.smtpPort);
    assert.match((await c.reply()) ?? '', /^220 /);
    assert.match((await c.command('EHLO client.test')) ?? '', /^250/);
    c.close();
    assert.equal(server.child.exitCode, null, 'the server is up');
  } finally {
    await server.stop();
    if (!pgStopped) await pg.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  }
});

test('the directory hangs: a call fails after the directory timeout, the others at once while it lasts; local commands work', { timeout: 180_000 }, async () => {
  const pg = await startPostgres();
  const dataDir = await tempDir('frozen');
  const url = await pg.createDatabase('interchange');
  const TIMEOUT_MS = 2_000;
  const server = await startServerProcess({ dataDir, serverName: 'EX01', extraArgs: ['--directory', url], env: { INTERCHANGE_DIRECTORY_TIMEOUT_MS: String(TIMEOUT_MS), INTERCHANGE_LOG_LEVEL: 'info' } });
  try {
    const api = new AdminApi(server.url, server.token);
    await api.ok('Get-SendConnector');
    await pg.freeze();

    // Nothing answers: the first calls wait for the timeout (the credential's read, then the cmdlet's), no longer.
    let t = Date.now();
    const first = await api.invoke('Get-SendConnector');
    const firstMs = Date.now() - t;
    assert.equal(first.error?.code, 'ICX_DIRECTORY_UNAVAILABLE', first.error?.message);
    assert.match(first.error!.message, /^The directory at postgres:\/\/postgres@127\.0\.0\.1:\d+\/interchange cannot be reached: /);
    assert.ok(firstMs < 3 * TIMEOUT_MS + 1_500, `the first call took ${firstMs} ms`);

    // While the outage lasts, one call at a time (mostly the transport's poll) waits on the directory; the rest fail at once.
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      t = Date.now();
      const r = await api.invoke('Get-SendConnector');
      times.push(Date.now() - t);
      assert.equal(r.error?.code, 'ICX_DIRECTORY_UNAVAILABLE', r.error?.message);
    }
    assert.ok(times.filter((ms) => ms < 300).length >= 7, `calls during the outage took ${times.join(', ')} ms`);

    // What the server answers from its running state works, at once or within the timeout.
    t = Date.now();
    const queues = await api.invoke('Get-Queue');
    assert.equal(queues.ok, true, queues.error?.message);
    assert.ok(Date.now() - t < TIMEOUT_MS + 1_500, `Get-Queue took ${Date.now() - t} ms`);
    const local = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'shell', '--data', dataDir, '-Command', 'Get-Service MSExchangeTransport'], { timeout: 60_000, env: { ...process.env, INTERCHANGE_DIRECTORY_TIMEOUT_MS: String(TIMEOUT_MS) } }, (e, stdout, stderr) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    assert.equal(local.code, 0, local.out);
    assert.match(local.out, /Running/);

    await pg.thaw();
    await waitFor('the directory answering again', async () => (await api.invoke('Get-SendConnector')).ok, 30_000);
    await waitFor('the end of the outage in the log', async () => /answers again after/.test(server.output()), 10_000);
    const log = server.output();
    assert.equal((log.match(/cannot be reached: .*The server goes on with the configuration it has/g) ?? []).length, 1, log);
    assert.equal((log.match(/answers again after/g) ?? []).length, 1, log);

    // A server stopped while the directory hangs stops, releasing what it holds there within the timeout.
    await pg.freeze();
    t = Date.now();
    await server.stop();
    assert.equal(server.child.exitCode, 0, server.output().slice(-2000));
    assert.ok(Date.now() - t < 4 * TIMEOUT_MS + 3_000, `the stop took ${Date.now() - t} ms`);
  } finally {
    await server.stop();
    await pg.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  }
});
