// A session's share of a turn of the event loop (read-turns.ts), counted with real turns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TURN_BYTES, TurnBudget } from '../../src/transport/inbound/read-turns.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('TurnBudget: 128 KiB a turn, counted afresh in the next turn, for each session on its own', async () => {
  assert.equal(TURN_BYTES, 128 * 1024);
  const a = new TurnBudget();
  const b = new TurnBudget();
  assert.equal(a.spend(64 * 1024), false);
  assert.equal(a.spend(64 * 1024 - 1), false);
  assert.equal(b.spend(64 * 1024), false, 'another session has its own share');
  assert.equal(a.spend(1), true, 'the share of this turn is spent');
  assert.equal(a.spend(1), true, 'and stays spent until the turn ends');
  await Promise.resolve();
  assert.equal(a.spend(1), true, 'a microtask is still the same turn');
  await nextTurn();
  assert.equal(a.spend(TURN_BYTES - 1), false, 'a new turn, a new share');
  assert.equal(b.spend(64 * 1024), false);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(a.spend(TURN_BYTES - 1), false, 'timers run in a later turn too');
  // One chunk larger than the share: read, then the session yields.
  await nextTurn();
  assert.equal(a.spend(2 * TURN_BYTES), true);
});
