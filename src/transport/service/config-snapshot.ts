// Everything a running transport reads from the directory, built whole and
// swapped as one immutable object (certificate and connector changes take
// effect for the next session; sessions in progress keep the snapshot they
// started with). A build starts from the snapshot in effect: connectors whose
// record and inputs did not change keep their runtime objects.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { CertificateReader, EvaluatedCertificate } from '../../certificate-store/certificate-store.js';
import { selectCertificateByName, selectCertificateForDomain } from '../../certificate-store/selection.js';
import { ipInRange, parseBinding, parseIpRange, type IpRange } from '../../connectors/receive-connector-rules.js';
import { parseSmtpX509Identifier } from '../../connectors/smtp-x509-identifier.js';
import type { DirectoryReader } from '../../directory/directory-store.js';
import { sessionRights } from '../../connectors/receive-permissions.js';
import type { ReceiveConnectorRecord, RemoteDomainRecord, SendConnectorRecord, ServerRecord, SmtpExtendedRight, TransportConfigRecord, TrustedRootRecord } from '../../directory/records.js';
import { transportConfigSettings } from '../../directory/records.js';
import { AcceptedDomainTable } from '../../organization/accepted-domains.js';
import { MailUserAccounts } from '../inbound/accounts.js';
import { RecipientResolver } from '../routing/recipient-resolution.js';
import { redirectEndpoint, type RedirectEndpoint } from '../routing/redirect.js';
import { materialFingerprint, trustedRootsKey, type TlsContextCache, type TlsMaterial } from './tls-material.js';

export interface ReceiveConnectorRuntime {
  record: ReceiveConnectorRecord;
  bindings: Array<{ address: string; port: number }>;
  ranges: IpRange[];
  /** The name this connector greets with and advertises. */
  fqdn: string;
  /** The STARTTLS certificate Exchange would select; undefined: no STARTTLS offered. */
  tls: TlsMaterial | undefined;
  /** What a session may do before AUTH, and after it (src/connectors/receive-permissions.ts). */
  rights: { anonymous: ReadonlySet<SmtpExtendedRight>; authenticated: ReadonlySet<SmtpExtendedRight>; exchangeServer: ReadonlySet<SmtpExtendedRight> };
  /** The connector authenticates servers of the organization by their internal transport certificate (AuthMechanism ExchangeServer, PermissionGroups ExchangeServers). */
  authenticatesExchangeServers: boolean;
}

export type ClientCertificateChoice =
  /** TlsCertificateName set and a valid certificate with a key matches it. */
  | { kind: 'named'; material: TlsMaterial }
  /** TlsCertificateName set, nothing usable matches: delivery fails with 454 4.7.5. */
  | { kind: 'named-missing' }
  /** No TlsCertificateName: by the connector's (or server's) FQDN, possibly none. */
  | { kind: 'fqdn'; material: TlsMaterial | undefined };

export interface SendConnectorRuntime {
  record: SendConnectorRecord;
  /** EHLO name: the connector's Fqdn, else the server's. */
  fqdn: string;
  clientCertificate: ClientCertificateChoice;
  /** Client context: the chosen certificate plus the CAs this server trusts. */
  secureContext: tls.SecureContext;
  /**
   * The SHA-1 thumbprint the next hop's certificate must have, or the session is refused (4xx): set for
   * the intra-organization connector, pinned to the target server's internal transport certificate.
   */
  pinnedServerThumbprint?: string;
  /**
   * AuthenticationCredential unsealed, for SmartHostAuthMechanism BasicAuth /
   * BasicAuthRequireTLS; undefined when none is set or it cannot be unsealed.
   */
  credential?: { userName: string; password: string };
}

export interface TransportSnapshot {
  revision: number;
  builtAt: Date;
  server: ServerRecord;
  receiveConnectors: ReceiveConnectorRuntime[];
  /** Every Send connector of the organization (routing filters by source server). */
  sendConnectors: SendConnectorRecord[];
  sendRuntime: Map<string, SendConnectorRuntime>;
  /** What a Send connector's runtime depends on besides its record (server, certificates, trusted roots). */
  sendInputs: string;
  certificates: EvaluatedCertificate[];
  /** The mail users that may authenticate with SMTP AUTH. */
  accounts: MailUserAccounts;
  /** The domains anyone may send to; others need ms-Exch-SMTP-Accept-Any-Recipient. */
  acceptedDomains: AcceptedDomainTable;
  /** Mail users' addresses to their external addresses. */
  recipients: RecipientResolver;
  /** Internal transport certificate thumbprints (upper case) of the organization's servers, to the server's name. */
  exchangeServers: ReadonlyMap<string, string>;
  /** This server's internal transport certificate, which it presents to another server; undefined without one (or without its key). */
  internalTransport: TlsMaterial | undefined;
  /** How this server reaches each server of the organization (lower-case name), or why it can't: for mail to a connector's source servers. */
  organizationServers: ReadonlyMap<string, RedirectEndpoint>;
  /** The organization's transport settings (Set-TransportConfig), defaults filled. */
  transportConfig: TransportConfigRecord;
  /** TLSSendDomainSecureList and TLSReceiveDomainSecureList as sets. */
  sendDomainSecure: ReadonlySet<string>;
  receiveDomainSecure: ReadonlySet<string>;
  /** The organization's remote domains, Default among them. */
  remoteDomains: readonly RemoteDomainRecord[];
  /**
   * The roots a domain-secured client's certificate may chain to: this server's trusted roots and the
   * platform's. Empty while TLSReceiveDomainSecureList is, since nothing then checks a client certificate.
   */
  clientRoots: readonly X509Certificate[];
}

