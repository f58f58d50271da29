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
import type { ProtocolLogWriter } from '../protocol-log/index.js';
import type { MessageTracking } from '../tracking/message-tracking.js';
import type { MailQueueStore, QueuedMessage, QueuedMessagePatch } from '../queue/index.js';
import type { ProcessingTracker } from '../queue/processing-journal.js';
import { queueKey, selectSendConnector, type Route } from '../routing/route.js';
import { redirectRoute, routeWithRedirect, type RedirectTarget } from '../routing/redirect.js';
import type { TransportSnapshot } from '../service/config-snapshot.js';
import type { BodyBuffers } from '../service/body-buffers.js';
import type { MessageMemoryBudget } from '../service/message-memory-budget.js';
import { NextHopConnector } from '../outbound/next-hops.js';
import { DeliveryError, type SmtpClientConnection } from '../outbound/smtp-client.js';
import type { DsnRecipient } from './dsn.js';
import { enqueueReady, newDeliveryQueue, nextReady, QUEUE_MAX_IDLE_MS, queueMatches, wakeAll, type DeliveryQueue } from './delivery-queue.js';
import { DeliveryReports } from './delivery-reports.js';
import { DeliveryTracking } from './delivery-tracking.js';
import { MessageBodies } from './message-bodies.js';
import { recordInterruptedProcessing } from './poison-detection.js';
import { expiredReply, expiryAction, messageRetryDelay, queueRetryDelay } from './retry-policy.js';

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
  /** Redirect-Message's route for every message, until the service restarts; undefined: the server's own routing. */
  private redirect: Route | undefined;

  private readonly metrics: TransportMetrics;
  private readonly tracking: DeliveryTracking;
  private readonly reports: DeliveryReports;
  private readonly nextHops: NextHopConnector;

  constructor(private readonly deps: DeliveryDeps) {
    this.metrics = deps.metrics ?? NO_TRANSPORT_METRICS;
    this.tracking = new DeliveryTracking(deps.serverName, deps.tracking);
    this.bodies = new MessageBodies(deps);
    this.nextHops = new NextHopConnector(deps.sendLog);
    this.reports = new DeliveryReports({
      store: deps.store,
      snapshot: deps.snapshot,
      clock: deps.clock,
      tracking: this.tracking,
      head: (id) => this.bodies.head(id),
      processing: (id, work) => this.tracked(id, work),
      accepted: (report, body) => this.accepted(report, body),
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
      if (m) this.tracking.track('POISONMESSAGE', 'POISONMESSAGE', m, m.pendingRecipients);
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
    for (const q of this.queues.values()) wakeAll(q);
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
      if (q && this.waitingUntil.delete(m.id)) enqueueReady(q, m.id);
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
      await this.reports.report(msg, failed);
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
    } else enqueueReady(q, msg.id);
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

  private queueFor(route: Route): DeliveryQueue {
    const key = queueKey(route);
    let q = this.queues.get(key);
    if (!q) {
      // Exchange names a delivery queue by its QueueInteger (`EX01\\3`); the next hop is its NextHopDomain.
      q = newDeliveryQueue(key, route, `${this.deps.serverName}\\${this.nextQueueInteger++}`);
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

  private async runConnection(q: DeliveryQueue): Promise<void> {
    const snapshot = this.deps.snapshot();
    let conn: SmtpClientConnection;
    const counters = this.counters(q);
    try {
      conn = await this.nextHops.connect(q.route, snapshot);
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
        const id = await nextReady(q, () => this.paused);
        if (id === undefined) break;
        if (this.deps.snapshot().revision !== snapshot.revision) {
          enqueueReady(q, id, true);
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
        this.tracking.track('DEFER', 'SMTP', msg, recipients, { connectorId: conn.connectorName, serverHostname: conn.target.name, recipientStatus: recipients.map(() => (e instanceof DeliveryError ? e.reply : `451 4.4.0 ${(e as Error).message}`)) });
        enqueueReady(q, id, true);
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
        if (result.accepted.length > 0) this.tracking.track('SEND', 'SMTP', msg, result.accepted, { ...hop, recipientStatus: result.accepted.map(() => result.reply) });
        if (transient.length > 0) this.tracking.track('DEFER', 'SMTP', msg, transient.map((r) => r.recipient), { ...hop, recipientStatus: transient.map((r) => r.reply) });
        if (permanent.length > 0) this.tracking.track('FAIL', 'SMTP', msg, permanent.map((r) => r.recipient), { ...hop, recipientStatus: permanent.map((r) => r.reply) });
      }
      if (result.accepted.length > 0 && transient.length === 0) counters.sent((this.deps.clock().getTime() - msg.receivedAt.getTime()) / 1000);
      if (transient.length > 0) counters.deferred();
      if (permanent.length > 0) {
        counters.failed();
        if (await this.reports.report(msg, permanent)) counters.ndr();
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
        this.tracking.track('FAIL', 'SMTP', msg, msg.pendingRecipients, { connectorId: q.route.connector.name, recipientStatus: msg.pendingRecipients.map(() => reply) });
        if (await this.reports.report(msg, msg.pendingRecipients.map((recipient) => ({ recipient, reply })))) counters.ndr();
        await this.finish(id);
      }
      return;
    }
    q.retryCount++;
    q.inRetry = true;
    q.firstRetryTime ??= now;
    q.lastRetryTime = now;
    q.nextRetryTime = new Date(now.getTime() + queueRetryDelay(q.retryCount, this.deps.snapshot().server.transport));
    wakeAll(q);
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

  // ---- time --------------------------------------------------------------

  private tick(): void {
    if (this.paused) return;
    const now = this.deps.clock().getTime();
    for (const q of this.queues.values()) {
      if (q.inRetry && q.nextRetryTime && q.nextRetryTime.getTime() <= now) q.inRetry = false;
      if (q.members.size === 0 && q.connections === 0 && Date.now() - q.lastActivity > QUEUE_MAX_IDLE_MS) this.queues.delete(q.key);
    }
    for (const [id, due] of this.waitingUntil) {
      if (due > now) continue;
      this.waitingUntil.delete(id);
      const key = this.messageQueue.get(id);
      const q = key ? this.queues.get(key) : undefined;
      if (q) enqueueReady(q, id);
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
        if (this.active.has(m.id) || this.completing.has(m.id)) continue;
        const action = expiryAction(m, now, settings.delayNotificationTimeout, this.delaySent.has(m.id));
        if (action === 'wait') continue;
        const q = this.queueOf(m.id);
        if (action === 'expire') {
          const reply = expiredReply(m.lastError ?? q?.lastError);
          if (q) this.counters(q).failed();
          this.tracking.track('FAIL', 'SMTP', m, m.pendingRecipients, { connectorId: q?.route.connector.name, recipientStatus: m.pendingRecipients.map(() => reply) });
          const reported = await this.reports.report(m, m.pendingRecipients.map((recipient) => ({ recipient, reply })));
          if (reported && q) this.counters(q).ndr();
          await this.finish(m.id);
        } else {
          this.delaySent.add(m.id);
          const reply = m.lastError ?? q?.lastError ?? '400 4.4.7 Message delayed';
          await this.reports.report(m, m.pendingRecipients.map((recipient) => ({ recipient, reply })), 'delayed');
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
    for (const q of this.queues.values()) if (queueMatches(q, identity, this.deps.serverName)) return q;
    throw new InterchangeError('ICX_QUEUE_NOT_FOUND', `The queue "${identity}" couldn't be found on server ${this.deps.serverName}.`);
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
    wakeAll(q);
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
    if (m.poison) this.tracking.track('POISONMESSAGE', 'ADMIN', m, m.pendingRecipients);
    await this.place(updated);
    this.kick();
  }

  async removeMessage(id: number, withNdr: boolean): Promise<void> {
    const m = this.mustGet(id);
    if (this.active.has(id)) throw new InterchangeError('ICX_PARAM_INVALID', `The message ${id} is being delivered and can't be removed now.`);
    const reply = withNdr ? '550 5.7.1 The message was deleted by an administrator' : '550 4.3.2 QUEUE.Admin; message deleted by administrative action';
    // Exchange's Source for what an administrator did to a queued message: ADMIN.
    this.tracking.track('FAIL', 'ADMIN', m, m.pendingRecipients, { recipientStatus: m.pendingRecipients.map(() => reply) });
    if (withNdr) await this.reports.report(m, m.pendingRecipients.map((recipient) => ({ recipient, reply })));
    await this.finish(id);
  }

  private mustGet(id: number): QueuedMessage {
    const m = this.deps.store.get(id);
    if (!m) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message ${id} couldn't be found on server ${this.deps.serverName}.`);
    return m;
  }

}
