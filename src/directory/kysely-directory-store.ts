import { AsyncLocalStorage } from 'node:async_hooks';
import { type Kysely, sql } from 'kysely';
import { InterchangeError } from '../errors/interchange-error.js';
import type { AuditSearch, DirectoryStore, ServerLease } from './directory-store.js';
import { decodeDocument, encodeDocument } from './document-codec.js';
import type {
  AcceptedDomainRecord,
  RemoteDomainRecord,
  AdministratorRecord,
  AuditLogRecord,
  CertificateRecord,
  MailUserRecord,
  OrganizationRecord,
  ReceiveConnectorRecord,
  SendConnectorRecord,
  ServerHeartbeatRecord,
  ServerRecord,
  TrustedRootRecord,
} from './records.js';
import { withReceiveConnectorDefaults } from './records.js';
import type { DirectoryDatabase } from './schema.js';

type DomainTable = 'accepted_domains' | 'remote_domains';

/** How a dialect serializes writers across processes; the only behavior that differs at run time. */
export interface TransactionStrategy {
  kind: 'sqlite' | 'postgres';
  runExclusive<T>(db: Kysely<DirectoryDatabase>, work: (tx: Kysely<DirectoryDatabase>) => Promise<T>): Promise<T>;
  /** Held while a server's process runs; undefined where the data folder's lock file is the only one needed. */
  holdServerLock?(serverName: string): Promise<ServerLease>;
  destroy(): Promise<void>;
}

const key = (name: string) => name.toLowerCase();

/**
 * The directory on any Kysely dialect. Only portable SQL lives here; what is
 * dialect-specific (locking, DDL types, connection setup) sits in the adapters.
 */
export class KyselyDirectoryStore implements DirectoryStore {
  readonly kind: 'sqlite' | 'postgres';

  constructor(
    private readonly db: Kysely<DirectoryDatabase>,
    private readonly strategy: TransactionStrategy,
    private readonly inTransaction = false,
    /** Marks the async context of a running exclusive transaction (see `q`). */
    private readonly transactionScope = new AsyncLocalStorage<true>(),
  ) {
    this.kind = strategy.kind;
  }

  /**
   * The query builder for this store. Code inside `exclusive` must use the
   * transaction's store; touching the outer one there would wait forever for
   * the lock its own transaction holds, so that mistake fails loudly instead.
   */
  private get q(): Kysely<DirectoryDatabase> {
    if (!this.inTransaction && this.transactionScope.getStore()) {
      throw new InterchangeError('ICX_INTERNAL', 'The directory was used outside the transaction that holds its write lock (use the store passed to exclusive()).');
    }
    return this.db;
  }

  private openTransactions = 0;

