// Delivery queues in Exchange's model (reference §8): every stored message sits
// in the queue of its next hop (connector + NextHopDomain); each queue opens
// connections up to MaxPerDomainOutboundConnections, reuses each one for up to
// SmtpMaxMessagesPerConnection messages, and goes to Retry with a LastError
// when it cannot connect. Queue state lives in memory and is rebuilt from the
// durable spool at start, as Exchange rebuilds its queues from mail.que.
import type { Logger } from 'pino';
import { poisonDetectionSettings } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { classifySessionFailure } from '../metrics/failure-reason.js';
import { NO_TRANSPORT_METRICS, type SendConnectorCounters, type TransportMetrics } from '../metrics/transport-metrics.js';
import { ProtocolLogSession, type ProtocolLogWriter } from '../protocol-log/index.js';
import { formatDateTime } from '../logging/exchange-log-text.js';
import { networkMessageId, type TrackingEvent, type TrackingEventId, type TrackingSource } from '../tracking/format.js';
import { NO_MESSAGE_TRACKING, type MessageTracking } from '../tracking/message-tracking.js';
import type { MailQueueStore, QueuedMessage, QueuedMessagePatch } from '../queue/index.js';
import type { ProcessingTracker } from '../queue/processing-journal.js';
import { queueKey, selectSendConnector, type Route } from '../routing/route.js';
import { dsnWanted } from './dsn-policy.js';
import { redirectRoute, routeWithRedirect, sourceServerTargets, type RedirectTarget } from '../routing/redirect.js';
import { intraOrganizationRuntime, intraOrganizationTarget } from '../outbound/intra-organization.js';
import type { SendConnectorRuntime, TransportSnapshot } from '../service/config-snapshot.js';
import type { BodyBuffers } from '../service/body-buffers.js';
import type { MessageMemoryBudget } from '../service/message-memory-budget.js';
import { DeliveryError, SmtpClientConnection, type ConnectTarget } from '../outbound/smtp-client.js';
import { createResolver, resolveTargets, type Resolver } from '../outbound/targets.js';
import { buildDsn, headerSection, type DsnRecipient } from './dsn.js';
import { MessageBodies } from './message-bodies.js';
import { recordInterruptedProcessing } from './poison-detection.js';
import { RateCounter } from './rate-counter.js';
import { delayNotificationDue, messageRetryDelay, queueRetryDelay } from './retry-policy.js';

export type QueueStatus = 'Active' | 'Ready' | 'Retry' | 'Suspended';

export interface DeliveryQueue {
  key: string;
  route: Route;
  identity: string;
  suspended: boolean;
  inRetry: boolean;
  /** Messages waiting for a connection, in arrival order. */
  ready: number[];
  /** Every message whose current next hop is this queue. */
  members: Set<number>;
  connections: number;
  lastError: string | undefined;
  retryCount: number;
  firstRetryTime: Date | undefined;
  lastRetryTime: Date | undefined;
  nextRetryTime: Date | undefined;
  lastActivity: number;
  incoming: RateCounter;
  outgoing: RateCounter;
  waiters: Array<() => void>;
}

export interface DeliveryDeps {
  store: MailQueueStore;
  snapshot(): TransportSnapshot;
  sendLog: ProtocolLogWriter;
  clock(): Date;
  logger: Logger;
  serverName: string;
  /**
   * Records which messages are being processed, so that the next start knows
   * which ones a crash interrupted (poison message detection).
   */
  journal: ProcessingTracker;
  /** Bodies read from the spool for delivery count here: however many connections, only so many large bodies are held at once. */
  messageMemory?: MessageMemoryBudget;
  /** Where received bodies go back once nothing reads them (body-buffers.ts). */
  bodyBuffers?: BodyBuffers;
  /** Where deliveries and sessions are counted, per Send connector (the server's metrics). */
  metrics?: TransportMetrics;
  /** The message tracking log: SEND, DEFER, FAIL, DSN as they happen. */
  tracking?: MessageTracking;
}

/** How long an idle outbound connection waits for the next message before QUIT. */
const IDLE_CONNECTION_MS = 200;
const EXPIRED_REPLY = '550 4.4.7 QUEUE.Expired; message expired';

