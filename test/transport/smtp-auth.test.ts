// SMTP AUTH against real components: swaks authenticating to a Receive
// connector (AuthMechanism Tls,BasicAuth,BasicAuthRequireTLS, PermissionGroups
// ExchangeUsers) and relaying; raw SASL exchanges; a Send connector
// authenticating to a second Interchange server as its smart host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { MailUserRecord } from '../../src/directory/records.js';
import { hashPassword, passwordWeakness, verifyPassword } from '../../src/security/password-hash.js';
import { MailUserAccounts, VerificationLimit } from '../../src/transport/inbound/accounts.js';
import type { ProtocolLogRow } from '../../src/transport/protocol-log/index.js';
import { secure } from '../support/interchange.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { protocolLog, RawSmtp, startRecordingSink, startTestServer, startTestServers, waitFor, type TestServer } from '../support/transport-harness.js';

const PASSWORD = 'Sm7p-Auth-Secret!';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const receiveLog = (s: TestServer, kind: 'Receive' | 'Send' = 'Receive'): Promise<ProtocolLogRow[]> => protocolLog(s, kind);

/** Every file under dir whose bytes contain needle (logs, spool, directory, WAL). */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const data = await fs.promises.readFile(file).catch(() => Buffer.alloc(0));
    if (data.includes(needle) || data.includes(b64(needle)) || data.includes(Buffer.from(`\0ed@contoso.com\0${needle}`).toString('base64'))) hits.push(file);
  }
  return hits;
}

async function newMailUser(s: TestServer, name: string, upn: string, password = PASSWORD): Promise<void> {
  await s.api.ok('New-MailUser', { Name: name, UserPrincipalName: upn, ExternalEmailAddress: `${upn.split('@')[0]}@external.example`, Password: secure(password) });
}

test('password hashes: salted scrypt with its parameters; a wrong password, a tampered or malformed hash all fail', async () => {
  const h = await hashPassword(PASSWORD);
  assert.match(h, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  assert.notEqual(await hashPassword(PASSWORD), h, 'a fresh salt each time');
  assert.equal(await verifyPassword(PASSWORD, h), true);
  assert.equal(await verifyPassword(PASSWORD + 'x', h), false);
  const parts = h.split('$');
  const tampered = [...parts.slice(0, 5), Buffer.from(parts[5], 'base64').map((b, i) => (i === 0 ? b ^ 1 : b)).toString('base64')].join('$');
  assert.equal(await verifyPassword(PASSWORD, tampered), false);
  for (const bad of ['', 'plain', 'scrypt$abc$8$1$c2FsdA==$aGFzaA==', `scrypt$${1 << 24}$8$1$c2FsdA==$${parts[5]}`, `scrypt$1000$8$1$c2FsdA==$${parts[5]}`]) {
    assert.equal(await verifyPassword(PASSWORD, bad), false, bad);
  }
  const table: Array<[string, RegExp | undefined]> = [['', /empty/], ['Ab1!xyz', /at least 8/], ['alllowercase1', /three/], ['Sm7p-Auth-Secret!', undefined], ['Lower-and-UPPER', undefined]];
  for (const [pw, expected] of table) {
    const w = passwordWeakness(pw);
    if (expected) assert.match(w ?? '', expected, pw);
    else assert.equal(w, undefined, pw);
  }
});

test('mail user logins: UPN, name, alias or DOMAIN\\name in any case; a UPN is never shadowed by another user\'s name', async () => {
  const now = new Date();
  const user = async (name: string, upn: string, alias: string, primary = upn): Promise<MailUserRecord> => ({
    guid: name,
    name,
    alias,
    displayName: name,
    userPrincipalName: upn,
    primarySmtpAddress: primary,
    externalEmailAddress: 'x@fabrikam.com',
    passwordHash: await hashPassword(PASSWORD + name),
    whenCreated: now,
    whenChanged: now,
  });
  const accounts = new MailUserAccounts([await user('Ed Meadows', 'ed@contoso.com', 'ed', 'edward@contoso.com'), await user('ed@contoso.com', 'trick@contoso.com', 'trick')]);
  for (const login of ['ed@contoso.com', 'ED@CONTOSO.COM', 'ed meadows', 'ED', 'contoso\\ed', 'CONTOSO\\Ed Meadows']) {
    assert.equal(accounts.find(login)?.guid, 'Ed Meadows', login);
  }
  assert.equal(accounts.find('trick')?.guid, 'ed@contoso.com');
  assert.equal(accounts.find('nobody'), undefined);
  const ed = await accounts.verify('ed', PASSWORD + 'Ed Meadows');
  assert.equal(ed?.userPrincipalName, 'ed@contoso.com');
  assert.deepEqual([...ed!.sendAs].sort(), ['ed@contoso.com', 'edward@contoso.com']);
  assert.equal(await accounts.verify('ed', PASSWORD), undefined);
  assert.equal(await accounts.verify('nobody', PASSWORD), undefined);
});

test('password checks run at most N at once, in arrival order, and a failing check frees its slot', async () => {
  const limit = new VerificationLimit(3);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const task = (i: number) =>
    limit.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      order.push(i);
      if (i === 2) throw new Error('boom');
      return i;
    });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => task(i)));
  assert.equal(peak, 3);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 9);
  assert.deepEqual(order.slice(0, 3).sort(), [0, 1, 2]);
  assert.equal(await limit.run(async () => 'free'), 'free', 'every slot was given back');
});

