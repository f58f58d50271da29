// Exchange's Receive connector limits against real sockets and a real server:
// MaxInboundConnection*, ConnectionTimeout vs ConnectionInactivityTimeout,
// MaxProtocolErrors, TarpitInterval, MaxRecipientsPerMessage, MaxLogonFailures
// and Interchange's AUTH throttle across sessions; the cmdlets that set them;
// and Postfix's smtpd given the same input where it has the same limit.
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { admitConnection } from '../../src/transport/inbound/connection-limits.js';
import { AuthThrottle, decideAuth, DEFAULT_AUTH_THROTTLE, sourceKey, withFailure, type AuthThrottlePolicy, type FailureRecord } from '../../src/transport/inbound/auth-throttle.js';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { runShell } from '../../src/shell/run.js';
import { secure } from '../support/interchange.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort } from '../support/smtp-tools.js';
import { RawSmtp, receiveLog, startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const PASSWORD = 'Rcv-Limits-Secret9!';

/** A connector of its own on a free port, so each test sets its limits without touching the Default Frontend. */
async function connector(s: TestServer, name: string, settings: Record<string, unknown>): Promise<number> {
  const port = await freePort();
  await s.api.ok('New-ReceiveConnector', { Name: name, Usage: 'Custom', Bindings: [`0.0.0.0:${port}`], RemoteIPRanges: ['0.0.0.0-255.255.255.255'], PermissionGroups: 'AnonymousUsers', ProtocolLoggingLevel: 'Verbose', ...settings });
  await s.transport.reload();
  return port;
}

async function until(what: string, c: RawSmtp): Promise<string | undefined> {
  try {
    return await c.reply(20_000);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

test('admission: the total, the per-source count and the percentage of the free connections, each refusing on its own', () => {
  const limits = { maxInboundConnection: 5000, maxInboundConnectionPerSource: 20, maxInboundConnectionPercentagePerSource: 2 };
  const table: Array<[Parameters<typeof admitConnection>[0], number, number, string]> = [
    [limits, 0, 0, 'accept'],
    [limits, 100, 19, 'accept'],
    [limits, 100, 20, 'MaxInboundConnectionPerSource'],
    [limits, 5000, 0, 'MaxInboundConnection'],
    [limits, 4999, 0, 'accept'],
    // 2 % of the 51 connections still free is 1.02, rounded up to 2: a second from the address, not a third.
    [limits, 4949, 1, 'accept'],
    [limits, 4949, 2, 'MaxInboundConnectionPercentagePerSource'],
    [{ ...limits, maxInboundConnectionPerSource: null }, 0, 99, 'accept'],
    [{ ...limits, maxInboundConnectionPerSource: null }, 0, 100, 'MaxInboundConnectionPercentagePerSource'],
    [{ ...limits, maxInboundConnection: null }, 1_000_000, 19, 'accept'],
    [{ ...limits, maxInboundConnection: null, maxInboundConnectionPerSource: null }, 1_000_000, 1_000_000, 'accept'],
    [{ ...limits, maxInboundConnectionPercentagePerSource: 100 }, 4990, 9, 'accept'],
    [{ ...limits, maxInboundConnectionPercentagePerSource: 100 }, 4990, 10, 'MaxInboundConnectionPercentagePerSource'],
  ];
  for (const [l, open, fromSource, expected] of table) assert.equal(admitConnection(l, open, fromSource), expected, JSON.stringify({ l, open, fromSource }));
});

test('AUTH throttle decisions: slowed after a few failures, refused after more; a locked account is refused only to sources that failed; counts expire', () => {
  const p: AuthThrottlePolicy = { ...DEFAULT_AUTH_THROTTLE, windowMs: 1000, lockoutMs: 5000, sourceSlowAfter: 2, sourceDelayMs: 100, sourceMaxDelayMs: 350, sourceLockAfter: 5, accountLockAfter: 3 };
  const failures = (n: number, lockAfter: number, start = 0): FailureRecord | undefined => {
    let r: FailureRecord | undefined;
    for (let i = 0; i < n; i++) r = withFailure(p, start + i, r, lockAfter);
    return r;
  };
  const table: Array<[string, FailureRecord | undefined, FailureRecord | undefined, number, ReturnType<typeof decideAuth>]> = [
    ['a clean source', undefined, undefined, 10, { kind: 'check', delayMs: 0 }],
    ['one failure', failures(1, 5), undefined, 10, { kind: 'check', delayMs: 0 }],
    ['slowed at 2', failures(2, 5), undefined, 10, { kind: 'check', delayMs: 100 }],
    ['doubling', failures(3, 5), undefined, 10, { kind: 'check', delayMs: 200 }],
    ['capped', failures(4, 5), undefined, 10, { kind: 'check', delayMs: 350 }],
    ['source locked at 5', failures(5, 5), undefined, 10, { kind: 'refuse', reason: 'SourceLocked', until: 4 + 5000 }],
    ['source lock outlives the window', failures(5, 5), undefined, 3000, { kind: 'refuse', reason: 'SourceLocked', until: 4 + 5000 }],
    ['and ends', failures(5, 5), undefined, 5004, { kind: 'check', delayMs: 0 }],
    ['counts end with the window', failures(4, 5), undefined, 1000, { kind: 'check', delayMs: 0 }],
    ['locked account, failed source', failures(1, 5), failures(3, 3), 10, { kind: 'refuse', reason: 'AccountLocked', until: 2 + 5000 }],
    ['locked account, clean source: the password is checked', undefined, failures(3, 3), 10, { kind: 'check', delayMs: 0 }],
    ['locked account, source failures expired', failures(1, 5), failures(3, 3), 1500, { kind: 'check', delayMs: 0 }],
  ];
  for (const [name, source, account, now, expected] of table) assert.deepEqual(decideAuth(p, now, source, account), expected, name);
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), 'one IPv6 /64 is one source');
  assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
});

test('AUTH throttle tables stay bounded under floods of addresses and account names, and a flood does not evict a lock', () => {
  let now = 0;
  const t = new AuthThrottle(pino({ level: 'silent' }), { ...DEFAULT_AUTH_THROTTLE, maxEntries: 100, sourceLockAfter: 3, accountLockAfter: 3 }, () => now);
  for (let i = 0; i < 3; i++) t.failed('198.51.100.1', 'victim@contoso.com');
  assert.equal(t.before('198.51.100.1', 'x').kind, 'refuse');
  for (let i = 0; i < 50_000; i++) {
    now++;
    t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `guess-${i}@contoso.com`);
  }
  assert.deepEqual(t.tableSizes, { sources: 100, accounts: 100 });
  assert.deepEqual(t.before('198.51.100.1', 'x'), { kind: 'refuse', reason: 'SourceLocked', until: 15 * 60_000 });
  assert.equal(t.before('198.51.100.2', 'victim@contoso.com').kind, 'check', 'a clean address may still try the locked account');
  // The last address of the flood failed recently enough to be remembered; the victim's lock survived the flood.
  assert.deepEqual(t.before('10.0.195.79', 'victim@contoso.com'), { kind: 'refuse', reason: 'AccountLocked', until: 15 * 60_000 }, 'an address that failed may not');
});

