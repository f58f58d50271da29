import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openSqliteDirectory } from '../../src/directory/sqlite/open-sqlite-directory.js';
import { REPO_ROOT, tempDir } from '../support/interchange.js';
import { directoryConformance, sendConnector } from './conformance.js';

const run = promisify(execFile);

describe('SQLite directory', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await fs.promises.rm(d, { recursive: true, force: true });
  });
  const fresh = async () => {
    const dir = await tempDir('sqlite');
    dirs.push(dir);
    return path.join(dir, 'directory.sqlite');
  };

  directoryConformance(
    async () => openSqliteDirectory(await fresh()),
    async () => {
      const file = await fresh();
      return {
        open: () => openSqliteDirectory(file),
        async sql(text) {
          const db = new Database(file);
          try {
            const st = db.prepare(text);
            return st.reader ? (st.all() as Array<Record<string, unknown>>) : (st.run(), []);
          } finally {
            db.close();
          }
        },
      };
    },
  );

  it('serializes writers in separate processes sharing the file (BEGIN IMMEDIATE)', async () => {
    const file = await fresh();
    const d = await openSqliteDirectory(file);
    await d.insertSendConnector(sendConnector('Counter', '0'));
    await d.close();
    const worker = `
      import { openSqliteDirectory } from ${JSON.stringify(path.join(REPO_ROOT, 'src/directory/sqlite/open-sqlite-directory.ts'))};
      const d = await openSqliteDirectory(process.argv[1]);
      for (let i = 0; i < 15; i++) {
        await d.exclusive(async (tx) => {
          const cur = (await tx.listSendConnectors())[0];
          await new Promise((r) => setTimeout(r, 2));
          await tx.updateSendConnector({ ...cur, comment: String(Number(cur.comment) + 1) });
        });
      }
      await d.close();`;
    await Promise.all([1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker, file], { cwd: REPO_ROOT })));
    const again = await openSqliteDirectory(file);
    assert.equal((await again.listSendConnectors())[0].comment, '45');
    await again.close();
  });

  it('lets several processes open and migrate a new file at once', async () => {
    const file = await fresh();
    const opener = `
      import { openSqliteDirectory } from ${JSON.stringify(path.join(REPO_ROOT, 'src/directory/sqlite/open-sqlite-directory.ts'))};
      const d = await openSqliteDirectory(process.argv[1]);
      await d.close();`;
    await Promise.all([1, 2, 3, 4].map(() => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', opener, file], { cwd: REPO_ROOT })));
    const d = await openSqliteDirectory(file);
    assert.equal(await d.revision(), 0);
    await d.close();
  });
});
