// Opening a session to a delivery queue's next hop: which hosts it is (a
// redirect target, the source servers of a relay connector, or the smart hosts
// or MX hosts of a Send connector), in the order they are tried, with the
// connector runtime (certificate, TLS policy, limits) that speaks to each.
import { ProtocolLogSession, type ProtocolLogWriter } from '../protocol-log/index.js';
import { sourceServerTargets } from '../routing/redirect.js';
import type { Route } from '../routing/route.js';
import type { SendConnectorRuntime, TransportSnapshot } from '../service/config-snapshot.js';
import { intraOrganizationRuntime, intraOrganizationTarget } from './intra-organization.js';
import { DeliveryError, SmtpClientConnection, type ConnectTarget } from './smtp-client.js';
import { createResolver, resolveTargets, type Resolver } from './targets.js';

export interface NextHop {
  runtime: SendConnectorRuntime;
  target: ConnectTarget;
}

export class NextHopConnector {
  /** The resolver of the ExternalDNSServers in effect, remade when they change. */
  private resolver: { servers: string; resolver: Resolver | undefined } | undefined;

  constructor(private readonly sendLog: ProtocolLogWriter) {}

  /** Each next hop of the route, in the order they are tried. */
  async hops(route: Route, snapshot: TransportSnapshot): Promise<NextHop[]> {
    if (route.redirectTo) return [{ runtime: intraOrganizationRuntime(snapshot, route.redirectTo), target: intraOrganizationTarget(route.redirectTo) }];
    if (route.relayTo) {
      const { targets, reasons } = sourceServerTargets(route.relayTo, snapshot.server.name, snapshot.organizationServers);
      if (targets.length === 0) throw new DeliveryError(`451 4.4.0 No source server of the Send connector "${route.connector.name}" can take the mail. ${reasons.join(' ')}`.trimEnd(), false, true);
      return targets.map((t) => ({ runtime: intraOrganizationRuntime(snapshot, t), target: intraOrganizationTarget(t) }));
    }
    const runtime = snapshot.sendRuntime.get(route.connector.guid);
    if (!runtime) throw new DeliveryError('451 4.4.0 The Send connector of this queue is no longer available on this server', false, true);
    return (await resolveTargets(route, this.resolverFor(snapshot))).map((target) => ({ runtime, target }));
  }

  /** A session to the first next hop that takes one; the last failure when none does. */
  async connect(route: Route, snapshot: TransportSnapshot): Promise<SmtpClientConnection> {
    let last: unknown;
    for (const { runtime, target } of await this.hops(route, snapshot)) {
      const log = runtime.record.protocolLoggingLevel === 'Verbose' ? new ProtocolLogSession(this.sendLog, { connectorId: runtime.record.name }) : undefined;
      try {
        // The name a certificate is checked against when the connector sets no TlsDomain: the domain an MX
        // route resolved, else the smart host's own name.
        const fallbackTlsDomain = route.deliveryType === 'DnsConnectorDelivery' ? route.nextHopDomain : target.name;
        // Domain security is between organizations: not for a hop to another server of this one.
        const domainSecure = route.redirectTo || route.relayTo ? undefined : route.domainSecure;
        return await SmtpClientConnection.open(runtime, target, log, fallbackTlsDomain, domainSecure);
      } catch (e) {
        last = e;
        log?.disconnect('Local');
        // The certificate problem is ours, not the target's: no point trying the next host.
        if (e instanceof DeliveryError && e.reply.startsWith('454 4.7.5 The certificate specified')) break;
      }
    }
    throw last;
  }

  private resolverFor(s: TransportSnapshot): Resolver | undefined {
    const servers = s.server.transport.externalDnsServers;
    const key = servers.join(',');
    if (!this.resolver || this.resolver.servers !== key) this.resolver = { servers: key, resolver: servers.length ? createResolver(servers) : undefined };
    return this.resolver.resolver;
  }
}
