// The Microsoft Exchange Transport service of one server: Receive connector
// listeners, the durable queue, delivery, protocol logs, and the
// configuration snapshot they all read. Start/stop as Stop-Service and
// Start-Service see them; a stop keeps every queued message.
import path from 'node:path';
import type { Logger } from 'pino';
import type { CertificateReader } from '../../certificate-store/certificate-store.js';
import { loadSystemRoots } from '../../certificates/status.js';
import { parseBinding } from '../../connectors/receive-connector-rules.js';
import type { QueueViewer, TransportServiceControl } from '../../cmdlets/framework/context.js';
import { isDirectoryUnavailable } from '../../directory/directory-health.js';
import type { DirectoryReader } from '../../directory/directory-store.js';
import type { ServerRecord, TransportServiceSettings } from '../../directory/records.js';
import { serverHome } from '../../organization/bootstrap.js';
import { acceptsNewMessages } from '../../organization/server-component-state.js';
import { DeliveryEngine } from '../delivery/delivery-queues.js';
import { createQueueViewer, queueLengths, stoppedError } from '../delivery/queue-view.js';
import { isMailflowProbe, sendMailflowProbe, type MailflowProbeResult } from '../outbound/mailflow-probe.js';
import { randomUUID } from 'node:crypto';

/** How the queue, the tracking log and the metrics name the source of mail the server writes itself. */
const SYSTEM_MESSAGE_SOURCE = 'Interchange alerts';
import type { RedirectTarget } from '../routing/redirect.js';
import type { AuthThrottlePolicy } from '../inbound/auth-throttle.js';
import { ReceiveListeners } from '../inbound/receive-listeners.js';
import type { AcceptedMessage } from '../inbound/smtp-session.js';
import type { QueuedMessage } from '../queue/types.js';
import type { RecipientResolver } from '../routing/recipient-resolution.js';
import { NO_TRANSPORT_METRICS, type TransportMetrics, type TransportObservation } from '../metrics/transport-metrics.js';
import { ProtocolLogWriter, type ProtocolLogSettings } from '../protocol-log/index.js';
import { MailQueueStore } from '../queue/index.js';
import { formatDateTime } from '../logging/exchange-log-text.js';
import { networkMessageId } from '../tracking/format.js';
import { MessageTrackingLog, messageTrackingSettings } from '../tracking/message-tracking.js';
import { ProcessingJournal } from '../queue/processing-journal.js';
import { buildSnapshot, type TransportSnapshot } from './config-snapshot.js';
import { certificateEvents } from '../events/certificate-events.js';
import { TransportEventLog } from '../events/transport-event-log.js';
import { TlsContextCache } from './tls-material.js';
import { receiveProtocolLogSettings } from './service-log-settings.js';
import { BodyBuffers } from './body-buffers.js';
import { MessageMemoryBudget } from './message-memory-budget.js';

export interface TransportServiceOptions {
  directory: DirectoryReader;
  certificates: CertificateReader;
  serverName: string;
  dataDir: string;
  logger: Logger;
  clock?: () => Date;
  /** How often the directory revision is polled (ms). */
  configPollMs?: number;
  /** How long Stop-Service lets sessions and deliveries finish before ending them (ms). */
  stopGraceMs?: number;
  /** Spool folder; default <data>/servers/<SERVER>/Queue. */
  queueDir?: string;
  /** Thresholds of the cross-session AUTH throttle (src/transport/inbound/auth-throttle.ts). */
  authThrottle?: Partial<AuthThrottlePolicy>;
  /** Where the service reports messages, sessions and spool syncs as they happen (the server's metrics). */
  metrics?: TransportMetrics;
  /** How often one certificate condition (events 12014-12018) is written to the service log again (ms; an hour). */
  eventIntervalMs?: number;
}

type State = 'Running' | 'Stopped' | 'StartPending' | 'StopPending';

