// Message tracking: a real server writes Exchange's MSGTRK files as mail goes
// to a sink, to a next hop that defers and to one that refuses; Get-MessageTrackingLog
// finds the events through the admin API with Exchange's filters and property names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { freeTcpPort, secure, startOrganization } from '../support/interchange.js';
import { swaks } from '../support/smtp-tools.js';
import { startRecordingSink, startTestServer, waitFor } from '../support/transport-harness.js';
import { parseCsvLine } from '../../src/transport/logging/exchange-log-text.js';
import { formatTrackingHeader, formatTrackingRow, joinMultiValue, splitMultiValue } from '../../src/transport/tracking/format.js';
import { readTrackingLogs, type TrackingRow } from '../../src/transport/tracking/reader.js';
import { MessageTrackingLog, messageTrackingSettings } from '../../src/transport/tracking/message-tracking.js';
import { tempDir } from '../support/interchange.js';
import { defaultTransportSettings } from '../../src/organization/bootstrap.js';

const FIELDS =
  '#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version';

/** A next hop that answers 451 to later@ and 550 to nobody@, and accepts nothing else. */
async function startRefusingHop(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeTcpPort();
  const srv = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const e = new Error(address.address.startsWith('nobody@') ? '5.1.1 User unknown' : '4.2.0 Try again later') as Error & { responseCode: number };
      e.responseCode = address.address.startsWith('nobody@') ? 550 : 451;
      cb(e);
    },
  });
  srv.on('error', () => undefined);
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  return { port, stop: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

type Row = Record<string, string>;

async function trackingRows(dir: string): Promise<{ text: string; rows: Row[] }> {
  const files = (await readdir(dir)).filter((n) => /^MSGTRK\d{10}-\d+\.LOG$/.test(n)).sort();
  assert.ok(files.length >= 1, `MSGTRK files in ${dir}: ${files.join(', ')}`);
  const text = await readFile(path.join(dir, files[0]), 'utf8');
  const all = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('');
  const names = FIELDS.slice('#Fields: '.length).split(',');
  const rows = all
    .split('\r\n')
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('\uFEFF'))
    .map((l) => Object.fromEntries(parseCsvLine(l).map((v, i) => [names[i], v])));
  return { text, rows };
}

