// SMTP AUTH throttling across sessions, beyond Exchange's per-connection
// MaxLogonFailures: failures are counted per source (an IPv4 address, or an
// IPv6 /64, which one client holds as easily as one address) and per account,
// slowed and then refused for a while. The decisions are pure functions of a
// record and the time; AuthThrottle keeps the records in bounded tables.
//
// The rule, and why:
// 1. Every failed password counts against the source and against the account
//    (the account the login names when it exists, so `ed`, `ED@contoso.com` and
//    `ANY\ed` are one account; otherwise the login text). A success resets
//    nothing: an attacker holding one good account must not be able to wash
//    its source clean between guesses at others.
// 2. A source with `sourceSlowAfter` failures waits before each further check,
//    doubling up to `sourceMaxDelayMs`; at `sourceLockAfter` it is refused for
//    `lockoutMs`, right password or not, and without a password check (no
//    scrypt spent on it).
// 3. An account with `accountLockAfter` failures is locked for `lockoutMs`, but
//    only against sources that have failed themselves within the window. A
//    source with no failures ("clean") is still checked, and the right
//    password logs in. So an attacker who locks an account from its own
//    addresses cannot lock its owner out everywhere; to keep guessing a locked
//    account it needs a fresh address per guess, and each such guess makes that
//    address unclean.
// 4. Counts live for `windowMs` from a record's first failure (or until its
//    lock ends); then the record starts over.
// 5. The tables hold at most `maxEntries` records each. When full, the least
//    recently failed record that is not locked goes (looking at a few of the
//    oldest), else the oldest: an attacker who floods the tables with names or
//    addresses can evict only its own stale records before anyone's lock.
import net from 'node:net';
import type { Logger } from 'pino';
import { parseIpRange } from '../../connectors/receive-connector-rules.js';

export interface AuthThrottlePolicy {
  windowMs: number;
  lockoutMs: number;
  sourceSlowAfter: number;
  sourceDelayMs: number;
  sourceMaxDelayMs: number;
  sourceLockAfter: number;
  accountLockAfter: number;
  maxEntries: number;
}

/** 20 guesses per source and 15 minutes instead of Exchange's unbounded reconnecting (31 a second measured). */
export const DEFAULT_AUTH_THROTTLE: AuthThrottlePolicy = {
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  sourceSlowAfter: 5,
  sourceDelayMs: 1000,
  sourceMaxDelayMs: 30_000,
  sourceLockAfter: 20,
  accountLockAfter: 10,
  maxEntries: 10_000,
};

export interface FailureRecord {
  failures: number;
  /** When the first failure of this window happened (ms). */
  windowStart: number;
  /** Until when it is locked (ms); 0: not locked. */
  lockedUntil: number;
}

export type AuthVerdict = { kind: 'check'; delayMs: number } | { kind: 'refuse'; reason: 'SourceLocked' | 'AccountLocked'; until: number };

/** The record as it stands at `now`: undefined once its window or its lock has ended. */
export function current(policy: AuthThrottlePolicy, now: number, r: FailureRecord | undefined): FailureRecord | undefined {
  if (!r) return undefined;
  if (r.lockedUntil > 0) return r.lockedUntil > now ? r : undefined;
  return now - r.windowStart < policy.windowMs ? r : undefined;
}

/** What to do with an AUTH attempt before its password is checked. */
export function decideAuth(policy: AuthThrottlePolicy, now: number, sourceRecord: FailureRecord | undefined, accountRecord: FailureRecord | undefined): AuthVerdict {
  const source = current(policy, now, sourceRecord);
  const account = current(policy, now, accountRecord);
  if (source && source.lockedUntil > now) return { kind: 'refuse', reason: 'SourceLocked', until: source.lockedUntil };
  if (account && account.lockedUntil > now && source) return { kind: 'refuse', reason: 'AccountLocked', until: account.lockedUntil };
  const failures = source?.failures ?? 0;
  if (failures < policy.sourceSlowAfter) return { kind: 'check', delayMs: 0 };
  return { kind: 'check', delayMs: Math.min(policy.sourceMaxDelayMs, policy.sourceDelayMs * 2 ** Math.min(30, failures - policy.sourceSlowAfter)) };
}

