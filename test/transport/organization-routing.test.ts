// Mail across the servers of one organization, with Postfix as the next hop
// outside it: a Send connector sourced on EX02 only takes EX01's mail through
// EX02 (SmtpRelayToConnectorSourceServers), and the message is followed across
// both servers by the classic `Get-ExchangeServer | Get-MessageTrackingLog`;
// a draining EX01 hands its queue to EX02 with Redirect-Message; and two
// servers routing a domain to each other stop at the hop count.
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, freeTcpPort, tempDir } from '../support/interchange.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { swaks } from '../support/smtp-tools.js';
import { startTestServers, submitMessage, waitFor, type TestServer } from '../support/transport-harness.js';

const run = promisify(execFile);

/**
 * Runs `command` in the management shell connected to `s`, as an administrator would from another
 * terminal. Not spawnSync: the servers run in this process, and must go on answering meanwhile.
 */
async function shell(s: TestServer, command: string): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'shell', '--url', s.server.adminUrl, '--token', s.api.token, '-Command', command], {
    timeout: 60_000,
    env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn', INTERCHANGE_DIRECTORY: '' },
  });
  return stdout;
}

function parseCsv(text: string): Array<Record<string, string>> {
  const rows = text.trim().split(/\r?\n/).map((line) => [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1].replace(/""/g, '"')));
  const [names, ...data] = rows;
  return data.map((cells) => Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ''])));
}

