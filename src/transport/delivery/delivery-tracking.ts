// The message tracking rows of a queued message (SEND, DEFER, FAIL, DSN,
// POISONMESSAGE): the fields every such row repeats come from the queued
// message, so the delivery, the reports and the queue actions name only what
// differs. Nothing is built while tracking is off.
import { formatDateTime } from '../logging/exchange-log-text.js';
import { networkMessageId, type TrackingEvent, type TrackingEventId, type TrackingSource } from '../tracking/format.js';
import { NO_MESSAGE_TRACKING, type MessageTracking } from '../tracking/message-tracking.js';
import type { QueuedMessage } from '../queue/index.js';

export class DeliveryTracking {
  constructor(
    private readonly serverName: string,
    private readonly log: MessageTracking = NO_MESSAGE_TRACKING,
  ) {}

  /** False while MessageTrackingLogEnabled is $false: callers may skip building what they would track. */
  get enabled(): boolean {
    return this.log.enabled;
  }

  track(eventId: TrackingEventId, source: TrackingSource, msg: QueuedMessage, recipients: readonly string[], extra: Partial<TrackingEvent> = {}): void {
    if (!this.log.enabled) return;
    this.log.track({
      eventId,
      source,
      internalMessageId: msg.id,
      messageId: msg.internetMessageId,
      networkMessageId: networkMessageId(this.serverName, msg.id, msg.receivedAt),
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
}
