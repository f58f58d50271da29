// The pure decisions of ACME renewal (src/acme/renewal-policy.ts), as tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertDue, nextRetry, renewalAction, renewalDue, retiredBy } from '../../src/acme/renewal-policy.js';

const d = (s: string) => new Date(s);
const MIN = 60_000;

test('renewalDue: two thirds into the lifetime', () => {
  const rows: Array<[string, string, string]> = [
    ['2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-03-02T00:00:00.000Z'], // 90 days: due after 60
    ['2026-01-01T00:00:00Z', '2026-01-07T00:00:00Z', '2026-01-05T00:00:00.000Z'], // 6 days (short-lived): after 4
    ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'], // no lifetime: at once
    ['2026-01-01T00:00:00Z', '2025-12-01T00:00:00Z', '2026-01-01T00:00:00.000Z'], // inverted: at once, not in the past
  ];
  for (const [nb, na, due] of rows) assert.equal(renewalDue(d(nb), d(na)).toISOString(), due, `${nb} → ${na}`);
});

test('nextRetry: backs off from 5 minutes to a day, but leaves room for three attempts before expiry', () => {
  const now = d('2026-03-01T00:00:00Z');
  const far = d('2026-06-01T00:00:00Z');
  const rows: Array<[number, Date, number]> = [
    [1, far, 5 * MIN],
    [2, far, 15 * MIN],
    [3, far, 60 * MIN],
    [4, far, 240 * MIN],
    [5, far, 720 * MIN],
    [6, far, 1440 * MIN],
    [60, far, 1440 * MIN],
    [0, far, 5 * MIN],
    [6, d('2026-03-01T06:00:00Z'), 120 * MIN], // 6 h left: a third of it
    [6, d('2026-03-01T00:02:00Z'), 1 * MIN], // 2 minutes left: at least a minute
    [6, d('2026-02-01T00:00:00Z'), 1 * MIN], // expired: keep trying every minute
  ];
  for (const [failures, notAfter, wait] of rows) assert.equal(nextRetry(failures, now, notAfter).getTime() - now.getTime(), wait, `${failures} failures, notAfter ${notAfter.toISOString()}`);
});

test("renewalAction: renew when due or forced, unless a lease runs; an expired lease, or our server's from an earlier run of its process, does not hold us back; one this process holds does", () => {
  const now = d('2026-03-01T12:00:00Z');
  const due = d('2026-03-01T11:00:00Z');
  const later = d('2026-03-02T00:00:00Z');
  const lease = (holder: string, until: string, process?: string) => ({ holder, until: d(until), process });
  const rows: Array<[string, { nextRenewal: Date; lease: { holder: string; until: Date; process?: string } | null }, boolean, string]> = [
    ['due, no lease', { nextRenewal: due, lease: null }, false, 'renew'],
    ['not due', { nextRenewal: later, lease: null }, false, 'wait'],
    ['not due, forced', { nextRenewal: later, lease: null }, true, 'renew'],
    ['due, EX02 holds the lease', { nextRenewal: due, lease: lease('EX02', '2026-03-01T12:05:00Z', 'run-9') }, false, 'leased'],
    ['forced, EX02 holds the lease', { nextRenewal: due, lease: lease('EX02', '2026-03-01T12:05:00Z', 'run-9') }, true, 'leased'],
    ['forced, EX02 holds the lease with our run id', { nextRenewal: due, lease: lease('EX02', '2026-03-01T12:05:00Z', 'run-2') }, true, 'leased'],
    ["due, EX02's lease expired (EX02 died)", { nextRenewal: due, lease: lease('EX02', '2026-03-01T11:59:59Z', 'run-9') }, false, 'renew'],
    ['due, our server, an earlier run (ex01, any case)', { nextRenewal: due, lease: lease('ex01', '2026-03-01T12:05:00Z', 'run-1') }, false, 'renew'],
    ['due, our server, a lease from before runs were recorded', { nextRenewal: due, lease: lease('EX01', '2026-03-01T12:05:00Z') }, false, 'renew'],
    ['due, this run holds it (a renewal in progress here)', { nextRenewal: due, lease: lease('EX01', '2026-03-01T12:05:00Z', 'run-2') }, false, 'leased'],
    ['forced, this run holds it', { nextRenewal: due, lease: lease('EX01', '2026-03-01T12:05:00Z', 'run-2') }, true, 'leased'],
    ['due, this run held it, expired', { nextRenewal: due, lease: lease('EX01', '2026-03-01T11:59:59Z', 'run-2') }, false, 'renew'],
  ];
  for (const [what, entry, force, kind] of rows) assert.equal(renewalAction(entry, { holder: 'EX01', process: 'run-2' }, now, force).kind, kind, what);
});

test('retiredBy: the old certificates whose grace period is over', () => {
  const now = d('2026-03-01T12:00:00Z');
  const r = [
    { thumbprint: 'A', removeAfter: d('2026-03-01T11:00:00Z') },
    { thumbprint: 'B', removeAfter: d('2026-03-01T12:00:00Z') },
    { thumbprint: 'C', removeAfter: d('2026-03-01T12:00:01Z') },
  ];
  assert.deepEqual(retiredBy(r, now).map((x) => x.thumbprint), ['A', 'B']);
});

test('alertDue: a mail at the third failure in a row, then at most once a day', () => {
  const now = d('2026-03-01T12:00:00Z');
  const rows: Array<[number, Date | null, boolean]> = [
    [1, null, false],
    [2, null, false],
    [3, null, true],
    [4, now, false],
    [5, d('2026-03-01T00:00:00Z'), false],
    [6, d('2026-02-28T12:00:00Z'), true],
    [9, d('2026-02-20T00:00:00Z'), true],
  ];
  for (const [failures, last, due] of rows) assert.equal(alertDue(failures, last, now), due, `${failures} failures, last alert ${last?.toISOString()}`);
});