function sendLogSettings(t: TransportServiceSettings): ProtocolLogSettings {
  return { directory: t.sendProtocolLogPath, maxFileSize: t.sendProtocolLogMaxFileSize ?? 0, maxDirectorySize: t.sendProtocolLogMaxDirectorySize ?? 0, maxAge: t.sendProtocolLogMaxAge };
}

export class TransportService implements TransportServiceControl {
  readonly serverName: string;
  queues!: QueueViewer;
  private state: State = 'Stopped';
  private snapshot!: TransportSnapshot;
  private sendLog!: ProtocolLogWriter;
  /** A FrontendTransport connector logs where Set-FrontendTransportService says, a HubTransport one where Set-TransportService says. */
  private receiveLogs!: Record<'FrontendTransport' | 'HubTransport', ProtocolLogWriter>;
  private trackingLog!: MessageTrackingLog;
  private listeners!: ReceiveListeners;
  private engine!: DeliveryEngine;
  private poller: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastBuild = 0;
  private readonly clock: () => Date;
  private events!: TransportEventLog;
  /** TLS material and client contexts, one per certificate, kept across reloads while in use. */
  readonly tlsContexts: TlsContextCache;
  private transition: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Message data in memory, received or read for delivery: one budget for the whole service. */
  private readonly messageMemory = new MessageMemoryBudget();
  /** Buffers of bodies received whole: the delivery gives them back for the next ones. */
  private readonly bodyBuffers = new BodyBuffers();
  private readonly metrics: TransportMetrics;

  private constructor(
    private readonly opts: TransportServiceOptions,
    private readonly store: MailQueueStore,
    private readonly journal: ProcessingJournal,
  ) {
    this.serverName = opts.serverName.toUpperCase();
    this.clock = opts.clock ?? (() => new Date());
    this.metrics = opts.metrics ?? NO_TRANSPORT_METRICS;
    this.tlsContexts = new TlsContextCache(opts.certificates, loadSystemRoots());
  }

  /** Opens the spool (replaying it), builds the first snapshot and starts the service. */
  static async create(opts: TransportServiceOptions): Promise<TransportService> {
    const queueDir = opts.queueDir ?? path.join(serverHome(opts.dataDir, opts.serverName), 'Queue');
    const store = await MailQueueStore.open(queueDir, {
      onDamage: (segment, damaged) => opts.logger.error({ segment, damaged, copy: path.join(queueDir, 'corrupt') }, 'The queue database has a damaged segment; the records around the damage were read, the ones in it are lost'),
      onSynced: opts.metrics ? (seconds) => opts.metrics!.spoolSynced(seconds) : undefined,
    });
    // Lists what the previous process was processing when it died; init() counts those crashes (poison detection).
    const journal = await ProcessingJournal.open(queueDir);
    const service = new TransportService(opts, store, journal);
    await service.init();
    await service.start();
    return service;
  }

