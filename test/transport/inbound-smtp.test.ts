// Receive connectors against real clients (swaks, openssl s_client) and raw
// bytes: replies, STARTTLS certificate choice, limits, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createTestPki, pfx } from '../support/pki.js';
import { opensslSClientStartTls, swaks } from '../support/smtp-tools.js';
import { parseSendingCertificateRow, readProtocolLogs, type ProtocolLogRow } from '../../src/transport/protocol-log/index.js';
import { bytes, secure } from '../support/interchange.js';
import { RawSmtp, receiveLog, startRecordingSink, startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

/** Mail for fabrikam.com waits in Retry (nothing listens on port 1), so it stays visible in the queue. */
async function holdingConnector(s: TestServer): Promise<void> {
  await s.api.ok('New-SendConnector', { Name: 'To nowhere', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: 1, DNSRoutingEnabled: false });
  await s.transport.reload();
}

async function messages(s: TestServer): Promise<Array<Record<string, any>>> {
  return s.api.ok('Get-Message', {});
}


test('swaks submits to the default Receive connector; the message is queued with its envelope and shown by Get-Message', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    await holdingConnector(s);
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', 'Subject: hello from swaks']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<- {2}220 ex01\.contoso\.com Microsoft ESMTP MAIL Service ready at /);
    assert.match(r.stdout, /<- {2}250 2\.6\.0 <[^>]+> \[InternalId=\d+, Hostname=ex01\.contoso\.com\] Queued mail for delivery/);
    const list = await messages(s);
    assert.equal(list.length, 1);
    assert.equal(list[0].FromAddress, 'alice@contoso.com');
    assert.deepEqual(list[0].Recipients, ['bob@fabrikam.com']);
    assert.equal(list[0].Subject, 'hello from swaks');
    assert.equal(list[0].MessageSourceName, 'SMTP:Default Frontend EX01');
    assert.equal(list[0].SourceIP, '127.0.0.1');
  } finally {
    await s.close();
  }
});

test('Subject and Message-ID come from the header section wherever it ends, never from the body', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    await holdingConnector(s);
    const c = await RawSmtp.connect(s.smtpPort);
    assert.match((await c.reply())!, /^220 /);
    assert.match((await c.command('EHLO client.test'))!, /^250-/);
    const send = async (content: string): Promise<string> => {
      assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^250 /);
      assert.match((await c.command('RCPT TO:<b@fabrikam.com>'))!, /^250 /);
      assert.match((await c.command('DATA'))!, /^354 /);
      c.write(content + '.\r\n');
      const reply = (await c.reply())!;
      assert.match(reply, /^250 2\.6\.0 /);
      return reply;
    };
    // Headers longer than the first block the content is read into (16 KB): the fields after it still count.
    const padding = Array.from({ length: 300 }, (_, i) => `X-Padding-${i}: ${'p'.repeat(70)}\r\n`).join('');
    assert.match(await send(padding + 'Subject: long header\r\nMessage-ID: <late@contoso.com>\r\n\r\n' + 'body\r\n'.repeat(20_000)), /^250 2\.6\.0 <late@contoso\.com> /);
    // A blank line early, then header-like lines deep in a large body: they are content, not headers.
    const queued = await send('Subject: short header\r\n\r\n' + 'body\r\n'.repeat(5_000) + 'Message-ID: <body@contoso.com>\r\n' + 'body\r\n'.repeat(20_000));
    assert.doesNotMatch(queued, /body@contoso\.com/);
    assert.match(queued, /^250 2\.6\.0 <[^>]+@ex01\.contoso\.com> /);
    // No header section at all (the content starts with its blank line): its first paragraph is body too.
    const headerless = await send('\r\nSubject: not a header\r\nMessage-ID: <paragraph@contoso.com>\r\n\r\nbody\r\n');
    assert.doesNotMatch(headerless, /paragraph@contoso\.com/);
    assert.match(headerless, /^250 2\.6\.0 <[^>]+@ex01\.contoso\.com> /);
    const subjects = (await messages(s)).map((m) => m.Subject);
    assert.equal(subjects.length, 3);
    assert.deepEqual(subjects.filter((x) => x).sort(), ['long header', 'short header']);
    c.close();
  } finally {
    await s.close();
  }
});

