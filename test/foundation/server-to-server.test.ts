// Calls between servers reach the server they name, or fail without running
// anything: three servers share one PostgreSQL directory from separate data
// folders; EX03 advertises an address that EX01 answers (what 127.0.0.1 is
// when seen from another host).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { execFile } from 'node:child_process';
import { AdminApi, CLI, freeTcpPort, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

describe('calls between servers reach the server named, one hop, or run nothing', () => {
  let pg: PostgresInstance;
  const folders: string[] = [];
  const servers: ServerProcess[] = [];
  let api1: AdminApi;
  let api2: AdminApi;
  let api3: AdminApi;

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('interchange');
    for (const name of ['ex01', 'ex02', 'ex03']) folders.push(await tempDir(`s2s-${name}`));
    const ex01 = await startServerProcess({ dataDir: folders[0], serverName: 'EX01', extraArgs: ['--directory', url] });
    for (const d of folders.slice(1)) for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(folders[0], f), path.join(d, f));
    // EX02 advertises a name for itself; EX03 an address where EX01 listens.
    const port2 = await freeTcpPort();
    const ex02 = await startServerProcess({ dataDir: folders[1], serverName: 'EX02', adminPort: port2, extraArgs: ['--directory', url, '--advertise-url', `http://localhost:${port2}`] });
    const ex03 = await startServerProcess({ dataDir: folders[2], serverName: 'EX03', extraArgs: ['--directory', url, '--advertise-url', `http://127.0.0.1:${ex01.adminPort}`] });
    servers.push(ex01, ex02, ex03);
    api1 = new AdminApi(`http://127.0.0.1:${ex01.adminPort}`, ex01.token);
    api2 = new AdminApi(`http://127.0.0.1:${ex02.adminPort}`, ex01.token);
    api3 = new AdminApi(`http://127.0.0.1:${ex03.adminPort}`, ex01.token);
  });

  after(async () => {
    for (const s of servers) await s.stop();
    await pg?.stop();
    for (const d of folders) await fs.promises.rm(d, { recursive: true, force: true });
  });

  const transportStatus = async (api: AdminApi) => (await api.ok('Get-Service', { Name: ['MSExchangeTransport'] }))[0].Status;

  it('the directory holds each server\'s advertised address', async () => {
    const listed = Object.fromEntries((await api1.ok('Get-ExchangeServer')).map((s) => [s.Name, s.AdminUrl]));
    assert.equal(listed.EX02, `http://localhost:${servers[1].adminPort}`);
    assert.equal(listed.EX03, `http://127.0.0.1:${servers[0].adminPort}`);
  });

  it('Stop-Service -ComputerName EX02 from EX01 stops EX02 and only EX02', async () => {
    assert.deepEqual(await api1.ok('Stop-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' }), []);
    assert.equal(await transportStatus(api2), 'Stopped');
    assert.equal(await transportStatus(api1), 'Running');
    assert.equal(await transportStatus(api3), 'Running');
    await api1.ok('Start-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' });
    assert.equal(await transportStatus(api2), 'Running');
  });

  it('an address answered by another server: Stop-Service and Get-Queue are refused, nothing stops, nothing loops', async () => {
    for (const [from, api] of [['EX02', api2], ['EX01', api1]] as const) {
      const stop = await api.invoke('Stop-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX03' });
      assert.equal(stop.ok, false, `from ${from}`);
      assert.equal(stop.error?.code, 'ICX_SERVER_MISMATCH', `from ${from}: ${stop.error?.message}`);
      assert.match(stop.error!.message, /EX03's admin address http:\/\/127\.0\.0\.1:\d+ is answered by EX01, not by EX03; nothing was run\. Start EX03 with --advertise-url/);
      for (const a of [api1, api2, api3]) assert.equal(await transportStatus(a), 'Running', `after Stop-Service -ComputerName EX03 from ${from}`);
    }
    // Before: EX01 forwarded this to itself until it ran out of files.
    const queues = await api1.invoke('Get-Queue', { Server: 'EX03' });
    assert.equal(queues.error?.code, 'ICX_SERVER_MISMATCH', queues.error?.message);
    assert.equal((await api1.ok('Get-Queue', {})).length >= 0, true, 'EX01 still answers');
  });

  it('the shell refuses a server whose address another server answers', async () => {
    const script = path.join(folders[1], 'get-service.ps1');
    await fs.promises.writeFile(script, 'Get-Service MSExchangeTransport\n');
    const shell = (server: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(process.execPath, [CLI, 'shell', '--data', folders[1], '--directory', pg.url('interchange'), '--server', server, '-NonInteractive', '-File', script], { timeout: 60_000 }, (e, stdout, stderr) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
      });
    const right = await shell('EX02');
    assert.equal(right.code, 0, right.out);
    assert.match(right.out, /Running/);
    const wrong = await shell('EX03');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.out, /http:\/\/127\.0\.0\.1:\d+, the admin address of EX03, is answered by EX01/);
  });

  it('a forwarded call is not forwarded again, and a call meant for another server runs nothing', async () => {
    const forwarded = await fetch(`${api2.url}/api/v1/cmdlets/Stop-Service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api2.token}`, 'x-interchange-forwarded-by': 'EX01' },
      body: JSON.stringify({ parameters: { Name: ['MSExchangeTransport'], ComputerName: 'EX01' }, confirmed: true }),
    });
    const body = (await forwarded.json()) as { error?: { code: string; message: string } };
    assert.equal(body.error?.code, 'ICX_SERVER_CALL_LOOP', body.error?.message);
    assert.equal(forwarded.headers.get('x-interchange-server'), 'EX02');
    const misdirected = await fetch(`${api2.url}/api/v1/cmdlets/Stop-Service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api2.token}`, 'x-interchange-forwarded-by': 'EX01', 'x-interchange-intended-server': 'EX03' },
      body: JSON.stringify({ parameters: { Name: ['MSExchangeTransport'] }, confirmed: true }),
    });
    assert.equal(((await misdirected.json()) as { error?: { code: string } }).error?.code, 'ICX_SERVER_MISMATCH');
    for (const a of [api1, api2, api3]) assert.equal(await transportStatus(a), 'Running');
  });

  it('a wrong --advertise-url stops the start with one line and changes nothing', async () => {
    const dir = await tempDir('s2s-bad');
    folders.push(dir);
    await assert.rejects(
      startServerProcess({ dataDir: dir, serverName: 'EX04', extraArgs: ['--directory', pg.url('interchange'), '--advertise-url', 'https://0.0.0.0:8443'] }),
      (e: Error) => /ICX_ADVERTISE_URL_INVALID|--advertise-url "https:\/\/0\.0\.0\.0:8443"/.test(e.message) && !/\n\s+at /.test(e.message),
    );
    assert.deepEqual((await api1.ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01', 'EX02', 'EX03']);
  });
});
