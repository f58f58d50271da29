// Time-driven delivery: a delay notification after DelayNotificationTimeout,
// a non-delivery report after MessageExpirationTimeout, and connection reuse
// bounded by SmtpMaxMessagesPerConnection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeTcpPort } from '../support/interchange.js';
import { startRecordingSink, startTestServer, submitMessage, waitFor, type TestServer } from '../support/transport-harness.js';

const submit = (s: TestServer, id: string, to: string) => submitMessage(s.smtpPort, { messageId: id, to, body: 'body' });

test('next hop down: a delay notification after DelayNotificationTimeout, then an NDR at MessageExpirationTimeout with the last error', { timeout: 90_000 }, async () => {
  const sink = await startRecordingSink();
  const deadPort = await freeTcpPort();
  const s = await startTestServer();
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', MessageExpirationTimeout: '00:00:12', DelayNotificationTimeout: '00:00:03', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await s.api.ok('New-SendConnector', { Name: 'Dead', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: deadPort, DNSRoutingEnabled: false });
    await s.api.ok('New-SendConnector', { Name: 'Home', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    const t0 = Date.now();
    await submit(s, 'late@contoso.com', 'bob@fabrikam.com');
    const [m] = await s.api.ok('Get-Message', {});
    assert.ok(new Date(m.ExpirationTime).getTime() - new Date(m.DateReceived).getTime() === 12_000, 'ExpirationTime = DateReceived + MessageExpirationTimeout');

    const delay = await waitFor('the delay notification', async () => sink.messages.find((x) => /Subject: Delivery delayed:/.test(x.raw)), 20_000);
    assert.ok(Date.now() - t0 >= 3000);
    assert.equal(delay.from, '');
    assert.deepEqual(delay.to, ['alice@contoso.com']);
    assert.match(delay.raw, /Action: delayed\r\nStatus: 4\.4\.0/);

    const ndr = await waitFor('the NDR', async () => sink.messages.find((x) => /Subject: Undeliverable:/.test(x.raw)), 30_000);
    assert.ok(Date.now() - t0 >= 12_000);
    assert.match(ndr.raw, /Final-Recipient: rfc822;bob@fabrikam\.com\r\nAction: failed\r\nStatus: 5\.4\.7/);
    assert.match(ndr.raw, /550 4\.4\.7 QUEUE\.Expired; message expired\. Last error: 451 4\.4\.0 Primary target IP address responded with/);
    assert.equal((await s.api.ok('Get-Message', {})).length, 0, 'the expired message is gone');
    assert.equal(sink.messages.filter((x) => /Subject: Delivery delayed:/.test(x.raw)).length, 1, 'one delay notification');
  } finally {
    await s.close();
    await sink.stop();
  }
});

test('connection reuse: up to SmtpMaxMessagesPerConnection messages per session to the next hop', { timeout: 60_000 }, async () => {
  const sink = await startRecordingSink();
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SmtpMaxMessagesPerConnection: 3 });
    await s.transport.reload();
    await submit(s, 'warm@contoso.com', 'x@fabrikam.com');
    await waitFor('first', async () => sink.messages.length === 1);
    await s.api.ok('Suspend-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    for (let i = 0; i < 9; i++) await submit(s, `batch-${i}@contoso.com`, 'x@fabrikam.com');
    await s.api.ok('Resume-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    await waitFor('all ten', async () => sink.messages.length === 10);
    const perSession = new Map<string, number>();
    for (const m of sink.messages.slice(1)) perSession.set(m.sessionId, (perSession.get(m.sessionId) ?? 0) + 1);
    assert.ok([...perSession.values()].every((n) => n <= 3), `at most 3 per session: ${[...perSession.values()]}`);
    assert.ok([...perSession.values()].some((n) => n > 1), 'sessions are reused');
  } finally {
    await s.close();
    await sink.stop();
  }
});

test('a message deferred by the next hop waits for its retry without its body in memory, and is then sent from the spool byte for byte', { timeout: 60_000 }, async () => {
  const hop = await startRecordingSink(undefined, '127.0.0.1', { deferRecipients: 1 });
  const s = await startTestServer();
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', MessageRetryInterval: '00:00:01' });
    await s.api.ok('New-SendConnector', { Name: 'Later', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    // 300 KB of numbered lines: cached at receipt for the first attempt, dropped from the cache when the 451 made it wait.
    const body = Array.from({ length: 5000 }, (_, i) => `line ${String(i).padStart(5, '0')} ${'x'.repeat(48)}`).join('\r\n');
    await submitMessage(s.smtpPort, { messageId: 'waits@contoso.com', to: 'bob@fabrikam.com', body });
    const m = await waitFor('the delivery after the retry', async () => hop.messages[0], 20_000);
    assert.ok(m.raw.endsWith(`\r\n\r\n${body}\r\n`), 'the body arrives whole');
    assert.equal(hop.messages.length, 1);
  } finally {
    await s.close();
    await hop.stop();
  }
});
