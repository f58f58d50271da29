// When an ACME certificate is renewed, and when again after a failure: pure
// decisions, table-tested (test/acme/renewal-policy.test.ts).
//
// Two thirds of the lifetime is what Let's Encrypt and certbot use: with a 90-day
// certificate, a renewal starts 30 days before expiry, leaving a month of retries
// for an outage of the CA or of the challenge path. Retries back off from minutes
// to a day, but never wait past the point where a third of the remaining time is
// left, so a long CA outage still gets attempts before the certificate expires.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Waits after the 1st, 2nd, … failed attempt; the last one repeats. */
export const RETRY_DELAYS_MS: readonly number[] = [5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 12 * HOUR, 24 * HOUR];

/** When a certificate valid from notBefore to notAfter is due for renewal: two thirds into its lifetime. */
export function renewalDue(notBefore: Date, notAfter: Date): Date {
  const lifetime = Math.max(0, notAfter.getTime() - notBefore.getTime());
  return new Date(notBefore.getTime() + Math.floor((lifetime * 2) / 3));
}

/** When to try again after `failures` failed attempts (1 or more), the last at `now`. */
export function nextRetry(failures: number, now: Date, notAfter: Date): Date {
  const delay = RETRY_DELAYS_MS[Math.min(Math.max(failures, 1), RETRY_DELAYS_MS.length) - 1];
  const remaining = notAfter.getTime() - now.getTime();
  // Close to expiry, at least three more attempts fit before it.
  const capped = remaining > 0 ? Math.min(delay, Math.max(MINUTE, Math.floor(remaining / 3))) : MINUTE;
  return new Date(now.getTime() + capped);
}

export type RenewalAction = { kind: 'wait'; until: Date } | { kind: 'renew' } | { kind: 'leased'; holder: string; until: Date };

/** Who holds a renewal lease: the server, and which run of its process (one process runs a server at a time). */
export interface LeaseHolder {
  holder: string;
  process?: string;
}

/**
 * What a server does with a managed certificate at `now`: renew it (due, or forced, and no one holds the
 * lease), leave it to whoever holds the lease, or wait. A running lease of this server held by an earlier
 * run of its process is taken over at once (that run died), but one held by this very process is not: the
 * renewal service and Update-AcmeCertificate would otherwise renew the same certificate twice at once.
 */
export function renewalAction(entry: { nextRenewal: Date; lease: (LeaseHolder & { until: Date }) | null }, self: Required<LeaseHolder>, now: Date, force = false): RenewalAction {
  const lease = entry.lease;
  if (lease && lease.until.getTime() > now.getTime()) {
    const ours = lease.holder.toLowerCase() === self.holder.toLowerCase();
    if (!ours || lease.process === self.process) return { kind: 'leased', holder: lease.holder, until: lease.until };
  }
  if (force || entry.nextRenewal.getTime() <= now.getTime()) return { kind: 'renew' };
  return { kind: 'wait', until: entry.nextRenewal };
}

/** The old certificates whose grace period is over at `now`. */
export function retiredBy<T extends { removeAfter: Date }>(retiring: readonly T[], now: Date): T[] {
  return retiring.filter((r) => r.removeAfter.getTime() <= now.getTime());
}

/** Failed attempts in a row before the alert mail goes out: one failure is often the CA's bad minute. */
export const ALERT_AFTER_FAILURES = 3;
const DAY = 86_400_000;

/** Whether a renewal that has now failed `failures` times in a row is worth a mail: at the third, then once a day. */
export function alertDue(failures: number, lastAlert: Date | null, now: Date): boolean {
  if (failures < ALERT_AFTER_FAILURES) return false;
  return !lastAlert || now.getTime() - lastAlert.getTime() >= DAY;
}