test('inbound AUTH: swaks over STARTTLS relays as an authenticated user to a Postfix next hop; wrong password, AUTH before TLS, anonymous MAIL and a foreign sender are refused as Exchange does', { timeout: 180_000 }, async () => {
  const postfix = await startPostfixNextHop({ port: await freePort() });
  const s = await startTestServer();
  const port = await freePort();
  try {
    await newMailUser(s, 'Ed Meadows', 'ed@contoso.com');
    await s.api.ok('New-ReceiveConnector', {
      Name: 'Client Submission',
      Usage: 'Custom',
      Bindings: [`0.0.0.0:${port}`],
      AuthMechanism: 'Tls, BasicAuth, BasicAuthRequireTLS',
      PermissionGroups: 'ExchangeUsers',
      ProtocolLoggingLevel: 'Verbose',
    });
    await s.api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: postfix.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    const server = ['--server', `127.0.0.1:${port}`, '--tls', '--to', 'bob@fabrikam.com'];

    for (const mechanism of ['PLAIN', 'LOGIN']) {
      const ok = await swaks([...server, '--from', 'ed@contoso.com', '--auth', mechanism, '--auth-user', 'ed@contoso.com', '--auth-password', PASSWORD, '--header', `Subject: via ${mechanism}`]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /<~ {2}250-AUTH LOGIN PLAIN/, 'AUTH is offered once TLS is up');
      assert.match(ok.stdout, /<~ {2}235 2\.7\.0 Authentication successful/);
    }
    // The user by name and in the DOMAIN\name form; any case.
    const byName = await swaks([...server, '--from', 'ED@contoso.com', '--auth', 'LOGIN', '--auth-user', 'CONTOSO\\ed meadows', '--auth-password', PASSWORD, '--header', 'Subject: by name']);
    assert.equal(byName.code, 0, byName.stdout);
    const delivered = await postfix.waitForMessages(3, 30_000);
    const relayed = delivered.find((m) => m.raw.includes('Subject: via PLAIN'))!;
    assert.equal(relayed.from, 'ed@contoso.com');
    assert.deepEqual(relayed.to, ['bob@fabrikam.com']);
    assert.match(relayed.raw, /^Received: from [^\r\n]+\r?\n with ESMTPSA;/m, 'our trace header says TLS and authenticated');

    const wrong = await swaks([...server, '--from', 'ed@contoso.com', '--auth', 'PLAIN', '--auth-user', 'ed@contoso.com', '--auth-password', 'not-the-password', '--header', 'Subject: wrong password']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stdout, /<~\* 535 5\.7\.3 Authentication unsuccessful/);
    const unknown = await swaks([...server, '--from', 'x@contoso.com', '--auth', 'LOGIN', '--auth-user', 'nobody@contoso.com', '--auth-password', PASSWORD]);
    assert.match(unknown.stdout, /<~\* 535 5\.7\.3 Authentication unsuccessful/, 'an unknown user fails exactly like a wrong password');

    const foreign = await swaks([...server, '--from', 'ceo@contoso.com', '--auth', 'PLAIN', '--auth-user', 'ed@contoso.com', '--auth-password', PASSWORD, '--header', 'Subject: spoofed']);
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stdout, /<~\* 550 5\.7\.60 Client does not have permissions to send as this sender/);

    const anonymous = await swaks([...server, '--from', 'ed@contoso.com', '--header', 'Subject: anonymous']);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stdout, /<~\* 530 5\.7\.57 Client was not authenticated to send anonymous mail during MAIL FROM/);

    // Before STARTTLS: no AUTH in EHLO, and AUTH is refused.
    const plain = await RawSmtp.connect(port);
    await plain.reply();
    const ehlo = (await plain.command('EHLO client.test'))!;
    assert.match(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.match((await plain.command(`AUTH PLAIN ${b64(`\0ed@contoso.com\0${PASSWORD}`)}`))!, /^530 5\.7\.10 Must issue a STARTTLS command first/);
    assert.match((await plain.command('MAIL FROM:<ed@contoso.com>'))!, /^530 5\.7\.57 /);
    plain.close();

    await new Promise((r) => setTimeout(r, 1000));
    const after = await postfix.receivedMessages();
    assert.equal(after.length, 3, 'nothing refused was relayed');
    assert.ok(!after.some((m) => /Subject: (wrong password|spoofed|anonymous)/.test(m.raw)));
    assert.equal((await s.api.ok('Get-Message', {})).length, 0, 'and nothing refused was queued');

    const rows = await waitFor('the AUTH rows in the receive log', async () => {
      const r = (await receiveLog(s)).filter((x) => x.connectorId === 'EX01\\Client Submission');
      return r.some((x) => x.context === 'Inbound AUTH PLAIN failed because of LogonDenied') && r.some((x) => x.context === 'Inbound AUTH LOGIN failed because of LogonDenied') ? r : undefined;
    });
    const authenticated = rows.filter((r) => r.event === '*' && r.context === 'authenticated');
    assert.deepEqual([...new Set(authenticated.map((r) => r.data))], ['ed@contoso.com']);
    const session = rows.filter((r) => r.sessionId === authenticated[0].sessionId);
    const at = session.indexOf(authenticated[0]);
    assert.equal(session[at - 1].context, 'Set Session Permissions');
    assert.equal(session[at - 1].data, 'SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag AcceptRoutingHeaders');
    assert.deepEqual([session[at + 1].event, session[at + 1].data], ['>', '235 2.7.0 Authentication successful']);
    assert.ok(rows.some((r) => r.event === '<' && r.data === 'AUTH PLAIN ****'));
    assert.ok(rows.some((r) => r.event === '<' && r.data === 'AUTH LOGIN'));
    await s.transport.stop();
    assert.deepEqual(await filesContaining(s.dataDir, PASSWORD), [], 'the password is in no log, spool or directory file');
    assert.deepEqual(await filesContaining(s.dataDir, 'not-the-password'), []);
  } finally {
    await s.close();
    await postfix.stop();
  }
});