test('openssl s_client sees the certificate Exchange would select: the default self-signed one, then a CA-issued one for the connector FQDN (newest), then the TlsCertificateName one', { timeout: 120_000 }, async () => {
  const pki = await createTestPki();
  const s = await startTestServer();
  try {
    const certs = await s.api.ok('Get-ExchangeCertificate', {});
    const selfSigned = certs.find((c) => c.Subject === 'CN=EX01');
    assert.ok(selfSigned);
    let seen = await opensslSClientStartTls(s.smtpPort);
    assert.equal(seen.fingerprintSha1, selfSigned.Thumbprint);

    for (const c of [pki.oldCert, pki.renewedCert]) {
      await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(c, 'pw', { withChain: true })), Password: secure('pw') });
      await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: c.facts.thumbprint, Services: 'SMTP', Force: true });
    }
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Default Frontend EX01', Fqdn: 'mail.contoso.com' });
    await s.transport.reload();
    seen = await opensslSClientStartTls(s.smtpPort);
    assert.equal(seen.fingerprintSha1, pki.renewedCert.facts.thumbprint, 'newest valid CA-issued certificate for mail.contoso.com');

    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.wildcard, 'pw', { withChain: true })), Password: secure('pw') });
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Default Frontend EX01', TlsCertificateName: `<I>${pki.wildcard.facts.issuer}<S>${pki.wildcard.facts.subject}` });
    await s.transport.reload();
    seen = await opensslSClientStartTls(s.smtpPort);
    assert.equal(seen.fingerprintSha1, pki.wildcard.facts.thumbprint);

    // The receive log says the same, and Get-ConnectorCertificateUsage reads it for the Receive connector.
    const usage = await waitFor('the receive log rows', async () => {
      const [u] = await s.api.ok('Get-ConnectorCertificateUsage', { Identity: 'Default Frontend EX01' });
      return u && u.Thumbprint === pki.wildcard.facts.thumbprint ? u : undefined;
    });
    assert.equal(usage.ConnectorType, 'Receive');
    assert.equal(usage.Server, 'EX01');
    assert.equal(usage.IsInstalled, true);
    assert.equal(usage.Subject, 'CN=*.contoso.com');
    await s.transport.flushLogs();
    // The Default Frontend is a FrontendTransport connector: its rows are in the front end's folder, as in Exchange.
    const [svc] = await s.api.ok('Get-FrontendTransportService', { Identity: 'EX01' });
    const rows: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(svc.ReceiveProtocolLogPath)) rows.push(r);
    const sending = rows.filter((r) => r.context.startsWith('Sending certificate'));
    assert.deepEqual(sending.map((r) => parseSendingCertificateRow(r)?.thumbprint), [selfSigned.Thumbprint, pki.renewedCert.facts.thumbprint, pki.wildcard.facts.thumbprint]);
    const session = rows.filter((r) => r.sessionId === sending[2].sessionId);
    const i = session.indexOf(sending[2]);
    assert.deepEqual([session[i - 2].event, session[i - 2].data, session[i - 1].event, session[i - 1].data], ['<', 'STARTTLS', '>', '220 2.0.0 SMTP server ready']);
    assert.match(session[i + 1].context, /^TLS protocol SP_PROT_TLS1_3_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256/);
  } finally {
    await s.close();
  }
});

