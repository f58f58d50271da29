// The organization's configuration as the directory stores it. These are the
// records behind the cmdlets' output objects; cmdlets shape them for display.
import type { ServerComponentStateEntry } from '../organization/server-component-state.js';

export type ExchangeService = 'Federation' | 'IIS' | 'IMAP' | 'POP' | 'SMTP' | 'UM' | 'UMCallRouter';

export interface OrganizationRecord {
  guid: string;
  name: string;
  createdAt: Date;
  /**
   * Set once the first accepted domain was made (at the organization's first start, or the first start of a
   * version that has accepted domains): an administrator who removes every accepted domain is not overruled.
   */
  acceptedDomainsInitialized?: boolean;
  /**
   * The organization's test secret, sealed with its keyvault.key when it was made: a server whose key cannot open
   * it stops at start instead of sealing its own secrets under another key. Absent in organizations made before it.
   */
  keyCheck?: EncryptedSecret;
  /** The organization's ACME account (New-AcmeAccount), used by every server's Request-AcmeCertificate. */
  acmeAccount?: AcmeAccountRecord;
  /** Certificates Request-AcmeCertificate issued that renew themselves, one entry per certificate lineage. */
  acmeCertificates?: AcmeManagedCertificateRecord[];
  /**
   * Set-TransportConfig's settings. Absent until first changed, and in organizations made before they existed:
   * read them through transportConfigSettings(), which fills Exchange's defaults.
   */
  transportConfig?: Partial<TransportConfigRecord>;
}

/**
 * A certificate the ACME renewal keeps current: what to ask the CA for again, when, and how the last
 * attempts went. The entry follows the lineage: after a renewal it names the new certificate, and the
 * one it replaced waits in `retiring` for its grace period before it is removed from every server.
 */
export interface AcmeManagedCertificateRecord {
  /** The certificate in use now. */
  thumbprint: string;
  /** The server that requested it: it answers the challenges of the renewals (for dns-01, it sends the updates). */
  requestServer: string;
  names: string[];
  /** The challenge the renewals answer, as requested; absent (entries from before dns-01): Http01. */
  challengeType?: 'Http01' | 'Dns01' | 'TlsAlpn01';
  httpPort: number;
  /** The port tls-alpn-01 is answered on, for TlsAlpn01. */
  tlsAlpnPort?: number;
  keySize: number;
  friendlyName: string;
  services: ExchangeService[];
  privateKeyExportable: boolean;
  notBefore: Date;
  notAfter: Date;
  /** When the next renewal is due (two thirds of the lifetime, or the next retry after a failure). */
  nextRenewal: Date;
  /** Milliseconds an old certificate stays installed after its renewal, so sessions in flight finish with it. */
  gracePeriodMs: number;
  /** Renewal attempts that failed since the last success. */
  failures: number;
  lastError: string | null;
  lastAttempt: Date | null;
  /** The server renewing it now (and which run of its process), until when: one renewal of a certificate at a time. */
  lease: { holder: string; process?: string; until: Date } | null;
  /** When the last alert mail about failed renewals went out (absent: never, since the last success). */
  alertedAt?: Date | null;
  retiring: Array<{ thumbprint: string; removeAfter: Date }>;
}

/**
 * The organization-wide transport settings (Exchange's TransportConfigContainer, Identity `Transport Settings`):
 * one object for the whole organization, changed only by Set-TransportConfig.
 */
export interface TransportConfigRecord {
  /** Bytes; null = Unlimited. The largest message a sender of the organization may send. */
  maxSendSize: number | null;
  /** Bytes; null = Unlimited. The largest message the organization takes. */
  maxReceiveSize: number | null;
  /** Recipients of one message; null = Unlimited. */
  maxRecipientEnvelopeLimit: number | null;
  /** Lower-case SMTP domains (no wildcards) whose mail is sent only over domain-secured TLS. */
  tlsSendDomainSecureList: string[];
  /** Lower-case SMTP domains (no wildcards) whose mail is taken only over domain-secured TLS. */
  tlsReceiveDomainSecureList: string[];
  externalDelayDsnEnabled: boolean;
  internalDelayDsnEnabled: boolean;
  /** Enhanced status codes (`5.4.8`) whose NDRs are copied to the postmaster; stored, not yet acted on. */
  generateCopyOfDSNFor: string[];
  whenChanged: Date | null;
}

