// The Poison queue (reference §8): a message the transport was processing when
// it crashed PoisonThreshold times is held in <Server>\Poison until an
// administrator releases or removes it. Runs the built server (`npm run build`
// first) as a real process, killed with SIGKILL while it delivers a message to
// a next hop that takes the DATA and never answers it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { afterCrash } from '../../src/transport/delivery/poison-detection.js';
import { fromMetadataDoc, toMetadataDoc } from '../../src/transport/queue/metadata.js';
import { AdminApi, freeTcpPort, startServerProcess, tempDir, type ServerProcess } from '../support/interchange.js';
import { allowAnonymousRelay, startRecordingSink, submitMessage, waitFor, waitForPort } from '../support/transport-harness.js';

test('afterCrash: the count rises by one; poison at the threshold, never when detection is off', () => {
  const cases: Array<[number | undefined, number, boolean, { crashCount: number; poison: boolean }]> = [
    [undefined, 2, true, { crashCount: 1, poison: false }],
    [1, 2, true, { crashCount: 2, poison: true }],
    [0, 1, true, { crashCount: 1, poison: true }],
    [9, 10, true, { crashCount: 10, poison: true }],
    [5, 2, false, { crashCount: 6, poison: false }],
  ];
  for (const [count, threshold, enabled, expected] of cases) assert.deepEqual(afterCrash(count, { threshold, enabled }), expected, `${count} crashes, threshold ${threshold}, enabled ${enabled}`);
});

test('crash count and poison survive in the metadata document; documents written before them read as 0 / not poison', () => {
  const doc = {
    v: 1, id: 7, from: 'a@contoso.com', recipients: ['b@fabrikam.com'], pendingRecipients: ['b@fabrikam.com'], deliveredRecipients: [], failedRecipients: [],
    size: 10, receivedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-03T00:00:00.000Z', status: 'Ready', attempts: 0,
  };
  const old = fromMetadataDoc(doc);
  assert.equal(old.crashCount ?? 0, 0);
  assert.equal(old.poison ?? false, false);
  // Nothing written for a message that never crashed: the documents of most messages stay as they were.
  assert.equal(JSON.stringify(toMetadataDoc(old)).includes('crashCount'), false);
  const poisoned = fromMetadataDoc(toMetadataDoc({ ...old, crashCount: 2, poison: true, status: 'Suspended' }));
  assert.equal(poisoned.crashCount, 2);
  assert.equal(poisoned.poison, true);
  assert.equal(poisoned.status, 'Suspended');
  const released = fromMetadataDoc(toMetadataDoc({ ...poisoned, crashCount: 0, poison: false, status: 'Ready' }));
  assert.equal(released.crashCount ?? 0, 0);
  assert.equal(released.poison ?? false, false);
});

/**
 * A next hop speaking just enough SMTP. While `hang` is set it accepts the
 * envelope and the message data and then never answers the end of DATA: the
 * sender stays in the middle of processing the message. Otherwise it accepts.
 */
async function startStallingHop(): Promise<{ port: number; hang: boolean; dataReceived: number; delivered: string[]; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const hop = {
    port: 0,
    hang: true,
    /** Messages whose data arrived in full (answered or not). */
    dataReceived: 0,
    /** Message-IDs of messages answered with 250. */
    delivered: [] as string[],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('latin1');
    let buf = '';
    let inData = false;
    socket.write('220 stall.test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const data = buf.slice(0, end);
          buf = buf.slice(end + 5);
          inData = false;
          hop.dataReceived++;
          if (hop.hang) continue;
          hop.delivered.push(/^Message-ID:\s*(\S+)/im.exec(data)?.[1] ?? '');
          socket.write('250 2.0.0 Queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 stall.test\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 Go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 Bye\r\n');
          return;
        } else socket.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  hop.port = (srv.address() as net.AddressInfo).port;
  return hop;
}

const submit = (port: number, to: string, messageId: string) => submitMessage(port, { messageId, to, from: 'sender@contoso.com', subject: 'poison test', body: 'Hello.' });

const ENV = { INTERCHANGE_CONFIG_POLL_MS: '100', INTERCHANGE_STOP_GRACE_MS: '500' };

async function start(dataDir: string, smtpPort: number): Promise<{ proc: ServerProcess; api: AdminApi }> {
  const proc = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort, env: ENV });
  await waitForPort(smtpPort);
  const api = new AdminApi(proc.url, proc.token);
  await allowAnonymousRelay(api, 'EX01\\Default Frontend EX01', smtpPort);
  return { proc, api };
}

