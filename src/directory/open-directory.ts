import path from 'node:path';
import type { DirectoryHealth } from './directory-health.js';
import type { DirectoryStore } from './directory-store.js';
import { type DirectoryLocation, parseDirectoryUrl } from './directory-url.js';
import { openPostgresDirectory } from './postgres/open-postgres-directory.js';
import { openSqliteDirectory } from './sqlite/open-sqlite-directory.js';

/** The embedded directory's file: a new installation needs nothing else. */
export function embeddedDirectoryFile(dataDir: string): string {
  return path.join(dataDir, 'directory.sqlite');
}

/**
 * A PostgreSQL URL (`postgres://…`, strictly parsed) selects PostgreSQL; no URL
 * is the embedded SQLite directory in the data folder. Anything else is refused.
 */
export function openDirectory(opts: { dataDir: string; directoryUrl?: string; location?: DirectoryLocation; health?: DirectoryHealth; timeoutMs?: number }): Promise<DirectoryStore> {
  const location = opts.location ?? parseDirectoryUrl(opts.directoryUrl);
  // The embedded directory is a file of this host: only a PostgreSQL one has outages to tell.
  if (location.kind === 'postgres') return openPostgresDirectory(location.url, opts.health, opts.timeoutMs);
  return openSqliteDirectory(embeddedDirectoryFile(opts.dataDir));
}
