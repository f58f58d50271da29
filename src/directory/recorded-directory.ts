// `serve` notes in the data folder which directory it used, so that `shell --data`
// on a PostgreSQL host finds the organization without --directory repeated.
// The URL is kept without its password; a password goes to a file of its own
// (mode 0600, like every file of the data folder), which nothing else reads.
import fs from 'node:fs';
import path from 'node:path';
import { type DirectoryLocation, parseDirectoryUrl, withPassword } from './directory-url.js';

const URL_FILE = 'directory-url';
const PASSWORD_FILE = 'directory-password';

export function recordDirectory(dataDir: string, location: DirectoryLocation): void {
  // The embedded directory is the folder's own file: nothing to note.
  if (location.kind !== 'postgres') return;
  if (location.password !== undefined) writeAtomically(path.join(dataDir, PASSWORD_FILE), location.password);
  else fs.rmSync(path.join(dataDir, PASSWORD_FILE), { force: true });
  writeAtomically(path.join(dataDir, URL_FILE), location.withoutPassword + '\n');
}

/** The PostgreSQL directory `serve` last used with this data folder, or undefined if it never used one. */
export function recordedDirectory(dataDir: string): DirectoryLocation | undefined {
  const url = readOrUndefined(path.join(dataDir, URL_FILE))?.trim();
  if (!url) return undefined;
  const password = readOrUndefined(path.join(dataDir, PASSWORD_FILE));
  return parseDirectoryUrl(password === undefined ? url : withPassword(url, password));
}

/** A data-folder file's text, or undefined when it does not exist (any other failure is thrown). */
export function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A reader sees the old content or the new, never half of it. */
export function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