test('Set-/Get-ReceiveConnector: Exchange\'s defaults, display and ranges; a bad value changes nothing; Format-List shows every limit', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const [d] = await s.api.ok('Get-ReceiveConnector', { Identity: 'Default Frontend EX01' });
    assert.deepEqual(
      {
        ConnectionTimeout: d.ConnectionTimeout,
        ConnectionInactivityTimeout: d.ConnectionInactivityTimeout,
        MaxInboundConnection: d.MaxInboundConnection,
        MaxInboundConnectionPerSource: d.MaxInboundConnectionPerSource,
        MaxInboundConnectionPercentagePerSource: d.MaxInboundConnectionPercentagePerSource,
        MaxRecipientsPerMessage: d.MaxRecipientsPerMessage,
        MaxHeaderSize: d.MaxHeaderSize,
        MaxProtocolErrors: d.MaxProtocolErrors,
        MaxLogonFailures: d.MaxLogonFailures,
        AuthTarpitInterval: d.AuthTarpitInterval,
      },
      {
        ConnectionTimeout: '00:10:00',
        ConnectionInactivityTimeout: '00:05:00',
        MaxInboundConnection: 5000,
        MaxInboundConnectionPerSource: 20,
        MaxInboundConnectionPercentagePerSource: 2,
        MaxRecipientsPerMessage: 200,
        MaxHeaderSize: '256 KB (262,144 bytes)',
        MaxProtocolErrors: 5,
        MaxLogonFailures: 3,
        AuthTarpitInterval: '00:00:05',
      },
    );
    await s.api.ok('New-ReceiveConnector', { Name: 'Hub', Usage: 'Custom', Bindings: [`0.0.0.0:${await freePort()}`], RemoteIPRanges: ['10.0.0.0/8'], TransportRole: 'HubTransport' });
    const [hub] = await s.api.ok('Get-ReceiveConnector', { Identity: 'Hub' });
    assert.deepEqual([hub.ConnectionTimeout, hub.ConnectionInactivityTimeout, hub.TarpitInterval], ['00:05:00', '00:01:00', '00:00:05'], 'the hub role\'s timeouts');

    await s.api.ok('Set-ReceiveConnector', { Identity: 'Hub', MaxInboundConnection: 'unlimited', MaxInboundConnectionPerSource: 7, MaxProtocolErrors: 'Unlimited', MaxHeaderSize: '64KB', TarpitInterval: '00:00:00', ConnectionTimeout: '1.00:00:00', ConnectionInactivityTimeout: '00:00:30', MaxLogonFailures: 0, MaxRecipientsPerMessage: 512000 });
    const [set] = await s.api.ok('Get-ReceiveConnector', { Identity: 'Hub' });
    assert.deepEqual(
      [set.MaxInboundConnection, set.MaxInboundConnectionPerSource, set.MaxProtocolErrors, set.MaxHeaderSize, set.TarpitInterval, set.ConnectionTimeout, set.ConnectionInactivityTimeout, set.MaxLogonFailures, set.MaxRecipientsPerMessage],
      ['Unlimited', 7, 'Unlimited', '64 KB (65,536 bytes)', '00:00:00', '1.00:00:00', '00:00:30', 0, 512000],
    );

    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ MaxInboundConnectionPerSource: 10001 }, /MaxInboundConnectionPerSource'.*greater than the maximum allowed range of 10000/],
      [{ MaxInboundConnection: 0 }, /MaxInboundConnection'.*less than the minimum allowed range of 1/],
      [{ MaxInboundConnectionPercentagePerSource: 101 }, /maximum allowed range of 100/],
      [{ MaxInboundConnectionPercentagePerSource: 'unlimited' }, /Input string was not in a correct format/],
      [{ MaxRecipientsPerMessage: 0 }, /MaxRecipientsPerMessage/],
      [{ MaxLogonFailures: 11 }, /maximum allowed range of 10/],
      [{ MaxProtocolErrors: -1 }, /MaxProtocolErrors/],
      [{ TarpitInterval: '00:10:01' }, /TarpitInterval \(00:10:01\) must be from 00:00:00 through 00:10:00/],
      [{ AuthTarpitInterval: '-00:00:01' }, /AuthTarpitInterval/],
      [{ ConnectionTimeout: '1.00:00:01' }, /ConnectionTimeout \(1\.00:00:01\) must be from 00:00:01 through 1\.00:00:00/],
      [{ ConnectionTimeout: '00:00:20' }, /ConnectionInactivityTimeout \(00:00:30\) must be less than ConnectionTimeout \(00:00:20\)/],
      [{ ConnectionInactivityTimeout: '00:00:00' }, /ConnectionInactivityTimeout \(00:00:00\) must be from 00:00:01/],
      [{ MaxHeaderSize: '0' }, /MaxHeaderSize must be from 1 byte/],
      [{ ConnectionInactivityTimeout: 'five minutes' }, /TimeSpan must be written/],
    ];
    for (const [params, message] of bad) {
      const r = await s.api.invoke('Set-ReceiveConnector', { Identity: 'Hub', MaxRecipientsPerMessage: 3, ...params });
      assert.equal(r.ok, false, `${JSON.stringify(params)} is refused`);
      assert.match(r.error?.message ?? '', message);
    }
    const [after] = await s.api.ok('Get-ReceiveConnector', { Identity: 'Hub' });
    // BindingStatus is the running transport's state (it may start listening meanwhile), not configuration.
    const configuration = ({ BindingStatus: _, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual(configuration(after), configuration(set), 'no refused Set changed anything (not even the valid MaxRecipientsPerMessage given with it)');
    const made = await s.api.invoke('New-ReceiveConnector', { Name: 'Bad', Usage: 'Custom', Bindings: [`0.0.0.0:${await freePort()}`], RemoteIPRanges: ['10.0.0.0/8'], ConnectionTimeout: '00:00:10' });
    assert.match(made.error?.message ?? '', /ConnectionInactivityTimeout \(00:05:00\) must be less than ConnectionTimeout \(00:00:10\)/);
    assert.equal((await s.api.ok('Get-ReceiveConnector', {})).filter((c) => c.Name === 'Bad').length, 0);

    // The shell, as an administrator types it.
    const token = s.server.administratorToken ?? fs.readFileSync(s.server.tokenFile, 'utf8').trim();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += String(d)));
    const code = await runShell({ host: createHttpCmdletHost({ url: s.server.adminUrl, token }), command: "Get-ReceiveConnector 'EX01\\Hub' | Format-List", stdout: out, stderr: new PassThrough(), interactive: false, nonInteractive: true, prompt: '' });
    assert.equal(code, 0, text);
    for (const line of [
      /^MaxInboundConnection\s+: Unlimited$/m,
      /^MaxInboundConnectionPerSource\s+: 7$/m,
      /^MaxInboundConnectionPercentagePerSource\s+: 2$/m,
      /^ConnectionTimeout\s+: 1\.00:00:00$/m,
      /^ConnectionInactivityTimeout\s+: 00:00:30$/m,
      /^MaxRecipientsPerMessage\s+: 512000$/m,
      /^MaxHeaderSize\s+: 64 KB \(65,536 bytes\)$/m,
      /^MaxProtocolErrors\s+: Unlimited$/m,
      /^TarpitInterval\s+: 00:00:00$/m,
      /^MaxLogonFailures\s+: 0$/m,
      /^AuthTarpitInterval\s+: 00:00:05$/m,
    ]) {
      assert.match(text, line);
    }
  } finally {
    await s.close();
  }
});

