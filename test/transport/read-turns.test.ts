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
  // A turn ends at the check phase after the reads that spent in it. Reads come in the poll phase, which that
  // check phase follows; this test spends from a check phase, so its turn ends in the next check phase, and a
  // timer due before it (a host that stalls 5 ms) still belongs to this turn. The timer is set once it has ended.
  await new Promise((resolve) => setImmediate(() => setTimeout(resolve, 5)));
  assert.equal(a.spend(TURN_BYTES - 1), false, 'timers run in a later turn too');
  // One chunk larger than the share: read, then the session yields.
  await nextTurn();
  assert.equal(a.spend(2 * TURN_BYTES), true);
});
