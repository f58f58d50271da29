import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build` puts the admin center's files: dist/web under the
 * package root. Found by walking up from this module, so it works both from
 * dist/admin-center (compiled) and src/admin-center (tsx in tests).
 */
export function defaultWebRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist', 'web');
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(from, 'web');
    dir = parent;
  }
}
