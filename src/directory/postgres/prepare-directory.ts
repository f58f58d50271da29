// `interchange prepare-directory`, after Exchange's `Setup /PrepareAD`: makes
// the PostgreSQL role and database an organization's directory lives in, and
// its schema, from a connection of a role that may create roles and
// databases. Everything is checked before the first change, and what was
// created is dropped again if a later step fails, so a refusal leaves the
// cluster as it was.
import crypto from 'node:crypto';
import pg from 'pg';
import { InterchangeError } from '../../errors/interchange-error.js';
import { type DirectoryLocation, parseDirectoryUrl, withPassword } from '../directory-url.js';
import { KNOWN_SCHEMA_VERSION, schemaVersion } from '../migrations.js';
import { describeDirectory, isDirectoryOutage } from './outage.js';
import { openPostgresDirectory } from './open-postgres-directory.js';

export interface PreparedDirectory {
  role: string;
  database: string;
  /** The directory URL without its password. */
  directory: string;
  createdRole: boolean;
  createdDatabase: boolean;
  /** The password made for a new role whose URL had none; shown once or kept in a data folder. */
  generatedPassword?: string;
  /** Migrations applied now (empty on a directory that was up to date). */
  applied: string[];
  schemaVersion: number;
}

type Postgres = Extract<DirectoryLocation, { kind: 'postgres' }>;

const CONNECT_TIMEOUT_MS = 5_000;