/** Exchange's defaults for the organization's transport settings (Set-TransportConfig). */
export function transportConfigDefaults(): TransportConfigRecord {
  return {
    maxSendSize: 10 * 1024 * 1024,
    maxReceiveSize: 10 * 1024 * 1024,
    maxRecipientEnvelopeLimit: 500,
    tlsSendDomainSecureList: [],
    tlsReceiveDomainSecureList: [],
    externalDelayDsnEnabled: true,
    internalDelayDsnEnabled: true,
    generateCopyOfDSNFor: [],
    whenChanged: null,
  };
}

/** The transport settings in effect, with Exchange's defaults for what the organization never set. */
export function transportConfigSettings(org: OrganizationRecord | undefined): TransportConfigRecord {
  const filled = transportConfigDefaults() as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(org?.transportConfig ?? {})) if (v !== undefined) filled[k] = v;
  return filled as unknown as TransportConfigRecord;
}

/**
 * An account with an ACME certification authority (RFC 8555 §7.3). One per organization, as Exchange keeps
 * certificate policy organization-wide: each server requests its own certificates with it.
 */
export interface AcmeAccountRecord {
  directoryUrl: string;
  /** E-mail addresses, without mailto:. */
  contact: string[];
  /** The account's URL at the CA (its "kid"), given when the CA created it. */
  accountUrl: string;
  /** The account key as PKCS#8 PEM, sealed like certificate private keys. */
  accountKey: EncryptedSecret;
  /** External account binding (RFC 8555 §7.3.4), for CAs that tie ACME accounts to a customer account. */
  externalAccountKeyId: string | null;
  externalAccountHmacKey: EncryptedSecret | null;
  /** CA certificates (DER) trusted for the HTTPS connection to this directory only, besides the platform's roots. */
  acmeServerCertificates: Buffer[];
  termsOfServiceAgreed: boolean;
  /** Who gets a mail when a renewal keeps failing (Set-AcmeAccount -AlertRecipient); absent or empty: nobody. */
  alertRecipients?: string[];
  /** Where dns-01 answers are published (Set-AcmeAccount -DnsUpdateServer); absent: no dns-01. */
  dnsUpdate?: AcmeDnsUpdateRecord;
  whenCreated: Date;
  whenChanged: Date;
}

/** An RFC 2136 update server and the TSIG key (RFC 8945) it takes, for the dns-01 challenge. */
export interface AcmeDnsUpdateRecord {
  /** host or host:port. */
  server: string;
  keyName: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  /** The TSIG secret's bytes, sealed like the account key. */
  secret: EncryptedSecret;
  /** The zone the records go in; null: the server's SOA answer for each name tells. */
  zone: string | null;
}

export interface TransportServiceSettings {
  sendProtocolLogPath: string;
  receiveProtocolLogPath: string;
  /** Milliseconds; 0 disables age-based deletion. */
  sendProtocolLogMaxAge: number;
  receiveProtocolLogMaxAge: number;
  /** Bytes; null = unlimited. */
  sendProtocolLogMaxDirectorySize: number | null;
  receiveProtocolLogMaxDirectorySize: number | null;
  sendProtocolLogMaxFileSize: number | null;
  receiveProtocolLogMaxFileSize: number | null;
  intraOrgConnectorProtocolLoggingLevel: 'None' | 'Verbose';
  /** Milliseconds. */
  messageExpirationTimeout: number;
  transientFailureRetryInterval: number;
  transientFailureRetryCount: number;
  outboundConnectionFailureRetryInterval: number;
  messageRetryInterval: number;
  delayNotificationTimeout: number;
  maxOutboundConnections: number;
  maxPerDomainOutboundConnections: number;
  /** DNS servers used for MX routing; empty = the system resolver. */
  externalDnsServers: string[];
  /**
   * Crashes while processing a message before it goes to the Poison queue (1-10).
   * Absent on servers stored before the setting existed: read it through poisonDetectionSettings().
   */
  poisonThreshold?: number;
  /** Whether crashes are counted at all; absent = $true. */
  poisonMessageDetectionEnabled?: boolean;
  /**
   * Message tracking (MSGTRK files). Absent on servers stored before tracking existed:
   * read them through messageTrackingSettings() (src/transport/tracking), which fills Exchange's defaults.
   */
  messageTrackingLogEnabled?: boolean;
  messageTrackingLogPath?: string;
  /** Milliseconds; 0 disables age-based deletion. */
  messageTrackingLogMaxAge?: number;
  /** Bytes; null = unlimited. */
  messageTrackingLogMaxDirectorySize?: number | null;
  messageTrackingLogMaxFileSize?: number | null;
  messageTrackingLogSubjectLoggingEnabled?: boolean;
  /**
   * The connectivity log's settings, shown and kept as Exchange has them (Interchange writes no connectivity log).
   * Absent on servers stored before they existed: read them through connectivityLogSettings() (src/transport/service/service-log-settings.ts).
   */
  connectivityLogEnabled?: boolean;
  connectivityLogPath?: string;
  /**
   * The server's TransportRoles\Logs folder, which the folders never set (front end, connectivity, agent…) are under.
   * Absent: derived from SendProtocolLogPath, and written once SendProtocolLogPath moves, so that they stay.
   */
  logsFolder?: string;
  /** Milliseconds; 0 disables age-based deletion. */
  connectivityLogMaxAge?: number;
  /** Bytes; null = unlimited. */
  connectivityLogMaxDirectorySize?: number | null;
  connectivityLogMaxFileSize?: number | null;
}

