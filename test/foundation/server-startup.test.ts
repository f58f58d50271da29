// `interchange serve` as a service on a host: one process per server name, and
// every start-up failure is one line and an exit code, with the directory untouched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertOneLineFailure, runCli } from '../support/cli.js';
import { AdminApi, CLI, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const serve = (args: string[], opts: { user?: string } = {}) => runCli(['serve', ...args], { ...opts, timeoutMs: 30_000 });

test('a second serve of a running server exits with one line; the first keeps its ports and its directory record', async () => {
  const dataDir = await tempDir('startup-twice');
  const first = await startServerProcess({ dataDir, serverName: 'EX01' });
  cleanups.push(() => first.stop());
  const [smtp2, admin2] = [await freeTcpPort(), await freeTcpPort()];
  const second = serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', String(smtp2), '--admin-port', String(admin2)]);
  assertOneLineFailure(second, new RegExp(`^Server EX01 is already running \\(process ${first.child.pid} on `));

  assert.match(await smtpBanner(first.smtpPort), /^220 /);
  const api = new AdminApi(first.url, first.token);
  const [server] = await api.ok('Get-ExchangeServer', { Identity: 'EX01' });
  assert.ok(server, 'the first process still answers');
  const [frontend] = await api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01' });
  assert.deepEqual(frontend.Bindings, [`[::]:${first.smtpPort}`, `0.0.0.0:${first.smtpPort}`], "Exchange's Default Frontend bindings: IPv6 and IPv4");
  // Nothing listens on the second process's ports.
  await assert.rejects(connect(smtp2));
});

test('a server killed with SIGKILL starts again: its lock names a process that is gone', async () => {
  const dataDir = await tempDir('startup-stale');
  const a = await startServerProcess({ dataDir, serverName: 'EX01' });
  await a.stop('SIGKILL');
  assert.ok(fs.existsSync(path.join(dataDir, 'EX01.lock')), 'kill -9 leaves the lock file behind');
  const b = await startServerProcess({ dataDir, serverName: 'EX01' });
  cleanups.push(() => b.stop());
  assert.match(await smtpBanner(b.smtpPort), /^220 /);
  await b.stop();
  assert.ok(!fs.existsSync(path.join(dataDir, 'EX01.lock')), 'a clean stop removes the lock');
});

test('a port in use is one line naming the port and what needed it, and nothing is written to the directory', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '0.0.0.0', () => r()));
  cleanups.push(() => new Promise<void>((r) => holder.close(() => r())));
  const busy = (holder.address() as net.AddressInfo).port;

  const dataDir = await tempDir('startup-port');
  const smtp = serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', String(busy), '--admin-port', String(await freeTcpPort())]);
  assertOneLineFailure(smtp, new RegExp(`^Port ${busy} on 0\\.0\\.0\\.0, for the Default Frontend EX01 Receive connector \\(--smtp-port\\), is in use`));
  const admin = serve(['--data', dataDir, '--server', 'EX01', '--smtp-port', String(await freeTcpPort()), '--admin-port', String(busy)]);
  assertOneLineFailure(admin, new RegExp(`^Port ${busy} on 127\\.0\\.0\\.1, for the admin center and API \\(--admin-port\\), is in use`));
  assert.deepEqual(fs.readdirSync(dataDir), [], 'no directory, key or lock left behind');
});

test('a data folder that cannot be used is one line, and start-up never hangs', async () => {
  const base = await tempDir('startup-folder');
  const ports = ['--smtp-port', String(await freeTcpPort()), '--admin-port', String(await freeTcpPort())];

  // Node's recursive mkdir never returns on /proc; serve must.
  assertOneLineFailure(serve(['--data', '/proc/interchange-test/data', ...ports]), /^The data folder \/proc\/interchange-test\/data is not writable: cannot create \/proc\/interchange-test /);

  const file = path.join(base, 'a-file');
  fs.writeFileSync(file, 'x');
  assertOneLineFailure(serve(['--data', file, ...ports]), /^The data folder .*a-file cannot be used: .*a-file is not a folder\.$/);
  assertOneLineFailure(serve(['--data', path.join(file, 'below'), ...ports]), /cannot be used: a part of its path is a file/);

  // A folder another user owns: the service account cannot write it.
  const foreign = path.join(base, 'foreign');
  fs.mkdirSync(foreign, { mode: 0o755 });
  fs.chmodSync(base, 0o755);
  assertOneLineFailure(serve(['--data', path.join(foreign, 'data'), ...ports], { user: '65534' }), /is not writable: .*\(permission denied/);

  // A read-only file system: the folder exists and can be read, but nothing can be written.
  const ro = path.join(base, 'ro');
  fs.mkdirSync(ro);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  assert.equal(mount.status, 0, `mount a read-only tmpfs: ${mount.stderr}`);
  try {
    assertOneLineFailure(serve(['--data', ro, ...ports]), /is not writable: .*\(the file system is read-only\)/);
  } finally {
    spawnSync('umount', [ro]);
  }
});

test('files and folders the server writes are for its owner alone, whatever existed before', async () => {
  const dataDir = await tempDir('startup-modes');
  fs.chmodSync(dataDir, 0o755);
  fs.mkdirSync(path.join(dataDir, 'old-logs'), { mode: 0o755 });
  fs.writeFileSync(path.join(dataDir, 'old-logs', 'a.LOG'), 'x', { mode: 0o644 });
  const s = await startServerProcess({ dataDir, serverName: 'EX01' });
  cleanups.push(() => s.stop());
  const loose: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const mode = fs.lstatSync(p).mode & 0o777;
      if (e.isDirectory()) {
        if (mode !== 0o700) loose.push(`${p} ${mode.toString(8)}`);
        walk(p);
      } else if (e.isFile() && (mode & 0o077) !== 0) loose.push(`${p} ${mode.toString(8)}`);
    }
  };
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
  walk(dataDir);
  assert.deepEqual(loose, []);
});

test('interchange --version prints the version of package.json', () => {
  const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), pkg.version);
});

function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

/** The first line a Receive connector sends. */
function smtpBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    s.on('error', reject);
  });
}
