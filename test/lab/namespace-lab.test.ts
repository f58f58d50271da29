// The multi-host lab (issue 11): EX11, EX12 and EX13 each on a host of its
// own (a network namespace), all on the same ports, sharing one PostgreSQL
// directory in the root namespace. 127.0.0.1:2525 is a different server on
// each host, so a call between servers only reaches the right one through
// the address it advertises and the IIS certificate the directory holds.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConnection } from '../../src/cli/connect.js';
import { pinnedFetch } from '../../src/security/pinned-fetch.js';
import { AdminApi, CLI, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';
import { createNamespaceLab, labNamespaces, type LabHost, type NamespaceLab } from '../support/netns.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { allowAnonymousRelay, type RecordingSink, startRecordingSink, waitFor } from '../support/transport-harness.js';

// The same ports on every host: that is what makes 127.0.0.1 ambiguous between them.
const SMTP_PORT = 2525;
const ADMIN_PORT = 8443;

interface Result {
  code: number;
  out: string;
}

/** A command on a lab host, to completion. */
function onHost(host: LabHost, command: string, args: string[], timeoutMs = 60_000): Promise<Result> {
  const [cmd, ...prefix] = host.exec;
  return new Promise((resolve) =>
    execFile(cmd, [...prefix, command, ...args], { timeout: timeoutMs, env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn' } }, (e, stdout, stderr) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** The SMTP banner at host:port, or undefined when nothing listens there. */
function banner(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let text = '';
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(10_000, () => done(undefined));
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) done(text.split('\r\n')[0]);
    });
    s.on('error', () => done(undefined));
    s.on('close', () => done(text || undefined));
  });
}