test('the 21st connection from one address gets Exchange\'s 421 4.3.2 and is closed at once, while another address still gets its banner; Postfix answers the same input with its own 421', { timeout: 90_000 }, async () => {
  const s = await startTestServer();
  const postfixPort = await freePort();
  // Postfix exempts mynetworks (all of loopback here) from its per-client limits unless told otherwise.
  const postfix = await startPostfixNextHop({ port: postfixPort, mainCf: { smtpd_client_connection_count_limit: '20', smtpd_client_event_limit_exceptions: '' } });
  const open: RawSmtp[] = [];
  try {
    const port = await connector(s, 'Limited', {});
    for (let i = 0; i < 20; i++) {
      const c = await RawSmtp.connect(port);
      open.push(c);
      assert.match((await c.reply())!, /^220 /, `connection ${i + 1}`);
    }
    const refused = await RawSmtp.connect(port);
    assert.equal(await refused.reply(), '421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel');
    assert.equal(await refused.reply(), undefined, 'and closed');
    const other = await RawSmtp.connect(port, '127.0.0.2');
    assert.match((await other.reply())!, /^220 /, 'another address still gets its banner');
    other.close();
    // A burst of refusals costs no sessions and writes no protocol log rows for them.
    const listeners = (s.transport as unknown as { listeners: { sessionCount: number; refusedConnections: number } }).listeners;
    const burst = await Promise.all(Array.from({ length: 200 }, () => RawSmtp.connect(port)));
    for (const b of burst) assert.match((await b.reply())!, /^421 4\.3\.2 /);
    for (const b of burst) b.close();
    assert.equal(listeners.sessionCount, 20, 'the refused connections made no sessions');
    assert.equal(listeners.refusedConnections, 201);
    // One closed connection frees a slot for the address.
    open.pop()!.close();
    const again = await waitFor('a freed slot', async () => {
      const c = await RawSmtp.connect(port);
      const r = await c.reply();
      if (r?.startsWith('220')) return c;
      c.close();
      return undefined;
    });
    open.push(again);
    const connects = await waitFor('the connects in the protocol log', async () => {
      const n = (await receiveLog(s)).filter((r) => r.event === '+' && r.connectorId === 'EX01\\Limited').length;
      return n >= 22 ? n : undefined;
    });
    assert.equal(connects, 22, 'only the 22 accepted connections are in the log, none of the 201 refused');

    // Postfix: the same 21 connections. Both refuse with a transient 421, so the sender retries later; Interchange
    // answers at once from the listener with Exchange's text and 4.3.2 ("system not accepting network messages"),
    // which names neither our host nor the client, where Postfix forks an smtpd for each refusal and asks anvil.
    const pf: RawSmtp[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await RawSmtp.connect(postfixPort);
      pf.push(c);
      assert.match((await c.reply())!, /^220 /);
    }
    const pfRefused = await RawSmtp.connect(postfixPort);
    assert.match((await pfRefused.reply())!, /^421 4\.7\.0 .*too many connections from 127\.0\.0\.1/i);
    pfRefused.close();
    for (const c of pf) c.close();
  } finally {
    for (const c of open) c.close();
    await s.close();
    await postfix.stop();
  }
});

