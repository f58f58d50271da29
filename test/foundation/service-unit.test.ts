// The systemd unit `interchange install-service` writes, checked by systemd's
// own verifier, and the server run as that unit runs it: a non-root account
// whose only capability is CAP_NET_BIND_SERVICE, on port 25, stopped with
// SIGTERM and restarted after kill -9 with the queued mail still there.
// (These machines do not boot systemd, so the unit's ExecStart is run through setpriv.)
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { AdminApi, CLI, freeTcpPort, tempDir } from '../support/interchange.js';

const SERVICE_UID = 65534;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function writeUnit(dir: string, adminPort: number, dataDir: string, user: string[] = []): Promise<{ file: string; text: string }> {
  const file = path.join(dir, 'interchange-ex01.service');
  const r = spawnSync(process.execPath, [CLI, 'install-service', '--server', 'EX01', '--data', dataDir, ...user, '--admin-port', String(adminPort), '--output', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { file, text: fs.readFileSync(file, 'utf8') };
}

test('install-service writes a unit that systemd-analyze verify accepts, hardened as the service needs', async () => {
  const dir = await tempDir('unit-verify');
  const { file, text } = await writeUnit(dir, 8080, '/var/lib/interchange');
  const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.doesNotMatch(verify.stderr, new RegExp(path.basename(file)), `systemd-analyze had remarks on the unit:\n${verify.stderr}`);
  for (const line of ['Type=notify', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/interchange', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'User=interchange', 'UMask=0077']) {
    assert.ok(text.split('\n').includes(line), `${line} in the unit`);
  }
  assert.match(text, /^ExecStart=\S+ \S+\/bin\/interchange\.js serve --data \/var\/lib\/interchange --server EX01 --smtp-port 25 --admin-port 8080$/m);
});

test('run as the unit runs it: port 25 as a non-root account with CAP_NET_BIND_SERVICE alone; SIGTERM and kill -9 lose no queued mail', async () => {
  const dir = await tempDir('unit-run');
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  fs.chownSync(dataDir, SERVICE_UID, SERVICE_UID);
  const adminPort = await freeTcpPort();
  const { text } = await writeUnit(dir, adminPort, dataDir, ['--user', 'nobody']);
  const execStart = /^ExecStart=(.*)$/m.exec(text)![1].split(' ');

  // What the unit's User=, AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges= and UMask= give the process.
  const start = async () => {
    const child = spawn(
      'setpriv',
      [`--reuid=${SERVICE_UID}`, `--regid=${SERVICE_UID}`, '--clear-groups', '--inh-caps=-all,+net_bind_service', '--ambient-caps=-all,+net_bind_service', '--bounding-set=-all,+net_bind_service', '--no-new-privs', ...execStart],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn' } },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const deadline = Date.now() + 60_000;
    while (!/admin center and API at/.test(out)) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${out}`);
      assert.ok(Date.now() < deadline, `serve did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  };

  let s = await start();
  const status = fs.readFileSync(`/proc/${s.child.pid}/status`, 'utf8');
  // setpriv execs node in place: the pid is the server's.
  assert.match(status, new RegExp(`^Uid:\\s+${SERVICE_UID}\\s`, 'm'));
  assert.match(status, /^CapEff:\s+0000000000000400$/m, 'only CAP_NET_BIND_SERVICE (bit 10) is effective');
  assert.match(status, /^NoNewPrivs:\s+1$/m);

  const api = new AdminApi(`http://127.0.0.1:${adminPort}`, fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim());
  const [domain] = await api.ok('Get-AcceptedDomain');
  // A next hop that refuses connections: the message waits in Retry instead of being delivered or returned.
  await api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], DNSRoutingEnabled: false, SmartHosts: ['127.0.0.1'], Port: await freeTcpPort(), SourceTransportServers: ['EX01'] });
  // A new process reads the connector at start: no race with the running transport's configuration poll.
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0, `a clean stop on SIGTERM:\n${s.output()}`);
  s = await start();
  assert.match(await submit(25, `postmaster@${domain.DomainName}`), /^250 2\.6\.0 /);
  const queued = async () => (await api.ok('Get-Message')).filter((m) => m.Subject === 'service test').length;
  assert.equal(await queued(), 1);

  s.child.kill('SIGKILL');
  await s.exited;
  s = await start();
  assert.equal(await queued(), 1, 'the message accepted before kill -9 is still queued');
  assert.match(await submit(25, `postmaster@${domain.DomainName}`), /^250 2\.6\.0 /);

  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0, `a clean stop on SIGTERM:\n${s.output()}`);
  s = await start();
  assert.equal(await queued(), 2, 'both messages survive a SIGTERM stop');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

/** One message over plain SMTP; resolves with the reply to the data. */
function submit(port: number, to: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const script = ['EHLO client.example', 'MAIL FROM:<sender@client.example>', `RCPT TO:<${to}>`, 'DATA', 'Subject: service test\r\n\r\nhello\r\n.', 'QUIT'];
    let buf = '';
    let step = 0;
    socket.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line[3] === '-') continue;
        if (step === 5) {
          socket.end('QUIT\r\n');
          return resolve(line);
        }
        if (!/^[23]/.test(line)) return reject(new Error(`${script[step - 1] ?? 'banner'}: ${line}`));
        socket.write(script[step++] + '\r\n');
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed early')));
  });
}