test('message tracking: MSGTRK files with RECEIVE, SEND, DEFER, FAIL and DSN rows; Get-MessageTrackingLog filters them; turning it off stops new rows', { timeout: 120_000 }, async () => {
  const sink = await startRecordingSink();
  const hop = await startRefusingHop();
  const s = await startTestServer();
  try {
    const [settings] = await s.api.ok('Get-TransportService', { Identity: 'EX01' });
    assert.equal(settings.MessageTrackingLogEnabled, true);
    assert.equal(settings.MessageTrackingLogMaxAge, '30.00:00:00');
    assert.match(settings.MessageTrackingLogMaxDirectorySize, /^1000 MB /);
    assert.match(settings.MessageTrackingLogMaxFileSize, /^10 MB /);
    assert.equal(settings.MessageTrackingLogSubjectLoggingEnabled, true);
    const dir = settings.MessageTrackingLogPath as string;
    assert.match(dir, /TransportRoles\/Logs\/MessageTracking$/);

    await s.api.ok('New-SendConnector', { Name: 'Sink', AddressSpaces: ['sink.test', 'fabrikam.test'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.api.ok('New-SendConnector', { Name: 'Refusing', AddressSpaces: ['defer.test'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    const send = async (to: string, id: string, subject: string) => {
      const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--ehlo', 'client.fabrikam.test', '--from', 'alice@fabrikam.test', '--to', to, '--header', `Message-Id: <${id}@fabrikam.test>`, '--header', `Subject: ${subject}`]);
      assert.equal(r.code, 0, r.stdout);
    };
    await send('bob@sink.test', 'track-1', 'Tracked, with a comma');
    await send('later@defer.test', 'track-2', 'Deferred');
    await send('nobody@defer.test', 'track-3', 'Refused');
    // bob's copy and the NDR for nobody@ reach the sink.
    await waitFor('the delivery and the NDR', async () => sink.messages.length >= 2, 30_000);
    const deferred = await waitFor('the DEFER event', async () => {
      const out = await s.api.ok('Get-MessageTrackingLog', { EventId: 'DEFER' });
      return out.length > 0 ? out : undefined;
    });
    await waitFor('the SEND of the NDR', async () => (await s.api.ok('Get-MessageTrackingLog', { EventId: 'SEND', Recipients: ['alice@fabrikam.test'] })).length > 0);

    // The file as Exchange writes it.
    const { text, rows } = await trackingRows(dir);
    const header = text.replace(/^\uFEFF/, '').split('\r\n').slice(0, 5);
    assert.equal(header[0], '#Software: Microsoft Exchange Server');
    assert.match(header[1], /^#Version: \d+\.\d+\.\d+\.\d+$/);
    assert.equal(header[2], '#Log-type: Message Tracking Log');
    assert.match(header[3], /^#Date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(header[4], FIELDS);
    assert.ok(text.includes('"Tracked, with a comma"'), 'a subject with a comma is quoted as in the protocol logs');

    const bobDelivered = sink.messages.find((m) => m.to.includes('bob@sink.test'))!;
    const of = (id: string, event: string) => rows.filter((r) => r['message-id'] === `<${id}@fabrikam.test>` && r['event-id'] === event);
    const [receive] = of('track-1', 'RECEIVE');
    assert.ok(receive, `RECEIVE row in ${JSON.stringify(rows.slice(0, 2))}`);
    assert.equal(receive.source, 'SMTP');
    assert.equal(receive['connector-id'], 'EX01\\Default Frontend EX01');
    assert.equal(receive['client-ip'], '127.0.0.1');
    assert.equal(receive['client-hostname'], 'client.fabrikam.test');
    assert.equal(receive['server-hostname'], 'EX01');
    assert.equal(receive['recipient-address'], 'bob@sink.test');
    assert.equal(receive['recipient-count'], '1');
    assert.equal(receive['sender-address'], 'alice@fabrikam.test');
    assert.equal(receive.directionality, 'Incoming');
    assert.equal(receive['message-subject'], 'Tracked, with a comma');
    assert.match(receive['network-message-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(receive['transport-traffic-type'], 'Email');
    const [sent] = of('track-1', 'SEND');
    assert.ok(sent, 'SEND row');
    assert.equal(sent.source, 'SMTP');
    assert.equal(sent['connector-id'], 'Sink');
    assert.equal(sent['server-ip'], '127.0.0.1');
    assert.equal(sent['recipient-address'], 'bob@sink.test');
    assert.match(sent['recipient-status'], /^250 /);
    assert.equal(sent['internal-message-id'], receive['internal-message-id']);
    assert.equal(sent['network-message-id'], receive['network-message-id']);
    assert.equal(Number(sent['total-bytes']), Buffer.byteLength(bobDelivered.raw), 'total-bytes: the size of the message as delivered');
    assert.equal(sent['total-bytes'], receive['total-bytes']);
    assert.equal(sent.directionality, 'Incoming', 'anonymous mail stays Incoming on its way out');
    const [defer] = of('track-2', 'DEFER');
    assert.ok(defer, 'DEFER row');
    assert.equal(defer['connector-id'], 'Refusing');
    assert.equal(defer['recipient-address'], 'later@defer.test');
    assert.match(defer['recipient-status'], /^451 /);
    assert.equal(of('track-2', 'SEND').length, 0);
    const [fail] = of('track-3', 'FAIL');
    assert.ok(fail, 'FAIL row');
    assert.match(fail['recipient-status'], /^550 /);
    const dsn = rows.find((r) => r['event-id'] === 'DSN');
    assert.ok(dsn, 'DSN row');
    assert.equal(dsn.source, 'DSN');
    assert.equal(dsn.reference, '<track-3@fabrikam.test>');
    assert.equal(dsn['recipient-address'], 'alice@fabrikam.test');
    assert.equal(dsn['related-recipient-address'], 'nobody@defer.test');
    assert.equal(dsn.directionality, 'Originating', 'an NDR is made here');

    // The cmdlet: RECEIVE then SEND, with Exchange's property names.
    const events = await s.api.ok('Get-MessageTrackingLog', { MessageId: '<track-1@fabrikam.test>' });
    assert.deepEqual(events.map((e) => e.EventId), ['RECEIVE', 'SEND']);
    assert.equal(events[0].$type, 'MessageTrackingEvent');
    assert.deepEqual(events[1].Recipients, ['bob@sink.test']);
    assert.equal(events[1].ConnectorId, 'Sink');
    assert.equal(events[1].Sender, 'alice@fabrikam.test');
    assert.equal(events[1].MessageSubject, 'Tracked, with a comma');
    assert.equal(events[1].TotalBytes, Number(sent['total-bytes']));
    assert.equal(events[0].Directionality, 'Incoming');
    for (const name of ['Timestamp', 'ClientIp', 'ClientHostname', 'ServerIp', 'ServerHostname', 'SourceContext', 'Source', 'InternalMessageId', 'NetworkMessageId', 'RecipientStatus', 'RecipientCount', 'RelatedRecipientAddress', 'Reference', 'ReturnPath', 'MessageInfo', 'MessageLatency', 'MessageLatencyType', 'EventData']) {
      assert.ok(name in events[1], `property ${name}`);
    }
    // The same message without its angle brackets, by internal and network id.
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { MessageId: 'track-1@fabrikam.test' })).length, 2);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { InternalMessageId: receive['internal-message-id'], EventId: 'send' })).length, 1);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { NetworkMessageId: receive['network-message-id'] })).length, 2);

    assert.deepEqual(deferred.map((e) => e.Recipients[0]), ['later@defer.test']);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { Sender: 'alice@fabrikam.test', EventId: 'RECEIVE' })).length, 3);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { Sender: 'someone@else.test' })).length, 0);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { EventId: 'DSN', Reference: '<track-3@fabrikam.test>' })).length, 1);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { MessageSubject: 'with a COMMA' })).length >= 2, true);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { Source: 'SMTP', EventId: 'FAIL' })).length, 1);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { Start: new Date(Date.now() + 3_600_000).toISOString() })).length, 0);

    const one = await s.api.invoke('Get-MessageTrackingLog', { ResultSize: 1 });
    assert.equal(one.ok, true);
    assert.equal(one.output.length, 1);
    assert.deepEqual(one.warnings, ['There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.']);
    const all = await s.api.invoke('Get-MessageTrackingLog', { ResultSize: 'Unlimited' });
    assert.equal(all.output.length, rows.length);
    assert.deepEqual(all.warnings, []);

    // An administrator removes the deferred message: Exchange's FAIL with Source ADMIN.
    const waiting = (await s.api.ok('Get-Message', {})).find((m) => m.InternetMessageId === '<track-2@fabrikam.test>')!;
    assert.ok(waiting, 'the deferred message waits in its queue');
    await s.api.ok('Remove-Message', { Identity: waiting.Identity, WithNDR: false });
    const removed = await s.api.ok('Get-MessageTrackingLog', { MessageId: '<track-2@fabrikam.test>', Source: 'ADMIN' });
    assert.deepEqual(removed.map((e) => [e.EventId, e.RecipientStatus[0]]), [['FAIL', '550 4.3.2 QUEUE.Admin; message deleted by administrative action']]);
    const before = (await trackingRows(dir)).rows.length;

    // Tracking off: a message still flows, and no row is written for it.
    await s.api.ok('Set-TransportService', { Identity: 'EX01', MessageTrackingLogEnabled: false });
    await s.transport.reload();
    assert.equal((await s.api.ok('Get-TransportService', { Identity: 'EX01' }))[0].MessageTrackingLogEnabled, false);
    await send('carol@sink.test', 'track-4', 'Untracked');
    await waitFor('the untracked delivery', async () => sink.messages.some((m) => m.to.includes('carol@sink.test')), 30_000);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { MessageId: '<track-4@fabrikam.test>' })).length, 0);
    assert.equal((await trackingRows(dir)).rows.length, before);
    const bad = await s.api.invoke('Set-TransportService', { Identity: 'EX01', MessageTrackingLogPath: 'relative/path' });
    assert.equal(bad.ok, false);
    assert.match(bad.error!.message, /MessageTrackingLogPath must be an absolute path/);
  } finally {
    await s.close();
    await sink.stop();
    await hop.stop();
  }
});

