import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { InterchangeError } from '../../src/errors/interchange-error.js';
import { openPostgresDirectory } from '../../src/directory/postgres/open-postgres-directory.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { directoryConformance } from './conformance.js';

describe('PostgreSQL directory', () => {
  let instance: PostgresInstance;
  let n = 0;
  before(async () => {
    instance = await startPostgres();
  });
  after(async () => {
    await instance?.stop();
  });

  directoryConformance(
    async () => openPostgresDirectory(await instance.createDatabase(`directory_${++n}`)),
    async () => {
      const url = await instance.createDatabase(`directory_${++n}`);
      return {
        open: () => openPostgresDirectory(url),
        async sql(text) {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            return (await client.query(text)).rows;
          } finally {
            await client.end();
          }
        },
      };
    },
  );

  it('survives the server ending its idle connections (a restart, pg_terminate_backend): the next query reconnects', async () => {
    const d = await openPostgresDirectory(await instance.createDatabase('directory_terminated'));
    try {
      // Leaves an idle connection in the pool.
      assert.deepEqual(await d.listServers(), []);
      const admin = new pg.Client({ connectionString: instance.url('postgres') });
      await admin.connect();
      const { rows } = await admin.query("select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = 'directory_terminated' and pid <> pg_backend_pid()");
      await admin.end();
      assert.ok(rows.length >= 1, 'a pooled connection was ended');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await d.listServers(), []);
    } finally {
      await d.close();
    }
  });

  it('holds a server name for one process across hosts: a second lockServer is refused naming the holder, and the name is free once released', async () => {
    const url = await instance.createDatabase('directory_server_lock');
    const [a, b] = [await openPostgresDirectory(url), await openPostgresDirectory(url)];
    try {
      const lease = await a.lockServer('ex01');
      await assert.rejects(b.lockServer('EX01'), (e: InterchangeError) => {
        assert.equal(e.code, 'ICX_SERVER_ALREADY_RUNNING');
        assert.match(e.message, new RegExp(`^Server EX01 is already running: interchange EX01 pid ${process.pid} on \\S+ \\(127\\.0\\.0\\.1\\) holds it`));
        return true;
      });
      const other = await b.lockServer('EX02');
      await other.release();
      await lease.release();
      const again = await b.lockServer('EX01');
      await again.release();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

