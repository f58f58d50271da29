import fs from 'node:fs';

let cached: string | undefined;

/**
 * The version of this installation, from its package.json (one folder above
 * this file in src/ and in dist/): each copy of Interchange reports its own.
 */
export function productVersion(): string {
  cached ??= (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
