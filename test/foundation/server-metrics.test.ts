// The metrics registry of a server, in process: servers kept apart, the directory's availability as DirectoryHealth
// sees it, per-connector counters resolved once, and the outbound failure reasons (a pure table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectoryHealth } from '../../src/directory/directory-health.js';
import { ServerMetrics } from '../../src/observability/server-metrics.js';
import { classifySessionFailure } from '../../src/transport/metrics/failure-reason.js';
import { CERTIFICATE_NOT_FOUND } from '../../src/transport/outbound/smtp-client.js';

const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(series + ' '));

test('two servers in one process keep their metrics apart, each series labelled with its server', async () => {
  const ex01 = new ServerMetrics({ serverName: 'EX01' });
  const ex02 = new ServerMetrics({ serverName: 'EX02' });
  ex01.receiveConnector('Default Frontend EX01').messageReceived();
  ex01.receiveConnector('Default Frontend EX01').messageReceived();
  ex02.sendConnector('Outbound').sent(0.3);
  const one = await ex01.render();
  const two = await ex02.render();
  assert.equal(line(one, 'interchange_messages_received_total{connector="Default Frontend EX01",server="EX01"}'), 'interchange_messages_received_total{connector="Default Frontend EX01",server="EX01"} 2');
  assert.doesNotMatch(one, /server="EX02"/);
  assert.doesNotMatch(two, /server="EX01"/);
  assert.doesNotMatch(two, /interchange_messages_received_total\{/);
  assert.equal(line(two, 'interchange_messages_sent_total{connector="Outbound",server="EX02"}'), 'interchange_messages_sent_total{connector="Outbound",server="EX02"} 1');
  assert.equal(line(two, 'interchange_delivery_latency_seconds_bucket{le="0.5",server="EX02",connector="Outbound"}'), 'interchange_delivery_latency_seconds_bucket{le="0.5",server="EX02",connector="Outbound"} 1');
  // Without a transport there are no queue or certificate series, and the process says so.
  assert.match(one, /^interchange_transport_running\{server="EX01"\} 0$/m);
  assert.doesNotMatch(one, /^interchange_queue_messages\{/m);
});

test('interchange_directory_available follows DirectoryHealth; every outage is counted once', async () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const health = new DirectoryHealth('test directory', undefined, () => now);
  const metrics = new ServerMetrics({ serverName: 'EX01', directoryHealth: health });
  const read = async () => {
    const text = await metrics.render();
    return [line(text, 'interchange_directory_available{server="EX01"}')?.split(' ')[1], line(text, 'interchange_directory_outages_total{server="EX01"}')?.split(' ')[1]];
  };
  assert.deepEqual(await read(), ['1', '0']);
  health.failed('connection refused');
  health.failed('connection refused');
  assert.deepEqual(await read(), ['0', '1']);
  now = new Date(now.getTime() + 30_000);
  health.answered();
  assert.deepEqual(await read(), ['1', '1']);
  health.failed('timeout');
  assert.deepEqual(await read(), ['0', '2']);
});

test('a connector resolves its child counters once: the hot path is one increment', () => {
  const metrics = new ServerMetrics({ serverName: 'EX01' });
  const a = metrics.sendConnector('Outbound');
  assert.equal(metrics.sendConnector('Outbound'), a);
  assert.equal(metrics.receiveConnector('Default Frontend EX01'), metrics.receiveConnector('Default Frontend EX01'));
  // Generous on a shared machine; a per-call label lookup with string building costs several times this.
  const started = performance.now();
  for (let i = 0; i < 1_000_000; i++) metrics.sendConnector('Outbound').deferred();
  const ms = performance.now() - started;
  assert.ok(ms < 1500, `1,000,000 increments took ${ms.toFixed(0)} ms`);
});

test('outbound session failures are classified by their reply', () => {
  const table: Array<[string, string, boolean]> = [
    [CERTIFICATE_NOT_FOUND, 'certificate', true],
    ['454 4.7.5 The remote certificate failed validation for Send connector Out (TlsAuthLevel CertificateValidation): SELF_SIGNED', 'certificate', true],
    ['451 4.4.317 TLS negotiation with mx.fabrikam.com failed: wrong version number', 'tls', true],
    ['451 4.7.4 mx.fabrikam.com did not offer STARTTLS, and the Send connector Out requires TLS', 'tls', true],
    ['451 4.4.0 Primary target IP address responded with: "535 5.7.8 no." ... (Outbound Authentication failed with LogonDenied)', 'auth', false],
    ['451 4.4.1 Connection to mx (127.0.0.1:25) timed out', 'timeout', false],
    ['451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect." Attempted failover', 'connect', false],
    ['451 4.4.0 The remote server closed the connection', 'closed', false],
    ['554 5.7.1 go away', 'protocol', false],
  ];
  for (const [reply, reason, tls] of table) assert.deepEqual(classifySessionFailure(reply), { reason, tls }, reply);
});
