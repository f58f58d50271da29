// The serving process's heap growth: a fixed headroom turned into V8's growing percent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { heapGrowingPercent, installHeapGrowthPolicy, MAX_GROWING_PERCENT, MIN_GROWING_PERCENT } from '../../src/server/heap-growth.js';

const MiB = 1024 * 1024;

test('the percent: 64 MiB of headroom, at least 30 % and at most 200 %', () => {
  const table: Array<[liveMiB: number, percent: number]> = [
    [0, MAX_GROWING_PERCENT],
    [10, 200],
    [30, 200],
    [32, 200],
    [40, 160],
    [64, 100],
    [128, 50],
    [200, 32],
    [213, 30],
    [1024, 30],
    [8192, MIN_GROWING_PERCENT],
  ];
  for (const [live, percent] of table) assert.equal(heapGrowingPercent(live * MiB), percent, `${live} MiB live`);
});

test('installed: starts at the maximum and follows the live size after each full collection', async () => {
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  const policy = installHeapGrowthPolicy();
  try {
    assert.equal(policy.percent, MAX_GROWING_PERCENT);
    // 120 MiB of live objects make the heap large enough for a smaller percent.
    const ballast = Array.from({ length: 120 }, () => Array.from({ length: MiB / 64 }, (_, i) => ({ i })));
    collect();
    await new Promise((r) => setTimeout(r, 100));
    const withBallast = policy.percent;
    assert.ok(withBallast < 100, `120 MiB live: ${withBallast} %`);
    assert.equal(withBallast, heapGrowingPercent(v8.getHeapStatistics().used_heap_size));
    ballast.length = 0;
    collect();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(policy.percent > withBallast, `after the ballast went: ${policy.percent} %`);
  } finally {
    policy.stop();
  }
});