test('a connector sourced on EX02 only: EX01 relays through EX02 to Postfix, and Get-ExchangeServer | Get-MessageTrackingLog -MessageId shows RECEIVE and SEND on both servers', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('org-routing');
  const pfPort = await freeTcpPort();
  const pf = await startPostfixNextHop({ port: pfPort });
  // EX02 relays for nobody anonymous: EX01 gets through only as an Exchange server.
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir, anonymousRelay: false });
  try {
    await ex01.api.ok('New-SendConnector', { Name: 'To Postfix', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: pfPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();

    await submitMessage(ex01.smtpPort, { messageId: 'across@contoso.com', to: 'bob@fabrikam.com', subject: 'Across the organization' });
    const [delivered] = await pf.waitForMessages(1, 30_000);
    assert.deepEqual(delivered.to, ['bob@fabrikam.com']);
    assert.match(delivered.raw, /by ex02\.contoso\.com \(EX02\)\r?\n with ESMTPSA;[\s\S]*by ex01\.contoso\.com \(EX01\)/, 'through EX02 (over TLS, authenticated as a server), after EX01');

    const [queue] = await ex01.api.ok('Get-Queue', { Identity: 'EX01\\to postfix' });
    assert.deepEqual([queue.DeliveryType, queue.NextHopCategory, queue.MessageCount], ['SmtpRelayToConnectorSourceServers', 'Internal', 0]);
    const [connector] = await ex01.api.ok('Get-SendConnector', { Identity: 'To Postfix' });
    assert.equal(queue.NextHopConnector, connector.Guid);

    const csv = join(dataDir, 'across.csv');
    await shell(ex01, `Get-ExchangeServer | Get-MessageTrackingLog -MessageId '<across@contoso.com>' | Sort-Object Timestamp | Select-Object Timestamp,ServerHostname,ClientHostname,EventId,Source,ConnectorId | Export-Csv -Path ${csv} -NoTypeInformation`);
    const events = parseCsv(await readFile(csv, 'utf8'));
    const receive = events.filter((e) => e.EventId === 'RECEIVE');
    const send = events.filter((e) => e.EventId === 'SEND');
    assert.deepEqual(receive.map((e) => [e.ServerHostname, e.Source, e.ConnectorId]), [['EX01', 'SMTP', 'EX01\\Default Frontend EX01'], ['EX02', 'SMTP', 'EX02\\Default Frontend EX02']]);
    assert.deepEqual(send.map((e) => [e.ServerHostname, e.ConnectorId]), [['ex02.contoso.com', 'Intra-Organization SMTP Send Connector'], ['127.0.0.1', 'To Postfix']]);
    assert.equal(receive[1].ClientHostname, 'ex01.contoso.com', 'EX02 received it from EX01');
    const [postfixSend] = await ex01.api.ok('Get-MessageTrackingLog', { Server: 'EX02', MessageId: 'across@contoso.com', EventId: 'SEND' });
    assert.match(postfixSend.RecipientStatus[0], /^250 2\.0\.0 Ok: queued as /, "Postfix's reply");
    // In time order: EX01 received it first and Postfix got it last. EX01 logs its SEND once EX02's 250 is
    // back, by when EX02 has logged its RECEIVE: those two are a millisecond apart, in either order.
    const order = events.filter((e) => e.EventId === 'RECEIVE' || e.EventId === 'SEND').map((e) => `${e.EventId}@${e.ServerHostname}`);
    assert.deepEqual([order[0], order[3], [order[1], order[2]].sort()], ['RECEIVE@EX01', 'SEND@127.0.0.1', ['RECEIVE@EX02', 'SEND@ex02.contoso.com']]);

    // The default view, as an administrator reads it.
    const table = await shell(ex01, "Get-ExchangeServer | Get-MessageTrackingLog -MessageId across@contoso.com -EventId SEND | Sort-Object Timestamp");
    assert.match(table, /Timestamp\s+EventId\s+Source\s+Sender\s+Recipients\s+MessageSubject/);
    assert.equal(table.match(/ SEND +SMTP +alice@contoso\.com +\{?bob@fabrikam\.com\}? +Across the organization/g)?.length, 2, table);
  } finally {
    await ex01.close();
    await ex02.close();
    await pf.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('maintenance with a Postfix next hop: EX01 drains, Redirect-Message hands its queue to EX02, and Postfix gets every message exactly once', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('org-drain');
  const pfPort = await freeTcpPort();
  const deadPort = await freeTcpPort();
  const pf = await startPostfixNextHop({ port: pfPort });
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir, anonymousRelay: false });
  try {
    await ex01.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    // Each server has its own way out; EX01's is down, so its mail waits in Retry.
    await ex01.api.ok('New-SendConnector', { Name: 'Out EX01', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: deadPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.api.ok('New-SendConnector', { Name: 'Out EX02', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: pfPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();

    const ids = Array.from({ length: 8 }, (_, i) => `drained-${i}@contoso.com`);
    for (const id of ids) await submitMessage(ex01.smtpPort, { messageId: id, to: 'bob@fabrikam.com' });
    await waitFor('EX01 holding 8 messages in Retry', async () => (await ex01.api.ok('Get-Queue', { Identity: 'EX01\\[127.0.0.1]' })).find((q) => q.Status === 'Retry' && q.MessageCount === 8));

    await shell(ex01, "Set-ServerComponentState -Identity EX01 -Component HubTransport -State Draining -Requester Maintenance");
    // A draining server takes no new mail.
    await waitFor('EX01 refusing new mail with 421 4.3.2', async () => {
      const r = await swaks(['--server', `127.0.0.1:${ex01.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--quit-after', 'RCPT']);
      return /<\*\* 421 4\.3\.2 Service not available/.test(r.stdout);
    });
    await shell(ex01, 'Redirect-Message -Server EX01 -Target EX02 -Confirm:$false');

    const got = await pf.waitForMessages(8, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const again = await pf.receivedMessages();
    const messageIds = again.map((m) => /^Message-ID: (.*)$/im.exec(m.raw)?.[1]?.trim()).sort();
    assert.equal(got.length, 8);
    assert.deepEqual(messageIds, ids.map((i) => `<${i}>`).sort(), 'every message, exactly once');
    const queues = await ex01.api.ok('Get-Queue', {});
    assert.equal(queues.reduce((n, q) => n + q.MessageCount, 0), 0, JSON.stringify(queues.map((q) => [q.Identity, q.MessageCount])));
    // EX02's tracking log shows each one received from EX01 and sent to Postfix.
    const sent = await ex01.api.ok('Get-MessageTrackingLog', { Server: 'EX02', EventId: 'SEND', ResultSize: 5000 });
    assert.equal(sent.filter((e) => String(e.MessageId).startsWith('<drained-')).length, 8);
  } finally {
    await ex01.close();
    await ex02.close();
    await pf.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('two servers routing a domain to each other: the loop ends at the hop count with 554 5.4.14, and the message fails instead of circling', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('org-loop');
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir });
  try {
    // The connector is sourced on EX02, whose smart host is EX01 again: a misconfiguration that loops.
    await ex01.api.ok('New-SendConnector', { Name: 'Loop', AddressSpaces: ['loop.test'], SmartHosts: ['127.0.0.1'], Port: ex01.smtpPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();
    await submitMessage(ex01.smtpPort, { messageId: 'looping@contoso.com', to: 'x@loop.test' });
    const fail = await waitFor('the FAIL of the looping message', async () => {
      for (const s of ['EX01', 'EX02']) {
        const f = await ex01.api.ok('Get-MessageTrackingLog', { Server: s, MessageId: 'looping@contoso.com', EventId: 'FAIL' });
        if (f.length > 0) return f[0];
      }
      return undefined;
    }, 60_000);
    assert.deepEqual(fail.RecipientStatus, ['554 5.4.14 Hop count exceeded - possible mail loop']);
    const received = [
      ...(await ex01.api.ok('Get-MessageTrackingLog', { MessageId: 'looping@contoso.com', EventId: 'RECEIVE', ResultSize: 5000 })),
      ...(await ex01.api.ok('Get-MessageTrackingLog', { Server: 'EX02', MessageId: 'looping@contoso.com', EventId: 'RECEIVE', ResultSize: 5000 })),
    ];
    assert.equal(received.length, 100, 'one RECEIVE per hop, up to the limit of 100 Received fields');
  } finally {
    await ex01.close();
    await ex02.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