test('bad SMTP input gets the right replies, the server survives, and nothing is half-queued', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    await holdingConnector(s);
    // More protocol errors than Exchange's default MaxProtocolErrors (5) are made on purpose below; the limit has its own test.
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Default Frontend EX01', MaxMessageSize: '64KB', MaxProtocolErrors: 20 });
    await s.transport.reload();
    const c = await RawSmtp.connect(s.smtpPort);
    assert.match((await c.reply())!, /^220 /);
    // Malformed and out-of-order commands.
    assert.match((await c.command('HELLO there'))!, /^500 5\.3\.3 Unrecognized command 'HELLO'/);
    assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^503 5\.5\.1 Send hello first/);
    assert.match((await c.command('EHLO client.test'))!, /^250-ex01\.contoso\.com Hello \[127\.0\.0\.1\][\s\S]*250 SMTPUTF8$/);
    assert.match((await c.command('RCPT TO:<b@fabrikam.com>'))!, /^503 5\.5\.2 Need mail command/);
    assert.match((await c.command('MAIL FROM:a@contoso.com'))!, /^501 5\.5\.4/);
    assert.match((await c.command('MAIL FROM:<not an address>'))!, /^501 /);
    assert.match((await c.command('DATA'))!, /^503 5\.5\.2 Need mail command/);
    // Overlong line: one reply, then the session goes on.
    assert.match((await c.command('NOOP ' + 'x'.repeat(10_000)))!, /^500 5\.5\.2 Line too long/);
    assert.match((await c.command('NOOP'))!, /^250 2\.0\.0 OK/);
    // Over the size limit: announced, then actually sent.
    assert.match((await c.command('MAIL FROM:<a@contoso.com> SIZE=200000'))!, /^552 5\.3\.4/);
    assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^250 2\.1\.0/);
    assert.match((await c.command('RCPT TO:<b@fabrikam.com>'))!, /^250 2\.1\.5/);
    assert.match((await c.command('DATA'))!, /^354 /);
    c.write(('Subject: big\r\n\r\n' + ('y'.repeat(998) + '\r\n').repeat(100)) + '.\r\n');
    assert.match((await c.reply())!, /^552 5\.3\.4 Message size exceeds fixed maximum message size/);
    // Bare LF in the content, and LF.LF does not end the data (no smuggling).
    assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^250 /);
    assert.match((await c.command('RCPT TO:<b@fabrikam.com>'))!, /^250 /);
    assert.match((await c.command('DATA'))!, /^354 /);
    c.write('Subject: bare\r\n\r\nline one\nstill data\n.\nMAIL FROM:<smuggled@evil.test>\r\n.\r\n');
    assert.match((await c.reply())!, /^550 5\.6\.11 /);
    // Pipelining: a whole transaction in one write; replies in order, one message queued.
    c.write('MAIL FROM:<p@contoso.com>\r\nRCPT TO:<q@fabrikam.com>\r\nRCPT TO:<r@fabrikam.com>\r\nDATA\r\n');
    assert.match((await c.reply())!, /^250 2\.1\.0/);
    assert.match((await c.reply())!, /^250 2\.1\.5/);
    assert.match((await c.reply())!, /^250 2\.1\.5/);
    assert.match((await c.reply())!, /^354 /);
    c.write('Subject: pipelined\r\n\r\n..leading dot\r\n.\r\nNOOP\r\n');
    assert.match((await c.reply())!, /^250 2\.6\.0 /);
    assert.match((await c.reply())!, /^250 2\.0\.0 OK/);
    assert.match((await c.command('QUIT'))!, /^221 2\.0\.0/);
    c.close();

    // Garbage flood: the session is ended with 421 after too many errors.
    const g = await RawSmtp.connect(s.smtpPort);
    await g.reply();
    g.write('GARBAGE\r\n'.repeat(50));
    let last: string | undefined;
    for (;;) {
      const r = await g.reply();
      if (r === undefined) break;
      last = r;
    }
    assert.match(last!, /^421 4\.7\.0 Too many errors/);

    // A client that disconnects in the middle of DATA leaves nothing behind.
    const d = await RawSmtp.connect(s.smtpPort);
    await d.reply();
    await d.command('EHLO x.test');
    await d.command('MAIL FROM:<gone@contoso.com>');
    await d.command('RCPT TO:<b@fabrikam.com>');
    assert.match((await d.command('DATA'))!, /^354 /);
    d.write('Subject: cut\r\n\r\nhalf a mess');
    await new Promise((r) => setTimeout(r, 100));
    d.close();

    // The server still works, and exactly the one good message is queued.
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'ok@contoso.com', '--to', 'b@fabrikam.com', '--header', 'Subject: after the abuse']);
    assert.equal(r.code, 0, r.stdout);
    const list = await waitFor('two messages', async () => {
      const l = await messages(s);
      return l.length >= 2 ? l : undefined;
    });
    assert.deepEqual(list.map((m) => m.Subject).sort(), ['after the abuse', 'pipelined']);
    const pipelined = list.find((m) => m.Subject === 'pipelined')!;
    assert.deepEqual(pipelined.Recipients, ['q@fabrikam.com', 'r@fabrikam.com']);
    const spool = await readdir(path.join(s.dataDir, 'servers', 'EX01', 'Queue'));
    assert.equal(spool.filter((n) => n.endsWith('.tmp')).length, 0);
    assert.ok(!spool.includes('corrupt'));
    const body = await s.transport.queues.getMessages();
    assert.equal(body.length, 2);
  } finally {
    await s.close();
  }
});

