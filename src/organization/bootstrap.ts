import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CertificateStore } from '../certificate-store/certificate-store.js';
import { defaultFrontendBindings, defaultReceiveConnector } from '../cmdlets/catalog/receive-connector.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { CertificateRecord, ServerRecord, TransportServiceSettings } from '../directory/records.js';
import { readCertificateFacts } from '../certificates/certificate-facts.js';
import { hashToken, newToken } from '../security/tokens.js';

/** Where a server keeps its own files in the data folder: queue, protocol logs. */
export function serverHome(dataDir: string, serverName: string): string {
  return path.join(dataDir, 'servers', serverName.toUpperCase());
}

export function defaultTransportSettings(dataDir: string, serverName: string): TransportServiceSettings {
  const logs = path.join(serverHome(dataDir, serverName), 'TransportRoles', 'Logs', 'Hub', 'ProtocolLog');
  return {
    sendProtocolLogPath: path.join(logs, 'SmtpSend'),
    receiveProtocolLogPath: path.join(logs, 'SmtpReceive'),
    sendProtocolLogMaxAge: 30 * 86_400_000,
    receiveProtocolLogMaxAge: 30 * 86_400_000,
    sendProtocolLogMaxDirectorySize: 250 * 1024 * 1024,
    receiveProtocolLogMaxDirectorySize: 250 * 1024 * 1024,
    sendProtocolLogMaxFileSize: 10 * 1024 * 1024,
    receiveProtocolLogMaxFileSize: 10 * 1024 * 1024,
    intraOrgConnectorProtocolLoggingLevel: 'None',
    messageExpirationTimeout: 2 * 86_400_000,
    transientFailureRetryInterval: 5 * 60_000,
    transientFailureRetryCount: 6,
    outboundConnectionFailureRetryInterval: 10 * 60_000,
    messageRetryInterval: 5 * 60_000,
    delayNotificationTimeout: 4 * 3_600_000,
    maxOutboundConnections: 1000,
    maxPerDomainOutboundConnections: 40,
    externalDnsServers: [],
    messageTrackingLogEnabled: true,
    messageTrackingLogPath: path.join(serverHome(dataDir, serverName), 'TransportRoles', 'Logs', 'MessageTracking'),
    messageTrackingLogMaxAge: 30 * 86_400_000,
    messageTrackingLogMaxDirectorySize: 1000 * 1024 * 1024,
    messageTrackingLogMaxFileSize: 10 * 1024 * 1024,
    messageTrackingLogSubjectLoggingEnabled: true,
  };
}

export interface BootstrapResult {
  server: ServerRecord;
  /** Set only on the organization's first start: shown once, never again. */
  administratorToken?: string;
  tokenFile: string;
}

/**
 * First start of a server, as Exchange Setup does it (joinOrganization made the
 * organization): the server object, its default self-signed certificate as
 * internal transport certificate, its default frontend Receive connector, and
 * the first administrator. A later start only records where the server now listens.
 */
