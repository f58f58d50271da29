import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { DirectoryStore } from '../directory-store.js';
import { KyselyDirectoryStore, type TransactionStrategy } from '../kysely-directory-store.js';
import { migrateToLatest } from '../migrations.js';
import type { DirectoryDatabase } from '../schema.js';

/**
 * The embedded directory. Several server processes may open the same file:
 * WAL lets readers run beside the one writer, and BEGIN IMMEDIATE takes the
 * write lock up front, so a check followed by a write (the removal guard) can
 * never be overtaken by another process between the two.
 */
export async function openSqliteDirectory(file: string): Promise<DirectoryStore> {
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  // Configuration changes are rare and precious: pay for a full sync.
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 15000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<DirectoryDatabase>({ dialect: new SqliteDialect({ database }) });

  try {
    await migrateWithLock(db, `The directory ${file}`);
  } catch (e) {
    await db.destroy();
    throw e;
  }

  const strategy: TransactionStrategy = {
    kind: 'sqlite',
    async runExclusive(db, work) {
      // Kysely's SQLite driver has one connection guarded by a mutex; holding
      // it for the whole transaction keeps other work in this process out.
      return db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          await sql`rollback`.execute(conn);
          throw e;
        }
      });
    },
    async destroy() {
      await db.destroy();
    },
  };
  return new KyselyDirectoryStore(db, strategy);
}

async function migrateWithLock(db: Kysely<DirectoryDatabase>, where: string): Promise<void> {
  // Two processes starting at once would race on CREATE TABLE; the immediate
  // transaction makes the second wait and then find the schema current.
  await db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      await migrateToLatest(conn as Kysely<any>, {
        autoIncrementId: (table) =>
          (conn as Kysely<any>).schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
      }, where);
      await sql`commit`.execute(conn);
    } catch (e) {
      await sql`rollback`.execute(conn);
      throw e;
    }
  });
}