export interface SnapshotDeps {
  directory: DirectoryReader;
  certificates: CertificateReader;
  serverName: string;
  /** TLS material and client contexts, shared across snapshots: built once per certificate. */
  tls: TlsContextCache;
  clock: () => Date;
  /** The snapshot in effect, whose unchanged Send connector runtimes the new one keeps. */
  previous?: TransportSnapshot;
}

/** Per-connector work runs in slices this long at most, then lets sessions waiting on the event loop run. */
const SLICE_MS = 5;

/** Reads configuration and certificates; builds only what changed since the previous snapshot. */
export async function buildSnapshot(deps: SnapshotDeps): Promise<TransportSnapshot> {
  const { directory, tls: contexts, previous } = deps;
  const revision = await directory.revision();
  const server = await deps.certificates.server(deps.serverName);
  const [allReceive, send, certificates, roots, mailUsers, acceptedDomains, servers, organization, remoteDomains] = await Promise.all([
    directory.listReceiveConnectors(),
    readSendConnectors(directory),
    deps.certificates.list(server.name),
    directory.listTrustedRoots(server.name),
    directory.listMailUsers(),
    directory.listAcceptedDomains(),
    directory.listServers(),
    directory.getOrganization(),
    directory.listRemoteDomains(),
  ]);
  const transportConfig = transportConfigSettings(organization);
  const receive = allReceive.filter((r) => r.server.toLowerCase() === server.name.toLowerCase());
  const installed = certificates.filter((c) => c.record.der !== null);
  const material = (c: EvaluatedCertificate | undefined) => contexts.material(c);

  const receiveConnectors: ReceiveConnectorRuntime[] = receive
    .filter((r) => r.enabled)
    .map((record) => {
      const fqdn = record.fqdn ?? server.fqdn;
      const offersTls = record.authMechanism.includes('Tls') || record.requireTls;
      let chosen: EvaluatedCertificate | undefined;
      if (offersTls) {
        chosen = record.tlsCertificateName
          ? selectCertificateByName(installed, parseSmtpX509Identifier(record.tlsCertificateName))
          : selectCertificateForDomain(installed.filter((c) => c.services.includes('SMTP')), fqdn) ?? selectCertificateForDomain(installed, fqdn);
      }
      return {
        record,
        bindings: record.bindings.map(parseBinding),
        ranges: record.remoteIpRanges.map(parseIpRange),
        fqdn,
        tls: material(chosen),
        rights: { anonymous: sessionRights(record, false), authenticated: sessionRights(record, true), exchangeServer: sessionRights(record, 'exchangeServer') },
        authenticatesExchangeServers: record.authMechanism.includes('ExchangeServer') && record.permissionGroups.includes('ExchangeServers'),
      };
    });

  const rootsKey = trustedRootsKey(roots);
  const sendInputs = [server.name, server.fqdn, rootsKey, ...installed.map(materialFingerprint)].join('\n');
  const sameInputs = previous?.sendInputs === sendInputs;
  const sendRuntime = new Map<string, SendConnectorRuntime>();
  let slice = performance.now();
  for (const record of send) {
    if (performance.now() - slice > SLICE_MS) {
      await nextTurn();
      slice = performance.now();
    }
    if (!record.sourceTransportServers.some((s) => s.toLowerCase() === server.name.toLowerCase())) continue;
    const before = previous?.sendRuntime.get(record.guid);
    if (reusableSendRuntime(before, record, sameInputs)) {
      const thumbprint = before.clientCertificate.kind === 'named-missing' ? undefined : before.clientCertificate.material?.thumbprint;
      contexts.keepMaterial(thumbprint);
      contexts.keepClientContext(thumbprint, rootsKey);
      sendRuntime.set(record.guid, before);
      continue;
    }
    const fqdn = record.fqdn ?? server.fqdn;
    let clientCertificate: ClientCertificateChoice;
    if (record.tlsCertificateName) {
      const m = material(selectCertificateByName(installed, parseSmtpX509Identifier(record.tlsCertificateName)));
      clientCertificate = m ? { kind: 'named', material: m } : { kind: 'named-missing' };
    } else {
      clientCertificate = { kind: 'fqdn', material: material(selectCertificateForDomain(installed, fqdn)) };
    }
    const m = clientCertificate.kind === 'named-missing' ? undefined : clientCertificate.material;
    const secureContext = contexts.clientContext(m, roots);
    sendRuntime.set(record.guid, { record, fqdn, clientCertificate, secureContext, credential: unsealCredential(deps.certificates, record) });
  }
  const exchangeServers = new Map<string, string>();
  for (const s of servers) if (s.internalTransportCertificateThumbprint) exchangeServers.set(s.internalTransportCertificateThumbprint.toUpperCase(), s.name);
  const internalTp = server.internalTransportCertificateThumbprint?.toUpperCase();
  const internalTransport = internalTp ? material(installed.find((c) => c.thumbprint.toUpperCase() === internalTp)) : undefined;
  const organizationServers = new Map<string, RedirectEndpoint>();
  for (const s of servers) organizationServers.set(s.name.toLowerCase(), redirectEndpoint(s, allReceive));
  contexts.commit();
  const receiveDomainSecure = new Set(transportConfig.tlsReceiveDomainSecureList);
  return {
    transportConfig,
    sendDomainSecure: new Set(transportConfig.tlsSendDomainSecureList),
    receiveDomainSecure,
    remoteDomains,
    clientRoots: receiveDomainSecure.size > 0 ? clientRoots(roots) : [],
    exchangeServers,
    internalTransport,
    organizationServers,
    revision, builtAt: deps.clock(), server, receiveConnectors, sendConnectors: send, sendRuntime, sendInputs, certificates, accounts: new MailUserAccounts(mailUsers), acceptedDomains: new AcceptedDomainTable(acceptedDomains), recipients: new RecipientResolver(mailUsers) };
}