export async function bootstrapServer(opts: {
  directory: DirectoryStore;
  certificates: CertificateStore;
  dataDir: string;
  serverName: string;
  fqdn: string;
  smtpPort: number;
  adminUrl: string;
  clock: () => Date;
}): Promise<BootstrapResult> {
  const { directory, certificates, dataDir, clock } = opts;
  const name = opts.serverName.toUpperCase();
  const tokenFile = path.join(dataDir, 'admin-token');
  let administratorToken: string | undefined;
  let previousPort: number | null = null;

  await directory.exclusive(async (tx) => {
    // joinOrganization made it or checked it before; read again here for the fields set since.
    const org = (await tx.getOrganization())!;
    if (!org.acceptedDomainsInitialized) {
      // Exchange Setup makes the forest's domain the first, default accepted domain; here it is the first server's
      // domain. An organization made before accepted domains existed gets it at its first start with them.
      const domain = organizationDomain(opts.fqdn);
      if (domain && (await tx.listAcceptedDomains()).length === 0) {
        await tx.insertAcceptedDomain({ guid: crypto.randomUUID(), name: domain, domainName: domain, domainType: 'Authoritative', default: true, matchSubDomains: false, whenCreated: clock(), whenChanged: clock() });
      }
      await tx.updateOrganization({ ...org, acceptedDomainsInitialized: true });
    }
    if ((await tx.listAdministrators()).length === 0) {
      administratorToken = newToken();
      fs.writeFileSync(tokenFile, administratorToken + '\n', { mode: 0o600 });
      await tx.insertAdministrator({ id: crypto.randomUUID(), name: 'Administrator', tokenHash: hashToken(administratorToken), roleGroups: ['Organization Management'], createdAt: clock() });
    }
    const existing = await tx.getServer(name);
    if (existing) {
      previousPort = existing.smtpPort;
      await tx.updateServer({ ...existing, adminUrl: opts.adminUrl, smtpPort: opts.smtpPort });
    } else {
      await tx.insertServer({
        name,
        guid: crypto.randomUUID(),
        fqdn: opts.fqdn,
        roles: ['Mailbox'],
        adminUrl: opts.adminUrl,
        smtpPort: opts.smtpPort,
        internalTransportCertificateThumbprint: null,
        transport: defaultTransportSettings(dataDir, name),
        createdAt: clock(),
      });
      // As Exchange's: anonymous mail from anywhere, for the accepted domains only (550 5.7.54 for others).
      await tx.insertReceiveConnector(defaultReceiveConnector(name, opts.smtpPort, clock()));
    }
  });

  let server = (await directory.getServer(name))!;
  if (!server.internalTransportCertificateThumbprint) {
    // Outside the directory lock: key generation takes a while and touches no shared state until the insert.
    const cert = await certificates.createSelfSigned(name, {
      subjectName: `CN=${name}`,
      domainNames: [name, server.fqdn],
      keySize: 2048,
      friendlyName: 'Microsoft Exchange',
      services: ['IMAP', 'POP', 'IIS', 'SMTP'],
      privateKeyExportable: false,
    });
    await certificates.enable(name, cert.thumbprint, ['SMTP'], true);
    await installSetupCertificates(directory, certificates, server, cert, clock);
    server = (await directory.getServer(name))!;
  }
  if (previousPort !== null && previousPort !== opts.smtpPort) {
    // The default frontend connector follows --smtp-port, so a restart on another port keeps one listener.
    for (const rc of await directory.listReceiveConnectors(name)) {
      if (rc.name === `Default Frontend ${name}`) await directory.updateReceiveConnector({ ...rc, bindings: defaultFrontendBindings(opts.smtpPort) });
    }
  }
  return { server, administratorToken, tokenFile };
}

export const AUTH_CERTIFICATE_SUBJECT = 'CN=Microsoft Exchange Server Auth Certificate';

/**
 * The rest of what Exchange Setup installs beside the server's own certificate
 * (reference §1.6): the organization's Auth certificate (SMTP, exportable, no
 * domains, so STARTTLS never selects it; one certificate for the whole
 * organization, copied to each new server as Exchange's Service Host does) and
 * the web management service's WMSvc-<server> (no services, 10 years). Setup
 * also puts the self-signed server and WMSvc certificates in the machine's root
 * store, which is why Exchange shows them with RootCAType Registry.
 */
async function installSetupCertificates(directory: DirectoryStore, certificates: CertificateStore, server: ServerRecord, own: CertificateRecord, clock: () => Date): Promise<void> {
  const name = server.name;
  const organizationAuth = async (dir: DirectoryStore): Promise<CertificateRecord | undefined> => {
    for (const other of await dir.listServers()) {
      if (other.name === name) continue;
      const auth = (await dir.listCertificates(other.name)).find((c) => c.der && c.privateKey && readCertificateFacts(c.der).subject === AUTH_CERTIFICATE_SUBJECT);
      if (auth) return auth;
    }
    return undefined;
  };
  // Looked for and installed under the directory lock: two servers set up at once would otherwise each find
  // none and make their own. A new one's key is made outside the lock, and used only if still none exists.
  let made: CertificateRecord | undefined;
  for (;;) {
    const installed = await directory.exclusive(async (tx) => {
      const auth = await organizationAuth(tx);
      if (auth) await tx.insertCertificate({ ...auth, serverName: name, services: ['SMTP'], createdAt: clock() });
      else if (made) await tx.insertCertificate(made);
      return Boolean(auth || made);
    });
    if (installed) break;
    made = await certificates.newSelfSigned(name, { subjectName: AUTH_CERTIFICATE_SUBJECT, domainNames: [], keySize: 2048, friendlyName: 'Microsoft Exchange Server Auth Certificate', services: ['SMTP'], privateKeyExportable: true });
  }
  const wmsvc = await certificates.createSelfSigned(name, { subjectName: `CN=WMSvc-${name}`, domainNames: [`WMSvc-${name}`], keySize: 2048, friendlyName: 'WMSVC', services: [], privateKeyExportable: true, validDays: 10 * 365 });
  for (const root of [own, wmsvc]) await directory.insertTrustedRoot({ serverName: name, thumbprint: root.thumbprint, der: root.der! });
}

/** The domain of a server FQDN (ex01.contoso.com -> contoso.com); undefined for a single-label name. */
export function organizationDomain(fqdn: string): string | undefined {
  const labels = fqdn.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  if (labels.length < 2) return undefined;
  return (labels.length > 2 ? labels.slice(1) : labels).join('.');
}
