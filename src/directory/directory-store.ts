import type {
  AcceptedDomainRecord,
  AdministratorRecord,
  AuditLogRecord,
  CertificateRecord,
  MailUserRecord,
  OrganizationRecord,
  ReceiveConnectorRecord,
  RemoteDomainRecord,
  SendConnectorRecord,
  ServerHeartbeatRecord,
  ServerRecord,
  TrustedRootRecord,
} from './records.js';

export interface AuditSearch {
  cmdlets?: string[];
  caller?: string;
  startDate?: Date;
  endDate?: Date;
  succeeded?: boolean;
  objectIds?: string[];
  resultSize?: number;
}

/**
 * The organization's configuration behind one interface. The embedded default
 * is SQLite; PostgreSQL serves organizations spread over several hosts. Callers
 * never see SQL.
 */
export interface DirectoryStore {
  readonly kind: 'sqlite' | 'postgres';

  /**
   * Runs `work` as one serialized write transaction across every process that
   * shares the directory. Checks that must not interleave with other writes
   * (the certificate removal guard against Set-SendConnector) go through here.
   * Nested calls join the outer transaction.
   */
  exclusive<T>(work: (tx: DirectoryStore) => Promise<T>): Promise<T>;

  /**
   * Claims the server name for this process across every host that shares the
   * directory; refused (ICX_SERVER_ALREADY_RUNNING) while another process holds it.
   */
  lockServer(serverName: string): Promise<ServerLease>;

  /** Increases on every committed change; readers poll it to notice changes made by other processes. */
  revision(): Promise<number>;

  getOrganization(): Promise<OrganizationRecord | undefined>;
  createOrganization(org: OrganizationRecord): Promise<void>;
  updateOrganization(org: OrganizationRecord): Promise<void>;

  listServers(): Promise<ServerRecord[]>;
  getServer(name: string): Promise<ServerRecord | undefined>;
  insertServer(server: ServerRecord): Promise<void>;
  updateServer(server: ServerRecord): Promise<void>;
  /**
   * Removes a server and what is keyed by its name alone: its certificates, trusted roots, Receive connectors
   * and heartbeat. Send connectors, shared by servers, are the caller's to change.
   */
  deleteServer(name: string): Promise<boolean>;

  /**
   * Records what a server's process says of itself. Run-time state, not configuration: it does not move
   * revision(), so no transport reloads for it, and it does not wait for the directory's write lock.
   */
  recordHeartbeat(heartbeat: ServerHeartbeatRecord): Promise<void>;
  listHeartbeats(): Promise<ServerHeartbeatRecord[]>;

  listCertificates(serverName?: string): Promise<CertificateRecord[]>;
  getCertificate(serverName: string, thumbprint: string): Promise<CertificateRecord | undefined>;
  insertCertificate(cert: CertificateRecord): Promise<void>;
  updateCertificate(cert: CertificateRecord): Promise<void>;
  deleteCertificate(serverName: string, thumbprint: string): Promise<boolean>;

  listTrustedRoots(serverName: string): Promise<TrustedRootRecord[]>;
  insertTrustedRoot(root: TrustedRootRecord): Promise<void>;

  listSendConnectors(): Promise<SendConnectorRecord[]>;
  /**
   * The same, by name, a page at a time: a reader that waits between pages
   * (the transport's reload) never holds its event loop for the whole table.
   * Pages are separate reads: a change committed meanwhile may show in part,
   * and moves revision() for the reader to read again.
   */
  scanSendConnectors(pageSize?: number): AsyncIterable<SendConnectorRecord[]>;
  insertSendConnector(connector: SendConnectorRecord): Promise<void>;
  updateSendConnector(connector: SendConnectorRecord): Promise<void>;
  deleteSendConnector(guid: string): Promise<boolean>;

  listReceiveConnectors(serverName?: string): Promise<ReceiveConnectorRecord[]>;
  insertReceiveConnector(connector: ReceiveConnectorRecord): Promise<void>;
  updateReceiveConnector(connector: ReceiveConnectorRecord): Promise<void>;
  deleteReceiveConnector(guid: string): Promise<boolean>;

  listMailUsers(): Promise<MailUserRecord[]>;
  /** Name and UserPrincipalName are each unique (any case); a clash fails with ICX_OBJECT_EXISTS. */
  insertMailUser(user: MailUserRecord): Promise<void>;
  updateMailUser(user: MailUserRecord): Promise<void>;
  deleteMailUser(guid: string): Promise<boolean>;

  listAcceptedDomains(): Promise<AcceptedDomainRecord[]>;
  /** Name and DomainName are each unique (any case); a clash fails with ICX_OBJECT_EXISTS. */
  insertAcceptedDomain(domain: AcceptedDomainRecord): Promise<void>;
  updateAcceptedDomain(domain: AcceptedDomainRecord): Promise<void>;
  deleteAcceptedDomain(guid: string): Promise<boolean>;

  /** In name order; `Default` (DomainName `*`) is there from the directory's creation. */
  listRemoteDomains(): Promise<RemoteDomainRecord[]>;
  /** Name and DomainName are each unique (any case); a clash fails with ICX_OBJECT_EXISTS. */
  insertRemoteDomain(domain: RemoteDomainRecord): Promise<void>;
  updateRemoteDomain(domain: RemoteDomainRecord): Promise<void>;
  deleteRemoteDomain(guid: string): Promise<boolean>;

  listAdministrators(): Promise<AdministratorRecord[]>;
  findAdministratorByTokenHash(tokenHash: string): Promise<AdministratorRecord | undefined>;
  insertAdministrator(admin: AdministratorRecord): Promise<void>;
  updateAdministrator(admin: AdministratorRecord): Promise<void>;
  deleteAdministrator(id: string): Promise<boolean>;

  appendAuditLog(entry: Omit<AuditLogRecord, 'id'>): Promise<number>;
  searchAuditLog(search: AuditSearch): Promise<AuditLogRecord[]>;

  close(): Promise<void>;
}

/**
 * What the transport may see of the directory: it reads configuration and
 * never writes it, and this type is how the compiler holds it to that.
 */
export type DirectoryReader = Pick<
  DirectoryStore,
  'kind' | 'revision' | 'getOrganization' | 'listServers' | 'getServer' | 'listCertificates' | 'getCertificate' | 'listTrustedRoots' | 'listSendConnectors' | 'scanSendConnectors' | 'listReceiveConnectors' | 'listMailUsers' | 'listAcceptedDomains' | 'listRemoteDomains'
>;

/** A server name held by this process until release() or the process ends. */
export interface ServerLease {
  release(): Promise<void>;
}