  private async init(): Promise<void> {
    this.snapshot = await this.build();
    this.events = new TransportEventLog(this.opts.logger, this.opts.eventIntervalMs);
    this.events.write(certificateEvents(this.snapshot, this.clock()));
    const t = this.snapshot.server.transport;
    const onError = (e: unknown) => this.opts.logger.warn({ err: e }, 'Protocol log write failed');
    const server = this.snapshot.server;
    // The logs are given the test clock only: on their own they read Date.now(), without a Date per row.
    this.sendLog = new ProtocolLogWriter({ kind: 'Send', ...sendLogSettings(t), clock: this.opts.clock, onError });
    this.receiveLogs = {
      FrontendTransport: new ProtocolLogWriter({ kind: 'Receive', ...receiveProtocolLogSettings(server, 'FrontendTransport'), clock: this.opts.clock, onError }),
      HubTransport: new ProtocolLogWriter({ kind: 'Receive', ...receiveProtocolLogSettings(server, 'HubTransport'), clock: this.opts.clock, onError }),
    };
    this.trackingLog = new MessageTrackingLog(messageTrackingSettings(t), { clock: this.opts.clock, onError: (e) => this.opts.logger.warn({ err: e }, 'Message tracking log write failed') });
    this.engine = new DeliveryEngine({ store: this.store, snapshot: () => this.snapshot, sendLog: this.sendLog, clock: this.clock, logger: this.opts.logger, serverName: this.serverName, journal: this.journal, messageMemory: this.messageMemory, bodyBuffers: this.bodyBuffers, metrics: this.metrics, tracking: this.trackingLog });
    this.listeners = new ReceiveListeners({
      snapshot: () => this.snapshot,
      receiveLogs: this.receiveLogs,
      logger: this.opts.logger,
      authThrottle: this.opts.authThrottle,
      host: {
        serverName: this.serverName,
        clock: this.clock,
        stopping: () => this.state !== 'Running',
        acceptsNewMessages: () => acceptsNewMessages(this.snapshot.server.componentStates),
        accept: (m) => this.accept(m),
        messageMemory: this.messageMemory,
        bodyBuffers: this.bodyBuffers,
        metrics: this.metrics,
      },
    });
    this.queues = createQueueViewer({
      engine: this.engine,
      store: this.store,
      serverName: this.serverName,
      assertRunning: () => {
        if (this.state !== 'Running') throw stoppedError(this.serverName);
      },
    });
    await this.engine.load();
  }

  private build(): Promise<TransportSnapshot> {
    this.lastBuild = Date.now();
    return buildSnapshot({ directory: this.opts.directory, certificates: this.opts.certificates, serverName: this.serverName, tls: this.tlsContexts, clock: this.clock, previous: this.snapshot });
  }

  /** The 250 waits for this: the message is on disk when it resolves. */
  private async accept(m: AcceptedMessage): Promise<number> {
    // Test-Mailflow from another server of the organization ends here: its message was for this server itself.
    if (m.authenticatedServer && isMailflowProbe(m.recipients, this.snapshot.server.fqdn)) {
      this.opts.logger.info({ from: m.authenticatedServer, messageId: m.internetMessageId }, 'Test-Mailflow message received');
      return 0;
    }
    const settings = this.snapshot.server.transport;
    const resolver = this.snapshot.recipients;
    const queued = await this.store.enqueue({
      from: m.from,
      // Resolved before the 250: what is on disk is what will be delivered.
      recipients: resolver.resolve(m.recipients),
      body: m.body,
      receivedAt: m.receivedAt,
      sourceConnector: m.sourceConnector,
      sourceIp: m.sourceIp,
      internetMessageId: m.internetMessageId,
      subject: m.subject,
      expiresAt: new Date(m.receivedAt.getTime() + settings.messageExpirationTimeout),
      smtpUtf8: m.smtpUtf8,
      originating: m.authenticatedUser !== undefined,
    });
    this.metrics.receiveConnector(m.sourceConnector).messageReceived();
    if (this.trackingLog.enabled) this.trackReceived(m, queued, resolver);
    // Only a message received whole is worth keeping in memory for its delivery.
    void this.engine.accepted(queued, Buffer.isBuffer(m.body) ? m.body : undefined).catch((e) => this.opts.logger.error({ err: e, id: queued.id }, 'Categorizing a message failed'));
    return queued.id;
  }