test('inbound AUTH exchanges over raw SMTP: LOGIN prompts, * cancels, bad Base64, a second AUTH, AUTH in a transaction, slower answers and a dropped session after repeated failures', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  const port = await freePort();
  try {
    await newMailUser(s, 'Ed Meadows', 'ed@contoso.com');
    // BasicAuth without BasicAuthRequireTLS: AUTH is offered in the clear, and anonymous mail is still accepted.
    // This session makes more protocol errors than Exchange's MaxProtocolErrors (5) on purpose, and is not about the tarpit.
    await s.api.ok('New-ReceiveConnector', { Name: 'Mixed', Usage: 'Custom', Bindings: [`0.0.0.0:${port}`], AuthMechanism: 'BasicAuth', PermissionGroups: 'AnonymousUsers, ExchangeUsers', MaxProtocolErrors: 20, TarpitInterval: '00:00:00', AuthTarpitInterval: '00:00:00.4' });
    await s.api.ok('New-SendConnector', { Name: 'To nowhere', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: 1, DNSRoutingEnabled: false });
    await s.transport.reload();

    const c = await RawSmtp.connect(port);
    await c.reply();
    assert.match((await c.command('AUTH LOGIN'))!, /^503 5\.5\.1 Send hello first/);
    assert.match((await c.command('EHLO client.test'))!, /250-AUTH LOGIN PLAIN\r?\n/);
    assert.match((await c.command('AUTH CRAM-MD5'))!, /^504 5\.7\.4 Unrecognized authentication type/);
    assert.equal(await c.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await c.command('*'), '501 5.0.0 Authentication cancelled');
    assert.equal(await c.command('AUTH PLAIN'), '334 ');
    assert.equal(await c.command('not base64!'), '501 5.5.2 Cannot decode the Base64 response');
    // A SASL response may be longer than a command line (RFC 4954: 12288 octets), but not without bound.
    assert.equal(await c.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await c.command('QUFB'.repeat(1500)), '334 UGFzc3dvcmQ6');
    assert.equal(await c.command('*'), '501 5.0.0 Authentication cancelled');
    assert.equal(await c.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await c.command('QUFB'.repeat(4000)), '500 5.5.2 Line too long');
    assert.match((await c.command('NOOP'))!, /^250 /, 'the exchange ended: NOOP is a command again');
    assert.equal(await c.command(`AUTH PLAIN ${b64('only-one-part')}`), '501 5.5.2 Invalid AUTH PLAIN response');
    assert.equal(await c.command(`AUTH LOGIN ${b64('ed')}`), '334 UGFzc3dvcmQ6', 'LOGIN with the user name as initial response');
    assert.equal(await c.command(b64(PASSWORD)), '235 2.7.0 Authentication successful');
    assert.match((await c.command(`AUTH PLAIN ${b64(`\0ed@contoso.com\0${PASSWORD}`)}`))!, /^503 5\.5\.1 Already authenticated/);
    assert.match((await c.command('MAIL FROM:<someone@contoso.com>'))!, /^550 5\.7\.60 /);
    assert.match((await c.command('MAIL FROM:<ed@contoso.com>'))!, /^250 2\.1\.0 Sender OK/);
    c.close();

    // Anonymous transaction first: AUTH inside it is refused.
    const t = await RawSmtp.connect(port);
    await t.reply();
    await t.command('EHLO client.test');
    assert.match((await t.command('MAIL FROM:<anyone@fabrikam.com>'))!, /^250 /);
    assert.match((await t.command(`AUTH PLAIN ${b64(`\0ed@contoso.com\0${PASSWORD}`)}`))!, /^503 5\.5\.1 AUTH not permitted during a mail transaction/);
    assert.match((await t.command('RSET'))!, /^250 /);
    // authzid naming someone else: refused like a wrong password.
    assert.match((await t.command(`AUTH PLAIN ${b64(`boss@contoso.com\0ed@contoso.com\0${PASSWORD}`)}`))!, /^535 5\.7\.3 /);
    t.close();

    const f = await RawSmtp.connect(port);
    await f.reply();
    await f.command('EHLO client.test');
    const times: number[] = [];
    for (let i = 0; i < 2; i++) {
      const start = Date.now();
      assert.equal(await f.command(`AUTH PLAIN ${b64(`\0ed@contoso.com\0wrong-${i}`)}`), '535 5.7.3 Authentication unsuccessful');
      times.push(Date.now() - start);
    }
    assert.ok(times[0] >= 350 && times[1] >= 350, `each failure is answered after AuthTarpitInterval: ${times.join(', ')} ms`);
    f.write(`AUTH PLAIN ${b64('\0ed@contoso.com\0wrong-2')}\r\n`);
    assert.equal(await f.reply(), '535 5.7.3 Authentication unsuccessful');
    assert.equal(await f.reply(), '421 4.7.0 Too many failed authentication attempts, closing transmission channel');
    assert.equal(await f.reply(), undefined, 'the session is dropped');

    // After a password change, the new password works and the old one no longer does.
    await s.api.ok('Set-MailUser', { Identity: 'ed@contoso.com', Password: secure('N3w-Secret-Pw') });
    await s.transport.reload();
    const n = await RawSmtp.connect(port);
    await n.reply();
    await n.command('EHLO client.test');
    assert.match((await n.command(`AUTH PLAIN ${b64(`\0ed@contoso.com\0${PASSWORD}`)}`))!, /^535 /);
    assert.match((await n.command(`AUTH PLAIN ${b64('\0ed@contoso.com\0N3w-Secret-Pw')}`))!, /^235 /);
    n.close();

    // Denying anonymous senders Submit (Exchange's way to require AUTH) leaves authenticated ones alone.
    await s.api.ok('Add-ADPermission', { Identity: 'Mixed', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Submit'], Deny: true });
    await s.transport.reload();
    const d = await RawSmtp.connect(port);
    await d.reply();
    await d.command('EHLO client.test');
    assert.match((await d.command('MAIL FROM:<anyone@fabrikam.com>'))!, /^530 5\.7\.57 /);
    assert.match((await d.command(`AUTH PLAIN ${b64('\0ed@contoso.com\0N3w-Secret-Pw')}`))!, /^235 /);
    assert.match((await d.command('MAIL FROM:<ed@contoso.com>'))!, /^250 /);
    d.close();

    // AnonymousUsers alone grants an authenticated session nothing: it may not submit.
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Mixed', PermissionGroups: 'AnonymousUsers' });
    await s.transport.reload();
    const a = await RawSmtp.connect(port);
    await a.reply();
    await a.command('EHLO client.test');
    assert.match((await a.command(`AUTH PLAIN ${b64('\0ed@contoso.com\0N3w-Secret-Pw')}`))!, /^235 /);
    assert.equal(await a.command('MAIL FROM:<ed@contoso.com>'), '550 5.7.1 Client does not have permissions to submit to this server');
    a.close();
  } finally {
    await s.close();
  }
});

test('outbound AUTH: a Send connector with SmartHostAuthMechanism BasicAuthRequireTLS authenticates to another Interchange server; a wrong credential and a smart host without STARTTLS leave the queue in Retry', { timeout: 120_000 }, async () => {
  const sink = await startRecordingSink();
  // Started together: if EX01 cannot start, EX02 and the sink are closed, not left holding the test process.
  const [hop, s] = await startTestServers({ name: 'EX02' }, {}).catch(async (e) => {
    await sink.stop();
    throw e;
  });
  const hopPort = await freePort();
  try {
    await newMailUser(hop, 'Relay', 'relay@fabrikam.com');
    await hop.api.ok('New-ReceiveConnector', {
      Name: 'Authenticated relay',
      Usage: 'Custom',
      Bindings: [`0.0.0.0:${hopPort}`],
      AuthMechanism: 'Tls, BasicAuth, BasicAuthRequireTLS',
      // ExchangeServers: the relay account may send for any sender.
      PermissionGroups: 'ExchangeUsers, ExchangeServers',
      ProtocolLoggingLevel: 'Verbose',
    });
    await hop.api.ok('New-SendConnector', { Name: 'To sink', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await hop.transport.reload();

    const credential = (password: string) => ({ $credential: { userName: 'relay@fabrikam.com', password } });
    await s.api.ok('New-SendConnector', {
      Name: 'Via hop',
      AddressSpaces: ['fabrikam.com'],
      SmartHosts: ['127.0.0.1'],
      Port: hopPort,
      DNSRoutingEnabled: false,
      SmartHostAuthMechanism: 'BasicAuthRequireTLS',
      AuthenticationCredential: credential(PASSWORD),
      ProtocolLoggingLevel: 'Verbose',
    });
    await s.api.ok('New-SendConnector', {
      Name: 'Plain host',
      AddressSpaces: ['plain.test'],
      SmartHosts: ['127.0.0.1'],
      Port: sink.port,
      DNSRoutingEnabled: false,
      SmartHostAuthMechanism: 'BasicAuthRequireTLS',
      AuthenticationCredential: credential(PASSWORD),
    });
    await s.transport.reload();

    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', 'Subject: through the authenticated hop']);
    assert.equal(r.code, 0, r.stdout);
    const arrived = await waitFor('the message at the sink behind EX02', async () => sink.messages.find((m) => m.raw.includes('Subject: through the authenticated hop')));
    assert.equal(arrived.from, 'alice@contoso.com');
    assert.match(arrived.raw, /by ex02\.contoso\.com \(EX02\)\r\n with ESMTPSA;/, 'EX02 took it over TLS from an authenticated client');
    const hopRows = await waitFor('EX02 logged the authenticated session', async () => {
      const rows = await receiveLog(hop);
      return rows.find((x) => x.context === 'authenticated');
    });
    assert.equal(hopRows.data, 'relay@fabrikam.com');

    await s.api.ok('Set-SendConnector', { Identity: 'Via hop', AuthenticationCredential: credential('Wr0ng-Password') });
    await s.transport.reload();
    await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'carol@fabrikam.com', '--header', 'Subject: wrong credential']);
    // A smart-host queue's next hop is the smart host: [127.0.0.1].
    const rejected = await waitFor('the queue in Retry after the refused AUTH', async () => (await s.api.ok('Get-Queue', {})).find((q) => q.Status === 'Retry' && /535/.test(q.LastError ?? '')));
    assert.equal(rejected.NextHopDomain, '[127.0.0.1]');
    assert.match(rejected.LastError, /^451 4\.4\.0 Primary target IP address responded with: "535 5\.7\.3 Authentication unsuccessful\."/);
    assert.match(rejected.LastError, /Outbound Authentication failed with LogonDenied/);
    assert.equal(sink.messages.filter((m) => m.raw.includes('Subject: wrong credential')).length, 0);

    await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'dave@plain.test', '--header', 'Subject: no TLS offered']);
    const plain = await waitFor('the plain.test queue in Retry', async () => (await s.api.ok('Get-Queue', {})).find((q) => q.Status === 'Retry' && /STARTTLS/.test(q.LastError ?? '')));
    assert.match(plain.LastError, /did not offer STARTTLS, and the Send connector Plain host \(SmartHostAuthMechanism BasicAuthRequireTLS\) sends its credentials only over TLS/);
    assert.equal(sink.messages.filter((m) => m.raw.includes('Subject: no TLS offered')).length, 0, 'nothing was sent in the clear');

    const sendRows = await waitFor('the send log rows', async () => {
      const rows = await receiveLog(s, 'Send');
      return rows.some((x) => x.context === 'Outbound Authentication failed with LogonDenied') ? rows : undefined;
    });
    assert.ok(sendRows.some((x) => x.event === '>' && x.data === 'AUTH PLAIN ****'));
    await s.transport.stop();
    await hop.transport.stop();
    for (const dir of [s.dataDir, hop.dataDir]) {
      assert.deepEqual(await filesContaining(dir, PASSWORD), [], `no clear password under ${dir}`);
      assert.deepEqual(await filesContaining(dir, 'Wr0ng-Password'), []);
    }
  } finally {
    await s.close();
    await hop.close();
    await sink.stop();
  }
});

