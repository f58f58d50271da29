// Remove-ExchangeServer through the admin API, against real server processes sharing a PostgreSQL directory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { AdminApi, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

let postgres: PostgresInstance | undefined;
const servers: ServerProcess[] = [];
const folders: string[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  await postgres?.stop();
  for (const d of folders) await fs.promises.rm(d, { recursive: true, force: true });
});

async function query(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** The organization's configuration as stored: what a refused removal must leave exactly as it was. */
async function configuration(url: string) {
  const out: Record<string, unknown> = {};
  for (const [table, order] of [['meta', 'key'], ['servers', 'name_key'], ['certificates', 'server_key, thumbprint'], ['trusted_roots', 'server_key, thumbprint'], ['send_connectors', 'name_key'], ['receive_connectors', 'server_key, name_key']]) {
    out[table] = await query(url, `select * from ${table} order by ${order}`);
  }
  return out;
}

function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', (d) => (s.destroy(), resolve(d.toString())));
    s.once('error', reject);
  });
}

test('Remove-ExchangeServer refuses a running server, the connected server and the only source server of a Send connector, leaving everything as it was; a stopped EX02 is then removed with what belongs only to it', async () => {
  postgres = await startPostgres();
  const url = await postgres.createDatabase('interchange');
  const [host1, host2] = [await tempDir('remove-host1'), await tempDir('remove-host2')];
  folders.push(host1, host2);
  const env = { INTERCHANGE_HEARTBEAT_INTERVAL_MS: '500' };
  const ex01 = await startServerProcess({ dataDir: host1, serverName: 'EX01', env, extraArgs: ['--directory', url] });
  servers.push(ex01);
  for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(host1, f), path.join(host2, f));
  const ex02 = await startServerProcess({ dataDir: host2, serverName: 'EX02', env, extraArgs: ['--directory', url] });
  servers.push(ex02);
  const api = new AdminApi(ex01.url, ex01.token);

  await api.ok('New-SendConnector', { Name: 'EX02 Only', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX02'] });
  await api.ok('New-SendConnector', { Name: 'Shared', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX01', 'EX02'] });
  assert.ok((await query(url, "select 1 from certificates where server_key = 'ex02'")).length > 0, 'EX02 has certificates of its own');
  assert.ok((await query(url, "select 1 from receive_connectors where server_key = 'ex02'")).length > 0, 'EX02 has Receive connectors of its own');
  const before = await configuration(url);

  const running = await api.invoke('Remove-ExchangeServer', { Identity: 'EX02' });
  assert.equal(running.error?.code, 'ICX_SERVER_RUNNING');
  assert.match(running.error!.message, /^Server EX02 is running: its process \(pid \d+ on \S+\) was last seen at \d{4}-\d\d-\d\dT[\d:.]+Z\. Stop its interchange serve process first\.$/);
  const itself = await api.invoke('Remove-ExchangeServer', { Identity: 'EX01' });
  assert.equal(itself.error?.code, 'ICX_SERVER_RUNNING');
  assert.match(itself.error!.message, /^Server EX01 is the server this session is connected to and cannot remove itself/);
  assert.deepEqual(await configuration(url), before, 'refusals change nothing');

  await ex02.stop();
  const onlySource = await api.invoke('Remove-ExchangeServer', { Identity: 'EX02' });
  assert.equal(onlySource.error?.code, 'ICX_SERVER_ONLY_SOURCE');
  assert.equal(onlySource.error?.message, 'Server EX02 is the only source server of the Send connector "EX02 Only". Add another source server (Set-SendConnector -SourceTransportServers) or remove the connector before removing the server.');
  assert.deepEqual(await configuration(url), before, 'refusals change nothing');

  await api.ok('Remove-SendConnector', { Identity: 'EX02 Only' });
  const unconfirmed = await api.invoke('Remove-ExchangeServer', { Identity: 'EX02' }, {});
  assert.equal(unconfirmed.error?.code, 'ICX_CONFIRMATION_REQUIRED', 'a High impact cmdlet asks first');
  const whatIf = await api.invoke('Remove-ExchangeServer', { Identity: 'EX02' }, { whatIf: true });
  assert.deepEqual(whatIf.whatIf, ['What if: Removing Exchange server "EX02" from the organization.']);
  assert.equal((await api.ok('Get-ExchangeServer')).length, 2, '-WhatIf removes nothing');

  await api.ok('Remove-ExchangeServer', { Identity: 'EX02' });
  assert.deepEqual((await api.ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01']);
  const [shared] = await api.ok('Get-SendConnector', { Identity: 'Shared' });
  assert.deepEqual(shared.SourceTransportServers, ['EX01'], 'a shared Send connector keeps its other source servers');
  for (const table of ['certificates', 'trusted_roots', 'receive_connectors', 'server_heartbeats']) {
    assert.deepEqual(await query(url, `select server_key from ${table} where server_key = 'ex02'`), [], `nothing of EX02 left in ${table}`);
  }
  assert.deepEqual(await query(url, "select name_key from servers where name_key = 'ex02'"), []);
  assert.equal((await api.invoke('Remove-ExchangeServer', { Identity: 'EX02' })).error?.code, 'ICX_SERVER_NOT_FOUND');
  // EX01 goes on serving mail and management.
  assert.match(await banner(ex01.smtpPort), /^220 /);
  assert.equal((await api.ok('Get-ExchangeServer', { Identity: 'EX01' }))[0].Reachability, 'Reachable');
});
