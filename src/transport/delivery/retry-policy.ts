// When to try again (reference §8). Pure: settings and counts in, a delay out.
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