let platformRoots: X509Certificate[] | undefined;

/** The server's installed roots and the platform's, parsed (the platform's once per process). */
function clientRoots(roots: readonly TrustedRootRecord[]): X509Certificate[] {
  platformRoots ??= tls.rootCertificates.map((pem) => new X509Certificate(pem));
  return [...roots.map((r) => new X509Certificate(r.der)), ...platformRoots];
}

/** Every Send connector, letting sessions run between pages (10,000 decoded at once hold the event loop ~150 ms). */
async function readSendConnectors(directory: DirectoryReader): Promise<SendConnectorRecord[]> {
  const all: SendConnectorRecord[] = [];
  for await (const page of directory.scanSendConnectors(250)) {
    for (const c of page) all.push(c);
    await nextTurn();
  }
  return all;
}

/**
 * A Send connector keeps its runtime (and its TLS context) across a reload
 * when its record is the same and so is everything else the runtime was made
 * from (the server, its certificates and trusted roots).
 */
export function reusableSendRuntime(before: SendConnectorRuntime | undefined, record: SendConnectorRecord, sameInputs: boolean): before is SendConnectorRuntime {
  return before !== undefined && sameInputs && isDeepStrictEqual(before.record, record);
}

/** Unsealed the way private keys are: through the certificate store's vault, read-only. */
function unsealCredential(certificates: CertificateReader, record: SendConnectorRecord): SendConnectorRuntime['credential'] {
  const c = record.authenticationCredential;
  if (!c || (record.smartHostAuthMechanism !== 'BasicAuth' && record.smartHostAuthMechanism !== 'BasicAuthRequireTLS')) return undefined;
  try {
    return { userName: c.userName, password: certificates.openSecret(c.password).toString('utf8') };
  } catch {
    return undefined;
  }
}

/**
 * The Receive connector for a connection (reference §4): among the enabled
 * connectors bound to the local address and port, the one whose RemoteIPRanges
 * match the client most specifically (the smallest matching range).
 */
export function matchReceiveConnector(
  connectors: readonly ReceiveConnectorRuntime[],
  local: { address: string; port: number },
  remoteAddress: string,
): ReceiveConnectorRuntime | undefined {
  const localPlain = local.address.startsWith('::ffff:') ? local.address.slice(7) : local.address;
  let best: { c: ReceiveConnectorRuntime; width: bigint; exactBinding: boolean } | undefined;
  for (const c of connectors) {
    const binding = c.bindings.find((b) => b.port === local.port && (b.address === localPlain || b.address === '0.0.0.0' || b.address === '::'));
    if (!binding) continue;
    const exactBinding = binding.address === localPlain;
    for (const r of c.ranges) {
      if (!ipInRange(remoteAddress, r)) continue;
      const width = r.end - r.start;
      // A connector bound to the exact address beats one bound to all addresses (Exchange's binding rule), then the narrower range wins.
      if (!best || (exactBinding && !best.exactBinding) || (exactBinding === best.exactBinding && width < best.width)) best = { c, width, exactBinding };
    }
  }
  return best?.c;
}

/** The distinct listening sockets the enabled connectors need. */
export function listenerBindings(connectors: readonly ReceiveConnectorRuntime[]): Array<{ address: string; port: number }> {
  const seen = new Map<string, { address: string; port: number }>();
  for (const c of connectors) for (const b of c.bindings) seen.set(`${b.address}|${b.port}`, b);
  // 0.0.0.0:p covers every specific IPv4 address on p; binding both would fail with EADDRINUSE.
  const all = [...seen.values()];
  return all.filter((b) => !(b.address !== '0.0.0.0' && b.address !== '::' && all.some((o) => o.port === b.port && (o.address === '0.0.0.0' || o.address === '::') && sameFamily(o.address, b.address))));
}

function sameFamily(wild: string, addr: string): boolean {
  return (wild === '0.0.0.0') === !addr.includes(':');
}
