import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DirectoryStore } from '../directory-store.js';
import { KyselyDirectoryStore, type TransactionStrategy } from '../kysely-directory-store.js';
import { migrateToLatest } from '../migrations.js';
import type { DirectoryDatabase } from '../schema.js';

// One arbitrary, fixed key: every configuration writer of the organization
// takes the same transaction-scoped advisory lock, which is what SQLite's
// BEGIN IMMEDIATE gives the embedded directory.
const DIRECTORY_WRITE_LOCK = 0x1c0de;

/** The directory for organizations whose servers run on several hosts. */
export async function openPostgresDirectory(connectionString: string): Promise<DirectoryStore> {
  const pool = new pg.Pool({ connectionString, max: 5 });
  // An idle connection the server ends (a PostgreSQL restart, an administrator's
  // pg_terminate_backend) is reported here; without a listener it would crash the
  // process. The pool drops that connection and the next query opens a new one.
  pool.on('error', () => undefined);
  const db = new Kysely<DirectoryDatabase>({ dialect: new PostgresDialect({ pool }) });

  const strategy: TransactionStrategy = {
    kind: 'postgres',
    runExclusive(db, work) {
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${DIRECTORY_WRITE_LOCK})`.execute(trx);
        return work(trx);
      });
    },
    async destroy() {
      await db.destroy();
    },
  };

  await strategy.runExclusive(db, (trx) =>
    migrateToLatest(trx as Kysely<any>, {
      autoIncrementId: (table) => (trx as Kysely<any>).schema.createTable(table).addColumn('id', 'serial', (c) => c.primaryKey()),
    }),
  );
  return new KyselyDirectoryStore(db, strategy);
}
