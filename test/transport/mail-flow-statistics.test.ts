// Get-MailFlowStatistics against real servers: mail submitted over SMTP and
// delivered to a recording sink (and deferred by a next hop that answers 451)
// shows in the samples; the ring keeps no more than its capacity; -Server reads
// another server's samples through its admin API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPServer } from 'smtp-server';
import { AdminApi, freeTcpPort, tempDir } from '../support/interchange.js';
import { startRecordingSink, startTestServers, submitMessage, waitFor } from '../support/transport-harness.js';
import { rm } from 'node:fs/promises';

/** A next hop that answers 451 to every recipient: each delivery attempt is a deferral. */
async function startDeferringHop(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeTcpPort();
  const srv = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, cb) {
      const e = new Error('4.2.0 Try again later') as Error & { responseCode: number };
      e.responseCode = 451;
      cb(e);
    },
  });
  srv.on('error', () => undefined);
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  return { port, stop: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

const sum = (rows: Array<Record<string, any>>, p: string) => rows.reduce((t, r) => t + Number(r[p]), 0);

test('Get-MailFlowStatistics: five messages in, five sent, a deferral and its queue; the ring is bounded; -Server reads EX02 through its admin API', { timeout: 120_000 }, async () => {
  const sink = await startRecordingSink();
  const hop = await startDeferringHop();
  const dataDir = await tempDir('mail-flow-statistics');
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir, statistics: { intervalMs: 200 } }, { name: 'EX02', dataDir, statistics: { intervalMs: 100, capacity: 6 } });
  try {
    await ex01.api.ok('New-SendConnector', { Name: 'Sink', AddressSpaces: ['sink.test'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.api.ok('New-SendConnector', { Name: 'Deferring', AddressSpaces: ['defer.test'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.transport.reload();

    const before = await ex01.api.ok('Get-MailFlowStatistics', {});
    assert.equal(sum(before, 'MessagesReceived'), 0, 'nothing received before the test sends');
    for (let i = 1; i <= 5; i++) await submitMessage(ex01.smtpPort, { messageId: `stats-${i}@contoso.com`, to: `bob${i}@sink.test` });
    await waitFor('the five messages at the sink', async () => sink.messages.length >= 5, 30_000);

    const rows = await waitFor(
      'five received and five sent in the samples',
      async () => {
        const out = await ex01.api.ok('Get-MailFlowStatistics', { Hours: 1 });
        return sum(out, 'MessagesReceived') === 5 && sum(out, 'MessagesSent') === 5 ? out : undefined;
      },
      15_000,
    );
    assert.equal(sink.messages.length, 5);
    for (const r of rows) {
      assert.equal(r.Server, 'EX01');
      // The timer's 200 ms, or later when the event loop was busy with the mail.
      assert.ok(Number(r.IntervalSeconds) >= 0.15 && Number(r.IntervalSeconds) < 2, `interval of the 200 ms timer: ${r.IntervalSeconds}`);
      assert.equal(r.ReceivedPerMinute, Math.round(((r.MessagesReceived * 60) / r.IntervalSeconds) * 100) / 100, 'the rate is the count over the interval');
    }
    const stamps = rows.map((r) => Date.parse(r.Timestamp));
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), 'oldest first');
    assert.ok(rows.some((r) => r.MessagesReceived > 0 && r.ReceivedPerMinute > 0));

    // A message the next hop defers: counted as a deferral, and it waits in a delivery queue.
    await submitMessage(ex01.smtpPort, { messageId: 'stats-deferred@contoso.com', to: 'later@defer.test' });
    const deferred = await waitFor(
      'the deferral and the waiting message in the samples',
      async () => {
        const out = await ex01.api.ok('Get-MailFlowStatistics', {});
        return sum(out, 'MessagesDeferred') >= 1 && out.at(-1)!.QueueLength === 1 ? out : undefined;
      },
      15_000,
    );
    assert.equal(sum(deferred, 'MessagesReceived'), 6);
    assert.equal(sum(deferred, 'MessagesSent'), 5, 'the deferred message was not sent');
    assert.equal(sum(deferred, 'MessagesFailed'), 0);
    await waitFor('the oldest message ages', async () => (await ex01.api.ok('Get-MailFlowStatistics', {})).at(-1)!.OldestMessageAgeSeconds >= 1, 10_000);

    // EX02 keeps six samples, however long it runs; EX01 reads them through EX02's admin API.
    await new Promise((r) => setTimeout(r, 1_500));
    const remote = await ex01.api.ok('Get-MailFlowStatistics', { Server: 'EX02' });
    assert.equal(remote.length, 6, `the ring holds its capacity: ${remote.length}`);
    assert.ok(remote.every((r) => r.Server === 'EX02'));
    assert.ok(remote.every((r) => Number(r.IntervalSeconds) >= 0.05 && Number(r.IntervalSeconds) < 2), `EX02 samples on its 100 ms timer: ${remote.map((r) => r.IntervalSeconds)}`);
    assert.equal(sum(remote, 'MessagesReceived'), 0, "EX01's mail is not in EX02's samples");
    assert.ok(Date.now() - Date.parse(remote.at(-1)!.Timestamp) < 2_000, 'the newest sample is recent');
    const local = await ex02.api.ok('Get-MailFlowStatistics', {});
    assert.equal(local.length, 6);
    assert.ok(Date.parse(local[0].Timestamp) >= Date.parse(remote[0].Timestamp), 'the same ring, read later');

    // Read-only: a View-Only administrator may run it, here and forwarded; Recipient Management may not.
    const [viewer] = await ex01.api.ok('New-AdministratorCredential', { Name: 'viewer', RoleGroup: ['View-Only Organization Management'] });
    const viewOnly = new AdminApi(ex01.server.adminUrl, viewer.Token);
    assert.ok((await viewOnly.ok('Get-MailFlowStatistics', { Hours: 1 })).length > 0);
    assert.ok((await viewOnly.ok('Get-MailFlowStatistics', { Server: 'EX02' })).every((r) => r.Server === 'EX02'));
    const [recipients] = await ex01.api.ok('New-AdministratorCredential', { Name: 'recipients', RoleGroup: ['Recipient Management'] });
    const refused = await new AdminApi(ex01.server.adminUrl, recipients.Token).invoke('Get-MailFlowStatistics', {});
    assert.equal(refused.status, 403, JSON.stringify(refused.error));

    // -Hours is 1 to 24; a server that does not exist is named.
    for (const Hours of [0, 25]) {
      const r = await ex01.api.invoke('Get-MailFlowStatistics', { Hours });
      assert.equal(r.ok, false);
      assert.match(r.error!.message, /argument is (greater|less) than the (maximum|minimum) allowed range/);
    }
    const missing = await ex01.api.invoke('Get-MailFlowStatistics', { Server: 'EX09' });
    assert.equal(missing.error?.code, 'ICX_SERVER_NOT_FOUND');
  } finally {
    await ex02.close();
    await ex01.close();
    await hop.stop();
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
