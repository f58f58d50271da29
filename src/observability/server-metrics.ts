// The metrics of one server process, in Prometheus's text format (docs/metrics.md).
// A registry of its own, not prom-client's global one: a process running
// several servers (the tests) keeps each server's numbers apart, and every
// series carries the server's name. Gauges are read from the running state
// when Prometheus scrapes; only what cannot be read later (messages received,
// sent, deferred; sessions; fsync times) is counted as it happens, through
// child counters resolved once per connector.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DirectoryHealth } from '../directory/directory-health.js';
import type {
  ReceiveConnectorCounters,
  SendConnectorCounters,
  QueueLength,
  SessionFailureReason,
  TransportMetrics,
  TransportObservation,
} from '../transport/metrics/transport-metrics.js';
import type { MailFlowCounters, QueueSnapshot } from './mail-flow-statistics.js';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Delivery latency buckets (seconds): from a local hop to a day of retries. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
/** fdatasync buckets (seconds): a fast SSD to a struggling disk. */
const FSYNC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** How long one read of the queues serves (the gauges of one scrape are collected within it). */
const QUEUE_READ_MS = 250;

const FAILURE_REASONS: readonly SessionFailureReason[] = ['connect', 'greeting', 'timeout', 'protocol', 'certificate', 'tls', 'auth', 'closed'];

export interface ServerMetricsDeps {
  serverName: string;
  directoryHealth?: DirectoryHealth;
  clock?: () => Date;
}

export class ServerMetrics implements TransportMetrics {
  readonly registry = new Registry();
  private transport: TransportObservation | undefined;
  /** The queues as one scrape read them: both queue gauges use one pass over the spool. */
  private queueRead: { at: number; queues: QueueLength[] } | undefined;
  private readonly clock: () => Date;
  private readonly receiveChildren = new Map<string, ReceiveConnectorCounters>();
  private readonly sendChildren = new Map<string, SendConnectorCounters>();

  private readonly received: Counter<'connector'>;
  private readonly sentTotal: Counter<'connector'>;
  private readonly deferredTotal: Counter<'connector'>;
  private readonly failedTotal: Counter<'connector'>;
  private readonly ndrTotal: Counter<'connector'>;
  private readonly sessions: Counter<'connector' | 'direction'>;
  private readonly sessionFailures: Counter<'connector' | 'direction' | 'reason'>;
  private readonly tlsHandshakes: Counter<'connector' | 'direction'>;
  private readonly tlsFailures: Counter<'connector' | 'direction' | 'reason'>;
  private readonly latency: Histogram<'connector'>;
  private readonly fsync: Histogram;

