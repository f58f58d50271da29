// Outbound: MX routing through the transport's ExternalDNSServers (a DNS
// server of the test's own), failover between MX hosts, NDR for a domain that
// does not exist; TlsAuthLevel and IgnoreSTARTTLS against a Postfix next hop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPem } from '../../src/certificates/containers.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx } from '../support/pki.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestDns } from '../support/transport-dns.js';
import { protocolLog, startRecordingSink, startTestServer, submitMessage, waitFor } from '../support/transport-harness.js';

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

test('message bodies reach the next hop byte for byte, with BDAT where CHUNKING is offered and DATA where not, over STARTTLS and in the clear', { timeout: 240_000 }, async () => {
  const pki = await createTestPki();
  const hop = pki.viaIntermediate;
  const tls = { certPem: pem(hop).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(hop).privateKey, askClientCert: false };
  // Postfix offers CHUNKING unless told to hide it.
  const [chunkingPort, dataPort] = [await freePort(), await freePort()];
  const hops = {
    bdat: await startPostfixNextHop({ port: chunkingPort, tls }),
    data: await startPostfixNextHop({ port: dataPort, tls, mainCf: { smtpd_discard_ehlo_keywords: 'chunking' } }),
  };
  const s = await startTestServer();
  try {
    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await s.api.ok('New-SendConnector', { Name: 'Partner', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: chunkingPort, DNSRoutingEnabled: false, RequireTLS: true, ProtocolLoggingLevel: 'Verbose' });
    const line = (i: number) => `line ${i} ${'x'.repeat(70)}`;
    // What the next hop must get (lines, unstuffed): with DATA the client joins a short last block to the
    // terminator and over TLS writes a long one (past 16 KiB) on its own; with BDAT the same split applies to
    // the whole message, and no dot is stuffed.
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
    for (const [verb, pf] of Object.entries(hops)) {
      await s.api.ok('Set-SendConnector', { Identity: 'Partner', Port: pf === hops.bdat ? chunkingPort : dataPort, RequireTLS: true, IgnoreSTARTTLS: false });
      await s.transport.reload();
      for (const [tag, lines] of Object.entries(bodies)) await send(`${verb} tls ${tag}`, lines);
      await pf.waitForMessages(3, 60_000);
      await s.api.ok('Set-SendConnector', { Identity: 'Partner', RequireTLS: false, IgnoreSTARTTLS: true });
      await s.transport.reload();
      for (const [tag, lines] of Object.entries(bodies)) await send(`${verb} clear ${tag}`, lines);
      const got = await pf.waitForMessages(6, 60_000);
      for (const way of ['tls', 'clear']) {
        for (const [tag, lines] of Object.entries(bodies)) {
          const m = got.find((x) => x.raw.includes(`Subject: ${verb} ${way} ${tag}\n`));
          assert.ok(m, `${verb} ${way} ${tag} arrived`);
          const body = m.raw.replace(/\r\n/g, '\n').split('\n\n').slice(1).join('\n\n');
          assert.equal(body, lines.join('\n') + '\n', `${verb} ${way} ${tag}: the body as sent`);
        }
      }
    }
    // The send protocol log says which verb carried each message: BDAT with its exact length, as Exchange logs it.
    const sent = (await protocolLog(s, 'Send')).filter((r) => r.event === '>').map((r) => r.data ?? '');
    const bdat = sent.filter((d) => d.startsWith('BDAT '));
    assert.equal(bdat.length, 6, sent.join('\n'));
    for (const d of bdat) assert.match(d, /^BDAT \d+ LAST$/);
    assert.equal(sent.filter((d) => d === 'DATA').length, 6, sent.join('\n'));
  } finally {
    await s.close();
    await hops.bdat.stop();
    await hops.data.stop();
  }
});

