import { after, before, describe } from 'node:test';
import { openPostgresDirectory } from '../../src/directory/postgres/open-postgres-directory.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { directoryConformance } from './conformance.js';

describe('PostgreSQL directory', () => {
  let pg: PostgresInstance;
  let n = 0;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  directoryConformance(async () => openPostgresDirectory(await pg.createDatabase(`directory_${++n}`)));
});
