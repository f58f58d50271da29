// The listening sockets of a server's Receive connectors. Each accepted
// connection is matched to a connector with the snapshot of that moment; the
// set of listeners follows the connectors' bindings when the snapshot changes.
import net from 'node:net';
import type { Logger } from 'pino';
import { ProtocolLogSession, type ProtocolLogWriter } from '../protocol-log/index.js';
import { listenerBindings, matchReceiveConnector, type TransportSnapshot } from '../service/config-snapshot.js';
import { VerificationLimit } from './accounts.js';
import { InboundSession, type SessionHost } from './smtp-session.js';

export interface ReceiveListenersDeps {
  snapshot(): TransportSnapshot;
  host: Omit<SessionHost, 'onClose'>;
  receiveLog: ProtocolLogWriter;
  logger: Logger;
}

const key = (b: { address: string; port: number }) => `${b.address}|${b.port}`;

export class ReceiveListeners {
  private readonly servers = new Map<string, net.Server>();
  private readonly sessions = new Set<InboundSession>();
  private readonly sockets = new Set<net.Socket>();
  private readonly authLimit = new VerificationLimit(4);

  constructor(private readonly deps: ReceiveListenersDeps) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Opens listeners for bindings that appeared and closes those that went away. */
  async reconcile(): Promise<void> {
    const wanted = new Map(listenerBindings(this.deps.snapshot().receiveConnectors).map((b) => [key(b), b]));
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
      srv.maxConnections = 5000;
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host: b.address, port: b.port, backlog: 1024 }, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        srv.on('error', (e) => this.deps.logger.error({ err: e, binding: k }, 'Receive connector listener failed'));
        this.servers.set(k, srv);
      } catch (e) {
        // A binding that cannot be opened (port in use) must not take the other connectors down.
        this.deps.logger.error({ err: e, binding: k }, 'A Receive connector binding could not be opened');
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
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const log =
      connector.record.protocolLoggingLevel === 'Verbose'
        ? new ProtocolLogSession(this.deps.receiveLog, {
            connectorId: `${snapshot.server.name}\\${connector.record.name}`,
            localEndpoint: endpoint(socket.localAddress, socket.localPort),
            remoteEndpoint: endpoint(socket.remoteAddress, socket.remotePort),
          })
        : undefined;
    // The mail users of this moment's snapshot, like the connector: a password change applies to the next AUTH of a new session.
    const session = new InboundSession(socket, connector, { accounts: this.authLimit.limited(snapshot.accounts), acceptedDomains: snapshot.acceptedDomains, ...this.deps.host, onClose: (s) => this.sessions.delete(s) }, log);
    this.sessions.add(session);
  }

  /** Stops accepting connections; sessions in progress continue. */
  async closeListeners(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
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