/**
 * Set-FrontendTransportService's settings: the Front End Transport service's own log folders (the
 * FrontendTransport Receive connectors' protocol log among them). Every field is absent on a server stored
 * before the front end had settings of its own: read them through frontendTransportSettings().
 */
export interface FrontendTransportServiceSettings {
  sendProtocolLogPath?: string;
  receiveProtocolLogPath?: string;
  sendProtocolLogMaxAge?: number;
  receiveProtocolLogMaxAge?: number;
  sendProtocolLogMaxDirectorySize?: number | null;
  receiveProtocolLogMaxDirectorySize?: number | null;
  sendProtocolLogMaxFileSize?: number | null;
  receiveProtocolLogMaxFileSize?: number | null;
  intraOrgConnectorProtocolLoggingLevel?: 'None' | 'Verbose';
  connectivityLogEnabled?: boolean;
  connectivityLogPath?: string;
  connectivityLogMaxAge?: number;
  connectivityLogMaxDirectorySize?: number | null;
  connectivityLogMaxFileSize?: number | null;
}

/** Set-TransportService's defaults for PoisonThreshold and PoisonMessageDetectionEnabled. */
export const DEFAULT_POISON_THRESHOLD = 2;

/** The poison settings in effect, with Exchange's defaults for a record stored without them. */
export function poisonDetectionSettings(t: TransportServiceSettings): { threshold: number; enabled: boolean } {
  return { threshold: t.poisonThreshold ?? DEFAULT_POISON_THRESHOLD, enabled: t.poisonMessageDetectionEnabled ?? true };
}

export interface ServerRecord {
  name: string;
  guid: string;
  fqdn: string;
  /** Exchange's ServerRole names, e.g. Mailbox. */
  roles: string[];
  /** Where this server's admin API listens, so any tool can reach it. */
  adminUrl: string | null;
  /** The SMTP port of the default receive connector (informational). */
  smtpPort: number | null;
  internalTransportCertificateThumbprint: string | null;
  transport: TransportServiceSettings;
  /** Set-FrontendTransportService's settings; absent on a server stored before them. */
  frontendTransport?: FrontendTransportServiceSettings;
  /** Set-ServerComponentState's entries, per component and requester; none: every component Active. */
  componentStates?: ServerComponentStateEntry[];
  createdAt: Date;
}

/**
 * What a server's running process last said of itself. Run-time state, not configuration: written only by that
 * process (at start, every interval, at a clean stop), and never a change that makes transports reload.
 */
export interface ServerHeartbeatRecord {
  serverName: string;
  /** The version of the Interchange installation the process runs. */
  productVersion: string;
  lastSeen: Date;
  /** How often the process writes: a reader judges freshness by the writer's own interval. */
  intervalMs: number;
  /** Stopped once the process ended cleanly. */
  state: 'Running' | 'Stopped';
  startedAt: Date;
  host: string;
  pid: number;
  /** Each binding of the server's Receive connectors and whether it listens (`Listening`, `Disabled`, `Failed: …`, `Stopped`). */
  listeners: Array<{ connector: string; binding: string; status: string }>;
}

export interface EncryptedSecret {
  /** base64 of iv | tag | ciphertext, AES-256-GCM under the installation key. */
  sealed: string;
}

export interface CertificateRecord {
  serverName: string;
  /** SHA-1 of the DER for installed certificates; for a pending request, of the PKCS#10 DER. */
  thumbprint: string;
  /** DER of the certificate; null while it is a pending request. */
  der: Buffer | null;
  /** DER of the PKCS#10 request while pending (kept after completion for the record). */
  requestDer: Buffer | null;
  privateKey: EncryptedSecret | null;
  friendlyName: string;
  services: ExchangeService[];
  privateKeyExportable: boolean;
  /** DER of the chain certificates that came with it (intermediates and root). */
  chain: Buffer[];
  createdAt: Date;
}

