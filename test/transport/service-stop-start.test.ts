// Stop-Service / Start-Service MSExchangeTransport with mail queued and the
// next hop down: nothing is lost, nothing is sent twice, other servers go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { freeTcpPort, tempDir } from '../support/interchange.js';
import { RawSmtp, startRecordingSink, startTestServer, startTestServers, submitMessage, waitFor, type TestServer } from '../support/transport-harness.js';

const submit = (s: TestServer, id: string, to = 'bob@fabrikam.com') => submitMessage(s.smtpPort, { messageId: id, to });

test('stop the transport with messages queued and the next hop down; start it; every message arrives exactly once, and the other server is unaffected', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('stop-start');
  const hopPort = await freeTcpPort();
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir });
  let sink: Awaited<ReturnType<typeof startRecordingSink>> | undefined;
  try {
    for (const server of ['EX01', 'EX02']) {
      await ex01.api.ok('Set-TransportService', { Identity: server, TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    }
    await ex01.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: hopPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01', 'EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();

    const ids = Array.from({ length: 12 }, (_, i) => `queued-${i}@contoso.com`);
    for (const id of ids) await submit(ex01, id);
    const q = await waitFor('EX01 queue in Retry with 12 messages', async () => {
      const qs = await ex01.api.ok('Get-Queue', {});
      return qs.find((x) => x.Status === 'Retry' && x.MessageCount === 12);
    });
    assert.match(q.LastError, /^451 4\.4\.0 Primary target IP address responded with: "421 4\.2\.1 Unable to connect\."/);
    assert.ok(q.RetryCount >= 1);

    await ex01.api.ok('Stop-Service', { Name: ['MSExchangeTransport'] });
    const [svc] = await ex01.api.ok('Get-Service', { Name: ['MSExchangeTransport'] });
    assert.equal(svc.Status, 'Stopped');
    const failed = await ex01.api.invoke('Get-Queue', { Server: 'EX01' });
    assert.equal(failed.error?.code, 'ICX_TRANSPORT_STOPPED');
    await assert.rejects(RawSmtp.connect(ex01.smtpPort), 'the Receive connector no longer listens');

    // The next hop comes back while EX01 is stopped: EX01 sends nothing, EX02 delivers its own mail.
    sink = await startRecordingSink(hopPort);
    await submit(ex02, 'via-ex02@contoso.com');
    await waitFor('EX02 delivery', async () => sink!.messages.some((m) => m.messageId === '<via-ex02@contoso.com>'));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(sink.messages.filter((m) => m.messageId?.startsWith('<queued-')).length, 0, 'a stopped transport delivers nothing');
    // EX02 sees EX01's queues only through EX01's service, which is stopped.
    const remote = await ex02.api.invoke('Get-Queue', { Server: 'EX01' });
    assert.equal(remote.error?.code, 'ICX_TRANSPORT_STOPPED');

    await ex01.api.ok('Start-Service', { Name: ['MSExchangeTransport'] });
    await waitFor('all 12 messages', async () => sink!.messages.filter((m) => m.messageId?.startsWith('<queued-')).length >= 12, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const got = sink.messages.filter((m) => m.messageId?.startsWith('<queued-')).map((m) => m.messageId);
    assert.deepEqual([...got].sort(), ids.map((i) => `<${i}>`).sort(), 'every message exactly once');
    const empty = await waitFor('an empty queue', async () => {
      const qs = await ex01.api.ok('Get-Queue', { Identity: 'EX01\\[127.0.0.1]' });
      return qs[0].MessageCount === 0 ? qs[0] : undefined;
    });
    assert.equal(empty.Status === 'Ready' || empty.Status === 'Active', true);
  } finally {
    await ex01.close();
    await ex02.close();
    await sink?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('Suspend-Queue holds delivery, Suspend-Message holds one message, Remove-Message -WithNDR bounces it to the sender', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  const sink = await startRecordingSink();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.api.ok('New-SendConnector', { Name: 'Back to Contoso', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    // A first message creates the queue.
    await submit(s, 'first@contoso.com');
    await waitFor('first delivery', async () => sink.messages.length === 1);
    await s.api.ok('Suspend-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    await submit(s, 'held-1@contoso.com');
    await submit(s, 'held-2@contoso.com');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(sink.messages.length, 1);
    const [q] = await s.api.ok('Get-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    assert.equal(q.Status, 'Suspended');
    assert.equal(q.MessageCount, 2);
    // Exchange names a delivery queue by its QueueInteger and shows the next hop in NextHopDomain; either finds it.
    assert.match(q.Identity, /^EX01\\\d+$/);
    assert.deepEqual([q.NextHopDomain, q.RiskLevel, q.OutboundIPPool], ['[127.0.0.1]', 'Normal', 0]);
    assert.equal((await s.api.ok('Get-Queue', { Identity: q.Identity }))[0].NextHopDomain, '[127.0.0.1]');
    const msgs = await s.api.ok('Get-Message', { Queue: 'EX01\\[127.0.0.1]' });
    const held1 = msgs.find((m) => m.InternetMessageId === '<held-1@contoso.com>')!;
    assert.equal(held1.Identity, `${q.Identity}\\${held1.Identity.split('\\').pop()}`, 'a message is <Server>\\<QueueInteger>\\<MessageInteger>');
    await s.api.ok('Suspend-Message', { Identity: held1.Identity });
    await s.api.ok('Resume-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    await waitFor('held-2 delivered', async () => sink.messages.some((m) => m.messageId === '<held-2@contoso.com>'));
    const [still] = await s.api.ok('Get-Message', { Identity: held1.Identity });
    assert.equal(still.Status, 'Suspended');
    await s.api.ok('Remove-Message', { Identity: held1.Identity, WithNDR: true });
    const ndr = await waitFor('the NDR', async () => sink.messages.find((m) => m.to.includes('alice@contoso.com')));
    assert.equal(ndr.from, '');
    assert.match(ndr.raw, /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(ndr.raw, /Final-Recipient: rfc822;bob@fabrikam\.com\r\nAction: failed\r\nStatus: 5\.7\.1/);
    assert.match(ndr.raw, /Subject: Undeliverable: held-1@contoso\.com/);
    assert.ok(!sink.messages.some((m) => m.messageId === '<held-1@contoso.com>'));
  } finally {
    await s.close();
    await sink.stop();
  }
});

test('Stop-Service: idle sessions get 421 at once, a session in a transaction may finish within the grace period, then gets 421; the receive log records both', { timeout: 60_000 }, async () => {
  const s = await startTestServer({ stopGraceMs: 1500 });
  try {
    await s.api.ok('New-SendConnector', { Name: 'Nowhere', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: 1, DNSRoutingEnabled: false });
    await s.transport.reload();
    const idle = await RawSmtp.connect(s.smtpPort);
    await idle.reply();
    await idle.command('EHLO idle.test');
    const busy = await RawSmtp.connect(s.smtpPort);
    await busy.reply();
    await busy.command('EHLO busy.test');
    assert.match((await busy.command('MAIL FROM:<a@contoso.com>'))!, /^250 /);
    const stopping = s.api.ok('Stop-Service', { Name: ['MSExchangeTransport'] });
    assert.match((await idle.reply())!, /^421 4\.3\.2 Service not available, closing transmission channel/);
    // The transaction in progress is allowed to complete...
    assert.match((await busy.command('RCPT TO:<b@fabrikam.com>'))!, /^250 /);
    assert.match((await busy.command('DATA'))!, /^354 /);
    busy.write('Subject: finished during stop\r\n\r\nx\r\n.\r\n');
    assert.match((await busy.reply())!, /^250 2\.6\.0 /);
    // ...and the session is closed at its next command, or after the grace period.
    const next = await busy.reply(5000).catch(() => undefined);
    assert.ok(next === undefined || /^421 /.test(next), String(next));
    await stopping;
    assert.equal(s.transport.status(), 'Stopped');
    await s.api.ok('Start-Service', { Name: ['MSExchangeTransport'] });
    const msgs = await s.api.ok('Get-Message', {});
    assert.deepEqual(msgs.map((m) => m.Subject), ['finished during stop'], 'the message accepted during the stop is kept');
    // The Default Frontend is a FrontendTransport connector: its rows are in the front end's folder, as in Exchange.
    const [svc] = await s.api.ok('Get-FrontendTransportService', { Identity: 'EX01' });
    const { readProtocolLogs } = await import('../../src/transport/protocol-log/index.js');
    const rows = [];
    for await (const r of readProtocolLogs(svc.ReceiveProtocolLogPath)) rows.push(r);
    assert.ok(rows.every((r) => r.kind === 'Receive' && r.connectorId === 'EX01\\Default Frontend EX01'));
    const idleSession = rows.filter((r) => rows.find((x) => x.data === 'EHLO idle.test')?.sessionId === r.sessionId);
    assert.deepEqual(
      idleSession.map((r) => [r.event, r.event === '*' || r.event === '-' ? r.context : r.data.split(' ')[0]]),
      [['+', ''], ['*', 'Set Session Permissions'], ['>', '220'], ['<', 'EHLO'], ['>', '250-ex01.contoso.com'.slice(0, 3)], ['>', '421'], ['-', 'Local']],
    );
  } finally {
    await s.close();
  }
});
