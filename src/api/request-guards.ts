// What the admin API keeps about requests that carry no valid credential:
// counts, never rows in the audit log, and never more memory than the bounds
// here, however many requests or addresses an attacker uses.

export interface GuardLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Failed sign-ins per client address. A throttled address gets 429 for its
 * failures, but a valid token from it still signs in: tokens are 256-bit
 * random values, so throttling cannot be what stops guessing, and it must
 * not let a stranger on the same address (a proxy, 127.0.0.1) lock the real
 * administrators out.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly opts: { limit: number; windowMs: number; clock: () => Date; maxAddresses?: number },
  ) {}

  /** Records a failure; returns the seconds to wait when the address is over its limit, else 0. */
  fail(address: string): number {
    const now = this.opts.clock().getTime();
    let entry = this.failures.get(address);
    if (!entry || now - entry.since > this.opts.windowMs) {
      entry = { count: 0, since: now };
      this.failures.delete(address);
      // The oldest address goes first when the table is full: the map keeps insertion order.
      if (this.failures.size >= (this.opts.maxAddresses ?? 10_000)) this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(address, entry);
    }
    entry.count++;
    return entry.count > this.opts.limit ? Math.max(1, Math.ceil((entry.since + this.opts.windowMs - now) / 1000)) : 0;
  }

  get trackedAddresses(): number {
    return this.failures.size;
  }
}

/** Unauthenticated calls: counted, and summed up in the service log at most once a minute. */
export class UnauthenticatedRequests {
  private total = 0;
  private sinceLog = 0;
  private lastLog = -Infinity;

  constructor(
    private readonly logger: GuardLogger | undefined,
    private readonly clock: () => Date,
  ) {}

  record(address: string, what: string): void {
    this.total++;
    this.sinceLog++;
    const now = this.clock().getTime();
    if (now - this.lastLog < 60_000) return;
    this.logger?.warn({ lastAddress: address, lastRequest: what.slice(0, 128), count: this.sinceLog, total: this.total }, 'Admin API requests without a valid credential');
    this.lastLog = now;
    this.sinceLog = 0;
  }

  get count(): number {
    return this.total;
  }
}