test('Get-MessageTrackingLog -LogPath reads MSGTRK files copied from an Exchange server', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const folder = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'message-tracking');
    const events = await s.api.ok('Get-MessageTrackingLog', { LogPath: folder, MessageId: '<CAB1234@mail.fabrikam.com>' });
    assert.deepEqual(events.map((e) => e.EventId), ['RECEIVE', 'SEND']);
    assert.deepEqual(events[0].Recipients, ['kim@contoso.com', 'lee@contoso.com']);
    assert.equal(events[0].MessageSubject, 'Quarterly report, draft');
    assert.equal(events[0].ConnectorId, 'EXCH01\\Default Frontend EXCH01');
    assert.equal(events[1].ServerHostname, 'mail.tailspintoys.com');
    assert.deepEqual(events[1].RecipientStatus, ['250 2.1.5 Recipient OK', '250 2.1.5 Recipient OK']);
    assert.equal(events[1].TotalBytes, 10842);
    assert.deepEqual(events[0].EventData, [{ Key: 'DeliveryPriority', Value: 'Normal' }, { Key: 'AccountForest', Value: 'contoso.com' }]);
    assert.equal(new Date(events[0].Timestamp).toISOString(), '2024-03-15T09:00:01.102Z');
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { LogPath: folder, Recipients: ['LEE@contoso.com'], EventId: 'SEND' })).length, 1);
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { LogPath: folder, End: '2024-03-15T08:59:59Z' })).length, 0);
  } finally {
    await s.close();
  }
});

