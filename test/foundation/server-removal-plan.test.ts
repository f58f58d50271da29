import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultSendConnector } from '../../src/connectors/send-connector-defaults.js';
import type { ServerHeartbeatRecord } from '../../src/directory/records.js';
import type { InterchangeError } from '../../src/errors/interchange-error.js';
import { planServerRemoval } from '../../src/organization/server-removal.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const connector = (name: string, sources: string[]) => ({ ...defaultSendConnector({ name, sourceServer: sources[0], now }), sourceTransportServers: sources });
const beat = (state: 'Running' | 'Stopped', agoMs: number): ServerHeartbeatRecord => ({
  serverName: 'EX02', productVersion: '1', lastSeen: new Date(now.getTime() - agoMs), intervalMs: 15_000, state, startedAt: now, host: 'host2', pid: 7, listeners: [],
});

test('a server may be removed only when it is not the connected one, not seen running, and no Send connector depends on it alone', () => {
  const cases: Array<[string, Partial<Parameters<typeof planServerRemoval>[0]>, string | string[][]]> = [
    ['the connected server', { serverName: 'ex01' }, 'ICX_SERVER_RUNNING'],
    ['seen running a moment ago', { heartbeat: beat('Running', 1_000) }, 'ICX_SERVER_RUNNING'],
    ['silent past three intervals (killed)', { heartbeat: beat('Running', 60_000) }, []],
    ['stopped cleanly just now', { heartbeat: beat('Stopped', 0) }, []],
    ['never ran', { heartbeat: undefined }, []],
    ['only source server of a connector (any case)', { sendConnectors: [connector('A', ['ex02'])] }, 'ICX_SERVER_ONLY_SOURCE'],
    ['one of two source servers', { sendConnectors: [connector('A', ['EX01', 'EX02']), connector('B', ['EX01'])] }, [['A', 'EX01']]],
  ];
  for (const [what, over, expected] of cases) {
    const input = { serverName: 'EX02', localServer: 'EX01', heartbeat: undefined, sendConnectors: [], now, ...over };
    if (typeof expected === 'string') {
      assert.throws(() => planServerRemoval(input), (e: InterchangeError) => e.code === expected, what);
    } else {
      assert.deepEqual(planServerRemoval(input).sendConnectors.map((c) => [c.name, ...c.sourceTransportServers]), expected, what);
    }
  }
});