  async exclusive<T>(work: (tx: DirectoryStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    void this.q;
    this.openTransactions++;
    try {
      return await this.strategy.runExclusive(this.db, (tx) =>
        this.transactionScope.run(true, () => work(new KyselyDirectoryStore(tx, this.strategy, true, this.transactionScope))),
      );
    } finally {
      // On Node 20 an enabled AsyncLocalStorage keeps promise hooks on for the
      // whole process, which slows the transport's hot path; configuration
      // transactions are rare, so the scope is enabled only while one runs.
      if (--this.openTransactions === 0) this.transactionScope.disable();
    }
  }

  /** Every write bumps the revision inside its own transaction, so a reader that sees the new revision sees the change. */
  private write<T>(work: (db: Kysely<DirectoryDatabase>) => Promise<T>): Promise<T> {
    return this.exclusive(async (tx) => {
      const db = (tx as KyselyDirectoryStore).db;
      const result = await work(db);
      await db.updateTable('meta').set({ value: sql`value + 1` }).where('key', '=', 'revision').execute();
      return result;
    });
  }

  async revision(): Promise<number> {
    const row = await this.q.selectFrom('meta').select('value').where('key', '=', 'revision').executeTakeFirst();
    return Number(row?.value ?? 0);
  }

  async getOrganization(): Promise<OrganizationRecord | undefined> {
    const row = await this.q.selectFrom('organization').select('data').executeTakeFirst();
    return row ? decodeDocument<OrganizationRecord>(row.data) : undefined;
  }

  createOrganization(org: OrganizationRecord): Promise<void> {
    return this.write(async (db) => {
      await db.insertInto('organization').values({ guid: org.guid, data: encodeDocument(org) }).execute();
    });
  }

  updateOrganization(org: OrganizationRecord): Promise<void> {
    return this.write(async (db) => {
      await db.updateTable('organization').set({ data: encodeDocument(org) }).where('guid', '=', org.guid).execute();
    });
  }

  async listServers(): Promise<ServerRecord[]> {
    const rows = await this.q.selectFrom('servers').select('data').orderBy('name_key').execute();
    return rows.map((r) => decodeDocument<ServerRecord>(r.data));
  }

  async getServer(name: string): Promise<ServerRecord | undefined> {
    const row = await this.q.selectFrom('servers').select('data').where('name_key', '=', key(name)).executeTakeFirst();
    return row ? decodeDocument<ServerRecord>(row.data) : undefined;
  }

  insertServer(server: ServerRecord): Promise<void> {
    return this.write(async (db) => {
      await db.insertInto('servers').values({ name_key: key(server.name), data: encodeDocument(server) }).execute();
    });
  }

  updateServer(server: ServerRecord): Promise<void> {
    return this.write(async (db) => {
      await db.updateTable('servers').set({ data: encodeDocument(server) }).where('name_key', '=', key(server.name)).execute();
    });
  }

  deleteServer(name: string): Promise<boolean> {
    return this.write(async (db) => {
      for (const table of ['certificates', 'trusted_roots', 'receive_connectors', 'server_heartbeats'] as const) {
        await db.deleteFrom(table).where('server_key', '=', key(name)).execute();
      }
      const r = await db.deleteFrom('servers').where('name_key', '=', key(name)).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async recordHeartbeat(heartbeat: ServerHeartbeatRecord): Promise<void> {
    const data = encodeDocument(heartbeat);
    await this.q
      .insertInto('server_heartbeats')
      .values({ server_key: key(heartbeat.serverName), data })
      .onConflict((oc) => oc.column('server_key').doUpdateSet({ data }))
      .execute();
  }

  async listHeartbeats(): Promise<ServerHeartbeatRecord[]> {
    const rows = await this.q.selectFrom('server_heartbeats').select('data').orderBy('server_key').execute();
    return rows.map((r) => decodeDocument<ServerHeartbeatRecord>(r.data));
  }

  async listCertificates(serverName?: string): Promise<CertificateRecord[]> {
    let q = this.q.selectFrom('certificates').select('data');
    if (serverName !== undefined) q = q.where('server_key', '=', key(serverName));
    const rows = await q.orderBy('server_key').orderBy('thumbprint').execute();
    return rows.map((r) => decodeDocument<CertificateRecord>(r.data));
  }

  async getCertificate(serverName: string, thumbprint: string): Promise<CertificateRecord | undefined> {
    const row = await this.q
      .selectFrom('certificates')
      .select('data')
      .where('server_key', '=', key(serverName))
      .where('thumbprint', '=', thumbprint.toUpperCase())
      .executeTakeFirst();
    return row ? decodeDocument<CertificateRecord>(row.data) : undefined;
  }

  insertCertificate(cert: CertificateRecord): Promise<void> {
    return this.write(async (db) => {
      await db
        .insertInto('certificates')
        .values({ server_key: key(cert.serverName), thumbprint: cert.thumbprint.toUpperCase(), data: encodeDocument(cert) })
        .execute();
    });
  }

  updateCertificate(cert: CertificateRecord): Promise<void> {
    return this.write(async (db) => {
      await db
        .updateTable('certificates')
        .set({ data: encodeDocument(cert) })
        .where('server_key', '=', key(cert.serverName))
        .where('thumbprint', '=', cert.thumbprint.toUpperCase())
        .execute();
    });
  }

  deleteCertificate(serverName: string, thumbprint: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db
        .deleteFrom('certificates')
        .where('server_key', '=', key(serverName))
        .where('thumbprint', '=', thumbprint.toUpperCase())
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listTrustedRoots(serverName: string): Promise<TrustedRootRecord[]> {
    const rows = await this.q.selectFrom('trusted_roots').select('data').where('server_key', '=', key(serverName)).execute();
    return rows.map((r) => decodeDocument<TrustedRootRecord>(r.data));
  }

  insertTrustedRoot(root: TrustedRootRecord): Promise<void> {
    return this.write(async (db) => {
      const existing = await db
        .selectFrom('trusted_roots')
        .select('thumbprint')
        .where('server_key', '=', key(root.serverName))
        .where('thumbprint', '=', root.thumbprint)
        .executeTakeFirst();
      if (!existing) {
        await db.insertInto('trusted_roots').values({ server_key: key(root.serverName), thumbprint: root.thumbprint, data: encodeDocument(root) }).execute();
      }
    });
  }

  async listSendConnectors(): Promise<SendConnectorRecord[]> {
    const rows = await this.q.selectFrom('send_connectors').select('data').orderBy('name_key').execute();
    return rows.map((r) => decodeDocument<SendConnectorRecord>(r.data));
  }

  async *scanSendConnectors(pageSize = 500): AsyncGenerator<SendConnectorRecord[]> {
    let after: string | undefined;
    for (;;) {
      let q = this.q.selectFrom('send_connectors').select(['name_key', 'data']).orderBy('name_key').limit(pageSize);
      if (after !== undefined) q = q.where('name_key', '>', after);
      const rows = await q.execute();
      if (rows.length > 0) yield rows.map((r) => decodeDocument<SendConnectorRecord>(r.data));
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].name_key;
    }
  }

  insertSendConnector(c: SendConnectorRecord): Promise<void> {
    return this.write(async (db) => {
      await db.insertInto('send_connectors').values({ guid: c.guid, name_key: key(c.name), data: encodeDocument(c) }).execute();
    });
  }

  updateSendConnector(c: SendConnectorRecord): Promise<void> {
    return this.write(async (db) => {
      await db.updateTable('send_connectors').set({ name_key: key(c.name), data: encodeDocument(c) }).where('guid', '=', c.guid).execute();
    });
  }

  deleteSendConnector(guid: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('send_connectors').where('guid', '=', guid).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listReceiveConnectors(serverName?: string): Promise<ReceiveConnectorRecord[]> {
    let q = this.q.selectFrom('receive_connectors').select('data');
    if (serverName !== undefined) q = q.where('server_key', '=', key(serverName));
    const rows = await q.orderBy('server_key').orderBy('name_key').execute();
    return rows.map((r) => withReceiveConnectorDefaults(decodeDocument<ReceiveConnectorRecord>(r.data)));
  }

  insertReceiveConnector(c: ReceiveConnectorRecord): Promise<void> {
    return this.write(async (db) => {
      await db
        .insertInto('receive_connectors')
        .values({ guid: c.guid, server_key: key(c.server), name_key: key(c.name), data: encodeDocument(c) })
        .execute();
    });
  }

  updateReceiveConnector(c: ReceiveConnectorRecord): Promise<void> {
    return this.write(async (db) => {
      await db.updateTable('receive_connectors').set({ name_key: key(c.name), data: encodeDocument(c) }).where('guid', '=', c.guid).execute();
    });
  }

  deleteReceiveConnector(guid: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('receive_connectors').where('guid', '=', guid).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listMailUsers(): Promise<MailUserRecord[]> {
    const rows = await this.q.selectFrom('mail_users').select('data').orderBy('name_key').execute();
    return rows.map((r) => decodeDocument<MailUserRecord>(r.data));
  }

  /** The unique columns catch what a check-then-insert by two processes at once would miss. */
  private async mailUserClash(db: Kysely<DirectoryDatabase>, u: MailUserRecord): Promise<void> {
    const clash = await db
      .selectFrom('mail_users')
      .select(['guid', 'name_key', 'upn_key'])
      .where((eb) => eb.or([eb('name_key', '=', key(u.name)), eb('upn_key', '=', key(u.userPrincipalName))]))
      .where('guid', '!=', u.guid)
      .executeTakeFirst();
    if (!clash) return;
    const what = clash.name_key === key(u.name) ? `The name "${u.name}"` : `The user principal name "${u.userPrincipalName}"`;
    throw new InterchangeError('ICX_OBJECT_EXISTS', `${what} is already used by another mail user.`);
  }

  insertMailUser(u: MailUserRecord): Promise<void> {
    return this.write(async (db) => {
      await this.mailUserClash(db, u);
      await db.insertInto('mail_users').values({ guid: u.guid, name_key: key(u.name), upn_key: key(u.userPrincipalName), data: encodeDocument(u) }).execute();
    });
  }

  updateMailUser(u: MailUserRecord): Promise<void> {
    return this.write(async (db) => {
      await this.mailUserClash(db, u);
      await db.updateTable('mail_users').set({ name_key: key(u.name), upn_key: key(u.userPrincipalName), data: encodeDocument(u) }).where('guid', '=', u.guid).execute();
    });
  }

  deleteMailUser(guid: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('mail_users').where('guid', '=', guid).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listAcceptedDomains(): Promise<AcceptedDomainRecord[]> {
    const rows = await this.q.selectFrom('accepted_domains').select('data').orderBy('name_key').execute();
    return rows.map((r) => decodeDocument<AcceptedDomainRecord>(r.data));
  }

  /** Accepted and remote domains: unique by name and by domain, one table shape for both. */
  private async domainClash(db: Kysely<DirectoryDatabase>, table: DomainTable, d: { guid: string; name: string; domainName: string }): Promise<void> {
    const clash = await db
      .selectFrom(table)
      .select(['guid', 'name_key', 'domain_key'])
      .where((eb) => eb.or([eb('name_key', '=', key(d.name)), eb('domain_key', '=', key(d.domainName))]))
      .where('guid', '!=', d.guid)
      .executeTakeFirst();
    if (!clash) return;
    const what = clash.name_key === key(d.name) ? `The name "${d.name}"` : `The domain "${d.domainName}"`;
    throw new InterchangeError('ICX_OBJECT_EXISTS', `${what} is already used by another ${table === 'accepted_domains' ? 'accepted' : 'remote'} domain.`);
  }

  private writeDomain(table: DomainTable, d: { guid: string; name: string; domainName: string }, insert: boolean): Promise<void> {
    return this.write(async (db) => {
      await this.domainClash(db, table, d);
      const row = { name_key: key(d.name), domain_key: key(d.domainName), data: encodeDocument(d) };
      if (insert) await db.insertInto(table).values({ guid: d.guid, ...row }).execute();
      else await db.updateTable(table).set(row).where('guid', '=', d.guid).execute();
    });
  }

  insertAcceptedDomain(d: AcceptedDomainRecord): Promise<void> {
    return this.writeDomain('accepted_domains', d, true);
  }

  updateAcceptedDomain(d: AcceptedDomainRecord): Promise<void> {
    return this.writeDomain('accepted_domains', d, false);
  }

  deleteAcceptedDomain(guid: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('accepted_domains').where('guid', '=', guid).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listRemoteDomains(): Promise<RemoteDomainRecord[]> {
    const rows = await this.q.selectFrom('remote_domains').select('data').orderBy('name_key').execute();
    return rows.map((r) => decodeDocument<RemoteDomainRecord>(r.data));
  }

  insertRemoteDomain(d: RemoteDomainRecord): Promise<void> {
    return this.writeDomain('remote_domains', d, true);
  }

  updateRemoteDomain(d: RemoteDomainRecord): Promise<void> {
    return this.writeDomain('remote_domains', d, false);
  }

  deleteRemoteDomain(guid: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('remote_domains').where('guid', '=', guid).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async listAdministrators(): Promise<AdministratorRecord[]> {
    const rows = await this.q.selectFrom('administrators').select('data').execute();
    return rows.map((r) => decodeDocument<AdministratorRecord>(r.data));
  }

  async findAdministratorByTokenHash(tokenHash: string): Promise<AdministratorRecord | undefined> {
    const row = await this.q.selectFrom('administrators').select('data').where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? decodeDocument<AdministratorRecord>(row.data) : undefined;
  }

  insertAdministrator(admin: AdministratorRecord): Promise<void> {
    return this.write(async (db) => {
      await db.insertInto('administrators').values({ id: admin.id, token_hash: admin.tokenHash, data: encodeDocument(admin) }).execute();
    });
  }

  updateAdministrator(admin: AdministratorRecord): Promise<void> {
    return this.write(async (db) => {
      await db.updateTable('administrators').set({ token_hash: admin.tokenHash, data: encodeDocument(admin) }).where('id', '=', admin.id).execute();
    });
  }

  deleteAdministrator(id: string): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db.deleteFrom('administrators').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async appendAuditLog(entry: Omit<AuditLogRecord, 'id'>): Promise<number> {
    const row = await this.q
      .insertInto('audit_log')
      .values({
        run_date: entry.runDate.toISOString(),
        cmdlet_name: entry.cmdletName,
        caller: entry.caller,
        succeeded: entry.succeeded ? 1 : 0,
        object_modified: entry.objectModified,
        data: encodeDocument(entry),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async searchAuditLog(search: AuditSearch): Promise<AuditLogRecord[]> {
    let q = this.q.selectFrom('audit_log').select(['id', 'data']);
    if (search.cmdlets?.length) q = q.where('cmdlet_name', 'in', search.cmdlets);
    if (search.caller) q = q.where('caller', '=', search.caller);
    if (search.startDate) q = q.where('run_date', '>=', search.startDate.toISOString());
    if (search.endDate) q = q.where('run_date', '<=', search.endDate.toISOString());
    if (search.succeeded !== undefined) q = q.where('succeeded', '=', search.succeeded ? 1 : 0);
    if (search.objectIds?.length) q = q.where('object_modified', 'in', search.objectIds);
    const rows = await q.orderBy('id', 'desc').limit(search.resultSize ?? 1000).execute();
    return rows.map((r) => ({ ...decodeDocument<Omit<AuditLogRecord, 'id'>>(r.data), id: Number(r.id) }));
  }

  async lockServer(serverName: string): Promise<ServerLease> {
    return this.strategy.holdServerLock ? this.strategy.holdServerLock(serverName) : { release: async () => undefined };
  }

  async close(): Promise<void> {
    if (!this.inTransaction) await this.strategy.destroy();
  }
}