test('BDAT to a next hop that refuses recipients or content, pipelined and not: the others get the message, the refused ones an NDR with its reply', { timeout: 180_000 }, async () => {
  // Content refused after the last chunk, as a content filter would: a header check, not applied to the NDRs' copies.
  const checks = await mkdtemp(path.join(os.tmpdir(), 'icx-header-checks-'));
  await writeFile(path.join(checks, 'header_checks'), '/^Subject: refused content/ REJECT no thanks\n');
  const refusing = {
    smtpd_recipient_restrictions: 'check_recipient_access inline:{ refused@fabrikam.com=REJECT, gone@fabrikam.com=REJECT }, permit',
    header_checks: `regexp:${path.join(checks, 'header_checks')}`,
    nested_header_checks: '',
  };
  for (const pipelined of [true, false]) {
    const port = await freePort();
    const pf = await startPostfixNextHop({ port, mainCf: pipelined ? refusing : { ...refusing, smtpd_discard_ehlo_keywords: 'pipelining' } });
    const s = await startTestServer();
    try {
      await s.api.ok('New-SendConnector', { Name: 'Partner', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, ProtocolLoggingLevel: 'Verbose' });
      await s.transport.reload();
      const messages = [
        ['bob@fabrikam.com,refused@fabrikam.com', 'some refused'],
        ['gone@fabrikam.com', 'all refused'],
        ['carol@fabrikam.com', 'after a refusal'],
        ['dave@fabrikam.com', 'refused content'],
      ];
      for (const [to, subject] of messages) {
        const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', to, '--header', `Subject: ${subject}`]);
        assert.equal(r.code, 0, r.stdout);
      }
      // The message twice (bob, carol) and three NDRs to alice, all through the same next hop.
      const got = await pf.waitForMessages(5, 60_000);
      const find = (what: string, pred: (m: (typeof got)[number]) => boolean) => {
        const m = got.find(pred);
        assert.ok(m, `${what}:\n${got.map((x) => `${x.from} -> ${x.to.join(',')}`).join('\n')}`);
        return m;
      };
      assert.deepEqual(find('bob got it', (m) => m.raw.includes('Subject: some refused')).to, ['bob@fabrikam.com']);
      assert.deepEqual(find('carol got it', (m) => m.raw.includes('Subject: after a refusal')).to, ['carol@fabrikam.com']);
      const ndrs = got.filter((m) => m.from === '' && m.to.includes('alice@contoso.com'));
      assert.equal(ndrs.length, 3, 'an NDR for each refused recipient');
      for (const [who, reply] of [['refused', /Recipient address rejected: Access denied/], ['gone', /Recipient address rejected: Access denied/], ['dave', /no thanks/]] as const) {
        const ndr = ndrs.find((m) => m.raw.includes(`Final-Recipient: rfc822;${who}@fabrikam.com`));
        assert.ok(ndr, `the NDR names ${who}`);
        assert.match(ndr.raw, /Action: failed\r?\nStatus: 5\.7\.1/);
        assert.match(ndr.raw, reply, "the next hop's own reply");
      }
      assert.ok(!got.some((m) => m.raw.includes('Subject: refused content') && m.from !== ''), 'the refused content was not delivered');
      // Every message went with BDAT: the four and the three NDRs, but unpipelined not the one whose recipients
      // were all refused before it. That transaction was reset before the next one.
      const sent = (await protocolLog(s, 'Send')).filter((r) => r.event === '>').map((r) => r.data);
      assert.equal(sent.filter((d) => d.startsWith('BDAT ')).length, pipelined ? 7 : 6, sent.join('\n'));
      assert.equal(sent.filter((d) => d === 'DATA').length, 0, sent.join('\n'));
      const gone = sent.indexOf('RCPT TO:<gone@fabrikam.com>');
      assert.ok(gone > 0 && sent.slice(gone).includes('RSET'), sent.join('\n'));
    } finally {
      await s.close();
      await pf.stop();
    }
  }
  await rm(checks, { recursive: true, force: true });
});
