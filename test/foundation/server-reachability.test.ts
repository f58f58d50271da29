import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverReachability } from '../../src/organization/server-reachability.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

test('a server is Reachable while its heartbeat is within three of its own intervals, then Unreachable; Stopped and NeverSeen say why not', () => {
  const cases: Array<[string, Parameters<typeof serverReachability>[0], string]> = [
    ['no heartbeat ever', undefined, 'NeverSeen'],
    ['just now', { state: 'Running', lastSeen: now, intervalMs: 15_000 }, 'Reachable'],
    ['two intervals missed', { state: 'Running', lastSeen: ago(30_000), intervalMs: 15_000 }, 'Reachable'],
    ['exactly three intervals', { state: 'Running', lastSeen: ago(45_000), intervalMs: 15_000 }, 'Reachable'],
    ['just over three intervals', { state: 'Running', lastSeen: ago(45_001), intervalMs: 15_000 }, 'Unreachable'],
    ['judged by the writer\'s own interval', { state: 'Running', lastSeen: ago(45_001), intervalMs: 60_000 }, 'Reachable'],
    ['a short interval goes stale sooner', { state: 'Running', lastSeen: ago(2_000), intervalMs: 500 }, 'Unreachable'],
    ['a clock ahead of ours', { state: 'Running', lastSeen: new Date(now.getTime() + 5_000), intervalMs: 15_000 }, 'Reachable'],
    ['stopped cleanly a moment ago', { state: 'Stopped', lastSeen: now, intervalMs: 15_000 }, 'Stopped'],
    ['stopped cleanly long ago', { state: 'Stopped', lastSeen: ago(86_400_000), intervalMs: 15_000 }, 'Stopped'],
  ];
  for (const [what, heartbeat, expected] of cases) assert.equal(serverReachability(heartbeat, now), expected, what);
});
