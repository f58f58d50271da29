// The pure parts of the mail flow statistics, table-driven: the fixed ring,
// counts from counter deltas (a reset counter never gives a negative count),
// rates per minute, the sampling settings from the environment; and the sampler
// on a fake source, driven by hand (no timer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterDelta, countsBetween, DEFAULT_SAMPLE_CAPACITY, DEFAULT_SAMPLE_INTERVAL_MS, perMinute, SampleRing, samplingSettings } from '../../src/observability/mail-flow-statistics.js';
import { MailFlowSampler } from '../../src/observability/mail-flow-sampler.js';

test('SampleRing keeps the last `capacity` items, oldest first, and never grows past it', () => {
  const cases: Array<{ capacity: number; pushed: number; expected: number[] }> = [
    { capacity: 3, pushed: 0, expected: [] },
    { capacity: 3, pushed: 2, expected: [1, 2] },
    { capacity: 3, pushed: 3, expected: [1, 2, 3] },
    { capacity: 3, pushed: 4, expected: [2, 3, 4] },
    { capacity: 3, pushed: 10, expected: [8, 9, 10] },
    { capacity: 1, pushed: 5, expected: [5] },
    { capacity: 1440, pushed: 100_000, expected: Array.from({ length: 1440 }, (_, i) => 100_000 - 1440 + 1 + i) },
  ];
  for (const c of cases) {
    const ring = new SampleRing<number>(c.capacity);
    for (let i = 1; i <= c.pushed; i++) ring.push(i);
    assert.deepEqual(ring.toArray(), c.expected, `capacity ${c.capacity}, ${c.pushed} pushed`);
    assert.equal(ring.size, Math.min(c.capacity, c.pushed));
  }
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new SampleRing(bad), RangeError, String(bad));
});

test('counterDelta: growth is the count, a reset counter counts from zero, nonsense counts nothing', () => {
  const cases: Array<[previous: number, current: number, expected: number]> = [
    [0, 0, 0],
    [0, 5, 5],
    [5, 5, 0],
    [5, 12, 7],
    // Reset (a new process or registry): what it shows now was counted since.
    [12, 3, 3],
    [12, 0, 0],
    [Number.NaN, 4, 4],
    [4, Number.NaN, 0],
    [4, -1, 0],
    [0, Number.POSITIVE_INFINITY, 0],
  ];
  for (const [previous, current, expected] of cases) assert.equal(counterDelta(previous, current), expected, `${previous} → ${current}`);
  assert.deepEqual(countsBetween({ received: 10, sent: 8, deferred: 1, failed: 0 }, { received: 15, sent: 2, deferred: 1, failed: 3 }), { received: 5, sent: 2, deferred: 0, failed: 3 });
});

test('perMinute: a count over an interval as a rate per minute, two decimals', () => {
  const cases: Array<[count: number, intervalMs: number, expected: number]> = [
    [0, 60_000, 0],
    [12, 60_000, 12],
    [1, 30_000, 2],
    [1, 120_000, 0.5],
    [1, 180_000, 0.33],
    [5, 0, 0],
    [5, -10, 0],
    [5, Number.NaN, 0],
  ];
  for (const [count, intervalMs, expected] of cases) assert.equal(perMinute(count, intervalMs), expected, `${count} in ${intervalMs} ms`);
});

test('samplingSettings: a minute and 24 hours unless the environment names positive whole numbers', () => {
  const cases: Array<[env: NodeJS.ProcessEnv, expected: { intervalMs: number; capacity: number }]> = [
    [{}, { intervalMs: DEFAULT_SAMPLE_INTERVAL_MS, capacity: DEFAULT_SAMPLE_CAPACITY }],
    [{ INTERCHANGE_STATISTICS_INTERVAL_MS: '200' }, { intervalMs: 200, capacity: 1440 }],
    [{ INTERCHANGE_STATISTICS_INTERVAL_MS: '200', INTERCHANGE_STATISTICS_SAMPLES: '10' }, { intervalMs: 200, capacity: 10 }],
    [{ INTERCHANGE_STATISTICS_INTERVAL_MS: '0', INTERCHANGE_STATISTICS_SAMPLES: '-3' }, { intervalMs: 60_000, capacity: 1440 }],
    [{ INTERCHANGE_STATISTICS_INTERVAL_MS: 'soon', INTERCHANGE_STATISTICS_SAMPLES: '2.5' }, { intervalMs: 60_000, capacity: 1440 }],
  ];
  assert.equal(DEFAULT_SAMPLE_INTERVAL_MS * DEFAULT_SAMPLE_CAPACITY, 24 * 3_600_000);
  for (const [env, expected] of cases) assert.deepEqual(samplingSettings(env), expected, JSON.stringify(env));
});

test('MailFlowSampler: each sample holds the counts since the previous one and the queues at its end; a reset counter does not go negative', async () => {
  let now = 1_000_000;
  let counters = { received: 3, sent: 1, deferred: 0, failed: 0 };
  let queues = { queueLength: 0, oldestMessageAgeSeconds: 0 };
  const sampler = new MailFlowSampler({ source: { counters: async () => counters, queues: () => queues }, intervalMs: 60_000, capacity: 2, clock: () => new Date(now) });
  await sampler.start();
  sampler.stop();
  // Counted before start: part of the baseline, not of any sample.
  counters = { received: 8, sent: 4, deferred: 2, failed: 1 };
  queues = { queueLength: 3, oldestMessageAgeSeconds: 42 };
  now += 60_000;
  await sampler.sample();
  counters = { received: 2, sent: 0, deferred: 0, failed: 0 };
  now += 30_000;
  await sampler.sample();
  assert.deepEqual(sampler.samples(), [
    { at: 1_060_000, intervalMs: 60_000, received: 5, sent: 3, deferred: 2, failed: 1, queueLength: 3, oldestMessageAgeSeconds: 42 },
    { at: 1_090_000, intervalMs: 30_000, received: 2, sent: 0, deferred: 0, failed: 0, queueLength: 3, oldestMessageAgeSeconds: 42 },
  ]);
  now += 60_000;
  await sampler.sample();
  assert.equal(sampler.samples().length, 2, 'the ring holds two');
  assert.deepEqual(sampler.samples(1_090_000).map((s) => s.at), [1_090_000, 1_150_000]);
});
