// Redirect-Message: while a server is being taken out of mail flow, every
// message it still holds goes to another server of the organization over
// SMTP, the two servers authenticating each other with their internal
// transport certificates. Pure decisions: where the target is reached, the
// route (and queue) its mail takes, and which route wins for a recipient.
import type { ReceiveConnectorRecord, SendConnectorRecord, ServerRecord } from '../../directory/records.js';
import { defaultSendConnector } from '../../connectors/send-connector-defaults.js';
import type { Route, RouteResult } from './route.js';

/** Exchange's name for the implicit connector between servers of one organization (it names the send protocol log rows). */
export const INTRA_ORGANIZATION_CONNECTOR = 'Intra-Organization SMTP Send Connector';

export interface RedirectTarget {
  serverName: string;
  fqdn: string;
  /** Where other servers reach it: the host of its advertised admin URL, else its FQDN. */
  host: string;
  /** The port of its "Default Frontend <server>" Receive connector. */
  port: number;
  /** Its internal transport certificate: the certificate its Receive connector must present. */
  thumbprint: string;
}

export type RedirectEndpoint = { ok: true; target: RedirectTarget } | { ok: false; reason: string };

/** How another server reaches `target`, from its directory records; or why it cannot be a redirect target. */
export function redirectEndpoint(target: ServerRecord, receiveConnectors: readonly Pick<ReceiveConnectorRecord, 'name' | 'server' | 'bindings' | 'enabled'>[]): RedirectEndpoint {
  if (!target.internalTransportCertificateThumbprint) return { ok: false, reason: `Server ${target.name} has no internal transport certificate, so it can't authenticate as an Exchange server.` };
  const frontendName = `Default Frontend ${target.name}`.toLowerCase();
  const frontend = receiveConnectors.find((c) => c.server.toLowerCase() === target.name.toLowerCase() && c.name.toLowerCase() === frontendName);
  if (!frontend || !frontend.enabled) return { ok: false, reason: `Server ${target.name} has no enabled Receive connector "Default Frontend ${target.name}" to take the mail.` };
  const port = bindingPort(frontend.bindings[0]);
  if (port === undefined) return { ok: false, reason: `The Receive connector "Default Frontend ${target.name}" has no binding to send to.` };
  return { ok: true, target: { serverName: target.name, fqdn: target.fqdn, host: adminHost(target.adminUrl) ?? target.fqdn, port, thumbprint: target.internalTransportCertificateThumbprint.toUpperCase() } };
}

/** `0.0.0.0:25`, `[::]:2525`, `10.0.0.5:25` → the port. */
function bindingPort(binding: string | undefined): number | undefined {
  const m = /:(\d{1,5})$/.exec(binding ?? '');
  const port = m ? Number(m[1]) : NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** The host of an advertised admin URL; undefined when there is none, or it names no reachable host (a wildcard address). */
function adminHost(adminUrl: string | null): string | undefined {
  if (!adminUrl) return undefined;
  let host: string;
  try {
    host = new URL(adminUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  return host && host !== '0.0.0.0' && host !== '::' ? host : undefined;
}

/**
 * The route of redirected mail. Its queue is named by the target's FQDN, as
 * Exchange names a queue to another server. DeliveryType SmtpRelayToServers:
 * the next hop is one named server of the organization (not a mailbox
 * delivery group, not a connector's smart hosts or MX). STARTTLS is required;
 * the server certificate is pinned in the connection, not checked by TlsAuthLevel.
 */
export function redirectRoute(source: ServerRecord['name'], target: RedirectTarget, now: Date): Route {
  return { connector: intraOrganizationConnector(source, target, now), deliveryType: 'SmtpRelayToServers', nextHopDomain: target.fqdn.toLowerCase(), redirectTo: target };
}

/** The implicit Send connector from `source` to another server of the organization (its settings are not configurable, as in Exchange). */
export function intraOrganizationConnector(source: ServerRecord['name'], target: RedirectTarget, now: Date): SendConnectorRecord {
  return {
    ...defaultSendConnector({ name: INTRA_ORGANIZATION_CONNECTOR, usage: 'Internal', sourceServer: source, now, guid: `intra-organization:${target.serverName.toLowerCase()}` }),
    addressSpaces: [{ type: 'SMTP', address: '*', cost: 1 }],
    smartHosts: [`${target.host}:${target.port}`],
    dnsRoutingEnabled: false,
    port: target.port,
    requireTls: true,
    tlsAuthLevel: 'EncryptionOnly',
    protocolLoggingLevel: 'Verbose',
  };
}

/**
 * The servers a SmtpRelayToConnectorSourceServers queue tries, in the
 * connector's order: every source server but this one that can take mail,
 * and, for the queue's LastError when none can, why each cannot.
 */
export function sourceServerTargets(relayTo: readonly string[], self: string, endpoints: ReadonlyMap<string, RedirectEndpoint>): { targets: RedirectTarget[]; reasons: string[] } {
  const targets: RedirectTarget[] = [];
  const reasons: string[] = [];
  for (const name of relayTo) {
    if (name.toLowerCase() === self.toLowerCase()) continue;
    const e = endpoints.get(name.toLowerCase());
    if (!e) reasons.push(`Server ${name} is not a server of the organization.`);
    else if (e.ok) targets.push(e.target);
    else reasons.push(e.reason);
  }
  return { targets, reasons };
}

/**
 * A recipient's route on a server whose mail is redirected: the target's,
 * whatever this server's own Send connectors say (the target routes it, and
 * refuses what it cannot route); otherwise the server's own routing.
 */
export function routeWithRedirect(redirect: Route | undefined, ownRouting: () => RouteResult): RouteResult {
  return redirect ? { ok: true, route: redirect } : ownRouting();
}
