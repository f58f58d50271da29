// The delivery queue's own decisions, table-driven: Get-Queue's Status, which
// identities name a queue, when a queued message expires or earns a delay
// notification (§8), and how idle connections of a queue wait for mail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueReady, IDLE_CONNECTION_MS, newDeliveryQueue, nextReady, queueMatches, queueStatus, wakeAll } from '../../src/transport/delivery/delivery-queue.js';
import { expiredReply, expiryAction } from '../../src/transport/delivery/retry-policy.js';
import type { Route } from '../../src/transport/routing/route.js';

const route = { nextHopDomain: 'Contoso.com' } as Route;

test('queue Status: Suspended over Retry over Active over Ready', () => {
  const rows: Array<[boolean, boolean, number, string]> = [
    [false, false, 0, 'Ready'],
    [false, false, 3, 'Active'],
    [false, true, 0, 'Retry'],
    [false, true, 2, 'Retry'],
    [true, true, 2, 'Suspended'],
    [true, false, 0, 'Suspended'],
  ];
  for (const [suspended, inRetry, connections, status] of rows) assert.equal(queueStatus({ suspended, inRetry, connections }), status, JSON.stringify({ suspended, inRetry, connections }));
});

test('a queue is named by its identity, its NextHopDomain, or server\\NextHopDomain, in any case', () => {
  const q = { identity: 'EX01\\3', route };
  const rows: Array<[string, boolean]> = [
    ['EX01\\3', true],
    ['ex01\\3', true],
    ['contoso.com', true],
    ['EX01\\CONTOSO.COM', true],
    ['EX02\\contoso.com', false],
    ['EX01\\4', false],
    ['3', false],
    ['fabrikam.com', false],
  ];
  for (const [identity, matches] of rows) assert.equal(queueMatches(q, identity, 'EX01'), matches, identity);
});

test('expiry: a message fails past its expiry, earns one delay notification after DelayNotificationTimeout, and poison mail waits', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const h = 3_600_000;
  const at = (hours: number) => new Date(t0.getTime() + hours * h);
  const m = { receivedAt: t0, expiresAt: at(48), from: 'a@contoso.com', sourceConnector: 'Default EX01' };
  const rows: Array<[string, Parameters<typeof expiryAction>[0], Date, boolean, string]> = [
    ['fresh', m, at(1), false, 'wait'],
    ['at the delay timeout', m, at(4), false, 'notify-delay'],
    ['delay already notified', m, at(5), true, 'wait'],
    ['at its expiry', m, at(48), true, 'expire'],
    ['expired, never notified', m, at(49), false, 'expire'],
    ['poison, expired', { ...m, poison: true }, at(49), false, 'wait'],
    ['a report is not reported on', { ...m, sourceConnector: 'DSN' }, at(5), false, 'wait'],
    ['the null sender gets no notification', { ...m, from: '' }, at(5), false, 'wait'],
    ['the null sender still expires', { ...m, from: '' }, at(48), false, 'expire'],
  ];
  for (const [name, msg, now, notified, action] of rows) assert.equal(expiryAction(msg, now, 4 * h, notified), action, name);
  assert.equal(expiryAction(m, at(47), 0, false), 'wait', 'DelayNotificationTimeout 0: no notifications');
  assert.equal(expiredReply(undefined), '550 4.4.7 QUEUE.Expired; message expired');
  assert.equal(expiredReply('451 4.4.0 DNS query failed'), '550 4.4.7 QUEUE.Expired; message expired. Last error: 451 4.4.0 DNS query failed');
});

test('idle connections: the next ready message wakes the longest-waiting one; a stop wakes all; idle ones give up', async () => {
  const q = newDeliveryQueue('k', route, 'EX01\\1');
  enqueueReady(q, 1);
  enqueueReady(q, 2);
  enqueueReady(q, 0, true);
  assert.deepEqual(q.ready, [0, 1, 2], 'a message put back goes to the front');
  q.ready.length = 0;

  let stopped = false;
  const first = nextReady(q, () => stopped);
  const second = nextReady(q, () => stopped);
  assert.equal(q.waiters.length, 2);
  enqueueReady(q, 7);
  assert.equal(await first, 7, 'the first waiter takes the first message');
  assert.equal(q.waiters.length, 1);
  stopped = true;
  wakeAll(q);
  assert.equal(await second, undefined, 'woken by a stop, it finds no message and ends');
  assert.equal(q.waiters.length, 0);

  stopped = false;
  const started = Date.now();
  assert.equal(await nextReady(q, () => stopped), undefined);
  assert.ok(Date.now() - started >= IDLE_CONNECTION_MS - 5, 'an idle connection waits IDLE_CONNECTION_MS before it ends');
  assert.equal(q.waiters.length, 0, 'and leaves no waiter behind');

  q.suspended = true;
  enqueueReady(q, 9);
  assert.equal(await nextReady(q, () => false), 9, 'what is already ready still goes out');
  assert.equal(await nextReady(q, () => false), undefined, 'a suspended queue hands out nothing more and does not wait');
});
