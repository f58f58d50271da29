// One process per server name on a host: `serve` holds `<SERVER>.lock` in its
// data folder for as long as it runs. A second `serve` of the same server
// stops before it touches the directory or a port. (Across hosts, the
// PostgreSQL directory's advisory lock does the same: DirectoryStore.lockServer.)
//
// Node has no flock(), so the lock file names its holder by process id and
// start time (/proc/<pid>/stat field 22): a lock whose holder is gone, after a
// crash or kill -9, is broken, and a recycled process id cannot pass for it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InterchangeError } from '../errors/interchange-error.js';

interface Holder {
  pid: number;
  startTime: string;
  host: string;
}

export class ServerLock {
  private constructor(
    private readonly file: string,
    private readonly inode: number,
  ) {}

  static acquire(dataDir: string, serverName: string): ServerLock {
    const file = path.join(dataDir, `${serverName.toUpperCase()}.lock`);
    const mine: Holder = { pid: process.pid, startTime: startTimeOf(process.pid) ?? '', host: os.hostname() };
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(mine) + '\n', { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          // link() fails if the name exists: taking the lock is one atomic step.
          fs.linkSync(tmp, file);
          return new ServerLock(file, fs.statSync(file).ino);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const holder = readHolder(file);
        if (holder && isAlive(holder)) {
          throw new InterchangeError(
            'ICX_SERVER_ALREADY_RUNNING',
            `Server ${serverName.toUpperCase()} is already running (process ${holder.pid} on ${holder.host}, lock ${file}). Stop it before starting it again.`,
          );
        }
        breakStaleLock(file);
      }
      throw new InterchangeError('ICX_SERVER_ALREADY_RUNNING', `Server ${serverName.toUpperCase()}: the lock ${file} keeps changing hands; another process is starting it.`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Removes the lock file if it is still this process's. */
  release(): void {
    try {
      if (fs.statSync(this.file).ino === this.inode) fs.unlinkSync(this.file);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/**
 * Moves the stale file aside instead of unlinking it by name: if another
 * starter broke it first and took the lock meanwhile, what we moved is a live
 * lock, which goes straight back.
 */
function breakStaleLock(file: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (moved && isAlive(moved)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // Someone else holds the name now; they will find the live holder.
    }
  }
  fs.rmSync(aside, { force: true });
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(h: Holder): boolean {
  // A lock written on another host (a data folder on shared storage) cannot be checked from here: it holds.
  if (h.host !== os.hostname()) return true;
  const now = startTimeOf(h.pid);
  return now !== undefined && now === h.startTime;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
