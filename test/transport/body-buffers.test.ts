// The pool of buffers for bodies received whole (body-buffers.ts): what comes back is used again,
// and nothing is ever handed out twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyBuffers, bodyCapacity } from '../../src/transport/service/body-buffers.js';

test('bodyCapacity: four sizes per power of two, never more than a quarter over the body', () => {
  const table: Array<[number, number]> = [
    [0, 4096],
    [1, 4096],
    [4096, 4096],
    [4097, 5120],
    [5120, 5120],
    [102_400, 114_688],
    [131_072, 131_072],
    [131_073, 163_840],
    [1_048_576 + 300, 1_310_720],
  ];
  for (const [length, capacity] of table) assert.equal(bodyCapacity(length), capacity, `capacity for ${length}`);
  for (let n = 4097; n < 3_000_000; n += 7919) {
    const c = bodyCapacity(n);
    assert.ok(c >= n && c <= n * 1.25 + 1, `${n} -> ${c}`);
  }
});

test('BodyBuffers: a body given back serves the next body of its size class; a second give is ignored', () => {
  const pool = new BodyBuffers(1024 * 1024);
  const a = pool.take(100_000);
  assert.equal(a.length, 100_000);
  a.fill(0x61);
  pool.give(a);
  assert.equal(pool.kept, bodyCapacity(100_000));
  pool.give(a);
  assert.equal(pool.kept, bodyCapacity(100_000), 'the same buffer is not kept twice');
  const b = pool.take(99_000);
  assert.equal(b.buffer, a.buffer, 'same memory, used again');
  assert.equal(b.length, 99_000);
  assert.equal(pool.kept, 0);
  const c = pool.take(99_000);
  assert.notEqual(c.buffer, a.buffer, 'never handed out twice');
  const other = pool.take(10_000);
  assert.notEqual(other.buffer, a.buffer);
});

test('BodyBuffers: buffers it did not make, slices, and more than it may keep are left to the collector', () => {
  const pool = new BodyBuffers(300_000);
  pool.give(Buffer.alloc(100_000));
  pool.give(Buffer.allocUnsafe(5000));
  assert.equal(pool.kept, 0, 'foreign buffers are not kept');
  const a = pool.take(100_000);
  pool.give(a.subarray(10));
  assert.equal(pool.kept, 0, 'a slice is not the body');
  const bodies = [a, pool.take(100_000), pool.take(100_000)];
  for (const b of bodies) pool.give(b);
  assert.equal(pool.kept, 2 * bodyCapacity(100_000), 'at most maxKeptBytes of capacity');
  const big = pool.take(3 * 1024 * 1024);
  pool.give(big);
  assert.equal(pool.kept, 2 * bodyCapacity(100_000), 'bodies larger than any class are not pooled');
});

test('BodyBuffers.footprint: a pooled body counts its whole buffer, any other buffer its length', () => {
  const pool = new BodyBuffers();
  assert.equal(pool.footprint(pool.take(1000)), 4096);
  assert.equal(pool.footprint(pool.take(100_000)), bodyCapacity(100_000));
  assert.equal(pool.footprint(Buffer.from('a short DSN')), 11);
});
