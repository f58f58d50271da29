// The pure parts of the mail flow statistics (Get-MailFlowStatistics): a ring
// of a fixed number of samples, and counts per sample taken from the deltas of
// counters that only grow. Memory stays the same whatever the traffic: one
// sample per interval, the oldest overwritten once the ring is full.

/** What the server's counters say at one moment: the totals since the process started. */
export interface MailFlowCounters {
  received: number;
  sent: number;
  deferred: number;
  failed: number;
}

/** The delivery queues at one moment. */
export interface QueueSnapshot {
  /** Sum of the delivery queues' MessageCount. */
  queueLength: number;
  /** Age of the oldest message in a delivery queue (0 when they are empty). */
  oldestMessageAgeSeconds: number;
}

/** One interval of one server: what happened in it (counts) and the queues at its end. */
export interface MailFlowSample extends MailFlowCounters, QueueSnapshot {
  /** End of the interval (ms since the epoch). */
  at: number;
  /** Length of the interval (ms): the timer's, or less after a stall, more after a busy event loop. */
  intervalMs: number;
}

/** A fixed-size ring: `push` overwrites the oldest once `capacity` items are held. */
export class SampleRing<T> {
  private readonly slots: Array<T | undefined>;
  private next = 0;
  private held = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`A sample ring holds at least one sample, not ${capacity}.`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.held;
  }

  push(item: T): void {
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.held < this.capacity) this.held++;
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const start = (this.next - this.held + this.capacity) % this.capacity;
    for (let i = 0; i < this.held; i++) out.push(this.slots[(start + i) % this.capacity] as T);
    return out;
  }
}

/**
 * What a counter counted between two readings. A counter that went down was
 * reset (a new registry, a restarted process): everything it shows now was
 * counted since, so that is the delta, never a negative count.
 */
export function counterDelta(previous: number, current: number): number {
  if (!Number.isFinite(current) || current < 0) return 0;
  if (!Number.isFinite(previous) || current < previous) return current;
  return current - previous;
}

/** The counts of one interval from the readings at its start and end. */
export function countsBetween(previous: MailFlowCounters, current: MailFlowCounters): MailFlowCounters {
  return {
    received: counterDelta(previous.received, current.received),
    sent: counterDelta(previous.sent, current.sent),
    deferred: counterDelta(previous.deferred, current.deferred),
    failed: counterDelta(previous.failed, current.failed),
  };
}

/** A count over an interval as a rate per minute, to two decimals; 0 for an empty interval. */
export function perMinute(count: number, intervalMs: number): number {
  if (!(intervalMs > 0)) return 0;
  return Math.round(((count * 60_000) / intervalMs) * 100) / 100;
}

/** One sample per minute for 24 hours. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 60_000;
export const DEFAULT_SAMPLE_CAPACITY = 24 * 60;

/** The sampling interval and ring size: the defaults, or the environment's (tests sample in milliseconds). */
export function samplingSettings(env: NodeJS.ProcessEnv = process.env): { intervalMs: number; capacity: number } {
  const positive = (v: string | undefined, fallback: number) => {
    const n = Number(v);
    return v !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
  };
  return { intervalMs: positive(env.INTERCHANGE_STATISTICS_INTERVAL_MS, DEFAULT_SAMPLE_INTERVAL_MS), capacity: positive(env.INTERCHANGE_STATISTICS_SAMPLES, DEFAULT_SAMPLE_CAPACITY) };
}
