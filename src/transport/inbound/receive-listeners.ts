// The listening sockets of a server's Receive connectors. Each accepted
// connection is matched to a connector with the snapshot of that moment; the
// set of listeners follows the connectors' bindings when the snapshot changes.
import net from 'node:net';
import type { Logger } from 'pino';
import { ProtocolLogSession, type ProtocolLogWriter } from '../protocol-log/index.js';
import { listenerBindings, matchReceiveConnector, type TransportSnapshot } from '../service/config-snapshot.js';
import { VerificationLimit } from './accounts.js';
import { AuthThrottle, DEFAULT_AUTH_THROTTLE, type AuthThrottlePolicy } from './auth-throttle.js';
import { admitConnection, ConnectionCounts, type Admission } from './connection-limits.js';
import { REPLY } from './replies.js';
import { InboundSession, type SessionHost } from './smtp-session.js';

export interface ReceiveListenersDeps {
  snapshot(): TransportSnapshot;
  host: Omit<SessionHost, 'onClose'>;
  /** The receive protocol log of each transport role: a connector's TransportRole picks the one it writes to. */
  receiveLogs: Record<'FrontendTransport' | 'HubTransport', ProtocolLogWriter>;
  logger: Logger;
  /** The cross-session AUTH throttle's thresholds; Interchange's defaults unless a test needs small ones. */
  authThrottle?: Partial<AuthThrottlePolicy>;
}

const key = (b: { address: string; port: number }) => `${b.address}|${b.port}`;

/**
 * Sockets one listener holds, whatever its connectors allow (Unlimited
 * included): file descriptors are finite. Above every default connector limit,
 * so a refused client still gets its 421 rather than a silent close.
 */