/** The record after one more failure; locked once it reaches `lockAfter`. */
export function withFailure(policy: AuthThrottlePolicy, now: number, r: FailureRecord | undefined, lockAfter: number): FailureRecord {
  const live = current(policy, now, r);
  const failures = (live?.failures ?? 0) + 1;
  const windowStart = live?.windowStart ?? now;
  const lockedUntil = live && live.lockedUntil > now ? live.lockedUntil : failures >= lockAfter ? now + policy.lockoutMs : 0;
  return { failures, windowStart, lockedUntil };
}

/** An IPv4 address as is; an IPv6 address by its /64. */
export function sourceKey(address: string): string {
  const plain = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (!net.isIPv6(plain)) return plain;
  return `${(parseIpRange(plain).start >> 64n).toString(16)}::/64`;
}

/** A table of at most `max` records, least recently failed first. */
class FailureTable {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly max: number,
    private readonly policy: AuthThrottlePolicy,
  ) {}

  get(key: string): FailureRecord | undefined {
    return this.records.get(key);
  }

  get size(): number {
    return this.records.size;
  }

  set(key: string, r: FailureRecord, now: number): void {
    // Re-inserted, so the Map's order stays least recently failed first.
    this.records.delete(key);
    if (this.records.size >= this.max) this.evict(now);
    this.records.set(key, r);
  }

  private evict(now: number): void {
    let oldest: string | undefined;
    let looked = 0;
    for (const [k, r] of this.records) {
      oldest ??= k;
      const live = current(this.policy, now, r);
      if (!live || live.lockedUntil <= now) {
        this.records.delete(k);
        return;
      }
      if (++looked >= 8) break;
    }
    if (oldest !== undefined) this.records.delete(oldest);
  }
}

export class AuthThrottle {
  private readonly sources: FailureTable;
  private readonly accounts: FailureTable;

  constructor(
    private readonly logger: Logger,
    private readonly policy: AuthThrottlePolicy = DEFAULT_AUTH_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {
    this.sources = new FailureTable(policy.maxEntries, policy);
    this.accounts = new FailureTable(policy.maxEntries, policy);
  }

  /** For tests and the service log: how many records each table holds. */
  get tableSizes(): { sources: number; accounts: number } {
    return { sources: this.sources.size, accounts: this.accounts.size };
  }

  before(address: string, account: string): AuthVerdict {
    return decideAuth(this.policy, this.now(), this.sources.get(sourceKey(address)), this.accounts.get(account));
  }

  failed(address: string, account: string): void {
    const now = this.now();
    const source = sourceKey(address);
    const s = withFailure(this.policy, now, this.sources.get(source), this.policy.sourceLockAfter);
    const a = withFailure(this.policy, now, this.accounts.get(account), this.policy.accountLockAfter);
    this.sources.set(source, s, now);
    this.accounts.set(account, a, now);
    // Logged when a lock begins, not per failure: one line per lock however long the attack.
    if (s.failures === this.policy.sourceLockAfter && s.lockedUntil > now) {
      this.logger.warn({ source, failures: s.failures, until: new Date(s.lockedUntil).toISOString() }, `SMTP AUTH from ${source} is refused until ${new Date(s.lockedUntil).toISOString()} after ${s.failures} failed logons`);
    }
    if (a.failures === this.policy.accountLockAfter && a.lockedUntil > now) {
      this.logger.warn({ account, failures: a.failures, until: new Date(a.lockedUntil).toISOString() }, `SMTP AUTH as ${account} is refused to addresses with failed logons until ${new Date(a.lockedUntil).toISOString()} after ${a.failures} failed logons`);
    }
  }
}