export class DeliveryEngine {
  private readonly queues = new Map<string, DeliveryQueue>();
  private readonly messageQueue = new Map<number, string>();
  /** Messages held back until their own retry time. */
  private readonly waitingUntil = new Map<number, number>();
  private readonly active = new Set<number>();
  private readonly delaySent = new Set<number>();
  /** Delivered messages whose removal from the spool is still being written. */
  private readonly completing = new Set<number>();
  private readonly bodies: MessageBodies;
  private paused = true;
  private connections = 0;
  private readonly workers = new Set<Promise<void>>();
  /** Exchange's QueueInteger: each delivery queue created gets the next one, for the life of the process. */
  private nextQueueInteger = 1;
  private readonly openConnections = new Set<SmtpClientConnection>();
  private timer: NodeJS.Timeout | undefined;
  private lastScan = 0;
  private routedRevision = -1;
  private resolver: { servers: string; resolver: Resolver | undefined } | undefined;
  /** Redirect-Message's route for every message, until the service restarts; undefined: the server's own routing. */
  private redirect: Route | undefined;

  private readonly metrics: TransportMetrics;
  private readonly tracking: MessageTracking;

  constructor(private readonly deps: DeliveryDeps) {
    this.metrics = deps.metrics ?? NO_TRANSPORT_METRICS;
    this.tracking = deps.tracking ?? NO_MESSAGE_TRACKING;
    this.bodies = new MessageBodies(deps);
  }

  /** One message tracking event about a queued message (nothing is built while tracking is off). */
  trackMessage(eventId: TrackingEventId, source: TrackingSource, msg: QueuedMessage, recipients: readonly string[], extra: Partial<TrackingEvent> = {}): void {
    if (!this.tracking.enabled) return;
    this.tracking.track({
      eventId,
      source,
      internalMessageId: msg.id,
      messageId: msg.internetMessageId,
      networkMessageId: networkMessageId(this.deps.serverName, msg.id, msg.receivedAt),
      recipients,
      totalBytes: msg.size,
      subject: msg.subject,
      sender: msg.from,
      returnPath: msg.from,
      messageInfo: formatDateTime(msg.receivedAt),
      directionality: msg.originating ? 'Originating' : 'Incoming',
      ...extra,
    });
  }

  /** The counters of the queue's Send connector (resolved once per connector by the metrics). */
  private counters(q: DeliveryQueue): SendConnectorCounters {
    return this.metrics.sendConnector(q.route.connector.name);
  }

  /**
   * Start of the service: counts the crash that interrupted the messages the
   * previous process was processing (poisoning those at PoisonThreshold),
   * then places every message of the spool in its queue.
   */
  async load(): Promise<void> {
    const poisoned = await recordInterruptedProcessing({
      store: this.deps.store,
      tracker: this.deps.journal,
      settings: poisonDetectionSettings(this.deps.snapshot().server.transport),
      logger: this.deps.logger,
      serverName: this.deps.serverName,
    });
    for (const id of poisoned) {
      const m = this.deps.store.get(id);
      if (m) this.trackMessage('POISONMESSAGE', 'POISONMESSAGE', m, m.pendingRecipients);
    }
    for (const m of this.deps.store.list()) await this.place(m);
    this.routedRevision = this.deps.snapshot().revision;
  }

  resume(): void {
    this.paused = false;
    this.timer ??= setInterval(() => this.tick(), 250);
    this.kick();
  }

