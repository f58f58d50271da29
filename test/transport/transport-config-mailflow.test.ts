// The organization's transport settings with real mail: MaxReceiveSize,
// MaxSendSize and MaxRecipientEnvelopeLimit limit what a Receive connector
// takes besides its own limits (the smaller wins, at SIZE= and at the end of
// the data); TLSSendDomainSecureList holds mail for a partner until a Postfix
// next hop proves over STARTTLS that it is the partner's, while other mail
// through the same smart host goes on; TLSReceiveDomainSecureList refuses a
// partner's sender unless swaks came over TLS with a client certificate that
// validates for the partner's domain; and a remote domain with NDREnabled $false gets no NDRs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { toPem } from '../../src/certificates/containers.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx, type TestPki } from '../support/pki.js';
import { startPostfixNextHop, type PostfixNextHop } from '../support/postfix.js';
import { freePort, opensslSClientStartTls, swaks } from '../support/smtp-tools.js';
import { RawSmtp, startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

const DAY = 86_400_000;

/** A certificate for the partner domain itself, from the test root. */
async function partnerCertificate(pki: TestPki, domain: string): Promise<{ der: Buffer; privateKeyPkcs8: Buffer }> {
  const c = await issueCertificate({ issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 }, subjectName: `CN=${domain}, O=Partner, C=US`, domainNames: [domain], notBefore: new Date(Date.now() - DAY) });
  return { der: c.der, privateKeyPkcs8: c.privateKeyPkcs8! };
}

/** Importing a certificate with its chain makes this server trust the test root. */
async function trustTestRoot(s: TestServer, pki: TestPki): Promise<void> {
  await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
}

async function ehloSize(port: number): Promise<string> {
  const c = await RawSmtp.connect(port);
  try {
    await c.reply();
    return /SIZE (\d+)/.exec((await c.command('EHLO client.test')) ?? '')?.[1] ?? 'none';
  } finally {
    c.close();
  }
}

test("MaxReceiveSize, MaxSendSize and MaxRecipientEnvelopeLimit limit a message besides the connector's limits: the smaller wins, at SIZE= and at the end of the data", { timeout: 180_000 }, async () => {
  const port = await freePort();
  const pf = await startPostfixNextHop({ port });
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await s.transport.reload();
    // Exchange's defaults: 10 MB for the organization, under the Default Frontend's 36 MB.
    assert.equal(await ehloSize(s.smtpPort), String(10 * 1024 * 1024));

    await s.api.ok('Set-TransportConfig', { MaxReceiveSize: '64KB' });
    await s.transport.reload();
    assert.equal(await ehloSize(s.smtpPort), '65536');
    const c = await RawSmtp.connect(s.smtpPort);
    await c.reply();
    await c.command('EHLO client.test');
    assert.match((await c.command('MAIL FROM:<alice@tailspintoys.com> SIZE=100000')) ?? '', /^552 5\.3\.4 Message size exceeds fixed maximum message size/);
    assert.match((await c.command('MAIL FROM:<alice@tailspintoys.com>')) ?? '', /^250/);
    assert.match((await c.command('RCPT TO:<bob@fabrikam.com>')) ?? '', /^250/);
    assert.match((await c.command('DATA')) ?? '', /^354/);
    c.write('Subject: too big for the organization\r\n\r\n' + ('y'.repeat(998) + '\r\n').repeat(100) + '.\r\n');
    assert.match((await c.reply()) ?? '', /^552 5\.3\.4 Message size exceeds fixed maximum message size/);
    c.close();

    // MaxSendSize below MaxReceiveSize wins; the connector's own MaxMessageSize, smaller still, wins over both.
    await s.api.ok('Set-TransportConfig', { MaxReceiveSize: 'Unlimited', MaxSendSize: '32KB' });
    await s.transport.reload();
    assert.equal(await ehloSize(s.smtpPort), '32768');
    await s.api.ok('Set-TransportConfig', { MaxSendSize: '1MB' });
    await s.api.ok('Set-ReceiveConnector', { Identity: 'Default Frontend EX01', MaxMessageSize: '64KB' });
    await s.transport.reload();
    assert.equal(await ehloSize(s.smtpPort), '65536');
    const tooBig = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@tailspintoys.com', '--to', 'bob@fabrikam.com', '--body', ('z'.repeat(76) + '\n').repeat(1000)]);
    assert.notEqual(tooBig.code, 0);
    assert.match(tooBig.stdout.slice(-2000), /<\*\* +552 5\.3\.4 Message size exceeds fixed maximum message size/);
    const fits = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@tailspintoys.com', '--to', 'bob@fabrikam.com', '--header', 'Subject: fits', '--body', 'small']);
    assert.equal(fits.code, 0, fits.stdout + fits.stderr);
    const [arrived] = await pf.waitForMessages(1, 30_000);
    assert.match(arrived.raw, /Subject: fits/);

    // MaxRecipientEnvelopeLimit below the connector's MaxRecipientsPerMessage (200).
    await s.api.ok('Set-TransportConfig', { MaxRecipientEnvelopeLimit: 2 });
    await s.transport.reload();
    const r = await RawSmtp.connect(s.smtpPort);
    await r.reply();
    await r.command('EHLO client.test');
    await r.command('MAIL FROM:<alice@tailspintoys.com>');
    assert.match((await r.command('RCPT TO:<one@fabrikam.com>')) ?? '', /^250/);
    assert.match((await r.command('RCPT TO:<two@fabrikam.com>')) ?? '', /^250/);
    assert.match((await r.command('RCPT TO:<three@fabrikam.com>')) ?? '', /^452 4\.5\.3 Too many recipients/);
    r.close();
    assert.equal((await pf.receivedMessages()).length, 1, 'nothing over a limit was delivered');
  } finally {
    await s.close();
    await pf.stop();
  }
});

