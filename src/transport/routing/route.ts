// Connector selection for a recipient (reference §3.7). Pure: the snapshot's
// connectors and a recipient in, one route (or the reason there is none) out.
import { addressSpaceSpecificity } from '../../connectors/address-space.js';
import type { SendConnectorRecord } from '../../directory/records.js';
import { domainSecureEntry } from './domain-secure.js';
import type { RedirectTarget } from './redirect.js';

/**
 * SmtpRelayToConnectorSourceServers: the connector is sourced on other servers of the organization, so the
 * mail goes to one of them. SmtpRelayToServers: to one named server of the organization (Redirect-Message).
 */
export type DeliveryType = 'DnsConnectorDelivery' | 'SmartHostConnectorDelivery' | 'SmtpRelayToConnectorSourceServers' | 'SmtpRelayToServers' | 'Unreachable';

export interface Route {
  connector: SendConnectorRecord;
  deliveryType: Exclude<DeliveryType, 'Unreachable'>;
  /**
   * The queue's NextHopDomain: the recipient domain for MX delivery, the smart
   * hosts (IP literals bracketed, as Exchange shows them) for smart-host delivery.
   */
  nextHopDomain: string;
  /** Set for Redirect-Message's route: the server of the organization the mail goes to. */
  redirectTo?: RedirectTarget;
  /** Set for SmtpRelayToConnectorSourceServers: the connector's source servers, in the order they are tried. */
  relayTo?: readonly string[];
  /**
   * Set when the recipient domain is in TLSSendDomainSecureList and this server delivers: the next hop must
   * prove over TLS that it is this domain's (src/transport/routing/domain-secure.ts).
   */
  domainSecure?: string;
}

export type RouteResult = { ok: true; route: Route } | { ok: false; reply: string };

export const NO_CONNECTOR_REPLY = '550 5.4.4 SMTPSEND.DNS.NonExistentDomain; unable to route: no Send connector of the organization covers the recipient domain';
export const TOO_BIG_REPLY = '550 5.3.4 Message too big for the Send connectors that cover the recipient domain';

/** `user@Contoso.com` → `contoso.com` (an address without a domain routes as the empty domain). */
export function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/^\[|\]$/g, '');
}

/** `10.0.0.1` → `[10.0.0.1]`; host names unchanged, lower-cased. */
export function renderSmartHost(host: string): string {
  const h = host.trim();
  const ipish = /^\[?(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)\]?$/i.test(h) && !/^[a-z]/i.test(h.replace(/^\[/, ''));
  return ipish ? `[${h.replace(/^\[|\]$/g, '')}]` : h.toLowerCase();
}

/**
 * The connector for one recipient (§3.7, in one Active Directory site): enabled
 * connectors big enough for the message, the most specific address space, then
 * the lowest cost, then the fewest hops (a connector sourced on `serverName`
 * before one sourced only on other servers), then the alphanumerically lowest
 * name. A connector sourced elsewhere routes the mail to its source servers.
 */
export function selectSendConnector(
  connectors: readonly SendConnectorRecord[],
  serverName: string,
  recipient: string,
  messageSize: number,
  sendDomainSecure: ReadonlySet<string> = NO_DOMAINS,
): RouteResult {
  const domain = recipientDomain(recipient);
  const server = serverName.toLowerCase();
  type Candidate = { c: SendConnectorRecord; specificity: number; cost: number; hops: number };
  let winner: Candidate | undefined;
  let tooBig = false;
  for (const c of connectors) {
    if (!c.enabled || c.sourceTransportServers.length === 0) continue;
    let best: { specificity: number; cost: number } | undefined;
    for (const a of c.addressSpaces) {
      const specificity = addressSpaceSpecificity(a, domain);
      if (specificity < 0) continue;
      if (!best || specificity > best.specificity || (specificity === best.specificity && a.cost < best.cost)) best = { specificity, cost: a.cost };
    }
    if (!best) continue;
    if (c.maxMessageSize !== null && messageSize > c.maxMessageSize) {
      tooBig = true;
      continue;
    }
    const candidate = { c, ...best, hops: c.sourceTransportServers.some((s) => s.toLowerCase() === server) ? 0 : 1 };
    if (!winner || compareCandidates(candidate, winner) < 0) winner = candidate;
  }
  if (!winner) return { ok: false, reply: tooBig ? TOO_BIG_REPLY : NO_CONNECTOR_REPLY };
  const connector = winner.c;
  if (winner.hops > 0) {
    return { ok: true, route: { connector, deliveryType: 'SmtpRelayToConnectorSourceServers', nextHopDomain: connector.name.toLowerCase(), relayTo: connector.sourceTransportServers } };
  }
  const domainSecure = domainSecureEntry(sendDomainSecure, domain);
  const secured = domainSecure ? { domainSecure } : {};
  if (connector.dnsRoutingEnabled || connector.smartHosts.length === 0) {
    return { ok: true, route: { connector, deliveryType: 'DnsConnectorDelivery', nextHopDomain: domain, ...secured } };
  }
  // A domain-secured domain gets a queue of its own, named by the domain, even through smart hosts: its mail
  // waits for a next hop that proves it is the domain's, while other mail through the same hosts goes on.
  return { ok: true, route: { connector, deliveryType: 'SmartHostConnectorDelivery', nextHopDomain: domainSecure ?? connector.smartHosts.map(renderSmartHost).join(','), ...secured } };
}

const NO_DOMAINS: ReadonlySet<string> = new Set();

function compareCandidates(a: { c: SendConnectorRecord; specificity: number; cost: number; hops: number }, b: typeof a): number {
  return b.specificity - a.specificity || a.cost - b.cost || a.hops - b.hops || compareNames(a.c.name, b.c.name);
}

function compareNames(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Messages with the same key travel through the same delivery queue. */
export function queueKey(route: Route): string {
  return `${route.connector.guid}|${route.nextHopDomain}${route.domainSecure ? '|domain-secure' : ''}`;
}