test('outbound AUTH LOGIN with SmartHostAuthMechanism BasicAuth to a smart host that offers only LOGIN and no TLS; the credentials stay out of the send log', { timeout: 60_000 }, async () => {
  const { SMTPServer } = await import('smtp-server');
  const port = await freePort();
  const got: Array<{ user: string | undefined; from: string }> = [];
  const logins: string[] = [];
  const srv = new SMTPServer({
    authMethods: ['LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      logins.push(`${auth.method} ${auth.username}`);
      if (auth.username === 'relay-login' && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Authentication unsuccessful'));
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        got.push({ user: session.user as string | undefined, from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '' });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', {
      Name: 'Login only',
      AddressSpaces: ['*'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      DNSRoutingEnabled: false,
      SmartHostAuthMechanism: 'BasicAuth',
      AuthenticationCredential: { $credential: { userName: 'relay-login', password: PASSWORD } },
      ProtocolLoggingLevel: 'Verbose',
    });
    await s.transport.reload();
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com']);
    assert.equal(r.code, 0, r.stdout);
    await waitFor('the message at the LOGIN-only smart host', async () => got.length === 1);
    assert.deepEqual(got, [{ user: 'relay-login', from: 'alice@contoso.com' }]);
    assert.deepEqual(logins, ['LOGIN relay-login']);
    const rows = await waitFor('the send log', async () => {
      const all = await receiveLog(s, 'Send');
      return all.some((x) => x.data.startsWith('235')) ? all : undefined;
    });
    const auth = rows.slice(rows.findIndex((x) => x.data === 'AUTH LOGIN'));
    assert.deepEqual(auth.slice(0, 4).map((x) => [x.event, x.data.slice(0, 3)]), [['>', 'AUT'], ['<', '334'], ['<', '334'], ['<', '235']], 'the user name and password lines are not logged');
    await s.transport.stop();
    assert.deepEqual(await filesContaining(s.dataDir, PASSWORD), []);
    assert.deepEqual(await filesContaining(s.dataDir, b64('relay-login')), []);
  } finally {
    await s.close();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});
