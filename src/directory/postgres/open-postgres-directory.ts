import { Kysely, PostgresDialect, sql } from 'kysely';
import os from 'node:os';
import pg from 'pg';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { ServerLease } from '../directory-store.js';
import type { DirectoryStore } from '../directory-store.js';
import type { DirectoryHealth } from '../directory-health.js';
import { KyselyDirectoryStore, type TransactionStrategy } from '../kysely-directory-store.js';
import { migrateToLatest } from '../migrations.js';
import { describeDirectory, reportingOutages } from './outage.js';
import type { DirectoryDatabase } from '../schema.js';

// One arbitrary, fixed key: every configuration writer of the organization
// takes the same transaction-scoped advisory lock, which is what SQLite's
// BEGIN IMMEDIATE gives the embedded directory.
const DIRECTORY_WRITE_LOCK = 0x1c0de;
// The key space of the session-scoped locks that make a server name one
// process's across hosts (the second key is hashtext of the name).
const SERVER_LOCK_SPACE = 0x1c0df;

/** The directory for organizations whose servers run on several hosts. */
export async function openPostgresDirectory(connectionString: string, health?: DirectoryHealth, timeoutMs = DEFAULT_DIRECTORY_TIMEOUT_MS): Promise<DirectoryStore> {
  // Bounded waits: a frozen or unreachable database fails a call within seconds instead of holding it (and the
  // directory's write lock) for ever; a connection idle inside a transaction is ended by the server.
  const pool = new pg.Pool({
    connectionString,
    max: 5,
    connectionTimeoutMillis: Math.min(DIRECTORY_CONNECT_TIMEOUT_MS, timeoutMs),
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: 2 * timeoutMs,
    keepAlive: true,
  });
  // An idle connection the server ends (a PostgreSQL restart, an administrator's
  // pg_terminate_backend) is reported here; without a listener it would crash the
  // process. The pool drops that connection and the next query opens a new one.
  pool.on('error', () => undefined);
  const connections = new Set<pg.PoolClient>();
  pool.on('connect', (c) => connections.add(c));
  pool.on('remove', (c) => connections.delete(c));
  const db = new Kysely<DirectoryDatabase>({ dialect: new PostgresDialect({ pool }) });

  const strategy: TransactionStrategy = {
    kind: 'postgres',
    runExclusive(db, work) {
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${DIRECTORY_WRITE_LOCK})`.execute(trx);
        return work(trx);
      });
    },
    holdServerLock: (serverName) => holdServerLock(connectionString, serverName, timeoutMs),
    async destroy() {
      await endWithin(db.destroy(), timeoutMs, () => connections);
    },
  };

  await strategy.runExclusive(db, (trx) =>
    migrateToLatest(trx as Kysely<any>, {
      autoIncrementId: (table) => (trx as Kysely<any>).schema.createTable(table).addColumn('id', 'serial', (c) => c.primaryKey()),
    }, `The directory ${describeDirectory(connectionString)}`),
  ).catch(async (e) => {
    // A refused start leaves no pool behind to hold the process open.
    await db.destroy();
    throw e;
  });
  return reportingOutages(new KyselyDirectoryStore(db, strategy), describeDirectory(connectionString), health);
}

const DIRECTORY_CONNECT_TIMEOUT_MS = 5_000;
/** How long one directory query may take, unless INTERCHANGE_DIRECTORY_TIMEOUT_MS says otherwise. */
export const DEFAULT_DIRECTORY_TIMEOUT_MS = 15_000;

export function directoryTimeoutFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.INTERCHANGE_DIRECTORY_TIMEOUT_MS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 500 ? n : DEFAULT_DIRECTORY_TIMEOUT_MS;
}

/**
 * A session-level advisory lock on a connection of its own, held for the life
 * of the process: PostgreSQL drops it when the process dies or its connection
 * breaks, so a crashed server never blocks its own restart. The connection's
 * application_name says who holds it, for the refusal of a second process.
 */
async function holdServerLock(connectionString: string, serverName: string, timeoutMs: number): Promise<ServerLease> {
  const name = serverName.toUpperCase();
  const client = new pg.Client({
    connectionString,
    application_name: `interchange ${name} pid ${process.pid} on ${os.hostname()}`.slice(0, 63),
    connectionTimeoutMillis: Math.min(DIRECTORY_CONNECT_TIMEOUT_MS, timeoutMs),
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [SERVER_LOCK_SPACE, name]);
    if (!got.rows[0].ok) {
      const holder = await client.query<{ application_name: string; client_addr: string | null }>(
        `select a.application_name, host(a.client_addr) as client_addr from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.classid = $1 and l.objid = hashtext($2)::oid and l.granted`,
        [SERVER_LOCK_SPACE, name],
      );
      const who = holder.rows[0] ? `${holder.rows[0].application_name}${holder.rows[0].client_addr ? ` (${holder.rows[0].client_addr})` : ''}` : 'another process';
      throw new InterchangeError('ICX_SERVER_ALREADY_RUNNING', `Server ${name} is already running: ${who} holds it in the organization's directory. Stop that process first.`);
    }
  } catch (e) {
    await endWithin(client.end(), timeoutMs, () => [client]);
    throw e;
  }
  return {
    async release() {
      await endWithin(client.end(), timeoutMs, () => [client]);
    },
  };
}

/**
 * Ending a connection waits for the server to close it, which a hung server
 * never does: a process stopping during such an outage would hang with it.
 * Past the timeout the sockets are dropped (the server ends the sessions, and
 * with them any advisory lock, once it runs again).
 */
async function endWithin(ending: Promise<unknown>, ms: number, clients: () => Iterable<pg.ClientBase>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    ending.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (ended) return;
  for (const c of clients()) (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