/** The process dies while the stalling hop holds the message's DATA unanswered. */
async function killWhileProcessing(proc: ServerProcess, hop: { dataReceived: number }, expectedData: number): Promise<void> {
  await waitFor(`the message's data at the stalling hop (${expectedData})`, async () => hop.dataReceived >= expectedData, 20_000);
  proc.child.kill('SIGKILL');
  await proc.stop();
}

test('a message the service crashes on twice goes to EX01\\Poison; other mail flows; Resume-Message releases it and it arrives once', { timeout: 180_000 }, async () => {
  const dataDir = await tempDir('poison');
  const hop = await startStallingHop();
  const sink = await startRecordingSink();
  const smtpPort = await freeTcpPort();
  let { proc, api } = await start(dataDir, smtpPort);
  try {
    const [settings] = await api.ok('Get-TransportService', { Identity: 'EX01' });
    assert.equal(settings.PoisonThreshold, 2);
    assert.equal(settings.PoisonMessageDetectionEnabled, true);
    await api.ok('New-SendConnector', { Name: 'Stall', AddressSpaces: ['stall.test'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false });
    await api.ok('New-SendConnector', { Name: 'Sink', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await new Promise((r) => setTimeout(r, 400));

    await submit(smtpPort, 'someone@stall.test', 'poison-1@contoso.com');
    await killWhileProcessing(proc, hop, 1);

    // First restart: one crash counted, not yet poison; delivery is tried again.
    ({ proc, api } = await start(dataDir, smtpPort));
    assert.match(proc.output(), /"crashCount":1[,}].*it is retried|it is retried.*"crashCount":1[,}]/);
    assert.ok(!(await api.ok('Get-Queue')).some((q) => q.Identity === 'EX01\\Poison'), 'no Poison queue after one crash');
    assert.deepEqual(await api.ok('Get-Message', { Queue: 'EX01\\Poison' }), []);
    await killWhileProcessing(proc, hop, 2);

    // Second restart: PoisonThreshold (2) reached.
    ({ proc, api } = await start(dataDir, smtpPort));
    assert.match(proc.output(), /Poison queue/);
    assert.match(proc.output(), /"internetMessageId":"<poison-1@contoso.com>"/);
    const queues = await api.ok('Get-Queue');
    const poisonQueue = queues.find((q) => q.Identity === 'EX01\\Poison');
    assert.ok(poisonQueue, `the Poison queue is shown: ${JSON.stringify(queues.map((q) => q.Identity))}`);
    assert.equal(poisonQueue.MessageCount, 1);
    assert.equal(poisonQueue.DeliveryType, 'Undefined');
    assert.equal(poisonQueue.NextHopDomain, 'Poison Message');
    assert.equal(poisonQueue.NextHopCategory, 'Internal');
    assert.deepEqual(
      (await api.ok('Get-Queue', { Filter: "MessageCount -gt 0 -and NextHopDomain -eq 'Poison Message'" })).map((q) => q.Identity),
      ['EX01\\Poison'],
    );
    const [poisoned, ...more] = await api.ok('Get-Message', { Queue: 'EX01\\Poison' });
    assert.equal(more.length, 0);
    assert.match(String(poisoned.Identity), /^EX01\\Poison\\\d+$/);
    assert.equal(poisoned.Queue, 'EX01\\Poison');
    assert.equal(poisoned.Status, 'Suspended');
    assert.equal(poisoned.InternetMessageId, '<poison-1@contoso.com>');
    // Not in Submission, not in the delivery queue of its next hop.
    assert.deepEqual(await api.ok('Get-Message', { Queue: 'EX01\\Submission' }), []);
    assert.equal(queues.find((q) => q.Identity === 'EX01\\Submission')?.MessageCount, 0);

    // Nothing is tried: the stalling hop sees no new data; other mail flows.
    await submit(smtpPort, 'rcpt@fabrikam.com', 'healthy-1@contoso.com');
    await waitFor('the healthy message at the sink', async () => sink.messages.some((m) => m.messageId === '<healthy-1@contoso.com>'));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(hop.dataReceived, 2, 'the poison message was not delivered again');

    // The queue as a whole cannot be acted on.
    for (const cmdlet of ['Resume-Queue', 'Retry-Queue', 'Suspend-Queue']) {
      const r = await api.invoke(cmdlet, { Identity: 'EX01\\Poison' });
      assert.equal(r.ok, false, cmdlet);
      assert.equal(r.error?.code, 'ICX_QUEUE_OPERATION_INVALID', cmdlet);
      assert.match(r.error?.message ?? '', /poison message queue "EX01\\Poison"/);
    }

    // Released once the next hop works: it arrives exactly once, and the Poison queue is gone.
    hop.hang = false;
    await api.ok('Resume-Message', { Identity: poisoned.Identity });
    await waitFor('the released message at the next hop', async () => hop.delivered.includes('<poison-1@contoso.com>'));
    await waitFor('an empty spool', async () => (await api.ok('Get-Message')).length === 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(hop.delivered, ['<poison-1@contoso.com>']);
    assert.ok(!(await api.ok('Get-Queue')).some((q) => q.Identity === 'EX01\\Poison'), 'the Poison queue is hidden when empty');
  } finally {
    await proc.stop('SIGKILL');
    await hop.stop();
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('Remove-Message deletes a poison message; a clean stop counts no crash; with PoisonMessageDetectionEnabled $false crashes never poison a message', { timeout: 180_000 }, async () => {
  const dataDir = await tempDir('poison-off');
  const hop = await startStallingHop();
  const smtpPort = await freeTcpPort();
  let { proc, api } = await start(dataDir, smtpPort);
  try {
    const bad = await api.invoke('Set-TransportService', { Identity: 'EX01', PoisonThreshold: 11 });
    assert.equal(bad.ok, false);
    assert.match(bad.error?.message ?? '', /PoisonThreshold.*maximum allowed range of 10/);
    assert.equal((await api.invoke('Set-TransportService', { Identity: 'EX01', PoisonThreshold: 0 })).ok, false);

    await api.ok('Set-TransportService', { Identity: 'EX01', PoisonThreshold: 1 });
    await api.ok('New-SendConnector', { Name: 'Stall', AddressSpaces: ['stall.test'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false });
    await new Promise((r) => setTimeout(r, 400));

    // Threshold 1: one crash makes a poison message; Remove-Message -WithNDR $false deletes it.
    await submit(smtpPort, 'a@stall.test', 'first@contoso.com');
    await killWhileProcessing(proc, hop, 1);
    ({ proc, api } = await start(dataDir, smtpPort));
    const [first] = await api.ok('Get-Message', { Queue: 'EX01\\Poison' });
    assert.equal(first?.InternetMessageId, '<first@contoso.com>');
    await api.ok('Remove-Message', { Identity: first.Identity, WithNDR: false });
    assert.deepEqual(await api.ok('Get-Message'), []);
    assert.ok(!(await api.ok('Get-Queue')).some((q) => q.Identity === 'EX01\\Poison'));

    // A clean stop (SIGTERM) in the middle of a delivery is no crash, even at threshold 1.
    await submit(smtpPort, 'b@stall.test', 'second@contoso.com');
    await waitFor('the second message at the stalling hop', async () => hop.dataReceived >= 2, 20_000);
    await proc.stop('SIGTERM');
    ({ proc, api } = await start(dataDir, smtpPort));
    await waitFor('the message tried again after the clean restart', async () => hop.dataReceived >= 3, 20_000);
    assert.deepEqual(await api.ok('Get-Message', { Queue: 'EX01\\Poison' }), []);

    // Detection off: crashes leave the message to be retried, again and again.
    await api.ok('Set-TransportService', { Identity: 'EX01', PoisonMessageDetectionEnabled: false });
    const [settings] = await api.ok('Get-TransportService', { Identity: 'EX01' });
    assert.equal(settings.PoisonMessageDetectionEnabled, false);
    assert.equal(settings.PoisonThreshold, 1);
    await killWhileProcessing(proc, hop, 3);
    ({ proc, api } = await start(dataDir, smtpPort));
    await killWhileProcessing(proc, hop, 4);
    ({ proc, api } = await start(dataDir, smtpPort));
    await waitFor('the message tried again after the second crash', async () => hop.dataReceived >= 5, 20_000);
    assert.deepEqual(await api.ok('Get-Message', { Queue: 'EX01\\Poison' }), []);
    assert.ok(!(await api.ok('Get-Queue')).some((q) => q.Identity === 'EX01\\Poison'));
    const [second] = await api.ok('Get-Message');
    assert.equal(second.InternetMessageId, '<second@contoso.com>');
    assert.notEqual(second.Queue, 'EX01\\Poison');
  } finally {
    await proc.stop('SIGKILL');
    await hop.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
