// The Default Frontend connector a new server gets, as Exchange Setup makes it: listening on IPv6 and IPv4,
// offering AUTH only once STARTTLS is up, and still taking anonymous mail for the organization's domains.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { ipv6Absent } from '../../src/transport/inbound/receive-listeners.js';
import { secure } from '../support/interchange.js';
import { swaks } from '../support/smtp-tools.js';
import { RawSmtp, receiveLog, startTestServer } from '../support/transport-harness.js';

const PASSWORD = 'Frontend-Passw0rd!';
const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6' && a.address === '::1'));

/** The first reply and the EHLO reply of a plain session to `host`. */
async function greet(host: string, port: number): Promise<{ banner: string; ehlo: string; local: string }> {
  const c = await RawSmtp.connect(port, undefined, host);
  const local = `[${c.socket.localAddress}]:${c.socket.localPort}`;
  try {
    const banner = (await c.reply()) ?? '';
    const ehlo = (await c.command('EHLO client.test')) ?? '';
    await c.command('QUIT');
    return { banner, ehlo, local };
  } finally {
    c.close();
  }
}

test('Default Frontend: bindings [::] and 0.0.0.0, both listening; a client on ::1 gets the banner and is logged with its IPv6 endpoint (without IPv6 loopback, [::] reports what became of it)', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const [frontend] = await s.api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01' });
    assert.deepEqual(frontend.Bindings, [`[::]:${s.smtpPort}`, `0.0.0.0:${s.smtpPort}`]);
    assert.equal(frontend.AuthMechanism, 'Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer');
    assert.equal(frontend.PermissionGroups, 'AnonymousUsers, ExchangeServers, ExchangeLegacyServers');
    if (!hasIpv6Loopback) {
      // A host without IPv6 loopback: the [::] binding says what became of it, and IPv4 mail flows as ever.
      assert.match(frontend.BindingStatus[0], new RegExp(`^\\[::\\]:${s.smtpPort} (Listening|Not available: .+)$`));
      assert.equal(frontend.BindingStatus[1], `0.0.0.0:${s.smtpPort} Listening`);
      assert.match((await greet('127.0.0.1', s.smtpPort)).banner, /^220 /);
      return;
    }
    assert.deepEqual(frontend.BindingStatus, [`[::]:${s.smtpPort} Listening`, `0.0.0.0:${s.smtpPort} Listening`]);

    const v6 = await greet('::1', s.smtpPort);
    assert.match(v6.banner, /^220 /);
    assert.match(v6.ehlo, /^250-/);
    const v4 = await greet('127.0.0.1', s.smtpPort);
    assert.match(v4.banner, /^220 /);
    const rows = await receiveLog(s);
    assert.ok(rows.some((r) => r.connectorId === 'EX01\\Default Frontend EX01' && r.remoteEndpoint === v6.local && r.event === '+'), 'the IPv6 session is in the receive log with its [::1] endpoint');
    assert.ok(rows.some((r) => r.localEndpoint === `[::1]:${s.smtpPort}`));
  } finally {
    await s.close();
  }
});

test('Default Frontend: AUTH is not offered before STARTTLS, is offered after it (BasicAuthRequireTLS), and anonymous mail to an accepted domain still goes through', { timeout: 60_000 }, async () => {
  const s = await startTestServer({ anonymousRelay: false });
  try {
    await s.api.ok('New-MailUser', { Name: 'Ed Meadows', UserPrincipalName: 'ed@contoso.com', ExternalEmailAddress: 'ed@external.example', Password: secure(PASSWORD) });
    await s.transport.reload();
    const plain = await greet('127.0.0.1', s.smtpPort);
    assert.match(plain.ehlo, /STARTTLS/);
    assert.doesNotMatch(plain.ehlo, /AUTH/);

    const tls = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--tls', '--to', 'ed@contoso.com', '--from', 'ed@contoso.com', '--auth', 'LOGIN', '--auth-user', 'ed@contoso.com', '--auth-password', PASSWORD, '--quit-after', 'AUTH']);
    assert.equal(tls.code, 0, tls.stdout + tls.stderr);
    assert.match(tls.stdout, /<~ {2}250-AUTH LOGIN PLAIN/, 'AUTH offered once TLS is up');
    assert.match(tls.stdout, /<~ {2}235 2\.7\.0 Authentication successful/);

    const anonymous = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--to', 'someone@contoso.com', '--from', 'sender@fabrikam.com', '--quit-after', 'RCPT']);
    assert.equal(anonymous.code, 0, anonymous.stdout + anonymous.stderr);
    const refused = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--to', 'bob@fabrikam.com', '--from', 'sender@fabrikam.com', '--quit-after', 'RCPT']);
    assert.notEqual(refused.code, 0, 'no anonymous relay without the grant');
    assert.match(refused.stdout, /<\*\* 550 5\.7\.54 /);
  } finally {
    await s.close();
  }
});

test('a host without IPv6 (EAFNOSUPPORT, or EADDRNOTAVAIL for ::) makes [::] a per-binding status, not a failure; a port in use stays a failure', () => {
  const err = (code: string) => Object.assign(new Error(code), { code }) as NodeJS.ErrnoException;
  assert.equal(ipv6Absent(err('EAFNOSUPPORT')), 'this host has no IPv6');
  assert.equal(ipv6Absent(err('EADDRNOTAVAIL')), 'IPv6 is turned off on this host');
  assert.equal(ipv6Absent(err('EADDRINUSE')), undefined);
  assert.equal(ipv6Absent(err('EACCES')), undefined);
});