export async function prepareDirectory(opts: { adminDirectory: string; directory: string }): Promise<PreparedDirectory> {
  const admin = postgresUrl(opts.adminDirectory, 'AdminDirectory', '--admin-directory');
  const target = postgresUrl(opts.directory, 'Directory', '--directory');
  const targetUrl = new URL(target.url);
  const role = decodeURIComponent(targetUrl.username);
  const database = decodeURIComponent(targetUrl.pathname.replace(/^\//, ''));
  if (!role) throw invalidUrl(target, '--directory', 'it names no user (postgres://user@host/database): the role to create');
  if (!database || database.includes('/')) throw invalidUrl(target, '--directory', 'it names no database (postgres://user@host/database)');
  const adminUrl = new URL(admin.url);
  if (adminUrl.hostname.toLowerCase() !== targetUrl.hostname.toLowerCase() || (adminUrl.port || '5432') !== (targetUrl.port || '5432')) {
    throw new InterchangeError(
      'ICX_PARAM_INVALID',
      `--admin-directory ${admin.withoutPassword} and --directory ${target.withoutPassword} name different servers: the role and database are made on the PostgreSQL server the organization will use, so give both the same host and port.`,
    );
  }

  const client = new pg.Client({ connectionString: admin.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'interchange prepare-directory' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    throw unreachable(admin, e);
  }
  const created: Array<() => Promise<unknown>> = [];
  try {
    const me = (await client.query<{ name: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      'select rolname as name, rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user',
    )).rows[0];
    const existingRole = (await client.query<{ rolsuper: boolean; rolcanlogin: boolean }>('select rolsuper, rolcanlogin from pg_roles where rolname = $1', [role])).rows[0];
    const existingDatabase = (await client.query<{ owner: string }>('select pg_get_userbyid(datdba) as owner from pg_database where datname = $1', [database])).rows[0];

    // Every refusal comes before the first change.
    if (!existingRole && !me.rolsuper && !me.rolcreaterole) {
      throw cannot(`the role ${me.name} of --admin-directory may not create roles (it needs CREATEROLE or SUPERUSER) to create ${role}`);
    }
    if (!existingDatabase && !me.rolsuper && !me.rolcreatedb) {
      throw cannot(`the role ${me.name} of --admin-directory may not create databases (it needs CREATEDB or SUPERUSER) to create ${database}`);
    }
    if (existingRole && !existingRole.rolcanlogin) throw cannot(`the role ${role} exists but may not log in (NOLOGIN); the servers connect as it`);
    if (existingRole?.rolsuper) throw cannot(`the role ${role} exists and is a superuser; the servers' role must not be one (use another user in --directory)`);
    if (existingDatabase && existingDatabase.owner !== role) throw cannot(`the database ${database} exists and is owned by ${existingDatabase.owner}, not by ${role}`);

    let generatedPassword: string | undefined;
    if (!existingRole) {
      // A literal, not a parameter: PostgreSQL takes no parameters in CREATE ROLE. escapeLiteral doubles quotes and backslashes.
      const password = target.password ?? (generatedPassword = crypto.randomBytes(24).toString('base64url'));
      await client.query(`create role ${client.escapeIdentifier(role)} login nosuperuser nocreatedb nocreaterole noreplication password ${client.escapeLiteral(password)}`);
      created.push(() => client.query(`drop role if exists ${client.escapeIdentifier(role)}`));
    }
    if (!existingDatabase) {
      // A role without SUPERUSER may give a database only to a role it may act as; the membership is dropped again below.
      const grant = !me.rolsuper && !(await memberOf(client, me.name, role));
      if (grant) await client.query(`grant ${client.escapeIdentifier(role)} to ${client.escapeIdentifier(me.name)}`);
      try {
        await client.query(`create database ${client.escapeIdentifier(database)} owner ${client.escapeIdentifier(role)}`);
      } finally {
        if (grant) await client.query(`revoke ${client.escapeIdentifier(role)} from ${client.escapeIdentifier(me.name)}`).catch(() => undefined);
      }
      created.push(() => client.query(`drop database if exists ${client.escapeIdentifier(database)}`));
      // The organization's secrets live there: other roles of the cluster may not even connect.
      await client.query(`revoke connect, temporary on database ${client.escapeIdentifier(database)} from public`);
    }

    // The schema is made by the servers' own role, so that it owns every table it later migrates.
    const asRole = generatedPassword !== undefined ? withPassword(target.withoutPassword, generatedPassword) : target.url;
    const before = await appliedMigrations(asRole, target);
    // Opening migrates, or refuses a schema a newer Interchange made.
    if (schemaVersion(before) !== KNOWN_SCHEMA_VERSION) {
      const directory = await openPostgresDirectory(asRole);
      await directory.close();
    }
    const after = await appliedMigrations(asRole, target);
    return {
      role,
      database,
      directory: target.withoutPassword,
      createdRole: !existingRole,
      createdDatabase: !existingDatabase,
      ...(generatedPassword !== undefined ? { generatedPassword } : {}),
      applied: after.filter((m) => !before.includes(m)).sort(),
      schemaVersion: schemaVersion(after),
    };
  } catch (e) {
    for (const undo of created.reverse()) await undo().catch(() => undefined);
    if (e instanceof InterchangeError) throw e;
    if (isDirectoryOutage(e)) throw unreachable(admin, e);
    throw cannot((e as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postgresUrl(raw: string, parameter: string, option: string): Postgres {
  if (!raw) throw new InterchangeError('ICX_PARAM_MISSING', `${option} is required: a postgres://user@host/database URL.`, { parameter });
  const location = parseDirectoryUrl(raw);
  if (location.kind !== 'postgres') throw new InterchangeError('ICX_DIRECTORY_URL_INVALID', `${option} must be a postgres:// URL.`, { parameter });
  return location;
}

function invalidUrl(location: Postgres, option: string, problem: string): InterchangeError {
  return new InterchangeError('ICX_DIRECTORY_URL_INVALID', `${option} ${location.withoutPassword} is not accepted: ${problem}.`);
}

function cannot(why: string): InterchangeError {
  return new InterchangeError('ICX_DIRECTORY_PREPARE_FAILED', `The directory cannot be prepared: ${why}. Nothing was changed.`);
}

function unreachable(location: Postgres, e: unknown): InterchangeError {
  const cause = (e as Error).message || (e as { code?: string }).code || 'connection failed';
  return new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The PostgreSQL server of ${describeDirectory(location.url)} cannot be reached or refused the connection: ${cause}. Nothing was changed.`, { cause: e });
}

async function memberOf(client: pg.Client, member: string, role: string): Promise<boolean> {
  return (await client.query<{ ok: boolean }>('select pg_has_role($1, $2, \'SET\') as ok', [member, role]).catch(() => client.query<{ ok: boolean }>('select pg_has_role($1, $2, \'MEMBER\') as ok', [member, role]))).rows[0].ok;
}

/** The migrations recorded in the directory, read as the servers' role; none in a new database. */
async function appliedMigrations(url: string, target: Postgres): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'interchange prepare-directory' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    if (isDirectoryOutage(e)) throw unreachable(target, e);
    throw cannot(`the role ${decodeURIComponent(new URL(target.url).username)} cannot sign in to ${target.withoutPassword}: ${(e as Error).message}`);
  }
  try {
    const exists = (await client.query<{ t: string | null }>("select to_regclass('interchange_migration')::text as t")).rows[0].t;
    if (!exists) return [];
    return (await client.query<{ name: string }>('select name from interchange_migration')).rows.map((r) => r.name);
  } finally {
    await client.end().catch(() => undefined);
  }
}
