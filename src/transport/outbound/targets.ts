// Where a route's mail goes: the connector's smart hosts, or the recipient
// domain's MX hosts (lowest preference first; the domain itself when it has
// no MX), looked up with the transport's ExternalDNSServers when set.
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Route } from '../routing/route.js';
import { DeliveryError, type ConnectTarget } from './smtp-client.js';

export type Resolver = Pick<dns.Resolver, 'resolveMx' | 'resolve4'>;

/**
 * The recipient domain's DNS decides how many mail exchangers and addresses an MX route has: hundreds would hold
 * one delivery attempt on as many lookups (3 s, twice, for each that does not answer) and connections. So, as
 * Postfix's smtp_mx_address_limit (5) does, only the first are used, lowest preference first.
 */
const MAX_MX_HOSTS = 10;
const MAX_MX_ADDRESSES = 10;

/** `['10.0.0.53', '127.0.0.1:5353']`; empty = the system resolver. */
export function createResolver(servers: readonly string[]): Resolver {
  const r = new dns.Resolver({ timeout: 3000, tries: 2 });
  if (servers.length > 0) r.setServers([...servers]);
  return r;
}

/** `[10.0.0.1]`, `10.0.0.1`, `host`, `host:2525` (a port overrides the connector's Port). */
function parseSmartHost(text: string, defaultPort: number): { host: string; port: number } {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : defaultPort };
  if (net.isIP(t)) return { host: t, port: defaultPort };
  const m = /^([^:]+):(\d+)$/.exec(t);
  if (m) return { host: m[1], port: Number(m[2]) };
  return { host: t, port: defaultPort };
}

async function addressesOf(host: string, resolver: Resolver | undefined): Promise<string[]> {
  if (net.isIP(host)) return [host];
  if (!resolver) return [host];
  try {
    return await resolver.resolve4(host);
  } catch {
    return [];
  }
}

export async function resolveTargets(route: Route, resolver: Resolver | undefined): Promise<ConnectTarget[]> {
  const c = route.connector;
  const out: ConnectTarget[] = [];
  if (route.deliveryType === 'SmartHostConnectorDelivery') {
    for (const sh of c.smartHosts) {
      const { host, port } = parseSmartHost(sh, c.port);
      for (const a of await addressesOf(host, resolver)) out.push({ host: a, port, name: host });
    }
    if (out.length === 0) throw new DeliveryError(`451 4.4.0 DNS query failed: none of the smart hosts ${c.smartHosts.join(', ')} resolved`, false, true);
    return out;
  }
  const domain = route.nextHopDomain;
  const r = resolver ?? createResolver([]);
  let mx: Array<{ exchange: string; priority: number }> = [];
  try {
    mx = await r.resolveMx(domain);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND') throw new DeliveryError(`550 5.4.310 DNS domain ${domain} does not exist`, true, true);
    if (code !== 'ENODATA') throw new DeliveryError(`451 4.4.0 DNS query failed for ${domain}: ${code ?? (e as Error).message}`, false, true);
  }
  const hosts = mx.length ? mx.sort((a, b) => a.priority - b.priority).slice(0, MAX_MX_HOSTS).map((m) => m.exchange) : [domain];
  for (const h of hosts) {
    for (const a of await addressesOf(h, r)) if (out.length < MAX_MX_ADDRESSES) out.push({ host: a, port: c.port, name: h });
    if (out.length >= MAX_MX_ADDRESSES) break;
  }
  if (out.length === 0) throw new DeliveryError(`451 4.4.0 DNS query failed: no address for the mail exchangers of ${domain}`, false, true);
  return out;
}
