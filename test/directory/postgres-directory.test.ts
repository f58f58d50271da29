import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
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

  directoryConformance(async () => openPostgresDirectory(await instance.createDatabase(`directory_${++n}`)));

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
});