const LISTENER_SOCKET_CEILING = 16_384;
/** One service-log line per connector and interval about refused connections, with how many there were. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export class ReceiveListeners {
  private readonly servers = new Map<string, net.Server>();
  private readonly sessions = new Set<InboundSession>();
  private readonly sockets = new Set<net.Socket>();
  private readonly authLimit = new VerificationLimit(4);
  private readonly authThrottle: AuthThrottle;
  /** Per connector GUID; an entry exists while the connector has connections. */
  private readonly counts = new Map<string, ConnectionCounts>();
  private readonly refusalLog = new Map<string, { loggedAt: number; unlogged: number }>();
  /** Connections refused by a connection limit since the service started. */
  refusedConnections = 0;

  constructor(private readonly deps: ReceiveListenersDeps) {
    this.authThrottle = new AuthThrottle(deps.logger, { ...DEFAULT_AUTH_THROTTLE, ...deps.authThrottle });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Why each wanted binding is not listening (`EADDRINUSE …`); a binding listening has no entry. */
  private readonly failures = new Map<string, string>();
  /**
   * IPv6 bindings a host without IPv6 cannot open (`[::]:25` of every Default Frontend connector): not a failure,
   * as Exchange on a host with IPv6 unbound keeps serving IPv4; their status says so.
   */
  private readonly unavailable = new Map<string, string>();

  /**
   * What Get-ReceiveConnector and `serve` report for a binding: `Listening`,
   * or why not. A specific address on a port that a wildcard binding already
   * hears is served by that wildcard's listener.
   */
  bindingStatus(binding: { address: string; port: number }): string {
    for (const k of [key(binding), key({ address: '0.0.0.0', port: binding.port }), key({ address: '::', port: binding.port })]) {
      if (this.servers.has(k)) return 'Listening';
      const absent = this.unavailable.get(k);
      if (absent) return `Not available: ${absent}`;
      const failure = this.failures.get(k);
      if (failure) return `Failed: ${failure}`;
    }
    return 'Not listening';
  }

  /** Opens listeners for bindings that appeared and closes those that went away. */
  async reconcile(): Promise<void> {
    const wanted = new Map(listenerBindings(this.deps.snapshot().receiveConnectors).map((b) => [key(b), b]));
    for (const k of [...this.failures.keys()]) if (!wanted.has(k)) this.failures.delete(k);
    for (const k of [...this.unavailable.keys()]) if (!wanted.has(k)) this.unavailable.delete(k);
    for (const [k, srv] of this.servers) {
      if (!wanted.has(k)) {
        this.servers.delete(k);
        // close() stops accepting at once; its callback would wait for every session, which go on.
        srv.close();
      }
    }
    for (const [k, b] of wanted) {
      if (this.servers.has(k)) continue;
      const srv = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket, b.port));
      srv.maxConnections = LISTENER_SOCKET_CEILING;
      // `[::]:p` beside `0.0.0.0:p` (Exchange's Default Frontend) is two sockets, one per family, as on Windows;
      // Linux's dual-stack `::` would hold the IPv4 port too and the second bind would fail. Alone, `[::]:p` keeps
      // hearing IPv4 as well, as it always has here.
      const ipv6Only = b.address === '::' && wanted.has(key({ address: '0.0.0.0', port: b.port }));
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host: b.address, port: b.port, backlog: 1024, ipv6Only }, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        srv.on('error', (e) => this.deps.logger.error({ err: e, binding: k }, 'Receive connector listener failed'));
        this.servers.set(k, srv);
        this.failures.delete(k);
        this.unavailable.delete(k);
      } catch (e) {
        const absent = b.address === '::' ? ipv6Absent(e as NodeJS.ErrnoException) : undefined;
        if (absent) {
          this.deps.logger.info({ binding: k }, `The IPv6 binding of a Receive connector is not opened: ${absent}`);
          this.unavailable.set(k, absent);
          continue;
        }
        // A binding that cannot be opened (port in use) must not take the other connectors down.
        this.deps.logger.error({ err: e, binding: k }, 'A Receive connector binding could not be opened');
        this.failures.set(k, listenFailure(e as NodeJS.ErrnoException));
      }
    }
  }

  private onConnection(socket: net.Socket, port: number): void {
    const snapshot = this.deps.snapshot();
    const local = { address: socket.localAddress ?? '0.0.0.0', port };
    const remote = socket.remoteAddress ?? '';
    const connector = matchReceiveConnector(snapshot.receiveConnectors, local, remote);
    socket.on('error', () => undefined);
    if (!connector) {
      // No connector accepts this client: Exchange drops the connection without a greeting.
      socket.destroy();
      return;
    }
    const source = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
    const guid = connector.record.guid;
    let counts = this.counts.get(guid);
    if (!counts) this.counts.set(guid, (counts = new ConnectionCounts()));
    const admission = admitConnection(connector.record, counts.open, counts.fromSource(source));
    if (admission !== 'accept') return this.refuse(socket, connector.record, source, admission);
    counts.add(source);
    this.sockets.add(socket);
    // A session stops counting when it ends (QUIT, timeout, limit), not when the client gets round to closing
    // its socket: a client that keeps 20 sessions going opens the next one as soon as it reads the 221.
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      counts.remove(source);
      if (counts.open === 0) this.counts.delete(guid);
    };
    socket.once('close', () => {
      this.sockets.delete(socket);
      release();
    });
    const log =
      connector.record.protocolLoggingLevel === 'Verbose'
        ? new ProtocolLogSession(this.deps.receiveLogs[connector.record.transportRole], {
            connectorId: `${snapshot.server.name}\\${connector.record.name}`,
            localEndpoint: endpoint(socket.localAddress, socket.localPort),
            remoteEndpoint: endpoint(socket.remoteAddress, socket.remotePort),
          })
        : undefined;
    // The mail users of this moment's snapshot, like the connector: a password change applies to the next AUTH of a new session.
    const session = new InboundSession(socket, connector, { accounts: this.authLimit.limited(snapshot.accounts), acceptedDomains: snapshot.acceptedDomains, exchangeServers: snapshot.exchangeServers, organization: { config: snapshot.transportConfig, receiveDomainSecure: snapshot.receiveDomainSecure, clientRoots: snapshot.clientRoots }, authThrottle: this.authThrottle, ...this.deps.host, onClose: (s) => (this.sessions.delete(s), release()) }, log);
    this.sessions.add(session);
  }

  /**
   * Exchange's 421 and a close, before any session exists: no session object,
   * no protocol log rows (a flood of refusals would flood the log), one
   * service-log line per connector and minute with the count.
   */
  private refuse(socket: net.Socket, record: { guid: string; name: string; maxInboundConnection: number | null; maxInboundConnectionPerSource: number | null; maxInboundConnectionPercentagePerSource: number }, source: string, limit: Exclude<Admission, 'accept'>): void {
    this.refusedConnections++;
    // The reply fits the empty send buffer of a new socket, so end() flushes it at once; then nothing of the socket is kept.
    socket.end(REPLY.tooManyConnections + '\r\n', () => socket.destroy());
    const now = Date.now();
    const entry = this.refusalLog.get(record.guid);
    if (entry && now - entry.loggedAt < REFUSAL_LOG_INTERVAL_MS) {
      entry.unlogged++;
      return;
    }
    const value = limit === 'MaxInboundConnection' ? record.maxInboundConnection : limit === 'MaxInboundConnectionPerSource' ? record.maxInboundConnectionPerSource : `${record.maxInboundConnectionPercentagePerSource}%`;
    this.deps.logger.warn(
      { connector: record.name, source, limit, value, refusedSinceLastReport: entry?.unlogged ?? 0, refusedTotal: this.refusedConnections },
      `Receive connector '${record.name}' rejected an incoming connection from IP address '${source}'. The limit ${limit} ('${value}') for this connector has been reached.`,
    );
    this.refusalLog.set(record.guid, { loggedAt: now, unlogged: 0 });
  }

  /** Stops accepting connections; sessions in progress continue. */
  async closeListeners(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    this.failures.clear();
    this.unavailable.clear();
    // The listening socket closes now; close()'s callback would also wait for the sessions, which drain() handles.
    for (const srv of all) srv.close();
  }

  /** Waits until every session ended or the grace period passed, then ends the rest with 421. */
  async drain(graceMs: number): Promise<void> {
    // Sessions between transactions have nothing to lose: they are closed at once.
    for (const s of [...this.sessions]) if (s.isIdle) s.abort();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of [...this.sessions]) s.abort();
    this.sessions.clear();
  }
}

function endpoint(address: string | undefined, port: number | undefined): string {
  const a = (address ?? '').replace(/^::ffff:/, '');
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

/** Why `::` cannot be bound because the host has no IPv6, as opposed to a binding that failed (port in use). */
export function ipv6Absent(e: NodeJS.ErrnoException): string | undefined {
  if (e.code === 'EAFNOSUPPORT') return 'this host has no IPv6';
  if (e.code === 'EADDRNOTAVAIL') return 'IPv6 is turned off on this host';
  return undefined;
}

function listenFailure(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRINUSE') return 'the port is in use by another process';
  if (e.code === 'EACCES') return 'ports below 1024 need CAP_NET_BIND_SERVICE';
  if (e.code === 'EADDRNOTAVAIL') return 'the address is not one of this host';
  return e.code ?? e.message;
}
