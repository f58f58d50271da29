// When to try again, and when to give up (reference §8). Pure: settings, counts and times in, a decision out.
import type { TransportServiceSettings } from '../../directory/records.js';

type RetrySettings = Pick<TransportServiceSettings, 'transientFailureRetryCount' | 'transientFailureRetryInterval' | 'outboundConnectionFailureRetryInterval' | 'messageRetryInterval'>;

/**
 * A queue whose connection failed: the first TransientFailureRetryCount
 * retries come TransientFailureRetryInterval apart, later ones
 * OutboundConnectionFailureRetryInterval apart. `retryCount` counts failures so far (1 after the first).
 */
export function queueRetryDelay(retryCount: number, s: RetrySettings): number {
  return retryCount <= s.transientFailureRetryCount ? s.transientFailureRetryInterval : s.outboundConnectionFailureRetryInterval;
}

/** A message the next hop deferred (4xx for the message, the connection was fine). */
export function messageRetryDelay(s: RetrySettings): number {
  return s.messageRetryInterval;
}

/** Whether a delay notification is due: once, after DelayNotificationTimeout, before expiry. */
export function delayNotificationDue(receivedAt: Date, now: Date, delayNotificationTimeout: number, alreadySent: boolean): boolean {
  return !alreadySent && delayNotificationTimeout > 0 && now.getTime() - receivedAt.getTime() >= delayNotificationTimeout;
}

/** The status of recipients whose message expired, with the last error that kept it, as Exchange words it. */
export function expiredReply(lastError: string | undefined): string {
  return lastError ? `${EXPIRED_REPLY}. Last error: ${lastError}` : EXPIRED_REPLY;
}

const EXPIRED_REPLY = '550 4.4.7 QUEUE.Expired; message expired';

export type ExpiryAction = 'expire' | 'notify-delay' | 'wait';

/**
 * What the expiry scan does with a queued message that is not being delivered: past its expiry it
 * fails (an NDR); otherwise, once, after DelayNotificationTimeout, its sender gets a delay notification
 * unless it has no sender or is itself a report. A poison message never expires: it waits for an
 * administrator.
 */
export function expiryAction(
  m: { expiresAt: Date; receivedAt: Date; from: string; sourceConnector?: string; poison?: boolean },
  now: Date,
  delayNotificationTimeout: number,
  delayNotified: boolean,
): ExpiryAction {
  if (m.poison) return 'wait';
  if (m.expiresAt.getTime() <= now.getTime()) return 'expire';
  if (m.from && m.sourceConnector !== 'DSN' && delayNotificationDue(m.receivedAt, now, delayNotificationTimeout, delayNotified)) return 'notify-delay';
  return 'wait';
}