  /** Stops taking new work; waits for deliveries in progress, aborting them after the grace period. */
  async pause(graceMs: number): Promise<void> {
    this.paused = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const q of this.queues.values()) for (const w of q.waiters.splice(0)) w();
    const all = Promise.allSettled([...this.workers]);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) {
      for (const c of this.openConnections) c.destroy();
      await all;
    }
  }

  // ---- intake -------------------------------------------------------------

  /** A message just made durable (accepted over SMTP, or a DSN). */
  async accepted(msg: QueuedMessage, body: Buffer | undefined): Promise<void> {
    if (body) this.bodies.keep(msg.id, body);
    await this.place(msg);
    this.kick();
  }

  private route(recipient: string, size: number): ReturnType<typeof selectSendConnector> {
    return routeWithRedirect(this.redirect, () => {
      const s = this.deps.snapshot();
      return selectSendConnector(s.sendConnectors, s.server.name, recipient, size, s.sendDomainSecure);
    });
  }

  /**
   * Redirect-Message: every message this server holds moves to a queue to `target`
   * (the Poison queue stays, a suspended message moves but stays suspended), now,
   * without waiting for its own retry time. A message leaves the spool only after the
   * target's 250, as any delivery does. Returns how many messages were moved.
   */
  async redirectTo(target: RedirectTarget): Promise<number> {
    this.redirect = redirectRoute(this.deps.serverName, target, this.deps.clock());
    let moved = 0;
    for (const m of this.deps.store.list()) {
      // One being delivered comes here after its attempt (its recipients no longer route to its old queue).
      if (this.active.has(m.id) || this.completing.has(m.id) || m.poison) continue;
      await this.place(m);
      const q = this.queueOf(m.id);
      if (q && this.waitingUntil.delete(m.id)) this.enqueueReady(q, m.id);
      if (q) moved++;
    }
    this.kick();
    return moved;
  }

  /** A (re)start of the transport service: Redirect-Message ends, what it had moved is routed by this server again. */
  async endRedirect(): Promise<void> {
    if (!this.redirect) return;
    this.redirect = undefined;
    for (const m of this.deps.store.list()) {
      if (this.active.has(m.id) || this.completing.has(m.id) || m.poison) continue;
      await this.place(m);
    }
  }

  /** The target of Redirect-Message in effect, if any. */
  redirectTarget(): RedirectTarget | undefined {
    return this.redirect?.redirectTo;
  }

  /**
   * Everything done to a message between begin and end in the processing
   * journal: if the process dies in between, the message's crash count rises.
   */
  private async tracked<T>(id: number, work: () => Promise<T>): Promise<T> {
    this.deps.journal.begin(id);
    try {
      return await work();
    } finally {
      this.deps.journal.end(id);
    }
  }

  /**
   * Categorizes a message: recipients without a route fail at once (NDR); the
   * first routable pending recipient decides the queue. Recipients of other
   * next hops are delivered once the message comes round again. A poison
   * message is in no delivery queue: it waits in the Poison queue.
   */
  private async place(msg: QueuedMessage): Promise<void> {
    this.unplace(msg.id);
    if (msg.poison) return;
    await this.tracked(msg.id, () => this.categorize(msg));
  }

  private async categorize(msg: QueuedMessage): Promise<void> {
    const failed: DsnRecipient[] = [];
    let route: Route | undefined;
    for (const r of msg.pendingRecipients) {
      const res = this.route(r, msg.size);
      if (!res.ok) failed.push({ recipient: r, reply: res.reply });
      else route ??= res.route;
    }
    if (failed.length > 0) {
      const stillPending = msg.pendingRecipients.filter((r) => !failed.some((f) => f.recipient === r));
      await this.bounce(msg, failed);
      if (stillPending.length === 0) return this.finish(msg.id);
      msg = await this.deps.store.update(msg.id, { pendingRecipients: stillPending, failedRecipients: [...msg.failedRecipients, ...failed] });
    }
    if (!route) return this.finish(msg.id);
    const q = this.queueFor(route);
    q.members.add(msg.id);
    q.incoming.add();
    this.messageQueue.set(msg.id, q.key);
    const due = msg.nextAttemptAt?.getTime() ?? 0;
    if (msg.status === 'Suspended') return this.bodies.forget(msg.id);
    if (due > this.deps.clock().getTime()) {
      // A retry is minutes away: its body is read from the spool then, and the cache serves fresh mail meanwhile.
      this.bodies.forget(msg.id);
      this.waitingUntil.set(msg.id, due);
    } else this.enqueueReady(q, msg.id);
  }

  private unplace(id: number): void {
    const key = this.messageQueue.get(id);
    if (key === undefined) return;
    const q = this.queues.get(key);
    if (q) {
      q.members.delete(id);
      const i = q.ready.indexOf(id);
      if (i >= 0) q.ready.splice(i, 1);
    }
    this.messageQueue.delete(id);
    this.waitingUntil.delete(id);
  }

  private enqueueReady(q: DeliveryQueue, id: number, front = false): void {
    if (front) q.ready.unshift(id);
    else q.ready.push(id);
    const w = q.waiters.shift();
    if (w) w();
  }

  private queueFor(route: Route): DeliveryQueue {
    const key = queueKey(route);
    let q = this.queues.get(key);
    if (!q) {
      q = {
        key,
        route,
        // Exchange names a delivery queue by its QueueInteger (`EX01\\3`); the next hop is its NextHopDomain.
        identity: `${this.deps.serverName}\\${this.nextQueueInteger++}`,
        suspended: false,
        inRetry: false,
        ready: [],
        members: new Set(),
        connections: 0,
        lastError: undefined,
        retryCount: 0,
        firstRetryTime: undefined,
        lastRetryTime: undefined,
        nextRetryTime: undefined,
        lastActivity: Date.now(),
        incoming: new RateCounter(),
        outgoing: new RateCounter(),
        waiters: [],
      };
      this.queues.set(key, q);
    }
    q.route = route;
    return q;
  }

  /** Configuration changed: messages not being delivered are routed again. */
  async reroute(): Promise<void> {
    const s = this.deps.snapshot();
    if (s.revision === this.routedRevision) return;
    this.routedRevision = s.revision;
    for (const m of this.deps.store.list()) {
      if (this.active.has(m.id) || this.completing.has(m.id) || m.poison) continue;
      const before = this.messageQueue.get(m.id);
      const first = m.pendingRecipients[0];
      const r = first ? this.route(first, m.size) : undefined;
      if (r && r.ok && queueKey(r.route) === before) continue;
      await this.place(m);
    }
    this.kick();
  }

  // ---- delivery ----------------------------------------------------------

  private kick(): void {
    if (this.paused) return;
    const settings = this.deps.snapshot().server.transport;
    for (const q of this.queues.values()) {
      if (q.suspended || q.inRetry) continue;
      // Another connection only while the open ones have more than two messages each waiting: fewer sessions, more reuse.
      while (q.ready.length > q.connections * 2 && q.connections < settings.maxPerDomainOutboundConnections && this.connections < settings.maxOutboundConnections) {
        this.startWorker(q);
      }
    }
  }

  private startWorker(q: DeliveryQueue): void {
    q.connections++;
    this.connections++;
    const p = this.runConnection(q)
      .catch((e) => this.deps.logger.error({ err: e, queue: q.identity }, 'Delivery worker failed'))
      .finally(() => {
        q.connections--;
        this.connections--;
        this.workers.delete(p);
        this.kick();
      });
    this.workers.add(p);
  }

  private resolverFor(s: TransportSnapshot): Resolver | undefined {
    const servers = s.server.transport.externalDnsServers;
    const key = servers.join(',');
    if (!this.resolver || this.resolver.servers !== key) this.resolver = { servers: key, resolver: servers.length ? createResolver(servers) : undefined };
    return this.resolver.resolver;
  }

  /** Each next hop of a queue with the connector runtime that sends to it, in the order they are tried. */
  private async hops(q: DeliveryQueue, snapshot: TransportSnapshot): Promise<Array<{ runtime: SendConnectorRuntime; target: ConnectTarget }>> {
    const route = q.route;
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

  private async connect(q: DeliveryQueue, snapshot: TransportSnapshot): Promise<SmtpClientConnection> {
    let last: unknown;
    for (const { runtime, target: t } of await this.hops(q, snapshot)) {
      const log =
        runtime.record.protocolLoggingLevel === 'Verbose' ? new ProtocolLogSession(this.deps.sendLog, { connectorId: runtime.record.name }) : undefined;
      try {
        return await SmtpClientConnection.open(runtime, t, log, q.route.deliveryType === 'DnsConnectorDelivery' ? q.route.nextHopDomain : t.name, q.route.redirectTo || q.route.relayTo ? undefined : q.route.domainSecure);
      } catch (e) {
        last = e;
        log?.disconnect('Local');
        // The certificate problem is ours, not the target's: no point trying the next host.
        if (e instanceof DeliveryError && e.reply.startsWith('454 4.7.5 The certificate specified')) break;
      }
    }
    throw last;
  }

  private async runConnection(q: DeliveryQueue): Promise<void> {
    const snapshot = this.deps.snapshot();
    let conn: SmtpClientConnection;
    const counters = this.counters(q);
    try {
      conn = await this.connect(q, snapshot);
    } catch (e) {
      const failure = classifySessionFailure(e instanceof DeliveryError ? e.reply : '');
      counters.sessionFailed(failure.reason);
      if (failure.tls) counters.tlsFailed(failure.reason);
      await this.queueFailed(q, e);
      return;
    }
    counters.sessionOpened();
    if (conn.secure) counters.tlsHandshake();
    this.openConnections.add(conn);
    q.inRetry = false;
    q.retryCount = 0;
    q.firstRetryTime = undefined;
    q.nextRetryTime = undefined;
    q.lastError = undefined;
    const max = Math.max(1, q.route.connector.smtpMaxMessagesPerConnection || 20);
    try {
      // A configuration change ends reuse: the next message gets a new session with the new certificate and settings.
      while (conn.messagesSent < max && !this.paused && !q.suspended && !conn.closed && this.deps.snapshot().revision === snapshot.revision) {
        const id = await this.nextReady(q);
        if (id === undefined) break;
        if (this.deps.snapshot().revision !== snapshot.revision) {
          this.enqueueReady(q, id, true);
          break;
        }
        const ok = await this.deliverOne(conn, q, id);
        if (!ok) break;
      }
    } finally {
      this.openConnections.delete(conn);
      await conn.quit();
    }
  }

  private async nextReady(q: DeliveryQueue): Promise<number | undefined> {
    for (;;) {
      const id = q.ready.shift();
      if (id !== undefined) return id;
      if (this.paused || q.suspended) return undefined;
      const got = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          const i = q.waiters.indexOf(wake);
          if (i >= 0) q.waiters.splice(i, 1);
          resolve(false);
        }, IDLE_CONNECTION_MS);
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        q.waiters.push(wake);
      });
      if (!got) return undefined;
    }
  }

  /** Delivers one message on an open connection; false when the connection is no longer usable. */
  private async deliverOne(conn: SmtpClientConnection, q: DeliveryQueue, id: number): Promise<boolean> {
    const msg = this.deps.store.get(id);
    if (!msg || msg.status === 'Suspended' || msg.poison || this.messageQueue.get(id) !== q.key) return true;
    const recipients = msg.pendingRecipients.filter((r) => {
      const res = this.route(r, msg.size);
      return res.ok && queueKey(res.route) === q.key;
    });
    if (recipients.length === 0) {
      await this.place(msg);
      return true;
    }
    this.active.add(id);
    this.deps.journal.begin(id);
    try {
      const lease = await this.bodies.lease(id, msg.size);
      let result;
      try {
        result = await conn.send({ id, from: msg.from, recipients, body: lease.body, internetMessageId: msg.internetMessageId, smtpUtf8: msg.smtpUtf8 });
      } catch (e) {
        // The connection broke during this message: it goes back to the front of the queue.
        lease.end();
        this.trackMessage('DEFER', 'SMTP', msg, recipients, { connectorId: conn.connectorName, serverHostname: conn.target.name, recipientStatus: recipients.map(() => (e instanceof DeliveryError ? e.reply : `451 4.4.0 ${(e as Error).message}`)) });
        this.enqueueReady(q, id, true);
        await this.queueFailed(q, e);
        return false;
      }
      lease.end();
      q.outgoing.add();
      q.lastActivity = Date.now();
      const permanent = result.rejected.filter((r) => r.permanent).map((r) => ({ recipient: r.recipient, reply: r.reply }));
      const transient = result.rejected.filter((r) => !r.permanent);
      const pending = msg.pendingRecipients.filter((r) => !result.accepted.includes(r) && !permanent.some((p) => p.recipient === r));
      const counters = this.counters(q);
      if (this.tracking.enabled) {
        const hop = { clientIp: conn.localIp, clientHostname: this.deps.snapshot().server.fqdn, serverIp: conn.remoteIp, serverHostname: conn.target.name, connectorId: conn.connectorName };
        if (result.accepted.length > 0) this.trackMessage('SEND', 'SMTP', msg, result.accepted, { ...hop, recipientStatus: result.accepted.map(() => result.reply) });
        if (transient.length > 0) this.trackMessage('DEFER', 'SMTP', msg, transient.map((r) => r.recipient), { ...hop, recipientStatus: transient.map((r) => r.reply) });
        if (permanent.length > 0) this.trackMessage('FAIL', 'SMTP', msg, permanent.map((r) => r.recipient), { ...hop, recipientStatus: permanent.map((r) => r.reply) });
      }
      if (result.accepted.length > 0 && transient.length === 0) counters.sent((this.deps.clock().getTime() - msg.receivedAt.getTime()) / 1000);
      if (transient.length > 0) counters.deferred();
      if (permanent.length > 0) {
        counters.failed();
        if (await this.bounce(msg, permanent)) counters.ndr();
      }
      if (pending.length === 0) {
        // Removal from the spool runs in the background: the connection goes on with the next message
        // (a crash before the removal is durable means one duplicate, never a loss).
        this.finishInBackground(id);
        // The next hop answered the end of the data, so every byte of the body was written; finish() forgot
        // the kept body: its buffer serves the next message unless another send of it is under way.
        if (result.accepted.length > 0) lease.sent();
        return true;
      }
      if (result.accepted.length > 0) lease.sent();
      const now = this.deps.clock();
      const patch = {
        pendingRecipients: pending,
        deliveredRecipients: [...msg.deliveredRecipients, ...result.accepted],
        failedRecipients: [...msg.failedRecipients, ...permanent],
        attempts: msg.attempts + 1,
        lastError: transient[0]?.reply ?? msg.lastError,
      };
      if (transient.length > 0) {
        const next = new Date(now.getTime() + messageRetryDelay(this.deps.snapshot().server.transport));
        const updated = await this.deps.store.update(id, { ...patch, status: 'Retry', nextAttemptAt: next });
        this.unplace(id);
        await this.place(updated);
      } else {
        // Delivered here; recipients of other next hops remain.
        const updated = await this.deps.store.update(id, patch);
        await this.place(updated);
      }
      return true;
    } finally {
      this.active.delete(id);
      this.deps.journal.end(id);
    }
  }

  private async queueFailed(q: DeliveryQueue, e: unknown): Promise<void> {
    const now = this.deps.clock();
    const reply = e instanceof DeliveryError ? e.reply : `451 4.4.0 ${(e as Error).message}`;
    q.lastError = reply;
    if (e instanceof DeliveryError && e.permanent) {
      // The next hop refuses us outright (5xx greeting, non-existent domain): NDR what waits for it.
      const counters = this.counters(q);
      for (const id of q.ready.splice(0)) {
        const msg = this.deps.store.get(id);
        if (!msg) continue;
        counters.failed();
        this.trackMessage('FAIL', 'SMTP', msg, msg.pendingRecipients, { connectorId: q.route.connector.name, recipientStatus: msg.pendingRecipients.map(() => reply) });
        if (await this.bounce(msg, msg.pendingRecipients.map((recipient) => ({ recipient, reply })))) counters.ndr();
        await this.finish(id);
      }
      return;
    }
    q.retryCount++;
    q.inRetry = true;
    q.firstRetryTime ??= now;
    q.lastRetryTime = now;
    q.nextRetryTime = new Date(now.getTime() + queueRetryDelay(q.retryCount, this.deps.snapshot().server.transport));
    for (const w of q.waiters.splice(0)) w();
  }

  private finishInBackground(id: number): void {
    this.completing.add(id);
    void this.finish(id)
      .catch((e) => this.deps.logger.error({ err: e, id }, 'Removing a delivered message from the spool failed'))
      .finally(() => this.completing.delete(id));
  }

  /** Delivered, and only its removal from the spool is still in progress. */
  isCompleting(id: number): boolean {
    return this.completing.has(id);
  }

  /** The message needs nothing more: forget it everywhere and delete it from the spool. */
  private async finish(id: number): Promise<void> {
    this.unplace(id);
    this.bodies.forget(id);
    this.delaySent.delete(id);
    if (this.deps.store.get(id)) await this.deps.store.complete(id);
  }

  /** Sends a non-delivery report for these recipients (none for a message from the null sender). */
  /** True when a report was sent. */
  private async bounce(msg: QueuedMessage, recipients: DsnRecipient[], kind: 'failed' | 'delayed' = 'failed'): Promise<boolean> {
    if (!msg.from || recipients.length === 0) return false;
    const s = this.deps.snapshot();
    if (!dsnWanted(kind, msg.from, { acceptedDomains: s.acceptedDomains, remoteDomains: s.remoteDomains, config: s.transportConfig })) return false;
    // Reading and quoting the original's headers is processing of the original, as delivering it is.
    await this.tracked(msg.id, () => this.sendDsn(msg, recipients, kind));
    return true;
  }

  private async sendDsn(msg: QueuedMessage, recipients: DsnRecipient[], kind: 'failed' | 'delayed'): Promise<void> {
    // The report quotes the header section only: a large original is not read whole for it.
    const body = await this.bodies.head(msg.id);
    const now = this.deps.clock();
    const dsn = buildDsn({
      kind,
      reportingMta: this.deps.snapshot().server.fqdn,
      originalFrom: msg.from,
      originalSubject: msg.subject,
      arrivalDate: msg.receivedAt,
      recipients,
      originalHeaders: headerSection(body),
      now,
    });
    const queued = await this.deps.store.enqueue({
      from: '',
      recipients: [msg.from],
      body: dsn,
      receivedAt: now,
      sourceConnector: 'DSN',
      subject: `${kind === 'failed' ? 'Undeliverable' : 'Delivery delayed'}: ${msg.subject ?? ''}`,
      expiresAt: new Date(now.getTime() + this.deps.snapshot().server.transport.messageExpirationTimeout),
      // Its recipient is the original's sender, and it quotes the original's addresses and headers.
      smtpUtf8: msg.smtpUtf8,
      originating: true,
    });
    // Exchange's DSN row: the report is a new message, its reference the original's Message-ID.
    this.trackMessage('DSN', 'DSN', queued, [msg.from], {
      reference: msg.internetMessageId,
      relatedRecipientAddress: recipients.map((r) => r.recipient).join(';'),
      recipientStatus: recipients.map((r) => r.reply),
      customData: kind === 'delayed' ? 'S:DsnType=Delay' : undefined,
    });
    await this.accepted(queued, dsn);
  }

  // ---- time --------------------------------------------------------------

  private tick(): void {
    if (this.paused) return;
    const now = this.deps.clock().getTime();
    for (const q of this.queues.values()) {
      if (q.inRetry && q.nextRetryTime && q.nextRetryTime.getTime() <= now) q.inRetry = false;
      // Empty queues disappear after QueueMaxIdleTime (3 minutes), as in Exchange.
      if (q.members.size === 0 && q.connections === 0 && Date.now() - q.lastActivity > 180_000) this.queues.delete(q.key);
    }
    for (const [id, due] of this.waitingUntil) {
      if (due > now) continue;
      this.waitingUntil.delete(id);
      const key = this.messageQueue.get(id);
      const q = key ? this.queues.get(key) : undefined;
      if (q) this.enqueueReady(q, id);
    }
    if (now - this.lastScan >= 5000) {
      this.lastScan = now;
      void this.scanExpiry().catch((e) => this.deps.logger.error({ err: e }, 'Expiry scan failed'));
    }
    this.kick();
  }

  private scanning = false;

  /** Expired messages get an NDR; long-delayed ones a delay notification, once. */
  private async scanExpiry(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const now = this.deps.clock();
      const settings = this.deps.snapshot().server.transport;
      for (const m of this.deps.store.list()) {
        // A poison message never expires: it waits for an administrator.
        if (this.active.has(m.id) || this.completing.has(m.id) || m.poison) continue;
        const key = this.messageQueue.get(m.id);
        const qErr = key ? this.queues.get(key)?.lastError : undefined;
        if (m.expiresAt.getTime() <= now.getTime()) {
          const reason = m.lastError ?? qErr;
          const expiredIn = key ? this.queues.get(key) : undefined;
          if (expiredIn) this.counters(expiredIn).failed();
          this.trackMessage('FAIL', 'SMTP', m, m.pendingRecipients, { connectorId: expiredIn?.route.connector.name, recipientStatus: m.pendingRecipients.map(() => (reason ? `${EXPIRED_REPLY}. Last error: ${reason}` : EXPIRED_REPLY)) });
          const reported = await this.bounce(m, m.pendingRecipients.map((recipient) => ({ recipient, reply: reason ? `${EXPIRED_REPLY}. Last error: ${reason}` : EXPIRED_REPLY })));
          if (reported && expiredIn) this.counters(expiredIn).ndr();
          await this.finish(m.id);
        } else if (m.from && m.sourceConnector !== 'DSN' && delayNotificationDue(m.receivedAt, now, settings.delayNotificationTimeout, this.delaySent.has(m.id))) {
          this.delaySent.add(m.id);
          await this.bounce(m, m.pendingRecipients.map((recipient) => ({ recipient, reply: m.lastError ?? qErr ?? '400 4.4.7 Message delayed' })), 'delayed');
        }
      }
    } finally {
      this.scanning = false;
    }
  }

  // ---- management (Get-Queue and friends) ---------------------------------

  queueList(): DeliveryQueue[] {
    return [...this.queues.values()];
  }

  queueStatus(q: DeliveryQueue): QueueStatus {
    if (q.suspended) return 'Suspended';
    if (q.inRetry) return 'Retry';
    if (q.connections > 0) return 'Active';
    return 'Ready';
  }

  messageStatus(m: QueuedMessage): 'Active' | 'Ready' | 'Retry' | 'Suspended' {
    if (this.active.has(m.id)) return 'Active';
    if (m.status === 'Suspended' || m.poison) return 'Suspended';
    if (this.waitingUntil.has(m.id)) return 'Retry';
    const key = this.messageQueue.get(m.id);
    if (key && this.queues.get(key)?.inRetry) return 'Retry';
    return 'Ready';
  }

  queueOf(id: number): DeliveryQueue | undefined {
    const key = this.messageQueue.get(id);
    return key ? this.queues.get(key) : undefined;
  }

  findQueue(identity: string): DeliveryQueue {
    const wanted = identity.toLowerCase();
    const server = `${this.deps.serverName.toLowerCase()}\\`;
    const q = [...this.queues.values()].find((x) => {
      const hop = x.route.nextHopDomain.toLowerCase();
      return x.identity.toLowerCase() === wanted || hop === wanted || server + hop === wanted;
    });
    if (!q) throw new InterchangeError('ICX_QUEUE_NOT_FOUND', `The queue "${identity}" couldn't be found on server ${this.deps.serverName}.`);
    return q;
  }

  retryQueue(q: DeliveryQueue): void {
    if (q.inRetry) {
      q.inRetry = false;
      q.nextRetryTime = this.deps.clock();
    }
    this.kick();
  }

  suspendQueue(q: DeliveryQueue): void {
    q.suspended = true;
    for (const w of q.waiters.splice(0)) w();
  }

  resumeQueue(q: DeliveryQueue): void {
    q.suspended = false;
    this.kick();
  }

  async suspendMessage(id: number): Promise<void> {
    this.mustGet(id);
    if (this.active.has(id)) throw new InterchangeError('ICX_PARAM_INVALID', `The message ${id} is being delivered and can't be suspended now.`);
    const updated = await this.deps.store.update(id, { status: 'Suspended' });
    this.unplace(id);
    await this.place(updated);
  }

  /** Resuming a poison message releases it from the Poison queue to categorization, its crash count reset. */
  async resumeMessage(id: number): Promise<void> {
    const m = this.mustGet(id);
    const patch: QueuedMessagePatch = { status: 'Ready', nextAttemptAt: undefined };
    if (m.poison) Object.assign(patch, { poison: false, crashCount: 0 });
    const updated = await this.deps.store.update(id, patch);
    // Exchange logs a message leaving the Poison queue as it logs one entering it.
    if (m.poison) this.trackMessage('POISONMESSAGE', 'ADMIN', m, m.pendingRecipients);
    await this.place(updated);
    this.kick();
  }

  async removeMessage(id: number, withNdr: boolean): Promise<void> {
    const m = this.mustGet(id);
    if (this.active.has(id)) throw new InterchangeError('ICX_PARAM_INVALID', `The message ${id} is being delivered and can't be removed now.`);
    const reply = withNdr ? '550 5.7.1 The message was deleted by an administrator' : '550 4.3.2 QUEUE.Admin; message deleted by administrative action';
    // Exchange's Source for what an administrator did to a queued message: ADMIN.
    this.trackMessage('FAIL', 'ADMIN', m, m.pendingRecipients, { recipientStatus: m.pendingRecipients.map(() => reply) });
    if (withNdr) await this.bounce(m, m.pendingRecipients.map((recipient) => ({ recipient, reply })));
    await this.finish(id);
  }

  private mustGet(id: number): QueuedMessage {
    const m = this.deps.store.get(id);
    if (!m) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message ${id} couldn't be found on server ${this.deps.serverName}.`);
    return m;
  }

}