test('multi-valued fields: values holding ";" or a leading quote come back whole', () => {
  const values = ['550 4.4.7 QUEUE.Expired; message expired', "'quoted'", '250 2.1.5 OK', ''];
  const text = joinMultiValue(values);
  assert.equal(text, "'550 4.4.7 QUEUE.Expired; message expired';'''quoted''';250 2.1.5 OK;");
  assert.deepEqual(splitMultiValue(text), values);
  assert.equal(joinMultiValue(['a@contoso.com', 'b@contoso.com']), 'a@contoso.com;b@contoso.com');
  assert.deepEqual(splitMultiValue('a@contoso.com;b@contoso.com'), ['a@contoso.com', 'b@contoso.com']);
  assert.deepEqual(splitMultiValue(''), []);
});

test('a server stored before message tracking existed gets Exchange\'s defaults, its folder beside the protocol logs', () => {
  const t = defaultTransportSettings('/var/lib/interchange', 'EX01');
  const { messageTrackingLogEnabled: _e, messageTrackingLogPath: _p, messageTrackingLogMaxAge: _a, messageTrackingLogMaxDirectorySize: _d, messageTrackingLogMaxFileSize: _f, messageTrackingLogSubjectLoggingEnabled: _s, ...old } = t;
  assert.deepEqual(messageTrackingSettings(old), messageTrackingSettings(t));
  assert.deepEqual(messageTrackingSettings(t), {
    enabled: true,
    directory: '/var/lib/interchange/servers/EX01/TransportRoles/Logs/MessageTracking',
    maxAge: 30 * 86_400_000,
    maxDirectorySize: 1000 * 1024 * 1024,
    maxFileSize: 10 * 1024 * 1024,
    subjectLoggingEnabled: true,
  });
  assert.equal(messageTrackingSettings({ ...t, messageTrackingLogMaxDirectorySize: null }).maxDirectorySize, 0, 'Unlimited');
});

test('Get-MessageTrackingLog -Server searches the log of another server of the organization, through its admin API', { timeout: 120_000 }, async () => {
  const org = await startOrganization('tracking', ['EX01', 'EX02']);
  try {
    const [domain] = await org.api().ok('Get-AcceptedDomain', {});
    const ex02 = org.servers.find((x) => x.name === 'EX02')!;
    const r = await swaks(['--server', `127.0.0.1:${ex02.smtpPort}`, '--from', 'alice@fabrikam.test', '--to', `postmaster@${domain.DomainName}`, '--header', 'Message-Id: <remote-1@fabrikam.test>']);
    assert.equal(r.code, 0, r.stdout);
    const remote = await org.api('EX01').ok('Get-MessageTrackingLog', { Server: 'EX02', EventId: 'RECEIVE' });
    assert.deepEqual(remote.map((e) => [e.MessageId, e.ServerHostname, e.ConnectorId]), [['<remote-1@fabrikam.test>', 'EX02', 'EX02\\Default Frontend EX02']]);
    assert.equal((await org.api('EX01').ok('Get-MessageTrackingLog', { MessageId: '<remote-1@fabrikam.test>' })).length, 0, 'EX01 logged nothing of it');
  } finally {
    await org.stop();
  }
});