test('RequireTLS, RemoteIPRanges (most specific wins) and permission groups on Receive connectors', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    await s.api.ok('New-ReceiveConnector', {
      Name: 'Loopback only',
      Usage: 'Custom',
      Bindings: [`0.0.0.0:${s.smtpPort}`],
      RemoteIPRanges: ['127.0.0.1'],
      PermissionGroups: 'AnonymousUsers',
      Banner: '220 loopback connector here',
      RequireTLS: true,
    });
    await s.transport.reload();
    const c = await RawSmtp.connect(s.smtpPort);
    assert.equal(await c.reply(), '220 loopback connector here');
    await c.command('EHLO x.test');
    assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^530 5\.7\.10 Must issue a STARTTLS command first/);
    c.close();

    await s.api.ok('Set-ReceiveConnector', { Identity: 'Loopback only', RequireTLS: false, PermissionGroups: 'ExchangeUsers' });
    await s.transport.reload();
    const d = await RawSmtp.connect(s.smtpPort);
    await d.reply();
    await d.command('EHLO x.test');
    assert.match((await d.command('MAIL FROM:<a@contoso.com>'))!, /^530 5\.7\.57 Client was not authenticated to send anonymous mail during MAIL FROM/);
    d.close();

    await s.api.ok('Set-ReceiveConnector', { Identity: 'Loopback only', Enabled: false });
    await s.transport.reload();
    const e = await RawSmtp.connect(s.smtpPort);
    assert.match((await e.reply())!, /^220 ex01\.contoso\.com Microsoft ESMTP/);
    e.close();
  } finally {
    await s.close();
  }
});