export interface TrustedRootRecord {
  serverName: string;
  thumbprint: string;
  der: Buffer;
}

export type ProtocolLoggingLevel = 'None' | 'Verbose';
export type TlsAuthLevel = 'EncryptionOnly' | 'CertificateValidation' | 'DomainValidation';
export type SendConnectorUsage = 'Custom' | 'Internal' | 'Internet' | 'Partner';
export type SmartHostAuthMechanism = 'None' | 'BasicAuth' | 'BasicAuthRequireTLS' | 'ExchangeServer' | 'ExternalAuthoritative';

export interface AddressSpace {
  type: string;
  /** `*`, `contoso.com`, `*.contoso.com`, lower-cased for SMTP. */
  address: string;
  cost: number;
}

export interface SendConnectorRecord {
  guid: string;
  name: string;
  addressSpaces: AddressSpace[];
  smartHosts: string[];
  dnsRoutingEnabled: boolean;
  sourceTransportServers: string[];
  usage: SendConnectorUsage;
  port: number;
  fqdn: string | null;
  requireTls: boolean;
  tlsAuthLevel: TlsAuthLevel | null;
  tlsDomain: string | null;
  /** Canonical `<I>issuer<S>subject`, or null. */
  tlsCertificateName: string | null;
  ignoreStartTls: boolean;
  /** Bytes; null = unlimited. */
  maxMessageSize: number | null;
  protocolLoggingLevel: ProtocolLoggingLevel;
  enabled: boolean;
  /** Milliseconds. */
  connectionInactivityTimeOut: number;
  smartHostAuthMechanism: SmartHostAuthMechanism;
  authenticationCredential: { userName: string; password: EncryptedSecret } | null;
  comment: string;
  domainSecureEnabled: boolean;
  forceHelo: boolean;
  smtpMaxMessagesPerConnection: number;
  useExternalDnsServersEnabled: boolean;
  cloudServicesMailEnabled: boolean;
  whenCreated: Date;
  whenChanged: Date;
}

export type ReceiveAuthMechanism = 'None' | 'Tls' | 'Integrated' | 'BasicAuth' | 'BasicAuthRequireTLS' | 'ExchangeServer' | 'ExternalAuthoritative';
export type PermissionGroup = 'None' | 'AnonymousUsers' | 'ExchangeUsers' | 'ExchangeServers' | 'ExchangeLegacyServers' | 'Partners' | 'Custom';
export type ReceiveConnectorUsage = 'Client' | 'Internal' | 'Internet' | 'Partner' | 'Custom';

export interface ReceiveConnectorRecord {
  guid: string;
  server: string;
  name: string;
  bindings: string[];
  remoteIpRanges: string[];
  fqdn: string | null;
  tlsCertificateName: string | null;
  authMechanism: ReceiveAuthMechanism[];
  permissionGroups: PermissionGroup[];
  protocolLoggingLevel: ProtocolLoggingLevel;
  /** Bytes. */
  maxMessageSize: number;
  enabled: boolean;
  requireTls: boolean;
  transportRole: 'FrontendTransport' | 'HubTransport';
  banner: string | null;
  comment: string;
  /** Milliseconds: the longest a session may last, busy or not (Exchange's ConnectionTimeout). */
  connectionTimeout: number;
  /** Milliseconds: the longest a session may stay silent (ConnectionInactivityTimeout); less than connectionTimeout. */
  connectionInactivityTimeout: number;
  /** Concurrent connections to this connector; null = Unlimited. */
  maxInboundConnection: number | null;
  /** Concurrent connections from one address; null = Unlimited. */
  maxInboundConnectionPerSource: number | null;
  /** Concurrent connections from one address, as a percentage of the connections still free (1-100). */
  maxInboundConnectionPercentagePerSource: number;
  maxRecipientsPerMessage: number;
  /** Bytes of the message header section. */
  maxHeaderSize: number;
  /** Protocol errors before the session is closed; null = Unlimited. */
  maxProtocolErrors: number | null;
  /** Milliseconds an error reply to an anonymous session is held back; 0 = no tarpit. */
  tarpitInterval: number;
  /** Failed AUTH attempts before the session is closed; 0 = never closed for them. */
  maxLogonFailures: number;
  /** Milliseconds a failed AUTH attempt is answered late. */
  authTarpitInterval: number;
  /** Entries added with Add-ADPermission, beyond what PermissionGroups grant. Absent on records made before they existed. */
  permissions?: ReceiveConnectorPermissionEntry[];
  whenCreated: Date;
  whenChanged: Date;
}

