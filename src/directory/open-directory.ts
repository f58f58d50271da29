import path from 'node:path';
import type { DirectoryStore } from './directory-store.js';
import { openPostgresDirectory } from './postgres/open-postgres-directory.js';
import { openSqliteDirectory } from './sqlite/open-sqlite-directory.js';

/**
 * `postgres://…` selects PostgreSQL; anything else is the embedded SQLite
 * directory in the data folder, so a new installation needs nothing else.
 */
export function openDirectory(opts: { dataDir: string; directoryUrl?: string }): Promise<DirectoryStore> {
  const url = opts.directoryUrl;
  if (url && /^postgres(ql)?:\/\//i.test(url)) return openPostgresDirectory(url);
  return openSqliteDirectory(url && url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : path.join(opts.dataDir, 'directory.sqlite'));
}