test('TLSSendDomainSecureList: mail to the partner waits, never in the clear nor to an unproven host, until the next hop proves over STARTTLS that it is the partner; other mail through the same smart host goes on', { timeout: 300_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const partner = await partnerCertificate(pki, 'fabrikam.com');
  let pf: PostfixNextHop | undefined = await startPostfixNextHop({ port });
  const s = await startTestServer();
  try {
    await trustTestRoot(s, pki);
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'], ProtocolLoggingLevel: 'Verbose' });
    await s.api.ok('Set-TransportConfig', { TLSSendDomainSecureList: ['fabrikam.com'] });
    await s.transport.reload();

    // 1. A next hop without STARTTLS: the partner's mail waits in a queue of its own, other mail is delivered.
    for (const [to, subject] of [['bob@fabrikam.com', 'for the partner'], ['carol@tailspintoys.com', 'for anyone']]) {
      const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', to, '--header', `Subject: ${subject}`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const [plain] = await pf.waitForMessages(1, 30_000);
    assert.deepEqual(plain.to, ['carol@tailspintoys.com']);
    const q = await waitFor('the partner queue in Retry', async () => (await s.api.ok('Get-Queue', {})).find((x) => x.NextHopDomain === 'fabrikam.com' && x.Status === 'Retry'), 30_000);
    assert.match(q.LastError, /^451 4\.7\.4 127\.0\.0\.1 did not offer STARTTLS, and mail to fabrikam\.com \(TLSSendDomainSecureList\) is sent only over TLS/);
    assert.equal(q.MessageCount, 1);
    assert.equal(q.TlsDomain, 'fabrikam.com');
    assert.equal((await pf.receivedMessages()).length, 1, 'nothing for the partner went in the clear');
    await pf.stop();

    // 2. STARTTLS with a certificate that validates, but for a host of the partner, not the partner's domain.
    const hop = pki.viaIntermediate;
    pf = await startPostfixNextHop({ port, tls: { certPem: pem(hop).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(hop).privateKey, askClientCert: false } });
    await s.api.ok('Retry-Queue', { Identity: 'EX01\\fabrikam.com' });
    await waitFor('the retry refused for the name', async () => {
      const now = (await s.api.ok('Get-Queue', { Identity: 'EX01\\fabrikam.com' }))[0];
      return now.Status === 'Retry' && /does not match the TLS domain fabrikam\.com/.test(now.LastError ?? '') ? now : undefined;
    }, 30_000);
    const [named] = await s.api.ok('Get-Queue', { Identity: 'EX01\\fabrikam.com' });
    assert.match(named.LastError, /^454 4\.7\.5 The remote certificate does not match the TLS domain fabrikam\.com of Send connector Hop; mail to fabrikam\.com \(TLSSendDomainSecureList\) waits for a next hop whose certificate validates for it/);
    assert.equal((await pf.receivedMessages()).length, 0);
    await pf.stop();

    // 3. The partner's own certificate from a root this server trusts: delivered, over TLS.
    pf = await startPostfixNextHop({ port, tls: { certPem: pem(partner).certificate, keyPem: pem(partner).privateKey, askClientCert: false } });
    await s.api.ok('Retry-Queue', { Identity: 'EX01\\fabrikam.com' });
    const [secured] = await pf.waitForMessages(1, 60_000);
    assert.deepEqual(secured.to, ['bob@fabrikam.com']);
    assert.match(secured.raw.split('\n').slice(0, 4).join('\n'), /TLS/, 'Postfix records TLS in its Received header:\n' + secured.raw.slice(0, 600));
    await waitFor('an empty queue', async () => (await s.api.ok('Get-Message', {})).length === 0, 30_000);
  } finally {
    await s.close();
    await pf?.stop();
  }
});

test("TLSReceiveDomainSecureList: a partner's sender is refused on a TLS connector unless it came over TLS with a client certificate that validates for the partner's domain", { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const s = await startTestServer();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-domain-secure-'));
  try {
    await trustTestRoot(s, pki);
    const port = await freePort();
    await s.api.ok('New-ReceiveConnector', { Name: 'Partners', Usage: 'Custom', Bindings: [`0.0.0.0:${port}`], RemoteIPRanges: ['0.0.0.0-255.255.255.255'], PermissionGroups: 'AnonymousUsers', AuthMechanism: 'Tls', ProtocolLoggingLevel: 'Verbose', TarpitInterval: '00:00:00' });
    await s.api.ok('Set-TransportConfig', { TLSReceiveDomainSecureList: ['fabrikam.com'] });
    await s.transport.reload();
    const partner = await partnerCertificate(pki, 'fabrikam.com');
    const files = async (name: string, c: { der: Buffer; privateKeyPkcs8: Buffer }) => {
      const cert = path.join(dir, `${name}.pem`);
      const key = path.join(dir, `${name}.key`);
      await writeFile(cert, pem(c).certificate);
      await writeFile(key, pem(c).privateKey);
      return ['--tls-cert', cert, '--tls-key', key];
    };
    const send = (from: string, extra: string[]) => swaks(['--server', `127.0.0.1:${port}`, '--from', from, '--to', 'bob@contoso.com', '--quit-after', 'RCPT', ...extra]);

    const cases: Array<[string, string, string[], RegExp]> = [
      ['no TLS', 'alice@fabrikam.com', [], /530 5\.7\.1 Not authorized: mail from fabrikam\.com must come domain-secured \(STARTTLS first/],
      ['TLS, no client certificate', 'alice@fabrikam.com', ['--tls'], /530 5\.7\.1 .*no client certificate was presented/],
      ['a certificate for a host of the partner', 'alice@fabrikam.com', ['--tls', ...(await files('host', await partnerCertificate(pki, 'smtp.fabrikam.com')))], /530 5\.7\.1 .*the client certificate does not name fabrikam\.com/],
      ['a certificate without the intermediate that issued it', 'alice@fabrikam.com', ['--tls', ...(await files('orphan', pki.viaIntermediate))], /530 5\.7\.1 .*does not chain to a root this server trusts/],
      ['a self-signed certificate', 'alice@fabrikam.com', ['--tls', ...(await files('self', pki.selfSigned))], /530 5\.7\.1 .*does not chain to a root this server trusts/],
    ];
    for (const [what, from, extra, refusal] of cases) {
      const r = await send(from, extra);
      assert.notEqual(r.code, 0, what);
      assert.match(r.stdout, refusal, `${what}:\n${r.stdout}`);
    }
    const secured = await send('alice@fabrikam.com', ['--tls', ...(await files('partner', partner))]);
    assert.equal(secured.code, 0, secured.stdout + secured.stderr);
    assert.match(secured.stdout, /<~\s+250 2\.1\.0 Sender OK/);

    // A partner that keeps TLS sessions (Debian's Postfix does by default) resumes on its next connection, and
    // a resumed session carries only its leaf: the intermediate it showed the first time still validates it.
    const inter = pki.intermediate;
    const partnerViaIntermediate = await issueCertificate({ issuer: { der: inter.der, privateKeyPkcs8: inter.privateKeyPkcs8 }, subjectName: 'CN=fabrikam.com, O=Partner, C=US', domainNames: ['fabrikam.com'], notBefore: new Date(Date.now() - DAY) });
    const [, certFile, , keyFile] = await files('partner-via-intermediate', { der: partnerViaIntermediate.der, privateKeyPkcs8: partnerViaIntermediate.privateKeyPkcs8! });
    const chainFile = path.join(dir, 'intermediate.pem');
    await writeFile(chainFile, toPem(inter.der, 'CERTIFICATE'));
    const session = path.join(dir, 'session.pem');
    const transaction = 'EHLO partner.fabrikam.com\r\nMAIL FROM:<alice@fabrikam.com>\r\nRCPT TO:<bob@contoso.com>\r\nQUIT\r\n';
    for (const [sessionArg, handshake] of [['-sess_out', /^New, TLSv1\.3/m], ['-sess_in', /^Reused, TLSv1\.3/m]] as const) {
      const r = await opensslSClientStartTls(port, { certFile, keyFile, input: transaction, extraArgs: ['-cert_chain', chainFile, sessionArg, session, '-nocommands', '-ign_eof'] });
      assert.match(r.output, handshake, r.output);
      assert.doesNotMatch(r.output, /alert/, r.output);
      assert.match(r.output, /^250 2\.1\.0 Sender OK/m, r.output);
      assert.match(r.output, /^250 2\.1\.5 Recipient OK/m, r.output);
    }

    // Senders of other domains are not domain-secured.
    const other = await send('carol@tailspintoys.com', []);
    assert.equal(other.code, 0, other.stdout + other.stderr);

    // The list emptied, the partner is an ordinary sender again.
    await s.api.ok('Set-TransportConfig', { TLSReceiveDomainSecureList: null });
    await s.transport.reload();
    assert.equal((await send('alice@fabrikam.com', [])).code, 0);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("NDREnabled: a sender in a remote domain that turns NDRs off gets none; a sender under Default gets Interchange's NDR", { timeout: 180_000 }, async () => {
  const [refusingPort, senderPort] = [await freePort(), await freePort()];
  // The partner refuses every recipient (5xx at RCPT); the senders' domains take the NDRs.
  const refusing = await startPostfixNextHop({ port: refusingPort, mainCf: { smtpd_client_restrictions: 'reject' } });
  const senders = await startPostfixNextHop({ port: senderPort });
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Partner', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: refusingPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await s.api.ok('New-SendConnector', { Name: 'Senders', AddressSpaces: ['tailspintoys.com', 'woodgrovebank.com'], SmartHosts: ['127.0.0.1'], Port: senderPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await s.api.ok('New-RemoteDomain', { Name: 'Tailspin', DomainName: 'tailspintoys.com' });
    await s.api.ok('Set-RemoteDomain', { Identity: 'Tailspin', NDREnabled: false });
    await s.transport.reload();
    for (const from of ['carol@tailspintoys.com', 'dave@woodgrovebank.com']) {
      const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', from, '--to', 'bob@fabrikam.com', '--header', `Subject: from ${from}`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const [ndr] = await senders.waitForMessages(1, 60_000);
    assert.deepEqual(ndr.to, ['dave@woodgrovebank.com']);
    assert.match(ndr.raw, /Subject: Undeliverable: from dave@woodgrovebank\.com/);
    await waitFor('an empty queue', async () => (await s.api.ok('Get-Message', {})).length === 0, 60_000);
    assert.deepEqual((await senders.receivedMessages()).map((m) => m.to[0]), ['dave@woodgrovebank.com'], 'no NDR went to tailspintoys.com');
    assert.equal((await refusing.receivedMessages()).length, 0);
  } finally {
    await s.close();
    await refusing.stop();
    await senders.stop();
  }
});
