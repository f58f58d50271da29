import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from './interchange.js';

const run = promisify(execFile);

export interface PostgresInstance {
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stops the server and keeps the cluster, as a directory outage does; resume() starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  /** Stops every process of the server (SIGSTOP): connections stay open and nothing answers, as a hung database does. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Addresses to listen on besides 127.0.0.1 (e.g. a lab bridge that network namespaces reach). */
  extraListenAddresses?: string[];
  /** A network (CIDR) whose clients are trusted, like loopback: a `host all all <subnet> trust` line in pg_hba.conf. */
  trustSubnet?: string;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed: run scripts/install-test-deps.sh');
  return path.join(root, versions[0], 'bin');
}

/**
 * A throw-away PostgreSQL cluster on a loopback port, owned by the postgres
 * user (the server refuses to run as root), trusting local connections
 * (and, when asked, more addresses and a network).
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresInstance> {
  const bin = binDir();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-pg-'));
  await fs.promises.chmod(dir, 0o755);
  const data = path.join(dir, 'data');
  // Spawned with the postgres user's uid/gid directly, so signals reach the server itself.
  const ids = process.getuid?.() === 0 ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) } : {};
  await fs.promises.mkdir(data);
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:postgres', dir]);
  await run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { ...ids, cwd: dir });
  if (opts.trustSubnet) await fs.promises.appendFile(path.join(data, 'pg_hba.conf'), `host all all ${opts.trustSubnet} trust\n`);
  const port = await freeTcpPort();
  const listen = ['127.0.0.1', ...(opts.extraListenAddresses ?? [])].join(',');
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', `listen_addresses=${listen}`, '-c', 'fsync=off'];
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  let exited: Promise<void> | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const launch = async () => {
    const started = spawn(path.join(bin, 'postgres'), args, { stdio: 'ignore', cwd: dir, ...ids });
    child = started;
    exited = new Promise<void>((r) => started.once('exit', () => r()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await run(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
        break;
      } catch {
        if (started.exitCode !== null || Date.now() > deadline) throw new Error('PostgreSQL did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
  };
  /** The postmaster and its backends, for signals that must reach all of them. */
  const processes = async (): Promise<number[]> => {
    if (!child?.pid) return [];
    const children = await run('pgrep', ['-P', String(child.pid)]).then((r) => r.stdout.split('\n').filter(Boolean).map(Number), () => []);
    return [child.pid, ...children];
  };
  let frozen = false;
  const thaw = async () => {
    if (!frozen) return;
    frozen = false;
    for (const pid of await processes()) process.kill(pid, 'SIGCONT');
  };
  await launch();
  return {
    url,
    async createDatabase(name) {
      await run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return url(name);
    },
    halt,
    resume: launch,
    async freeze() {
      frozen = true;
      for (const pid of await processes()) process.kill(pid, 'SIGSTOP');
    },
    thaw,
    async stop() {
      await thaw();
      await halt();
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}
