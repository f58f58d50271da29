// Delivery status notifications the server writes itself (RFC 3464): an NDR
// for recipients that failed, a delay notification for mail held past
// DelayNotificationTimeout. A report is a new message of the spool, enqueued as
// durably as received mail, and delivered by the same engine.
import type { MailQueueStore, QueuedMessage } from '../queue/index.js';
import type { TransportSnapshot } from '../service/config-snapshot.js';
import { buildDsn, headerSection, type DsnRecipient } from './dsn.js';
import { dsnWanted } from './dsn-policy.js';
import type { DeliveryTracking } from './delivery-tracking.js';

export type ReportKind = 'failed' | 'delayed';

export interface DeliveryReportsDeps {
  store: MailQueueStore;
  snapshot(): TransportSnapshot;
  clock(): Date;
  tracking: DeliveryTracking;
  /** The first bytes of a queued message's body: the report quotes its header section only. */
  head(id: number): Promise<Buffer>;
  /** Runs the work as processing of the original (poison detection counts a crash inside it). */
  processing<T>(id: number, work: () => Promise<T>): Promise<T>;
  /** A report just made durable: it is routed and delivered as any message. */
  accepted(report: QueuedMessage, body: Buffer): Promise<void>;
}

export class DeliveryReports {
  constructor(private readonly deps: DeliveryReportsDeps) {}

  /**
   * Reports on these recipients to the message's sender, unless none is wanted (the null sender, a
   * sender whose domain does not get reports). True when a report was queued.
   */
  async report(msg: QueuedMessage, recipients: DsnRecipient[], kind: ReportKind = 'failed'): Promise<boolean> {
    if (!msg.from || recipients.length === 0) return false;
    const s = this.deps.snapshot();
    if (!dsnWanted(kind, msg.from, { acceptedDomains: s.acceptedDomains, remoteDomains: s.remoteDomains, config: s.transportConfig })) return false;
    // Reading and quoting the original's headers is processing of the original, as delivering it is.
    await this.deps.processing(msg.id, () => this.send(msg, recipients, kind));
    return true;
  }

  private async send(msg: QueuedMessage, recipients: DsnRecipient[], kind: ReportKind): Promise<void> {
    // The report quotes the header section only: a large original is not read whole for it.
    const body = await this.deps.head(msg.id);
    const now = this.deps.clock();
    const snapshot = this.deps.snapshot();
    const dsn = buildDsn({
      kind,
      reportingMta: snapshot.server.fqdn,
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
      expiresAt: new Date(now.getTime() + snapshot.server.transport.messageExpirationTimeout),
      // Its recipient is the original's sender, and it quotes the original's addresses and headers.
      smtpUtf8: msg.smtpUtf8,
      originating: true,
    });
    // Exchange's DSN row: the report is a new message, its reference the original's Message-ID.
    this.deps.tracking.track('DSN', 'DSN', queued, [msg.from], {
      reference: msg.internetMessageId,
      relatedRecipientAddress: recipients.map((r) => r.recipient).join(';'),
      recipientStatus: recipients.map((r) => r.reply),
      customData: kind === 'delayed' ? 'S:DsnType=Delay' : undefined,
    });
    await this.deps.accepted(queued, dsn);
  }
}