test('an authenticated submission is Originating; a mail user\'s address is RESOLVEd to its ExternalEmailAddress', { timeout: 120_000 }, async () => {
  const sink = await startRecordingSink();
  const s = await startTestServer();
  const port = await freeTcpPort();
  try {
    await s.api.ok('New-MailUser', { Name: 'Ed Meadows', UserPrincipalName: 'ed@contoso.com', ExternalEmailAddress: 'ed@external.example', Password: secure('Tr4ck-Secret!x') });
    await s.api.ok('New-ReceiveConnector', { Name: 'Client Submission', Usage: 'Custom', Bindings: [`0.0.0.0:${port}`], AuthMechanism: 'Tls, BasicAuth, BasicAuthRequireTLS', PermissionGroups: 'ExchangeUsers' });
    await s.api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    await waitFor('the submission connector', async () => (await swaks(['--server', `127.0.0.1:${port}`, '--quit-after', 'EHLO'])).code === 0);
    const r = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--auth', 'LOGIN', '--auth-user', 'ed@contoso.com', '--auth-password', 'Tr4ck-Secret!x', '--from', 'ed@contoso.com', '--to', 'ed@contoso.com', '--header', 'Message-Id: <auth-1@contoso.com>']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitFor('the delivery', async () => sink.messages.some((m) => m.to.includes('ed@external.example')), 30_000);
    await waitFor('the SEND event', async () => (await s.api.ok('Get-MessageTrackingLog', { MessageId: '<auth-1@contoso.com>', EventId: 'SEND' })).length > 0);
    const events = await s.api.ok('Get-MessageTrackingLog', { MessageId: '<auth-1@contoso.com>' });
    assert.deepEqual(
      events.map((e) => [e.EventId, e.Source, e.Recipients.join(';'), e.RelatedRecipientAddress, e.Directionality]),
      [
        ['RECEIVE', 'SMTP', 'ed@contoso.com', null, 'Originating'],
        ['RESOLVE', 'ROUTING', 'ed@external.example', 'ed@contoso.com', 'Originating'],
        ['SEND', 'SMTP', 'ed@external.example', null, 'Originating'],
      ],
    );
    assert.equal(events[0].ConnectorId, 'EX01\\Client Submission');
  } finally {
    await s.close();
    await sink.stop();
  }
});

