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
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed: run scripts/install-test-deps.sh');
  return path.join(root, versions[0], 'bin');
}

/**
 * A throw-away PostgreSQL cluster on a loopback port, owned by the postgres
 * user (the server refuses to run as root), trusting local connections.
 */
export async function startPostgres(): Promise<PostgresInstance> {
  const bin = binDir();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-pg-'));
  await fs.promises.chmod(dir, 0o755);
  const data = path.join(dir, 'data');
  // Spawned with the postgres user's uid/gid directly, so signals reach the server itself.
  const ids = process.getuid?.() === 0 ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) } : {};
  await fs.promises.mkdir(data);
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:postgres', dir]);
  await run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { ...ids, cwd: dir });
  const port = await freeTcpPort();
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];
  const child = spawn(path.join(bin, 'postgres'), args, { stdio: 'ignore', cwd: dir, ...ids });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await run(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('PostgreSQL did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async createDatabase(name) {
      await run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return url(name);
    },
    async stop() {
      child.kill('SIGINT');
      await exited;
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}
