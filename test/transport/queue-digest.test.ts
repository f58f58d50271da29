// Get-QueueDigest: the queues of several servers at once, grouped. The
// grouping is pure and table-tested; the cmdlet is shown on two real servers,
// one of which stops its transport half way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { digestQueues } from '../../src/cmdlets/catalog/queue-digest.js';
import { freeTcpPort, tempDir } from '../support/interchange.js';
import { startTestServers, submitMessage, waitFor } from '../support/transport-harness.js';

const q = (identity: string, extra: Record<string, unknown>) => ({ Identity: identity, Server: identity.split('\\')[0], DeliveryType: 'SmartHostConnectorDelivery', NextHopCategory: 'External', Status: 'Retry', DeferredMessageCount: 0, LockedMessageCount: 0, IncomingRate: 0, OutgoingRate: 0, ...extra });

const queues = [
  q('EX01\\[10.0.0.1]', { NextHopDomain: '[10.0.0.1]', MessageCount: 12, DeferredMessageCount: 12, LastError: '451 4.4.0 down', IncomingRate: 1.5 }),
  q('EX02\\[10.0.0.1]', { NextHopDomain: '[10.0.0.1]', MessageCount: 30, LastError: '451 4.4.0 down', OutgoingRate: 0.25 }),
  q('EX01\\fabrikam.com', { NextHopDomain: 'fabrikam.com', DeliveryType: 'DnsConnectorDelivery', MessageCount: 9, Status: 'Ready' }),
  q('EX02\\tailspin.com', { NextHopDomain: 'tailspin.com', DeliveryType: 'DnsConnectorDelivery', MessageCount: 10, Status: 'Active', LastError: null }),
  q('EX01\\Submission', { NextHopDomain: 'Submission', MessageCount: 50 }),
  q('EX01\\Poison', { NextHopDomain: 'Poison', MessageCount: 50 }),
  q('EX02\\Unreachable', { NextHopDomain: 'Unreachable', DeliveryType: 'Unreachable', MessageCount: 11, LastError: '550 5.4.4 no route' }),
];

test('digestQueues: queues under 10 messages, Submission and Poison are left out; groups are summed, fullest first', () => {
  const cases: Array<[Parameters<typeof digestQueues>[1], Array<[string, number]>]> = [
    ['NextHopDomain', [['[10.0.0.1]', 42], ['Unreachable', 11], ['tailspin.com', 10]]],
    ['ServerName', [['EX02', 51], ['EX01', 12]]],
    ['Status', [['Retry', 53], ['Active', 10]]],
    ['LastError', [['451 4.4.0 down', 42], ['550 5.4.4 no route', 11], ['', 10]]],
    ['DeliveryType', [['SmartHostConnectorDelivery', 42], ['Unreachable', 11], ['DnsConnectorDelivery', 10]]],
    ['NextHopCategory', [['External', 63]]],
    ['RiskLevel', [['Normal', 63]]],
  ];
  for (const [by, expected] of cases) {
    assert.deepEqual(digestQueues(queues, by, 'None').map((r) => [r.GroupByValue, r.MessageCount]), expected, by);
  }
  const [hop] = digestQueues(queues, 'NextHopDomain', 'Basic');
  assert.deepEqual(hop.Details, ['EX01\\[10.0.0.1]', 'EX02\\[10.0.0.1]']);
  assert.deepEqual([hop.DeferredMessageCount, hop.IncomingRate, hop.OutgoingRate, hop.Velocity], [12, 1.5, 0.25, -1.25]);
  assert.deepEqual(digestQueues(queues, 'NextHopDomain', 'Verbose')[0].Details, [
    'EX01\\[10.0.0.1]; Status=Retry; MessageCount=12; DeliveryType=SmartHostConnectorDelivery; LastError=451 4.4.0 down',
    'EX02\\[10.0.0.1]; Status=Retry; MessageCount=30; DeliveryType=SmartHostConnectorDelivery; LastError=451 4.4.0 down',
  ]);
  assert.deepEqual(digestQueues(queues, 'NextHopDomain', 'Basic', 1).map((r) => r.GroupByValue), ['[10.0.0.1]', 'Unreachable', 'tailspin.com', 'fabrikam.com']);
});

test('Get-QueueDigest -Forest and -Server over two servers: one row per next hop across them; a server whose transport is stopped is named in a warning', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('queue-digest');
  const deadPort = await freeTcpPort();
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir });
  try {
    for (const server of ['EX01', 'EX02']) await ex01.api.ok('Set-TransportService', { Identity: server, TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await ex01.api.ok('New-SendConnector', { Name: 'Down', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: deadPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01', 'EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();
    for (let i = 0; i < 10; i++) await submitMessage(ex01.smtpPort, { messageId: `digest-a${i}@contoso.com`, to: 'bob@fabrikam.com' });
    for (let i = 0; i < 12; i++) await submitMessage(ex02.smtpPort, { messageId: `digest-b${i}@contoso.com`, to: 'bob@fabrikam.com' });
    // Under the threshold: 3 messages for another next hop are not in the digest.
    await ex01.api.ok('New-SendConnector', { Name: 'Also down', AddressSpaces: ['tailspin.com'], SmartHosts: ['127.0.0.2'], Port: deadPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.transport.reload();
    for (let i = 0; i < 3; i++) await submitMessage(ex01.smtpPort, { messageId: `digest-c${i}@contoso.com`, to: 'kim@tailspin.com' });

    const rows = await waitFor('22 messages in Retry across both servers', async () => {
      const r = await ex01.api.ok('Get-QueueDigest', { Forest: true });
      return r.length === 1 && r[0].MessageCount === 22 && r[0].DeferredMessageCount === 22 ? r : undefined;
    });
    assert.equal(rows[0].GroupByValue, '[127.0.0.1]');
    // Details name the queues by their QueueInteger, as Exchange does.
    assert.deepEqual([...rows[0].Details].map((d: string) => d.replace(/\\\d+$/, '\\<n>')).sort(), ['EX01\\<n>', 'EX02\\<n>']);

    const byServer = await ex02.api.ok('Get-QueueDigest', { Server: ['EX01', 'ex02.contoso.com'], GroupBy: 'ServerName', DetailsLevel: 'None' });
    assert.deepEqual(byServer.map((r) => [r.GroupByValue, r.MessageCount]), [['EX02', 12], ['EX01', 10]]);
    assert.equal((await ex01.api.ok('Get-QueueDigest', { Server: ['EX01'], Filter: "Status -eq 'Active'" })).length, 0);
    const lastError = await ex01.api.ok('Get-QueueDigest', { Forest: true, GroupBy: 'LastError' });
    assert.equal(lastError.length, 1);
    assert.match(lastError[0].GroupByValue, /127\.0\.0\.1/);

    const bad = await ex01.api.invoke('Get-QueueDigest', { Server: ['EX09'] });
    assert.equal(bad.ok, false);
    assert.match(bad.error!.message, /EX09/);

    await ex02.api.ok('Stop-Service', { Name: ['MSExchangeTransport'] });
    const partial = await ex01.api.invoke('Get-QueueDigest', { Forest: true, GroupBy: 'ServerName' });
    assert.equal(partial.ok, true);
    assert.deepEqual(partial.output.map((r) => [r.GroupByValue, r.MessageCount]), [['EX01', 10]]);
    assert.equal(partial.warnings?.length, 1);
    assert.match(partial.warnings![0], /^The queues of server EX02 are not in the digest: .*EX02/);
  } finally {
    await ex01.close();
    await ex02.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