test('ConnectionTimeout cuts a slowloris that is never idle; ConnectionInactivityTimeout cuts a silent session', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const port = await connector(s, 'Timed', { ConnectionTimeout: '00:00:04', ConnectionInactivityTimeout: '00:00:02' });
    const slow = await RawSmtp.connect(port);
    await slow.reply();
    const started = Date.now();
    // A byte every 500 ms: the idle timer (2 s) never fires, the session time (4 s) does.
    const trickle = setInterval(() => slow.write('N'), 500);
    try {
      assert.equal(await until('the slowloris cut', slow), '421 4.4.1 Connection timed out');
      assert.equal(await slow.reply(), undefined, 'and closed');
    } finally {
      clearInterval(trickle);
    }
    assert.ok(Date.now() - started >= 3500, 'not before ConnectionTimeout');

    const idle = await RawSmtp.connect(port);
    await idle.reply();
    assert.equal(await until('the idle cut', idle), '451 4.7.0 Timeout waiting for client input');
    assert.equal(await idle.reply(), undefined);
    const rows = await receiveLog(s);
    assert.equal(rows.filter((r) => r.event === '-' && r.context === 'Timeout').length, 2);
  } finally {
    await s.close();
  }
});

test('MaxProtocolErrors ends the session with 421 4.7.0; TarpitInterval holds 5xx replies to anonymous sessions, reading nothing meanwhile; Postfix\'s smtpd_hard_error_limit compared', { timeout: 90_000 }, async () => {
  const s = await startTestServer({ tarpit: true });
  const postfixPort = await freePort();
  const postfix = await startPostfixNextHop({ port: postfixPort, mainCf: { smtpd_hard_error_limit: '3', smtpd_soft_error_limit: '10' } });
  try {
    const port = await connector(s, 'Strict', { MaxProtocolErrors: 3, TarpitInterval: '00:00:01' });
    const c = await RawSmtp.connect(port);
    await c.reply();
    let t = Date.now();
    assert.match((await c.command('EHLO client.test'))!, /^250-/);
    assert.match((await c.command('NOOP'))!, /^250 /);
    t = Date.now();
    assert.match((await c.command('BOGUS'))!, /^500 5\.3\.3 /);
    assert.ok(Date.now() - t >= 900, 'the error reply waited for TarpitInterval');
    // A pipelined flood during the tarpit: the session reads none of it until the tarpit ends, then stops at the limit.
    c.write('BOGUS\r\n'.repeat(20_000));
    const replies: string[] = [];
    for (let r = await c.reply(); r !== undefined; r = await c.reply()) replies.push(r);
    assert.deepEqual(replies, ["500 5.3.3 Unrecognized command 'BOGUS'", "500 5.3.3 Unrecognized command 'BOGUS'", '421 4.7.0 Too many errors on this connection, closing transmission channel']);
    const tarpits = (await receiveLog(s)).filter((r) => /^Tarpit for '0\.00:00:01' due to '500 5\.3\.3/.test(r.context ?? ''));
    assert.equal(tarpits.length, 2, 'each held reply is in the protocol log, as Exchange writes it; the third went out with the 421');

    // An authenticated session is never tarpitted.
    await s.api.ok('New-MailUser', { Name: 'Tess', UserPrincipalName: 'tess@contoso.com', ExternalEmailAddress: 'tess@external.example', Password: secure(PASSWORD) });
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Strict', AuthMechanism: 'BasicAuth', PermissionGroups: 'AnonymousUsers, ExchangeUsers' });
    await s.transport.reload();
    const a = await RawSmtp.connect(port);
    await a.reply();
    await a.command('EHLO client.test');
    assert.match((await a.command(`AUTH PLAIN ${b64(`\0tess@contoso.com\0${PASSWORD}`)}`))!, /^235 /);
    t = Date.now();
    assert.match((await a.command('BOGUS'))!, /^500 /);
    assert.ok(Date.now() - t < 900, 'no tarpit after AUTH');
    a.close();

    // Postfix with smtpd_hard_error_limit=3: the same count of errors before the same 421 code. Interchange's
    // answer tells the client why it is disconnected without naming our host, in Exchange's words.
    const p = await RawSmtp.connect(postfixPort);
    await p.reply();
    await p.command('EHLO client.test');
    p.write('BOGUS\r\n'.repeat(10));
    const pfReplies: string[] = [];
    for (let r = await p.reply(); r !== undefined; r = await p.reply()) pfReplies.push(r);
    assert.equal(pfReplies.length, 4, pfReplies.join(' | '));
    assert.ok(pfReplies.slice(0, 3).every((r) => /^500 5\.5\.2 /.test(r)), pfReplies.join(' | '));
    assert.match(pfReplies[3], /^421 4\.7\.0 .*too many errors/i);
  } finally {
    await s.close();
    await postfix.stop();
  }
});

test('MaxRecipientsPerMessage: the next RCPT gets 452 4.5.3 and the message goes to the recipients accepted; Postfix\'s smtpd_recipient_limit gives the same code', { timeout: 90_000 }, async () => {
  const s = await startTestServer();
  const postfixPort = await freePort();
  const postfix = await startPostfixNextHop({ port: postfixPort, mainCf: { smtpd_recipient_limit: '3' } });
  try {
    const port = await connector(s, 'Few', { MaxRecipientsPerMessage: 3 });
    await s.api.ok('Add-ADPermission', { Identity: 'Few', User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });
    await s.transport.reload();
    for (const [p, expected] of [
      [port, /^452 4\.5\.3 Too many recipients$/],
      // Same code and meaning; Postfix prefixes "Error:".
      [postfixPort, /^452 4\.5\.3 Error: too many recipients$/],
    ] as const) {
      const c = await RawSmtp.connect(p);
      await c.reply();
      await c.command('EHLO client.test');
      assert.match((await c.command('MAIL FROM:<a@contoso.com>'))!, /^250 /);
      for (let i = 0; i < 3; i++) assert.match((await c.command(`RCPT TO:<r${i}@fabrikam.com>`))!, /^250 /);
      assert.match((await c.command('RCPT TO:<r3@fabrikam.com>'))!, expected);
      assert.match((await c.command('RSET'))!, /^250 /, 'the session goes on');
      c.close();
    }
  } finally {
    await s.close();
    await postfix.stop();
  }
});

test('AUTH guessing across sessions from one address is slowed, then refused even with the right password, while a clean address logs in; a locked account still lets its owner in from a clean address', { timeout: 90_000 }, async () => {
  const s = await startTestServer({ authThrottle: { sourceSlowAfter: 2, sourceDelayMs: 600, sourceLockAfter: 3, accountLockAfter: 5 } });
  try {
    await s.api.ok('New-MailUser', { Name: 'Ed Meadows', UserPrincipalName: 'ed@contoso.com', ExternalEmailAddress: 'ed@external.example', Password: secure(PASSWORD) });
    const port = await connector(s, 'Submit', { AuthMechanism: 'BasicAuth', PermissionGroups: 'ExchangeUsers', AuthTarpitInterval: '00:00:00' });
    const attempt = async (from: string, login: string, password: string): Promise<{ reply: string; ms: number }> => {
      const c = await RawSmtp.connect(port, from);
      try {
        await c.reply();
        await c.command('EHLO client.test');
        const t = Date.now();
        const reply = (await c.command(`AUTH PLAIN ${b64(`\0${login}\0${password}`)}`))!;
        return { reply, ms: Date.now() - t };
      } finally {
        c.close();
      }
    };
    // One session per guess, as an attacker with many connections does; different spellings are one account.
    assert.match((await attempt('127.0.0.1', 'ed@contoso.com', 'guess-1')).reply, /^535 5\.7\.3 /);
    assert.match((await attempt('127.0.0.1', 'ED', 'guess-2')).reply, /^535 5\.7\.3 /);
    const slowed = await attempt('127.0.0.1', 'CONTOSO\\ed', 'guess-3');
    assert.match(slowed.reply, /^535 5\.7\.3 /);
    assert.ok(slowed.ms >= 550, `the third guess waited (${slowed.ms} ms)`);
    const locked = await attempt('127.0.0.1', 'ed@contoso.com', PASSWORD);
    assert.equal(locked.reply, '454 4.7.0 Temporary authentication failure', 'the source is refused, right password or not');
    assert.match((await attempt('127.0.0.2', 'ed@contoso.com', PASSWORD)).reply, /^235 /, 'a different address still logs in');

    // Two more failures from another address lock the account (5): that address is refused, a clean one is not.
    assert.match((await attempt('127.0.0.3', 'ed', 'guess-4')).reply, /^535 /);
    assert.match((await attempt('127.0.0.3', 'ed', 'guess-5')).reply, /^535 /);
    assert.equal((await attempt('127.0.0.3', 'ed', PASSWORD)).reply, '454 4.7.0 Temporary authentication failure');
    assert.match((await attempt('127.0.0.4', 'ed@contoso.com', PASSWORD)).reply, /^235 /, 'the owner is not locked out everywhere');

    const rows = await receiveLog(s);
    assert.ok(rows.some((r) => /Inbound AUTH PLAIN refused because of SourceLocked/.test(r.context ?? '')));
    assert.ok(rows.some((r) => /Inbound AUTH PLAIN refused because of AccountLocked/.test(r.context ?? '')));
    assert.ok(rows.some((r) => /Tarpit for '0\.00:00:01' due to earlier AUTH failures/.test(r.context ?? '')));
    assert.ok(!rows.some((r) => (r.data ?? '').includes(PASSWORD) || (r.data ?? '').includes(b64(PASSWORD))), 'no password in the log');
  } finally {
    await s.close();
  }
});

test('MaxLogonFailures closes a session after that many failures, each answered after AuthTarpitInterval', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    await s.api.ok('New-MailUser', { Name: 'Ann', UserPrincipalName: 'ann@contoso.com', ExternalEmailAddress: 'ann@external.example', Password: secure(PASSWORD) });
    const port = await connector(s, 'Two tries', { AuthMechanism: 'BasicAuth', PermissionGroups: 'ExchangeUsers', MaxLogonFailures: 2, AuthTarpitInterval: '00:00:01' });
    const c = await RawSmtp.connect(port);
    await c.reply();
    await c.command('EHLO client.test');
    const t = Date.now();
    assert.equal(await c.command(`AUTH PLAIN ${b64('\0ann@contoso.com\0wrong')}`), '535 5.7.3 Authentication unsuccessful');
    assert.ok(Date.now() - t >= 900, 'answered after AuthTarpitInterval');
    c.write(`AUTH PLAIN ${b64('\0ann@contoso.com\0wrong-again')}\r\n`);
    assert.equal(await c.reply(), '535 5.7.3 Authentication unsuccessful');
    assert.equal(await c.reply(), '421 4.7.0 Too many failed authentication attempts, closing transmission channel');
    assert.equal(await c.reply(), undefined);
  } finally {
    await s.close();
  }
});

test('a client that keeps 20 sessions going opens the next one as soon as it reads the 221: never refused for the one that just ended', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const port = await connector(s, 'Busy client', {});
    // After the 221 the old socket is still open on the client's side (half-open, as a client that has not
    // closed yet) when the next one connects.
    const session = (): Promise<{ socket: net.Socket; lines: string[] }> =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        const lines: string[] = [];
        let buf = '';
        socket.on('data', (d) => {
          buf += d;
          for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
            lines.push(buf.slice(0, nl));
            buf = buf.slice(nl + 2);
            if (lines.length === 1 && lines[0].startsWith('220')) socket.write('QUIT\r\n');
            if (lines.length === 2 || !lines[0].startsWith('220')) resolve({ socket, lines });
          }
        });
        socket.on('error', reject);
      });
    const worker = async () => {
      const held: net.Socket[] = [];
      try {
        for (let round = 0; round < 15; round++) {
          const { socket, lines } = await session();
          held.push(socket);
          assert.match(lines[0], /^220 /, `round ${round}: ${lines[0]}`);
          assert.match(lines[1], /^221 /);
          if (held.length > 1) held.shift()!.destroy();
        }
      } finally {
        for (const h of held) h.destroy();
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
  } finally {
    await s.close();
  }
});