test('anonymous senders reach the accepted domains only: 550 5.7.54 for any other until the connector grants relay with Add-ADPermission', { timeout: 60_000 }, async () => {
  const s = await startTestServer({ anonymousRelay: false });
  try {
    // A new organization accepts its first server's domain, and the Default Frontend hears everyone, as in Exchange.
    const domains = await s.api.ok('Get-AcceptedDomain');
    assert.deepEqual(domains.map((d) => [d.Name, d.DomainName, d.DomainType, d.Default]), [['contoso.com', 'contoso.com', 'Authoritative', true]]);
    const [rc] = await s.api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01' });
    assert.deepEqual(rc.RemoteIPRanges, ['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);

    const session = async (): Promise<RawSmtp> => {
      const c = await RawSmtp.connect(s.smtpPort);
      await c.reply();
      await c.command('EHLO client.test');
      assert.match((await c.command('MAIL FROM:<someone@tailspintoys.com>'))!, /^250 /);
      return c;
    };
    const a = await session();
    assert.match((await a.command('RCPT TO:<ed@contoso.com>'))!, /^250 /);
    assert.equal(await a.command('RCPT TO:<ed@fabrikam.com>'), '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain');
    assert.equal(await a.command('RCPT TO:<ed@sales.contoso.com>'), '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain');
    // The refused recipient is not part of the message; the accepted one is.
    assert.match((await a.command('DATA'))!, /^354 /);
    assert.match((await a.command('Subject: t\r\n\r\nbody\r\n.'))!, /^250 /);
    a.close();
    const message = await waitFor('the accepted message', async () => (await s.api.ok('Get-Message', {})).find((m) => m.FromAddress === 'someone@tailspintoys.com'));
    assert.deepEqual(message.Recipients, ['ed@contoso.com']);

    // A wildcard accepted domain takes the subdomains, from the next session on.
    await s.api.ok('New-AcceptedDomain', { Name: 'Contoso subdomains', DomainName: '*.contoso.com', DomainType: 'InternalRelay' });
    await s.transport.reload();
    const b = await session();
    assert.match((await b.command('RCPT TO:<ed@sales.contoso.com>'))!, /^250 /);
    assert.equal(await b.command('RCPT TO:<ed@fabrikam.com>'), '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain');
    b.close();

    // Exchange's anonymous relay grant, seen by Get-ADPermission, then taken back.
    const granted = await s.api.ok('Add-ADPermission', { Identity: 'EX01\\Default Frontend EX01', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });
    assert.deepEqual(granted.map((g) => [g.User, g.ExtendedRights, g.Deny]), [['NT AUTHORITY\\ANONYMOUS LOGON', ['ms-Exch-SMTP-Accept-Any-Recipient'], false]]);
    const aces = await s.api.ok('Get-ADPermission', { Identity: 'EX01\\Default Frontend EX01', User: 'NT AUTHORITY\\ANONYMOUS LOGON' });
    assert.deepEqual(aces.map((x) => x.ExtendedRights[0]), ['ms-Exch-SMTP-Submit', 'ms-Exch-SMTP-Accept-Any-Sender', 'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender', 'ms-Exch-Accept-Headers-Routing', 'ms-Exch-SMTP-Accept-Any-Recipient']);
    await s.transport.reload();
    const c = await session();
    assert.match((await c.command('RCPT TO:<ed@fabrikam.com>'))!, /^250 /);
    c.close();
    const rows = await waitFor('the relay session in the receive log', async () => {
      const all = await receiveLog(s);
      return all.some((r) => r.data === 'SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders') ? all : undefined;
    });
    assert.ok(rows.some((r) => r.context === 'Set Session Permissions' && r.data === 'SMTPSubmit SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders'), 'sessions before the grant could not relay');
    assert.ok(rows.some((r) => r.event === '>' && r.data === '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain'));

    await assert.rejects(
      s.api.ok('Remove-ADPermission', { Identity: 'EX01\\Default Frontend EX01', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Submit'], Confirm: false }),
      /ICX_PERMISSION_FROM_GROUP/,
    );
    await s.api.ok('Remove-ADPermission', { Identity: 'EX01\\Default Frontend EX01', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'], Confirm: false });
    await s.transport.reload();
    const d = await session();
    assert.equal(await d.command('RCPT TO:<ed@fabrikam.com>'), '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain');
    d.close();
  } finally {
    await s.close();
  }
});

test("mail to a mail user's address goes to its external address, once, even when two of its addresses are named", { timeout: 60_000 }, async () => {
  const s = await startTestServer({ anonymousRelay: false });
  const sink = await startRecordingSink();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Fabrikam', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.api.ok('New-MailUser', { Name: 'Ed Meadows', UserPrincipalName: 'ed@contoso.com', PrimarySmtpAddress: 'ed.meadows@contoso.com', ExternalEmailAddress: 'SMTP:ed@fabrikam.com', Password: secure('Str0ng!Passw0rd') });
    await s.transport.reload();
    const c = await RawSmtp.connect(s.smtpPort);
    await c.reply();
    await c.command('EHLO client.test');
    assert.match((await c.command('MAIL FROM:<kim@tailspintoys.com>'))!, /^250 /);
    // Anonymous, to the accepted domain: allowed, and resolved to the external address after the RCPT check.
    assert.match((await c.command('RCPT TO:<Ed.Meadows@contoso.com>'))!, /^250 /);
    assert.match((await c.command('RCPT TO:<ed@contoso.com>'))!, /^250 /);
    assert.match((await c.command('DATA'))!, /^354 /);
    assert.match((await c.command('Message-ID: <resolve-1@tailspintoys.com>\r\nSubject: hi\r\n\r\nbody\r\n.'))!, /^250 /);
    c.close();
    const got = await waitFor('the message at the external address', async () => sink.messages.find((m) => m.messageId === '<resolve-1@tailspintoys.com>'));
    assert.deepEqual(got.to, ['ed@fabrikam.com']);
  } finally {
    await sink.stop();
    await s.close();
  }
});