test('MSGTRK files rotate by size and by hour, each with its header, and old ones are deleted by directory size', async () => {
  const dir = await tempDir('msgtrk');
  let now = new Date('2025-03-04T09:59:59.000Z');
  const log = new MessageTrackingLog({ enabled: true, subjectLoggingEnabled: false, directory: dir, maxAge: 0, maxDirectorySize: 0, maxFileSize: 2048 }, { clock: () => now });
  const event = (i: number) => ({ eventId: 'RECEIVE' as const, source: 'SMTP' as const, internalMessageId: i, messageId: `<m${i}@contoso.com>`, recipients: ['bob@fabrikam.com'], subject: 'secret subject', sender: 'alice@contoso.com' });
  for (let i = 1; i <= 20; i++) log.track(event(i));
  now = new Date('2025-03-04T10:00:00.000Z');
  log.track(event(21));
  await log.flush();
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names.slice(0, 2), ['MSGTRK2025030409-1.LOG', 'MSGTRK2025030409-2.LOG'], 'twenty rows do not fit in one 2 KB file');
  assert.equal(names.at(-1), 'MSGTRK2025030410-1.LOG', 'a new hour starts a new file');
  for (const n of names) assert.ok((await readFile(path.join(dir, n))).length <= 2048, `${n} within MaxFileSize`);
  for (const n of names) {
    const text = await readFile(path.join(dir, n), 'utf8');
    assert.ok(text.startsWith('\uFEFF#Software: Microsoft Exchange Server\r\n'), n);
    assert.equal(text.split('\r\n').filter((l) => l.startsWith('#Fields: ')).length, 1, n);
    assert.ok(!text.includes('secret subject'), 'MessageTrackingLogSubjectLoggingEnabled $false keeps subjects out');
  }
  // A smaller folder limit: the oldest files go when the next file starts.
  log.updateSettings({ enabled: true, subjectLoggingEnabled: false, directory: dir, maxAge: 0, maxDirectorySize: 2500, maxFileSize: 2048 });
  now = new Date('2025-03-04T11:00:00.000Z');
  log.track(event(22));
  await log.close();
  const left = (await readdir(dir)).sort();
  assert.equal(left.at(-1), 'MSGTRK2025030411-1.LOG');
  assert.ok(!left.includes('MSGTRK2025030409-1.LOG'), `oldest deleted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
});

test('the reader with a needle finds exactly the rows a full parse finds, across 1 MB chunks, CR LF and LF lines, and a #Fields line that changes mid-file', async () => {
  const dir = await tempDir('tracking-reader');
  try {
    const at = new Date(Date.UTC(2026, 11, 5, 10));
    const row = (i: number) => formatTrackingRow(new Date(at.getTime() + i), { eventId: i % 7 === 0 ? 'SEND' : 'RECEIVE', source: 'SMTP', internalMessageId: i, messageId: `<ID-${i}@Contoso.com>`, recipients: [`r${i % 13}@fabrikam.com`], sender: 'alice@contoso.com', subject: `Report "${i}", final` }, true);
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) lines.push(row(i) + (i % 2 ? '\r\n' : '\n'));
    // Half way, Exchange's writer is swapped for one whose #Fields line is shorter: rows after it have fewer fields.
    const body = formatTrackingHeader(at) + lines.slice(0, 6000).join('') + '#Fields: date-time,event-id,message-id,sender-address\n' + Array.from({ length: 6000 }, (_, k) => `${new Date(at.getTime() + 6000 + k).toISOString()},RECEIVE,<id-late-${k}@contoso.com>,bob@contoso.com\n`).join('');
    await writeFile(path.join(dir, 'MSGTRK2026120510-1.LOG'), '\uFEFF' + body);
    const all: TrackingRow[] = [];
    for await (const r of readTrackingLogs(dir)) all.push(r);
    assert.equal(all.length, 12_000);
    for (const needle of ['id-7777@contoso.com', 'id-late-5999@', 'r12@fabrikam.com', 'bob@contoso.com', 'report ""42"", final', 'nothing-like-this']) {
      const found: TrackingRow[] = [];
      for await (const r of readTrackingLogs(dir, { contains: needle })) found.push(r);
      const expected = all.filter((r) => Object.values(r.fields).some((v) => v.toLowerCase().includes(needle.replace(/""/g, '"'))));
      assert.deepEqual(found.map((r) => r.fields['message-id']), expected.map((r) => r.fields['message-id']), needle);
    }
    const late = [];
    for await (const r of readTrackingLogs(dir, { contains: 'id-late-17@' })) late.push(r);
    assert.deepEqual(late.map((r) => [r.fields['event-id'], r.fields['sender-address']]), [['RECEIVE', 'bob@contoso.com']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('detachTrackingRow keeps every value as it was, also one that holds the separator it joins them with', async () => {
  const { detachTrackingRow } = await import('../../src/transport/tracking/reader.js');
  const timestamp = new Date('2025-03-04T10:00:00.000Z');
  for (const fields of [
    { 'date-time': '2025-03-04T10:00:00.000Z', 'event-id': 'SEND', 'message-subject': 'Grüße, "quoted"', 'recipient-address': 'a@contoso.com;b@contoso.com' },
    { 'date-time': '2025-03-04T10:00:00.000Z', 'event-id': 'RECEIVE', 'message-subject': 'a\u0000b', 'custom-data': '' },
  ]) {
    const d = detachTrackingRow({ timestamp, fields });
    assert.deepEqual(d.fields, fields);
    assert.equal(d.timestamp, timestamp);
  }
});