  constructor(deps: ServerMetricsDeps) {
    this.clock = deps.clock ?? (() => new Date());
    const registers = [this.registry];
    this.registry.setDefaultLabels({ server: deps.serverName });
    const self = this;

    new Gauge({
      name: 'interchange_queue_messages',
      help: 'Messages in the queue (Get-Queue MessageCount), by queue identity.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const q of self.queues()) this.set({ queue: q.identity }, q.messageCount);
      },
    });
    new Gauge({
      name: 'interchange_queue_oldest_message_age_seconds',
      help: 'Age of the oldest message in the queue (0 when empty), by queue identity.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        const now = self.clock().getTime();
        for (const q of self.queues()) this.set({ queue: q.identity }, q.oldestReceivedAt ? Math.max(0, (now - q.oldestReceivedAt.getTime()) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'interchange_certificate_expires_in_seconds',
      help: 'Seconds until the certificate NotAfter (negative once expired), by thumbprint.',
      labelNames: ['certificate', 'subject'],
      registers,
      collect() {
        this.reset();
        const now = self.clock().getTime();
        for (const c of installed(self.transport)) this.set({ certificate: c.thumbprint, subject: c.facts.subject }, (c.facts.notAfter.getTime() - now) / 1000);
      },
    });
    new Gauge({
      name: 'interchange_certificate_not_after_timestamp_seconds',
      help: 'The certificate NotAfter as a Unix time, by thumbprint.',
      labelNames: ['certificate', 'subject'],
      registers,
      collect() {
        this.reset();
        for (const c of installed(self.transport)) this.set({ certificate: c.thumbprint, subject: c.facts.subject }, c.facts.notAfter.getTime() / 1000);
      },
    });
    new Gauge({
      name: 'interchange_send_connector_certificate_usable',
      help: "1 when the Send connector's TlsCertificateName selects a usable certificate on this source server, 0 when delivery would fail with 454 4.7.5.",
      labelNames: ['connector'],
      registers,
      collect() {
        this.reset();
        for (const c of self.transport?.namedClientCertificates() ?? []) this.set({ connector: c.connector }, c.usable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'interchange_spool_bytes',
      help: 'Bytes of the queue database (spool segment files) on disk.',
      registers,
      collect() {
        this.set(self.transport?.spoolBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'interchange_transport_running',
      help: '1 while the transport service reports to these metrics, 0 in a process without one.',
      registers,
      collect() {
        this.set(self.transport ? 1 : 0);
      },
    });
    const health = deps.directoryHealth;
    new Gauge({
      name: 'interchange_directory_available',
      help: 'Whether this server reached its directory at its last call (1) or not (0).',
      registers,
      collect() {
        this.set(health && !health.state().reachable ? 0 : 1);
      },
    });
    new Counter({
      name: 'interchange_directory_outages_total',
      help: 'Outages of the directory this server has seen since it started.',
      registers,
      collect() {
        // DirectoryHealth counts them; the counter only shows its count.
        this.reset();
        this.inc(health?.outagesBegun ?? 0);
      },
    });
    new Gauge({
      name: 'interchange_process_memory_bytes',
      help: 'Memory of the server process (process.memoryUsage()), by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        const m = process.memoryUsage();
        this.set({ kind: 'rss' }, m.rss);
        this.set({ kind: 'heap_used' }, m.heapUsed);
        this.set({ kind: 'heap_total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
        this.set({ kind: 'array_buffers' }, m.arrayBuffers);
      },
    });

    const perConnector = (name: string, help: string) => new Counter({ name, help, labelNames: ['connector'] as const, registers });
    this.received = perConnector('interchange_messages_received_total', 'Messages accepted (250) by Receive connector.');
    this.sentTotal = perConnector('interchange_messages_sent_total', 'Messages delivered to their next hop by Send connector.');
    this.deferredTotal = perConnector('interchange_messages_deferred_total', 'Delivery attempts that ended in a transient failure (retry), by Send connector.');
    this.failedTotal = perConnector('interchange_messages_failed_total', 'Delivery attempts refused permanently for at least one recipient, by Send connector.');
    this.ndrTotal = perConnector('interchange_ndr_total', 'Non-delivery reports generated, by Send connector of the failed delivery.');
    this.sessions = new Counter({ name: 'interchange_smtp_sessions_total', help: 'SMTP sessions opened, by connector and direction (receive, send).', labelNames: ['connector', 'direction'] as const, registers });
    this.sessionFailures = new Counter({ name: 'interchange_smtp_session_failures_total', help: 'Outbound SMTP sessions that could not be opened, by connector and reason.', labelNames: ['connector', 'direction', 'reason'] as const, registers });
    this.tlsHandshakes = new Counter({ name: 'interchange_tls_handshakes_total', help: 'STARTTLS handshakes completed, by connector and direction.', labelNames: ['connector', 'direction'] as const, registers });
    this.tlsFailures = new Counter({ name: 'interchange_tls_handshake_failures_total', help: 'STARTTLS handshakes that failed, by connector, direction and reason.', labelNames: ['connector', 'direction', 'reason'] as const, registers });
    this.latency = new Histogram({ name: 'interchange_delivery_latency_seconds', help: 'From receipt to delivery to the next hop, by Send connector.', labelNames: ['connector'] as const, buckets: LATENCY_BUCKETS, registers });
    this.fsync = new Histogram({ name: 'interchange_spool_fsync_seconds', help: 'Time of each fdatasync of the queue database.', buckets: FSYNC_BUCKETS, registers });
  }

  /** The running transport the gauges read; undefined when it is gone. */
  observe(transport: TransportObservation | undefined): void {
    this.transport = transport;
    this.queueRead = undefined;
  }

  private queues(): QueueLength[] {
    const now = performance.now();
    if (!this.queueRead || now - this.queueRead.at > QUEUE_READ_MS) this.queueRead = { at: now, queues: this.transport?.queues() ?? [] };
    return this.queueRead.queues;
  }

  /** The message counters summed over connectors: what the mail flow statistics sample (nothing is counted twice). */
  async mailFlowCounters(): Promise<MailFlowCounters> {
    const sum = async (c: Counter<'connector'>) => (await c.get()).values.reduce((total, v) => total + v.value, 0);
    return { received: await sum(this.received), sent: await sum(this.sentTotal), deferred: await sum(this.deferredTotal), failed: await sum(this.failedTotal) };
  }

  /** The delivery queues as the queue gauges read them: their messages, and the age of the oldest. */
  deliveryQueues(): QueueSnapshot {
    const now = this.clock().getTime();
    let queueLength = 0;
    let oldest: number | undefined;
    for (const q of this.queues()) {
      if (!q.delivery) continue;
      queueLength += q.messageCount;
      if (q.oldestReceivedAt && (oldest === undefined || q.oldestReceivedAt.getTime() < oldest)) oldest = q.oldestReceivedAt.getTime();
    }
    return { queueLength, oldestMessageAgeSeconds: oldest === undefined ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)) };
  }

  /** The exposition, as Prometheus scrapes it. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  receiveConnector(name: string): ReceiveConnectorCounters {
    let c = this.receiveChildren.get(name);
    if (!c) {
      const label = { connector: name, direction: 'receive' } as const;
      const received = this.received.labels({ connector: name });
      const sessions = this.sessions.labels(label);
      const handshakes = this.tlsHandshakes.labels(label);
      const failures = reasonChildren((reason) => this.tlsFailures.labels({ ...label, reason }));
      c = {
        sessionOpened: () => sessions.inc(),
        tlsHandshake: () => handshakes.inc(),
        tlsFailed: (reason) => failures[reason].inc(),
        messageReceived: () => received.inc(),
      };
      this.receiveChildren.set(name, c);
    }
    return c;
  }

  sendConnector(name: string): SendConnectorCounters {
    let c = this.sendChildren.get(name);
    if (!c) {
      const label = { connector: name, direction: 'send' } as const;
      const one = { connector: name };
      const sent = this.sentTotal.labels(one);
      const deferred = this.deferredTotal.labels(one);
      const failed = this.failedTotal.labels(one);
      const ndr = this.ndrTotal.labels(one);
      const latency = this.latency.labels(one);
      const sessions = this.sessions.labels(label);
      const handshakes = this.tlsHandshakes.labels(label);
      const sessionFailures = reasonChildren((reason) => this.sessionFailures.labels({ ...label, reason }));
      const tlsFailures = reasonChildren((reason) => this.tlsFailures.labels({ ...label, reason }));
      c = {
        sessionOpened: () => sessions.inc(),
        sessionFailed: (reason) => sessionFailures[reason].inc(),
        tlsHandshake: () => handshakes.inc(),
        tlsFailed: (reason) => tlsFailures[reason].inc(),
        sent: (seconds) => {
          sent.inc();
          latency.observe(seconds);
        },
        deferred: () => deferred.inc(),
        failed: () => failed.inc(),
        ndr: () => ndr.inc(),
      };
      this.sendChildren.set(name, c);
    }
    return c;
  }

  spoolSynced(seconds: number): void {
    this.fsync.observe(seconds);
  }
}

function installed(t: TransportObservation | undefined) {
  return (t?.certificates() ?? []).filter((c) => c.record.der !== null);
}

/** One child per reason, resolved up front; a child is created only when it is first used, though, so unused reasons show no series. */
function reasonChildren<T extends { inc(): void }>(make: (reason: SessionFailureReason) => T): Record<SessionFailureReason, { inc(): void }> {
  const out = {} as Record<SessionFailureReason, { inc(): void }>;
  for (const reason of FAILURE_REASONS) {
    let child: T | undefined;
    out[reason] = { inc: () => (child ??= make(reason)).inc() };
  }
  return out;
}