/** The limits a Receive connector gained with issue 9; records stored before them have none. */
export type ReceiveConnectorLimits = Pick<
  ReceiveConnectorRecord,
  | 'connectionInactivityTimeout'
  | 'maxInboundConnection'
  | 'maxInboundConnectionPerSource'
  | 'maxInboundConnectionPercentagePerSource'
  | 'maxRecipientsPerMessage'
  | 'maxHeaderSize'
  | 'maxProtocolErrors'
  | 'tarpitInterval'
  | 'maxLogonFailures'
  | 'authTarpitInterval'
>;

/** Exchange's defaults for a new Receive connector of a transport role. */
export function receiveConnectorLimitDefaults(role: ReceiveConnectorRecord['transportRole']): ReceiveConnectorLimits & { connectionTimeout: number } {
  return {
    connectionTimeout: role === 'FrontendTransport' ? 10 * 60_000 : 5 * 60_000,
    connectionInactivityTimeout: role === 'FrontendTransport' ? 5 * 60_000 : 60_000,
    maxInboundConnection: 5000,
    maxInboundConnectionPerSource: 20,
    maxInboundConnectionPercentagePerSource: 2,
    maxRecipientsPerMessage: 200,
    maxHeaderSize: 256 * 1024,
    maxProtocolErrors: 5,
    tarpitInterval: 5000,
    maxLogonFailures: 3,
    authTarpitInterval: 5000,
  };
}

/**
 * A stored Receive connector as the directory hands it out: a property absent
 * from a record made before it existed reads as Exchange's default. The idle
 * timeout stays below the connector's total ConnectionTimeout, which such a
 * record may have set lower than the default idle time.
 */
export function withReceiveConnectorDefaults(stored: ReceiveConnectorRecord): ReceiveConnectorRecord {
  const defaults = receiveConnectorLimitDefaults(stored.transportRole);
  const filled = { ...stored } as Record<string, unknown>;
  for (const [k, v] of Object.entries(defaults)) if (filled[k] === undefined) filled[k] = v;
  const record = filled as unknown as ReceiveConnectorRecord;
  if (stored.connectionInactivityTimeout === undefined && record.connectionInactivityTimeout >= record.connectionTimeout) {
    record.connectionInactivityTimeout = Math.max(1000, record.connectionTimeout - 1000);
  }
  return record;
}

/**
 * A mail user (Exchange's MailUser): an account that can authenticate to a
 * Receive connector (SMTP AUTH). Interchange has no Active Directory, so the
 * account and its password hash live here.
 */
export interface MailUserRecord {
  guid: string;
  name: string;
  alias: string;
  displayName: string;
  userPrincipalName: string;
  primarySmtpAddress: string;
  /** Where mail to the user goes (Exchange's ExternalEmailAddress, `SMTP:` prefix stripped). */
  externalEmailAddress: string;
  /** scrypt hash with its parameters (src/security/password-hash.ts); never the password. */
  passwordHash: string;
  whenCreated: Date;
  whenChanged: Date;
}

/** Exchange's AcceptedDomainType. */
export type AcceptedDomainType = 'Authoritative' | 'InternalRelay' | 'ExternalRelay';

/**
 * An accepted domain: an SMTP namespace the organization takes mail for from
 * anyone. Mail to any other domain is relayed only for senders whose session
 * holds ms-Exch-SMTP-Accept-Any-Recipient.
 */
export interface AcceptedDomainRecord {
  guid: string;
  name: string;
  /** Lower case; `*.contoso.com` takes contoso.com and every subdomain. */
  domainName: string;
  domainType: AcceptedDomainType;
  default: boolean;
  matchSubDomains: boolean;
  whenCreated: Date;
  whenChanged: Date;
}

export type AllowedOOFType = 'External' | 'ExternalLegacy' | 'InternalLegacy' | 'None';
export type RemoteDomainContentType = 'MimeHtmlText' | 'MimeText' | 'MimeHtml';
export type ByteEncoderTypeFor7BitCharsets =
  | 'Undefined'
  | 'Use7Bit'
  | 'UseQP'
  | 'UseBase64'
  | 'UseQPHtmlDetectTextPlain'
  | 'UseBase64HtmlDetectTextPlain'
  | 'UseQPHtml7BitTextPlain'
  | 'UseBase64Html7BitTextPlain';

