import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from '../../src/security/bounded-map.js';

test('BoundedMap: past its limit the entry set longest ago goes; setting a key again makes it the newest', () => {
  const m = new BoundedMap<string, number>(3);
  for (let i = 0; i < 10_000; i++) m.set(`k${i}`, i);
  assert.equal(m.size, 3, 'ten thousand keys, three kept');
  assert.deepEqual(['k9996', 'k9997', 'k9998', 'k9999'].map((k) => m.get(k)), [undefined, 9997, 9998, 9999]);
  m.set('k9997', -1);
  m.set('new', 0);
  assert.deepEqual(['k9997', 'k9998', 'k9999', 'new'].map((k) => m.get(k)), [-1, undefined, 9999, 0]);
  assert.equal(m.delete('new'), true);
  assert.equal(m.size, 2);
  assert.throws(() => new BoundedMap(0), /at least one entry, not 0/);
});
