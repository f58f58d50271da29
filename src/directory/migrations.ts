import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { DEFAULT_REMOTE_DOMAIN_NAME, newRemoteDomain } from './records.js';
import { encodeDocument } from './document-codec.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { productVersion } from '../product-version.js';

/** What differs between the dialects in DDL; everything else is shared. */
export interface DdlFlavor {
  autoIncrementId: (table: string) => ReturnType<Kysely<unknown>['schema']['createTable']>;
}

interface Migration {
  up(db: Kysely<any>): Promise<void>;
}

function migrations(flavor: DdlFlavor): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('meta').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'bigint', (c) => c.notNull()).execute();
        await db.insertInto('meta').values({ key: 'revision', value: 0 }).execute();
        await db.schema.createTable('organization').addColumn('guid', 'text', (c) => c.primaryKey()).addColumn('data', 'text', (c) => c.notNull()).execute();
        await db.schema.createTable('servers').addColumn('name_key', 'text', (c) => c.primaryKey()).addColumn('data', 'text', (c) => c.notNull()).execute();
        await db.schema
          .createTable('certificates')
          .addColumn('server_key', 'text', (c) => c.notNull())
          .addColumn('thumbprint', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('certificates_pk', ['server_key', 'thumbprint'])
          .execute();
        await db.schema
          .createTable('trusted_roots')
          .addColumn('server_key', 'text', (c) => c.notNull())
          .addColumn('thumbprint', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('trusted_roots_pk', ['server_key', 'thumbprint'])
          .execute();
        await db.schema
          .createTable('send_connectors')
          .addColumn('guid', 'text', (c) => c.primaryKey())
          .addColumn('name_key', 'text', (c) => c.notNull().unique())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('receive_connectors')
          .addColumn('guid', 'text', (c) => c.primaryKey())
          .addColumn('server_key', 'text', (c) => c.notNull())
          .addColumn('name_key', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addUniqueConstraint('receive_connectors_name', ['server_key', 'name_key'])
          .execute();
        await db.schema
          .createTable('administrators')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await flavor
          .autoIncrementId('audit_log')
          .addColumn('run_date', 'text', (c) => c.notNull())
          .addColumn('cmdlet_name', 'text', (c) => c.notNull())
          .addColumn('caller', 'text', (c) => c.notNull())
          .addColumn('succeeded', 'integer', (c) => c.notNull())
          .addColumn('object_modified', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_log_run_date').on('audit_log').column('run_date').execute();
      },
    },
    '0002_mail_users': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('mail_users')
          .addColumn('guid', 'text', (c) => c.primaryKey())
          .addColumn('name_key', 'text', (c) => c.notNull().unique())
          .addColumn('upn_key', 'text', (c) => c.notNull().unique())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_accepted_domains': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('accepted_domains')
          .addColumn('guid', 'text', (c) => c.primaryKey())
          .addColumn('name_key', 'text', (c) => c.notNull().unique())
          .addColumn('domain_key', 'text', (c) => c.notNull().unique())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0004_server_heartbeats': {
      async up(db: Kysely<any>) {
        // Run-time state written by each server's process, kept apart from its configuration:
        // a heartbeat never moves the revision that makes transports reload.
        await db.schema.createTable('server_heartbeats').addColumn('server_key', 'text', (c) => c.primaryKey()).addColumn('data', 'text', (c) => c.notNull()).execute();
      },
    },
    '0005_remote_domains': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('remote_domains')
          .addColumn('guid', 'text', (c) => c.primaryKey())
          .addColumn('name_key', 'text', (c) => c.notNull().unique())
          .addColumn('domain_key', 'text', (c) => c.notNull().unique())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        // Every Exchange organization has the remote domain Default for `*`; a directory gets it with the table.
        const d = newRemoteDomain(crypto.randomUUID(), DEFAULT_REMOTE_DOMAIN_NAME, '*', new Date());
        await db.insertInto('remote_domains').values({ guid: d.guid, name_key: d.name.toLowerCase(), domain_key: d.domainName, data: encodeDocument(d) }).execute();
      },
    },
  };
}

/** A schema's version is the number its newest migration starts with (0004_… is version 4). */
export function schemaVersion(migrationNames: Iterable<string>): number {
  let v = 0;
  for (const name of migrationNames) v = Math.max(v, Number.parseInt(name, 10) || 0);
  return v;
}

/** The schema version this build of Interchange creates and understands. */
export const KNOWN_SCHEMA_VERSION = schemaVersion(Object.keys(migrations({ autoIncrementId: () => undefined as never })));

/**
 * Refuses a directory that a newer Interchange migrated: this build would run
 * on tables it does not know and could undo what the newer one relies on.
 */
export function refuseNewerSchema(applied: Iterable<string>, known: Iterable<string>, where: string): void {
  const knownSet = new Set(known);
  const foreign = [...applied].filter((name) => !knownSet.has(name)).sort();
  if (foreign.length === 0) return;
  const theirs = schemaVersion([...applied]);
  const ours = schemaVersion(knownSet);
  throw new InterchangeError(
    'ICX_DIRECTORY_SCHEMA_NEWER',
    `${where} has schema version ${theirs} (${foreign.join(', ')}), newer than version ${ours} of this Interchange ${productVersion()}: a newer Interchange upgraded it; run that version or a later one.`,
  );
}

/**
 * Applies the migrations not yet recorded, in name order. The caller runs this
 * inside its own cross-process write lock (SQLite BEGIN IMMEDIATE, PostgreSQL
 * advisory lock). Kysely's Migrator cannot be used there: it always asks the
 * pool for a new connection, which deadlocks against the one holding the lock,
 * and its SQLite lock is only in-process.
 */
export async function migrateToLatest(db: Kysely<any>, flavor: DdlFlavor, where: string): Promise<void> {
  await db.schema
    .createTable('interchange_migration')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .execute();
  const done = new Set((await db.selectFrom('interchange_migration').select('name').execute()).map((r: { name: string }) => r.name));
  const known = migrations(flavor);
  refuseNewerSchema(done, Object.keys(known), where);
  for (const [name, migration] of Object.entries(known).sort(([a], [b]) => a.localeCompare(b))) {
    if (done.has(name)) continue;
    try {
      await migration.up(db);
    } catch (e) {
      throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The directory schema could not be upgraded (migration ${name}): ${(e as Error).message}`, { cause: e });
    }
    await db.insertInto('interchange_migration').values({ name, applied_at: new Date().toISOString() }).execute();
  }
}
