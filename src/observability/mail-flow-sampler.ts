// Samples the server's own counters on a timer into a fixed ring
// (Get-MailFlowStatistics reads it). Nothing is counted on the hot path for
// it: each tick reads the totals the Prometheus metrics already keep and the
// queue lengths they read, and stores the difference from the last tick.
import { countsBetween, type MailFlowCounters, type MailFlowSample, type QueueSnapshot, SampleRing } from './mail-flow-statistics.js';

/** Where the numbers come from: the server's metrics. */
export interface MailFlowSource {
  counters(): Promise<MailFlowCounters>;
  queues(): QueueSnapshot;
}

export interface MailFlowSamplerOptions {
  source: MailFlowSource;
  intervalMs: number;
  capacity: number;
  clock: () => Date;
  onError?: (e: unknown) => void;
}

export class MailFlowSampler {
  private readonly ring: SampleRing<MailFlowSample>;
  private timer: NodeJS.Timeout | undefined;
  private last: { at: number; counters: MailFlowCounters } | undefined;
  private sampling: Promise<void> | undefined;

  constructor(private readonly opts: MailFlowSamplerOptions) {
    this.ring = new SampleRing(opts.capacity);
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  /** Reads the counters once as the baseline, then samples every interval until stopped. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.last = { at: this.opts.clock().getTime(), counters: await this.opts.source.counters() };
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs);
    // Statistics never keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now; a tick that comes while one is being taken joins it (no overlapping reads). */
  sample(): Promise<void> {
    this.sampling ??= this.take()
      .catch((e) => this.opts.onError?.(e))
      .finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async take(): Promise<void> {
    const counters = await this.opts.source.counters();
    const queues = this.opts.source.queues();
    const at = this.opts.clock().getTime();
    const last = this.last ?? { at, counters };
    this.last = { at, counters };
    this.ring.push({ at, intervalMs: Math.max(0, at - last.at), ...countsBetween(last.counters, counters), ...queues });
  }

  /** The samples held, oldest first; with `sinceMs`, those whose interval ended at or after it. */
  samples(sinceMs?: number): MailFlowSample[] {
    const all = this.ring.toArray();
    return sinceMs === undefined ? all : all.filter((s) => s.at >= sinceMs);
  }
}
