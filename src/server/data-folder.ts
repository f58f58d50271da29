// The data folder holds the keys, the embedded directory, the queue and the
// logs: before anything is written there, it must be a folder this process
// can write, on a file system that takes writes, and readable by its owner only.
import fs from 'node:fs';
import path from 'node:path';
import { InterchangeError } from '../errors/interchange-error.js';

const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Creates the folder (and missing parents) one level at a time: Node's
 * recursive mkdir never returns on a pseudo file system such as /proc, where
 * mkdir answers ENOENT however often it is retried.
 */
export function prepareDataFolder(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let p = target; ; p = path.dirname(p)) {
    const st = statOrUndefined(p, target);
    if (st) {
      if (!st.isDirectory()) throw new InterchangeError('ICX_DATA_FOLDER_INVALID', `The data folder ${target} cannot be used: ${p} is not a folder.`);
      break;
    }
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      fs.mkdirSync(p, { mode: FOLDER_MODE });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw writeError(target, e, `cannot create ${p}`);
    }
  }
  try {
    fs.chmodSync(target, FOLDER_MODE);
  } catch (e) {
    throw writeError(target, e, 'cannot set its permissions to 0700');
  }
  probeWrite(target);
  tightenModes(target);
}

function statOrUndefined(p: string, target: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new InterchangeError('ICX_DATA_FOLDER_INVALID', `The data folder ${target} cannot be used: a part of its path is a file, not a folder.`);
    throw writeError(target, e, `cannot read ${p}`);
  }
}

/** A file written and flushed: a read-only mount or a full disk shows here, not in the middle of accepting mail. */
function probeWrite(dir: string): void {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    const fd = fs.openSync(probe, 'wx', FILE_MODE);
    try {
      fs.writeSync(fd, 'interchange');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.unlinkSync(probe);
  } catch (e) {
    fs.rmSync(probe, { force: true });
    throw writeError(dir, e, 'a test file cannot be written there');
  }
}

/**
 * Files an earlier version or another tool left readable by others (0644
 * files, 0755 folders) are closed to the owner; new ones are, by the umask
 * that `serve` sets. Queued mail and sealed keys are in there.
 */
function tightenModes(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    try {
      if (entry.isDirectory()) {
        fs.chmodSync(p, FOLDER_MODE);
        tightenModes(p);
      } else if ((fs.statSync(p).mode & 0o077) !== 0) fs.chmodSync(p, FILE_MODE);
    } catch (e) {
      throw writeError(dir, e, `cannot restrict the permissions of ${p}`);
    }
  }
}

function writeError(dir: string, e: unknown, what: string): InterchangeError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'EROFS'
      ? 'the file system is read-only'
      : code === 'EACCES' || code === 'EPERM'
        ? `permission denied for user ${userName()}`
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? 'the disk is full'
          : code === 'ENOENT'
            ? 'the file system does not allow it'
            : (code ?? String(e));
  return new InterchangeError('ICX_DATA_FOLDER_NOT_WRITABLE', `The data folder ${dir} is not writable: ${what} (${why}).`, { cause: e });
}

function userName(): string {
  try {
    return `${process.getuid?.()}`;
  } catch {
    return 'unknown';
  }
}
