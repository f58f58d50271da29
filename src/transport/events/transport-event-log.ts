// Writes transport events to the service log, each condition once per
// interval (Exchange writes its certificate events periodically, not per
// message or per configuration reload): a certificate that stays near its
// expiry is a line an hour, not a line every half second.
import type { Logger } from 'pino';
import type { TransportEvent } from './certificate-events.js';

export const DEFAULT_EVENT_INTERVAL_MS = 3_600_000;

export class TransportEventLog {
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    private readonly intervalMs = DEFAULT_EVENT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes the events whose condition was not written within the interval; forgets conditions that ended. */
  write(events: readonly TransportEvent[]): void {
    const t = this.now();
    const current = new Set(events.map((e) => e.key));
    for (const key of this.lastWritten.keys()) if (!current.has(key)) this.lastWritten.delete(key);
    for (const e of events) {
      const last = this.lastWritten.get(e.key);
      if (last !== undefined && t - last < this.intervalMs) continue;
      this.lastWritten.set(e.key, t);
      this.logger[e.level]({ eventId: e.eventId, source: 'MSExchangeTransport', category: 'TransportService' }, e.message);
    }
  }
}
