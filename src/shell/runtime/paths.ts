// File paths as Exchange procedures write them. Windows-style paths
// (`C:\certs\a.pfx`) are mapped onto the POSIX file system only when the mapped
// file exists, so a path that means nothing here fails with the path as typed.

import fs from 'node:fs';
import path from 'node:path';

const WINDOWS_DRIVE = /^[A-Za-z]:[\\/]/;

export function resolvePath(cwd: string, typed: string): string {
  const direct = path.resolve(cwd, typed);
  if (fs.existsSync(direct)) return direct;
  if (WINDOWS_DRIVE.test(typed) || typed.includes('\\')) {
    const posix = typed.replace(/^[A-Za-z]:/, '').replace(/\\/g, '/');
    const mapped = path.resolve(cwd, posix);
    if (fs.existsSync(mapped)) return mapped;
  }
  return direct;
}

/** A path to write to: the directory must exist, after the same mapping. */
export function resolveWritePath(cwd: string, typed: string): string {
  const direct = path.resolve(cwd, typed);
  if (fs.existsSync(path.dirname(direct)) && !typed.includes('\\') && !WINDOWS_DRIVE.test(typed)) return direct;
  if (WINDOWS_DRIVE.test(typed) || typed.includes('\\')) {
    const posix = typed.replace(/^[A-Za-z]:/, '').replace(/\\/g, '/');
    const mapped = path.resolve(cwd, posix);
    if (fs.existsSync(path.dirname(mapped))) return mapped;
  }
  return direct;
}
