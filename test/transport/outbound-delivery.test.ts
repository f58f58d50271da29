// Outbound: MX routing through the transport's ExternalDNSServers (a DNS
// server of the test's own), failover between MX hosts, NDR for a domain that
// does not exist; TlsAuthLevel and IgnoreSTARTTLS against a Postfix next hop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPem } from '../../src/certificates/containers.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx } from '../support/pki.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestDns } from '../support/transport-dns.js';
import { startRecordingSink, startTestServer, submitMessage, waitFor } from '../support/transport-harness.js';

test('MX routing with ExternalDNSServers: lowest preference first, failover to the next MX, A fallback, NDR for a domain that does not exist', { timeout: 90_000 }, async () => {
  const sink = await startRecordingSink();
  const dns = await startTestDns({
    mx: { 'fabrikam.test': [{ priority: 20, exchange: 'mx2.fabrikam.test' }, { priority: 10, exchange: 'mx1.fabrikam.test' }], 'nomx.test': [] },
    a: { 'mx1.fabrikam.test': ['127.0.0.2'], 'mx2.fabrikam.test': ['127.0.0.1'], 'nomx.test': ['127.0.0.1'] },
  });
  const s = await startTestServer();
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', ExternalDNSServers: [`127.0.0.1:${dns.port}`] });
    await s.api.ok('New-SendConnector', { Name: 'Internet', AddressSpaces: ['*'], DNSRoutingEnabled: true, Port: sink.port });
    await s.api.ok('New-SendConnector', { Name: 'Home', AddressSpaces: ['contoso.test'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    for (const to of ['bob@fabrikam.test', 'carol@nomx.test', 'dave@missing.test']) {
      const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.test', '--to', to, '--header', `Subject: to ${to}`]);
      assert.equal(r.code, 0, r.stdout);
    }
    await waitFor('two deliveries and an NDR', async () => sink.messages.length >= 3, 30_000);
    const byRcpt = (r: string) => sink.messages.find((m) => m.to.includes(r));
    assert.match(byRcpt('bob@fabrikam.test')!.raw, /Subject: to bob@fabrikam\.test/);
    assert.match(byRcpt('carol@nomx.test')!.raw, /Subject: to carol@nomx\.test/);
    const ndr = byRcpt('alice@contoso.test')!;
    assert.equal(ndr.from, '');
    assert.match(ndr.raw, /Final-Recipient: rfc822;dave@missing\.test\r\nAction: failed\r\nStatus: 5\.4\.310/);
    assert.ok(dns.queries.includes('MX fabrikam.test'));
    assert.ok(dns.queries.includes('A mx1.fabrikam.test'), 'the preferred MX is tried first');
    assert.ok(dns.queries.includes('A nomx.test'), 'no MX: the domain itself');
    const queues = await s.api.ok('Get-Queue', {});
    const fab = queues.find((q) => q.NextHopDomain === 'fabrikam.test');
    assert.match(fab?.Identity ?? '', /^EX01\\\d+$/);
    assert.equal(fab?.DeliveryType, 'DnsConnectorDelivery');
  } finally {
    await s.close();
    await sink.stop();
    await dns.stop();
  }
});

test('TlsAuthLevel DomainValidation checks TlsDomain against the next hop certificate; IgnoreSTARTTLS sends in the clear', { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const hop = pki.viaIntermediate;
  const pf = await startPostfixNextHop({ port, tls: { certPem: pem(hop).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(hop).privateKey, askClientCert: true } });
  const s = await startTestServer();
  try {
    // Importing a certificate with its chain makes this server trust the test root.
    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await s.api.ok('New-SendConnector', {
      Name: 'Partner',
      AddressSpaces: ['*'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      DNSRoutingEnabled: false,
      RequireTLS: true,
      TlsAuthLevel: 'DomainValidation',
      TlsDomain: 'mail.wrong.example',
    });
    await s.transport.reload();
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com']);
    assert.equal(r.code, 0);
    const q = await waitFor('Retry', async () => (await s.api.ok('Get-Queue', {})).find((x) => x.Status === 'Retry'));
    assert.match(q.LastError, /^454 4\.7\.5 The remote certificate does not match the TLS domain mail\.wrong\.example of Send connector Partner/);
    assert.equal(q.TlsDomain, 'mail.wrong.example');
    assert.equal((await pf.receivedMessages()).length, 0);

    await s.api.ok('Set-SendConnector', { Identity: 'Partner', TlsDomain: 'smtp.fabrikam.com' });
    await s.transport.reload();
    await s.api.ok('Retry-Queue', { Identity: q.Identity });
    await pf.waitForMessages(1, 30_000);

    await s.api.ok('Set-SendConnector', { Identity: 'Partner', TlsAuthLevel: null, TlsDomain: null, RequireTLS: false, IgnoreSTARTTLS: true });
    await s.transport.reload();
    const before = (await pf.clientCertFingerprints()).length;
    await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', 'Subject: in the clear']);
    const msgs = await pf.waitForMessages(2, 30_000);
    const clear = msgs.find((m) => m.raw.includes('Subject: in the clear'))!;
    assert.doesNotMatch(clear.raw.split('\n').slice(0, 3).join('\n'), /TLS/, 'Postfix records no TLS in its Received header:\n' + clear.raw.slice(0, 600));
    assert.equal((await pf.clientCertFingerprints()).length, before);
  } finally {
    await s.close();
    await pf.stop();
  }
});

test('message bodies reach the next hop byte for byte over STARTTLS and in the clear: short and long last blocks, dot lines anywhere', { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const hop = pki.viaIntermediate;
  const pf = await startPostfixNextHop({ port, tls: { certPem: pem(hop).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(hop).privateKey, askClientCert: false } });
  const s = await startTestServer();
  try {
    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await s.api.ok('New-SendConnector', { Name: 'Partner', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, RequireTLS: true });
    await s.transport.reload();
    const line = (i: number) => `line ${i} ${'x'.repeat(70)}`;
    // What the next hop must get (lines, unstuffed): the client joins a short last block to the terminator, and
    // over TLS writes a long one (past 16 KiB) on its own.
    const bodies: Record<string, string[]> = {
      short: ['a', '.dot in the middle', 'last'],
      'long, no dots': Array.from({ length: 1300 }, (_, i) => line(i)),
      'long, dot lines at both ends': ['.first', ...Array.from({ length: 1300 }, (_, i) => line(i)), '..', '.last'],
    };
    const send = async (tag: string, lines: string[]) => {
      // On the wire to Interchange: stuffed.
      const wire = lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n');
      await submitMessage(s.smtpPort, { messageId: `${tag.replace(/\W+/g, '-')}@contoso.com`, to: 'bob@fabrikam.com', subject: tag, body: wire });
    };
    for (const [tag, lines] of Object.entries(bodies)) await send(`tls ${tag}`, lines);
    let got = await pf.waitForMessages(3, 60_000);
    await s.api.ok('Set-SendConnector', { Identity: 'Partner', RequireTLS: false, IgnoreSTARTTLS: true });
    await s.transport.reload();
    for (const [tag, lines] of Object.entries(bodies)) await send(`clear ${tag}`, lines);
    got = await pf.waitForMessages(6, 60_000);
    for (const way of ['tls', 'clear']) {
      for (const [tag, lines] of Object.entries(bodies)) {
        const m = got.find((x) => x.raw.includes(`Subject: ${way} ${tag}\n`));
        assert.ok(m, `${way} ${tag} arrived`);
        const body = m.raw.replace(/\r\n/g, '\n').split('\n\n').slice(1).join('\n\n');
        assert.equal(body, lines.join('\n') + '\n', `${way} ${tag}: the body as sent`);
      }
    }
  } finally {
    await s.close();
    await pf.stop();
  }
});
