import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ERROR_CATALOG } from '../../src/errors/catalog.js';
import { REPO_ROOT } from '../support/interchange.js';

it('documents every error code of the catalog in docs/errors.md, and no other', () => {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(ICX_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.keys(ERROR_CATALOG).sort(), 'run: npx tsx scripts/gen-error-docs.ts');
});

it('uses every catalog code somewhere in the source', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !p.endsWith(path.join('errors', 'catalog.ts'))) files.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  const all = files.join('\n');
  const unused = Object.keys(ERROR_CATALOG).filter((code) => !all.includes(`'${code}'`));
  assert.deepEqual(unused, [], 'codes declared but never raised');
});