  /** RECEIVE, and RESOLVE for each mail user's address (the original as the related address), as Exchange tracks them. */
  private trackReceived(m: AcceptedMessage, queued: QueuedMessage, resolver: RecipientResolver): void {
    const nmid = networkMessageId(this.serverName, queued.id, queued.receivedAt);
    const directionality = m.authenticatedUser ? 'Originating' : 'Incoming';
    this.trackingLog.track({
      eventId: 'RECEIVE',
      source: 'SMTP',
      clientIp: m.sourceIp,
      clientHostname: m.clientHostname,
      serverIp: m.localIp,
      serverHostname: this.serverName,
      connectorId: `${this.serverName}\\${m.sourceConnector}`,
      internalMessageId: queued.id,
      messageId: m.internetMessageId,
      networkMessageId: nmid,
      recipients: m.recipients,
      totalBytes: queued.size,
      subject: m.subject,
      sender: m.from,
      returnPath: m.from,
      messageInfo: formatDateTime(m.receivedAt),
      directionality,
    });
    if (!resolver.resolvesAny) return;
    for (const r of m.recipients) {
      const target = resolver.targetOf(r);
      if (!target || target.toLowerCase() === r.toLowerCase()) continue;
      this.trackingLog.track({
        eventId: 'RESOLVE',
        source: 'ROUTING',
        serverHostname: this.serverName,
        internalMessageId: queued.id,
        messageId: m.internetMessageId,
        networkMessageId: nmid,
        recipients: [target],
        relatedRecipientAddress: r,
        totalBytes: queued.size,
        subject: m.subject,
        sender: m.from,
        returnPath: m.from,
        directionality,
      });
    }
  }

  /** Rebuilds the snapshot when the directory changed (or once a minute, for certificate validity) and swaps it in. */
  private async refresh(): Promise<void> {
    const revision = await this.opts.directory.revision();
    if (revision === this.snapshot.revision && Date.now() - this.lastBuild < 60_000) return;
    const next = await this.build();
    const beforeServer = this.snapshot.server;
    const before = beforeServer.transport;
    this.snapshot = next;
    this.events.write(certificateEvents(next, this.clock()));
    const t = next.server.transport;
    if (JSON.stringify(sendLogSettings(before)) !== JSON.stringify(sendLogSettings(t))) this.sendLog.updateSettings(sendLogSettings(t));
    for (const role of ['FrontendTransport', 'HubTransport'] as const) {
      const wanted = receiveProtocolLogSettings(next.server, role);
      if (JSON.stringify(receiveProtocolLogSettings(beforeServer, role)) !== JSON.stringify(wanted)) this.receiveLogs[role].updateSettings(wanted);
    }
    if (JSON.stringify(messageTrackingSettings(before)) !== JSON.stringify(messageTrackingSettings(t))) this.trackingLog.updateSettings(messageTrackingSettings(t));
    if (this.state === 'Running') {
      await this.listeners.reconcile();
      await this.engine.reroute();
    }
  }

  /** Forces a configuration reload now (tests and cmdlets that must not wait for the poll). */
  async reload(): Promise<void> {
    // A poll already under way may have read the revision before the caller's change.
    await this.refreshing;
    this.lastBuild = 0;
    await this.pollOnce();
  }