describe('namespace lab: three hosts, one PostgreSQL directory', { timeout: 300_000 }, () => {
  let lab: NamespaceLab;
  let pg: PostgresInstance;
  let directoryUrl: string;
  let sink: RecordingSink | undefined;
  const folders: string[] = [];
  const servers = new Map<string, ServerProcess>();
  const apis = new Map<string, AdminApi>();
  /** EX11 on the first host, EX12 on the second, …; EX14 and EX15 come and go on the fourth. */
  const hostOf = (name: string) => lab.hosts[Math.min(Number(name.slice(2)) - 11, 3)];
  const folderOf = new Map<string, string>();

  async function serve(name: string, folder: string, advertise = hostOf(name).address): Promise<ServerProcess> {
    const host = hostOf(name);
    const s = await startServerProcess({
      dataDir: folder,
      serverName: name,
      smtpPort: SMTP_PORT,
      adminPort: ADMIN_PORT,
      launcher: host.exec,
      extraArgs: ['--directory', directoryUrl, '--admin-host', host.address, '--advertise-url', `https://${advertise}:${ADMIN_PORT}`],
    });
    servers.set(name, s);
    folderOf.set(name, folder);
    return s;
  }

  /** The admin API of a server as a shell on any host finds it: the address and IIS certificate the directory holds. */
  async function apiOf(name: string): Promise<AdminApi> {
    const c = await resolveConnection({ dataDir: folders[0], server: name, directoryUrl: pg.url('interchange') });
    assert.ok(c.trust?.length, `the directory holds ${name}'s IIS certificate`);
    return new AdminApi(c.url, c.token, pinnedFetch(c.trust!));
  }

  const transportStatus = async (name: string) => (await apis.get(name)!.ok('Get-Service', { Name: ['MSExchangeTransport'] }))[0].Status;

  /** The shell on a lab host, connected to the server of that host's data folder. */
  const shell = (from: string, command: string) => onHost(hostOf(from), process.execPath, [CLI, 'shell', '--data', folderOf.get(from)!, '--server', from, '-NonInteractive', '-Command', command]);

  before(async () => {
    lab = await createNamespaceLab(4);
    pg = await startPostgres({ extraListenAddresses: [lab.bridgeAddress], trustSubnet: lab.subnet });
    directoryUrl = (await pg.createDatabase('interchange')).replace('@127.0.0.1:', `@${lab.bridgeAddress}:`);
    for (const name of ['ex11', 'ex12', 'ex13']) folders.push(await tempDir(`lab-${name}`));
    await serve('EX11', folders[0]);
    // The other hosts join with what the administrator copies from the first one.
    for (const d of folders.slice(1)) for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(folders[0], f), path.join(d, f));
    await serve('EX12', folders[1]);
    await serve('EX13', folders[2]);
    for (const name of ['EX11', 'EX12', 'EX13']) apis.set(name, await apiOf(name));
  });

  after(async () => {
    for (const s of servers.values()) await s.stop().catch(() => undefined);
    await sink?.stop();
    await lab?.destroy();
    await pg?.stop();
    for (const d of folders) await fs.promises.rm(d, { recursive: true, force: true });
    assert.deepEqual(labNamespaces().filter((n) => n.startsWith(`icx-lab-${process.pid}-`)), [], 'no namespace of this run is left');
  });

  it('each host has its own server on the same ports, and advertises its own address over HTTPS', async () => {
    const listed = Object.fromEntries((await apis.get('EX11')!.ok('Get-ExchangeServer')).map((s) => [s.Name, s.AdminUrl]));
    for (const name of ['EX11', 'EX12', 'EX13']) {
      assert.equal(listed[name], `https://${hostOf(name).address}:${ADMIN_PORT}`);
      assert.match((await banner(hostOf(name).address, SMTP_PORT)) ?? '', new RegExp(`^220 ${name.toLowerCase()}\\.`));
      // On its own host, loopback is this server and no other.
      const local = await onHost(hostOf(name), 'swaks', ['--server', `127.0.0.1:${SMTP_PORT}`, '--quit-after', 'CONNECT'], 20_000);
      assert.match(local.out, new RegExp(`<-  220 ${name.toLowerCase()}\\.`), local.out);
    }
  });

  for (const [from, back] of [['EX11', 'EX13'], ['EX13', 'EX11']] as const) {
    it(`Stop-Service MSExchangeTransport -ComputerName EX12 in the shell on ${from}'s host stops EX12 and only EX12; Start-Service from ${back} brings it back`, async () => {
      const stop = await shell(from, 'Stop-Service MSExchangeTransport -ComputerName EX12');
      assert.equal(stop.code, 0, stop.out);
      assert.equal(await transportStatus('EX12'), 'Stopped');
      assert.equal(await transportStatus('EX11'), 'Running');
      assert.equal(await transportStatus('EX13'), 'Running');
      assert.equal(await banner(hostOf('EX12').address, SMTP_PORT), undefined, "EX12's SMTP listener is closed");
      for (const name of ['EX11', 'EX13']) assert.match((await banner(hostOf(name).address, SMTP_PORT)) ?? '', /^220 /, `${name} still greets`);
      const start = await shell(back, 'Start-Service MSExchangeTransport -ComputerName EX12; (Get-Service MSExchangeTransport -ComputerName EX12).Status');
      assert.equal(start.code, 0, start.out);
      assert.match(start.out, /Running/);
      assert.equal(await transportStatus('EX12'), 'Running');
      assert.match((await waitFor('EX12 greeting again', () => banner(hostOf('EX12').address, SMTP_PORT))) ?? '', /^220 ex12\./);
    });
  }

  it('a call over the lab network is one hop to the server named, and is never forwarded again', async () => {
    const api11 = apis.get('EX11')!;
    assert.ok(Array.isArray(await api11.ok('Get-Queue', { Server: 'EX11' })), 'asked of EX11 about EX11: run there');
    assert.ok(Array.isArray(await api11.ok('Get-Queue', { Server: 'EX12' })), 'EX11 asks EX12 over verified TLS');
    const api12 = apis.get('EX12')!;
    const forwarded = await api12.call(`${api12.url}/api/v1/cmdlets/Stop-Service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api12.token}`, 'x-interchange-forwarded-by': 'EX11' },
      body: JSON.stringify({ parameters: { Name: ['MSExchangeTransport'], ComputerName: 'EX13' }, confirmed: true }),
    });
    const body = (await forwarded.json()) as { error?: { code: string; message: string } };
    assert.equal(body.error?.code, 'ICX_SERVER_CALL_LOOP', body.error?.message);
    assert.equal(forwarded.headers.get('x-interchange-server'), 'EX12');
    for (const name of ['EX11', 'EX12', 'EX13']) assert.equal(await transportStatus(name), 'Running');
  });

  it("a server whose advertised address another server answers (with another certificate) is refused: nothing is run", async () => {
    // EX14 on the fourth host advertises EX12's address; there EX12 answers with EX12's certificate.
    const folder = await tempDir('lab-ex14');
    folders.push(folder);
    for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(folders[0], f), path.join(folder, f));
    const ex14 = await serve('EX14', folder, hostOf('EX12').address);
    try {
      const refusal = new RegExp(`^EX14's admin address https://${hostOf('EX12').address.replace(/\./g, '\\.')}:${ADMIN_PORT} is answered with a certificate that is not EX14's IIS certificate, so another host answers there; nothing was run\\.`);
      for (const cmdlet of ['Stop-Service', 'Start-Service']) {
        const r = await apis.get('EX11')!.invoke(cmdlet, { Name: ['MSExchangeTransport'], ComputerName: 'EX14' });
        assert.equal(r.error?.code, 'ICX_SERVER_MISMATCH', r.error?.message);
        assert.match(r.error!.message, refusal);
      }
      const queues = await apis.get('EX11')!.invoke('Get-Queue', { Server: 'EX14' });
      assert.equal(queues.error?.code, 'ICX_SERVER_MISMATCH', queues.error?.message);
      // The shell on EX13's host: EX13 refuses to forward. The shell on EX14's own host, told to use EX14: the shell refuses.
      const viaEx13 = await shell('EX13', 'Stop-Service MSExchangeTransport -ComputerName EX14');
      assert.notEqual(viaEx13.code, 0, viaEx13.out);
      assert.match(viaEx13.out, /is answered with a certificate that is not EX14's IIS certificate/);
      const direct = await shell('EX14', 'Stop-Service MSExchangeTransport');
      assert.notEqual(direct.code, 0, direct.out);
      assert.match(direct.out, new RegExp(`https://${hostOf('EX12').address}:${ADMIN_PORT}, the admin address of EX14, is answered with a certificate that is not EX14's IIS certificate`));
      for (const name of ['EX11', 'EX12', 'EX13']) assert.equal(await transportStatus(name), 'Running', `${name} after Stop-Service -ComputerName EX14`);
      assert.match((await banner(hostOf('EX14').address, SMTP_PORT)) ?? '', /^220 ex14\./, 'EX14 itself was not stopped either');
    } finally {
      await ex14.stop();
      servers.delete('EX14');
    }
  });

  it('a host joining with a wrong keyvault.key is refused with one line, and the directory keeps its servers', async () => {
    const before = (await apis.get('EX11')!.ok('Get-ExchangeServer')).map((s) => s.Name).sort();
    const folder = await tempDir('lab-ex15');
    folders.push(folder);
    await fs.promises.copyFile(path.join(folders[0], 'admin-token'), path.join(folder, 'admin-token'));
    fs.writeFileSync(path.join(folder, 'keyvault.key'), crypto.randomBytes(32), { mode: 0o600 });
    const host = hostOf('EX14');
    const [cmd, ...prefix] = host.exec;
    const r = spawnSync(cmd, [...prefix, process.execPath, CLI, 'serve', '--data', folder, '--server', 'EX15', '--smtp-port', String(SMTP_PORT), '--admin-port', String(ADMIN_PORT), '--admin-host', host.address, '--directory', directoryUrl], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn', INTERCHANGE_DIRECTORY: '' },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [`keyvault.key in ${folder} is not this organization's key: copy it from a server of the organization.`]);
    assert.deepEqual((await apis.get('EX11')!.ok('Get-ExchangeServer')).map((s) => s.Name).sort(), before);
  });

  it('with PostgreSQL stopped, mail sent from one host through EX13 reaches the next hop, and EX13 answers for itself', async () => {
    sink = await startRecordingSink(undefined, lab.bridgeAddress);
    const api13 = apis.get('EX13')!;
    await api13.ok('New-SendConnector', { Name: 'Lab next hop', AddressSpaces: ['fabrikam.example'], SmartHosts: [lab.bridgeAddress], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX13'] });
    await allowAnonymousRelay(api13, 'EX13\\Default Frontend EX13');
    const send = (subject: string) => onHost(hostOf('EX11'), 'swaks', ['--server', `${hostOf('EX13').address}:${SMTP_PORT}`, '--from', 'lab@contoso.example', '--to', 'someone@fabrikam.example', '--header', `Subject: ${subject}`], 30_000);
    const delivered = (subject: string) => waitFor(`"${subject}" at the next hop`, async () => sink!.messages.some((m) => m.raw.includes(`Subject: ${subject}`)), 30_000);
    // The transport applies new configuration at its next poll: a message before the outage says it has.
    await waitFor('EX13 relaying to the lab next hop', async () => (await send('before the outage')).code === 0, 20_000);
    await delivered('before the outage');

    await pg.halt();
    try {
      const unavailable = await api13.invoke('Get-SendConnector');
      assert.equal(unavailable.error?.code, 'ICX_DIRECTORY_UNAVAILABLE', 'the directory is really out');
      const r = await send('during the outage');
      assert.equal(r.code, 0, r.out);
      await delivered('during the outage');
      assert.deepEqual(sink.messages.find((m) => m.raw.includes('Subject: during the outage'))!.to, ['someone@fabrikam.example']);

      // On EX13's own host, its shell reaches it through the data folder; what EX13 answers from its running state works.
      const queues = await shell('EX13', 'Get-Queue');
      assert.equal(queues.code, 0, queues.out);
      assert.match(queues.out, /EX13\\Submission/);
      const restarted = await shell('EX13', 'Stop-Service MSExchangeTransport; Start-Service MSExchangeTransport; Get-Service MSExchangeTransport');
      assert.equal(restarted.code, 0, restarted.out);
      assert.match(restarted.out, /Running/);
      const other = await shell('EX13', 'Get-SendConnector');
      assert.notEqual(other.code, 0, other.out);
      assert.match(other.out, /The directory at postgres:\/\/\S+ cannot be reached/);
      assert.doesNotMatch(other.out, /\n\s+at /, 'no stack trace');
      const after = await send('after a restart during the outage');
      assert.equal(after.code, 0, after.out);
      await delivered('after a restart during the outage');
    } finally {
      await pg.resume();
    }
    await waitFor('the directory back', async () => (await api13.invoke('Get-ExchangeServer')).ok, 30_000);
  });
});