/**
 * A remote domain: message format and policy for mail to a domain outside the organization. `Default`
 * (DomainName `*`) is in every organization and covers every domain no other remote domain names.
 */
export interface RemoteDomainRecord {
  guid: string;
  name: string;
  /** Lower case: `*`, `contoso.com`, or `*.contoso.com` for it and its subdomains. */
  domainName: string;
  allowedOOFType: AllowedOOFType;
  autoReplyEnabled: boolean;
  autoForwardEnabled: boolean;
  deliveryReportEnabled: boolean;
  ndrEnabled: boolean;
  /** null: the sender's setting decides (Exchange shows it empty). */
  tnefEnabled: boolean | null;
  characterSet: string | null;
  nonMimeCharacterSet: string | null;
  contentType: RemoteDomainContentType;
  isInternal: boolean;
  trustedMailOutboundEnabled: boolean;
  trustedMailInboundEnabled: boolean;
  byteEncoderTypeFor7BitCharsets: ByteEncoderTypeFor7BitCharsets;
  /** Characters; null = Unlimited. */
  lineWrapSize: number | null;
  displaySenderName: boolean;
  meetingForwardNotificationEnabled: boolean;
  useSimpleDisplayName: boolean;
  ndrDiagnosticInfoEnabled: boolean;
  whenCreated: Date;
  whenChanged: Date;
}

export const DEFAULT_REMOTE_DOMAIN_NAME = 'Default';

/** A new remote domain as Exchange makes it (New-RemoteDomain), and the `Default` one. */
export function newRemoteDomain(guid: string, name: string, domainName: string, now: Date): RemoteDomainRecord {
  return {
    guid,
    name,
    domainName,
    allowedOOFType: 'External',
    autoReplyEnabled: true,
    autoForwardEnabled: true,
    deliveryReportEnabled: true,
    ndrEnabled: true,
    tnefEnabled: null,
    // Get-RemoteDomain Default shows iso-8859-1 for both in Exchange 2016/2019; a new one is taken to match [Inferred].
    characterSet: 'iso-8859-1',
    nonMimeCharacterSet: 'iso-8859-1',
    contentType: 'MimeHtmlText',
    isInternal: false,
    trustedMailOutboundEnabled: false,
    trustedMailInboundEnabled: false,
    byteEncoderTypeFor7BitCharsets: 'Undefined',
    lineWrapSize: null,
    displaySenderName: true,
    meetingForwardNotificationEnabled: false,
    useSimpleDisplayName: false,
    ndrDiagnosticInfoEnabled: true,
    whenCreated: now,
    whenChanged: now,
  };
}

/** The extended rights a Receive connector grants (Add-ADPermission), the ones transport acts on. */
export type SmtpExtendedRight =
  | 'ms-Exch-SMTP-Submit'
  | 'ms-Exch-SMTP-Accept-Any-Recipient'
  | 'ms-Exch-SMTP-Accept-Any-Sender'
  | 'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender'
  | 'ms-Exch-SMTP-Accept-Authentication-Flag'
  | 'ms-Exch-Accept-Headers-Routing'
  | 'ms-Exch-Bypass-Message-Size-Limit';

/** An access control entry added to a Receive connector with Add-ADPermission. */
export interface ReceiveConnectorPermissionEntry {
  /** `NT AUTHORITY\ANONYMOUS LOGON` or `NT AUTHORITY\Authenticated Users`. */
  user: string;
  extendedRights: SmtpExtendedRight[];
  deny: boolean;
}

export type RoleGroup = 'Organization Management' | 'Server Management' | 'Recipient Management' | 'View-Only Organization Management';

export interface AdministratorRecord {
  id: string;
  name: string;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  tokenHash: string;
  roleGroups: RoleGroup[];
  createdAt: Date;
  /** The token is refused from this moment on; absent or null: it never expires. */
  expiresAt?: Date | null;
}

/** Whether a credential may sign in at `now`. */
export function administratorIsValid(admin: AdministratorRecord, now: Date): boolean {
  return !admin.expiresAt || admin.expiresAt.getTime() > now.getTime();
}

export interface AuditLogRecord {
  id: number;
  runDate: Date;
  caller: string;
  cmdletName: string;
  cmdletParameters: Record<string, unknown>;
  objectModified: string | null;
  succeeded: boolean;
  error: string | null;
  originatingServer: string;
}