  private pollOnce(): Promise<void> {
    this.refreshing ??= this.refresh()
      .catch((e) => {
        // An unreachable directory is logged once for the whole server, when it goes and when it comes back.
        if (!isDirectoryUnavailable(e)) this.opts.logger.error({ err: e }, 'Reloading the transport configuration failed; the previous one stays in effect');
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** What the server's metrics read when scraped: the running state, nothing read from the directory. */
  observation(): TransportObservation {
    return {
      // Stopped too: the spool still holds its mail, and a stopped transport with aging mail is worth an alert.
      queues: () => queueLengths(this.engine, this.store, this.serverName),
      certificates: () => this.snapshot.certificates,
      namedClientCertificates: () => {
        const out: Array<{ connector: string; usable: boolean }> = [];
        for (const r of this.snapshot.sendRuntime.values()) {
          if (r.clientCertificate.kind !== 'fqdn') out.push({ connector: r.record.name, usable: r.clientCertificate.kind === 'named' });
        }
        return out;
      },
      spoolBytes: () => this.store.spoolBytes(),
    };
  }

  /** Mail from the server itself (alerts): through accept(), so it is spooled, tracked and delivered as any message. */
  async submitSystemMessage(message: { to: readonly string[]; subject: string; text: string }): Promise<void> {
    if (this.state !== 'Running') throw stoppedError(this.serverName);
    const fqdn = this.snapshot.server.fqdn.toLowerCase();
    const now = this.clock();
    const internetMessageId = `<${randomUUID()}@${fqdn}>`;
    const from = `postmaster@${fqdn}`;
    const body = Buffer.from(
      [
        `From: Microsoft Exchange <${from}>`,
        `To: ${message.to.join(', ')}`,
        `Subject: ${message.subject.replace(/[\r\n]+/g, ' ')}`,
        `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: ${internetMessageId}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        message.text.replace(/\r?\n/g, '\r\n'),
        '',
      ].join('\r\n'),
      'utf8',
    );
    await this.accept({ from, recipients: [...message.to], body, sourceConnector: SYSTEM_MESSAGE_SOURCE, sourceIp: '127.0.0.1', internetMessageId, subject: message.subject, receivedAt: now, authenticatedUser: from });
  }

  /** Test-Mailflow from this server: one test message to `target`, over the path this server's mail to it takes. */
  testMailflow(target: RedirectTarget, timeoutMs: number): Promise<MailflowProbeResult> {
    if (this.state !== 'Running') return Promise.reject(stoppedError(this.serverName));
    return sendMailflowProbe({ snapshot: this.snapshot, sendLog: this.sendLog, clock: this.clock }, target, timeoutMs);
  }

  /** Resolves once every protocol log row and tracking event written so far is in its file. */
  async flushLogs(): Promise<void> {
    await Promise.all([this.sendLog.flush(), this.receiveLogs.FrontendTransport.flush(), this.receiveLogs.HubTransport.flush(), this.trackingLog.flush()]);
  }

  runningServer(): ServerRecord {
    return this.snapshot.server;
  }

  /** The configuration in effect: what new sessions and deliveries use. */
  configuration(): TransportSnapshot {
    return this.snapshot;
  }

  status(): State {
    return this.state;
  }

  receiveBindingStatus(bindings: readonly string[]): string[] {
    return bindings.map((b) => `${b} ${this.state === 'Running' ? this.listeners.bindingStatus(parseBinding(b)) : this.state}`);
  }

  start(): Promise<void> {
    this.transition = this.transition.then(async () => {
      if (this.state === 'Running') return;
      this.state = 'StartPending';
      try {
        this.snapshot = await this.build();
      } catch (e) {
        // Started again during a directory outage: the configuration it last read is the best there is (the poll
        // picks up changes once the directory answers). Any other failure leaves the service stopped, not pending.
        if (!isDirectoryUnavailable(e)) {
          this.state = 'Stopped';
          throw e;
        }
      }
      await this.listeners.reconcile();
      // Redirect-Message lasts until the service restarts.
      await this.engine.endRedirect();
      this.engine.resume();
      this.poller = setInterval(() => void this.pollOnce(), this.opts.configPollMs ?? 500);
      this.state = 'Running';
      this.opts.logger.info({ server: this.serverName }, 'Microsoft Exchange Transport service started');
    });
    return this.transition;
  }

  stop(): Promise<void> {
    this.transition = this.transition.then(async () => {
      if (this.state === 'Stopped') return;
      this.state = 'StopPending';
      const grace = this.opts.stopGraceMs ?? Number(process.env.INTERCHANGE_STOP_GRACE_MS ?? 10_000);
      if (this.poller) clearInterval(this.poller);
      this.poller = undefined;
      await this.refreshing;
      await this.listeners.closeListeners();
      await this.listeners.drain(grace);
      await this.engine.pause(grace);
      // Nothing is processed any more: make that durable, or a restart would count the last deliveries as crashes.
      this.journal.checkpoint();
      await this.flushLogs();
      this.state = 'Stopped';
      this.opts.logger.info({ server: this.serverName }, 'Microsoft Exchange Transport service stopped');
    });
    return this.transition;
  }

  /** Process shutdown: stop, then release the spool and the log files (once, however often called). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stop();
      await Promise.all([this.sendLog.close(), this.receiveLogs.FrontendTransport.close(), this.receiveLogs.HubTransport.close(), this.trackingLog.close()]);
      await this.store.close();
      this.journal.close();
    })();
    return this.closing;
  }
}
