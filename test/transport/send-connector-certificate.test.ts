// The scenario end to end with real peers: swaks submits to Interchange, a
// private Postfix next hop asks for a client certificate over STARTTLS, and
// its log tells which certificate the Send connector presented: the one
// TlsCertificateName selects, before and after a renewal and after the
// article's procedure. Then the protocol log rows of those sessions, field by
// field, and the cmdlet that reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toPem } from '../../src/certificates/containers.js';
import { parseSendingCertificateRow, readProtocolLogs, type ProtocolLogRow } from '../../src/transport/protocol-log/index.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx, type TestCert } from '../support/pki.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

const tlsName = (c: TestCert, lowerTags = false) => (lowerTags ? `<i>${c.facts.issuer}<s>${c.facts.subject}` : `<I>${c.facts.issuer}<S>${c.facts.subject}`);

/** Postfix as smtp.fabrikam.com: the certificate the intermediate issued, with its chain, asking for the client's. */
function startFabrikamHop(pki: Awaited<ReturnType<typeof createTestPki>>, port: number, mainCf?: Record<string, string>) {
  const hop = pem(pki.viaIntermediate);
  return startPostfixNextHop({
    port,
    tls: { certPem: hop.certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: hop.privateKey, askClientCert: true, caPem: toPem(pki.ca.der, 'CERTIFICATE') },
    ...(mainCf ? { mainCf } : {}),
  });
}

async function install(s: TestServer, c: TestCert): Promise<void> {
  await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(c, 'pw', { withChain: true })), Password: secure('pw') });
  // SMTP, without taking over as the internal transport certificate (so it stays removable).
  await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: c.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
}

async function send(s: TestServer, subject: string): Promise<void> {
  const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', `Subject: ${subject}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

async function sendRows(s: TestServer): Promise<ProtocolLogRow[]> {
  await s.transport.flushLogs();
  const [svc] = await s.api.ok('Get-TransportService', { Identity: 'EX01' });
  const rows: ProtocolLogRow[] = [];
  for await (const r of readProtocolLogs(svc.SendProtocolLogPath)) rows.push(r);
  return rows;
}

test('the Send connector presents the certificate TlsCertificateName selects, before and after a renewal and after the procedure; the protocol log and Get-ConnectorCertificateUsage agree', { timeout: 240_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const hopCert = pki.viaIntermediate;
  const pf = await startFabrikamHop(pki, port);
  const s = await startTestServer();
  try {
    await install(s, pki.oldCert);
    await s.api.ok('New-SendConnector', {
      Name: 'Outbound to Fabrikam',
      AddressSpaces: ['fabrikam.com'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      DNSRoutingEnabled: false,
      RequireTLS: true,
      ProtocolLoggingLevel: 'Verbose',
      TlsCertificateName: tlsName(pki.oldCert),
      SourceTransportServers: ['EX01'],
    });
    await s.transport.reload();

    // 1. Before the renewal: the old certificate.
    await send(s, 'before renewal');
    await pf.waitForMessages(1, 30_000);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.oldCert.facts.thumbprint]);

    // 2. The renewed certificate (same issuer and subject) is installed: the running transport picks the newest, no restart.
    await install(s, pki.renewedCert);
    await s.transport.reload();
    await send(s, 'after renewal');
    await pf.waitForMessages(2, 30_000);
    assert.deepEqual((await pf.clientCertFingerprints()).slice(-1), [pki.renewedCert.facts.thumbprint]);

    // The removal guard of the article: both certificates are named by the connector.
    const blocked = await s.api.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint });
    assert.equal(blocked.ok, false);
    assert.match(blocked.error!.message, /tagged with following Send Connectors : Outbound to Fabrikam/);

    // 3. The article's procedure: stop transport, clear the name, remove the old certificate, set the name again, start.
    await s.api.ok('Stop-Service', { Name: ['MSExchangeTransport'] });
    const stopped = await s.api.invoke('Get-Queue', {});
    assert.equal(stopped.ok, false);
    assert.equal(stopped.error!.code, 'ICX_TRANSPORT_STOPPED');
    assert.equal(stopped.error!.message, 'Exchange can\'t connect to the Microsoft Exchange Transport service on computer "EX01". Verify that the service is started.');
    const refused = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com']);
    assert.notEqual(refused.code, 0, 'no SMTP while the transport is stopped');
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound to Fabrikam', TlsCertificateName: null });
    await s.api.ok('Remove-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.oldCert.facts.thumbprint });
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound to Fabrikam', TlsCertificateName: tlsName(pki.renewedCert, true) });
    await s.api.ok('Start-Service', { Name: ['MSExchangeTransport'] });
    await send(s, 'after the procedure');
    await pf.waitForMessages(3, 30_000);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.oldCert.facts.thumbprint, pki.renewedCert.facts.thumbprint, pki.renewedCert.facts.thumbprint]);

    // The protocol log of the last session, field by field.
    // The connection stays open a moment for more mail, then QUITs: wait for the session's last row.
    const rows = await waitFor('the end of the third session', async () => {
      const r = await sendRows(s);
      const c = r.filter((x) => x.context.startsWith('Sending certificate'));
      return c.length === 3 && r.some((x) => x.sessionId === c[2].sessionId && x.event === '-') ? r : undefined;
    });
    const certRows = rows.filter((r) => r.context.startsWith('Sending certificate'));
    assert.equal(certRows.length, 3, 'one Sending certificate row per session');
    const last = certRows[2];
    const session = rows.filter((r) => r.sessionId === last.sessionId);
    assert.match(last.sessionId, /^[0-9A-F]{16}$/);
    assert.deepEqual(session.map((r) => r.sequenceNumber), session.map((_, i) => i), 'sequence numbers 0, 1, 2, … without gaps');
    assert.ok(session.every((r) => r.connectorId === 'Outbound to Fabrikam' && r.kind === 'Send'));
    assert.deepEqual([session[0].event, session[0].context, session[0].remoteEndpoint, session[0].localEndpoint], ['*', 'attempting to connect', `127.0.0.1:${port}`, '']);
    assert.equal(session[1].event, '+');
    assert.match(session[1].localEndpoint, /^127\.0\.0\.1:\d+$/);
    assert.ok(session.slice(1).every((r) => r.localEndpoint === session[1].localEndpoint && r.remoteEndpoint === `127.0.0.1:${port}`));
    const flow = session.map((r) => `${r.event} ${r.event === '*' ? r.context.split(' ').slice(0, 3).join(' ') : r.data.split(' ')[0]}`);
    assert.deepEqual(flow.slice(0, 13), [
      '* attempting to connect',
      '+ ',
      '< 220',
      '> EHLO',
      '< 250-nexthop.interchange.test'.slice(0, 5),
      '> STARTTLS',
      '< 220',
      '* Sending certificate Subject',
      '* TLS protocol SP_PROT_TLS1_3_CLIENT',
      '* Received certificate',
      '* Certificate thumbprint',
      '> EHLO',
      '< 250',
    ]);
    assert.equal(session[3].data, 'EHLO ex01.contoso.com');
    assert.match(session[4].data, /^250 {2}nexthop\.interchange\.test .*STARTTLS/, 'a multi-line reply becomes one row');
    const logged = parseSendingCertificateRow(last)!;
    assert.equal(last.data[0], ' ');
    assert.deepEqual(
      { ...logged, notBefore: logged.notBefore?.toISOString(), notAfter: logged.notAfter?.toISOString() },
      {
        subject: pki.renewedCert.facts.subject,
        issuer: pki.renewedCert.facts.issuer,
        serialNumber: pki.renewedCert.facts.serialNumber,
        thumbprint: pki.renewedCert.facts.thumbprint,
        notBefore: pki.renewedCert.facts.notBefore.toISOString(),
        notAfter: pki.renewedCert.facts.notAfter.toISOString(),
        certificateDomains: pki.renewedCert.facts.certificateDomains,
      },
    );
    assert.match(session[8].context, /^TLS protocol SP_PROT_TLS1_3_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength \d+ bits$/);
    assert.equal(session[10].data, hopCert.facts.thumbprint, 'the next hop certificate thumbprint');
    assert.ok(session.some((r) => r.event === '>' && r.data === 'MAIL FROM:<alice@contoso.com> SIZE=' + r.data.split('SIZE=')[1]));
    assert.ok(session.some((r) => r.event === '>' && r.data === 'RCPT TO:<bob@fabrikam.com>'));
    assert.ok(session.some((r) => r.event === '*' && /^sending message with RecordId \d+ and InternetMessageId <.+>$/.test(r.context)));
    assert.deepEqual([session.at(-1)!.event, session.at(-1)!.context], ['-', 'Local']);

    // Get-ConnectorCertificateUsage: the article's "More information" in one cmdlet.
    const [usage] = await s.api.ok('Get-ConnectorCertificateUsage', { Identity: 'Outbound to Fabrikam' });
    assert.equal(usage.Thumbprint, pki.renewedCert.facts.thumbprint);
    assert.equal(usage.Server, 'EX01');
    assert.equal(usage.IsInstalled, true);
    assert.equal(usage.Status, 'Valid');
    assert.equal(usage.PresentedIsSelected, true);
    assert.equal(usage.SelectedThumbprint, pki.renewedCert.facts.thumbprint);
    assert.equal(new Date(usage.LastUsed).toISOString(), last.dateTime.toISOString());

    // Logs copied from a real Exchange server (same format): the old certificate was presented there and is no longer installed.
    const copied = await mkdtemp(path.join(os.tmpdir(), 'icx-exchange-logs-'));
    try {
      const old = pki.oldCert.facts;
      const exchangeLog = [
        '\uFEFF#Software: Microsoft Exchange Server',
        '#Version: 15.2.1118.7',
        '#Log-type: SMTP Send Protocol Log',
        '#Date: 2025-03-04T09:00:00.000Z',
        '#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context',
        '2025-03-04T09:15:02.114Z,Outbound to Fabrikam,08DD5AC3F1A40B21,0,,198.51.100.25:25,*,,attempting to connect',
        `2025-03-04T09:15:02.367Z,Outbound to Fabrikam,08DD5AC3F1A40B21,7,10.0.0.5:28417,198.51.100.25:25,*," ${old.subject} ${old.issuer} ${old.serialNumber} ${old.thumbprint} 2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z ${old.certificateDomains.join(';')}",Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names`,
        '',
      ].join('\r\n');
      await writeFile(path.join(copied, 'SEND2025030409-1.LOG'), exchangeLog);
      const [fromExchange] = await s.api.ok('Get-ConnectorCertificateUsage', { LogPath: copied, Server: 'EX01' });
      assert.equal(fromExchange.Connector, 'Outbound to Fabrikam');
      assert.equal(fromExchange.Thumbprint, old.thumbprint);
      assert.equal(fromExchange.Subject, old.subject);
      assert.equal(fromExchange.IsInstalled, false);
      assert.equal(fromExchange.Status, 'NotInstalled');
      assert.equal(fromExchange.PresentedIsSelected, false);
      assert.equal(fromExchange.SelectedThumbprint, pki.renewedCert.facts.thumbprint);
      // Our own logs copied elsewhere read the same way.
      const [svc] = await s.api.ok('Get-TransportService', { Identity: 'EX01' });
      for (const f of await readdir(svc.SendProtocolLogPath)) await copyFile(path.join(svc.SendProtocolLogPath, f), path.join(copied, f));
      const both = await s.api.ok('Get-ConnectorCertificateUsage', { LogPath: copied, Server: 'EX01', Identity: 'Outbound to Fabrikam' });
      assert.equal(both.length, 1);
      assert.equal(both[0].Thumbprint, pki.renewedCert.facts.thumbprint, 'the latest row wins');
    } finally {
      await rm(copied, { recursive: true, force: true });
    }
  } finally {
    await s.close();
    await pf.stop();
  }
});

test('no certificate matches TlsCertificateName: the queue goes to Retry with 454 4.7.5, and a fixed name lets the message through', { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const pf = await startPostfixNextHop({ port, tls: { certPem: pem(pki.viaIntermediate).certificate, keyPem: pem(pki.viaIntermediate).privateKey, askClientCert: true } });
  const s = await startTestServer();
  try {
    await install(s, pki.renewedCert);
    await s.api.ok('New-SendConnector', {
      Name: 'Outbound',
      AddressSpaces: ['*'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      DNSRoutingEnabled: false,
      TlsCertificateName: `<I>CN=Some Other CA<S>${pki.renewedCert.facts.subject}`,
    });
    await s.transport.reload();
    await send(s, 'waits for a certificate');
    const q = await waitFor('the queue in Retry', async () => {
      const qs = await s.api.ok('Get-Queue', {});
      return qs.find((x) => x.Status === 'Retry');
    });
    assert.match(q.Identity, /^EX01\\\d+$/);
    assert.equal(q.DeliveryType, 'SmartHostConnectorDelivery');
    assert.equal(q.NextHopDomain, '[127.0.0.1]');
    assert.equal(q.MessageCount, 1);
    assert.equal(q.LastError, '454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.');
    assert.ok(q.NextRetryTime);
    const [m] = await s.api.ok('Get-Message', { Queue: 'EX01\\[127.0.0.1]' });
    assert.equal(m.Status, 'Retry');
    assert.equal(m.Identity, `${q.Identity}\\${m.Identity.split('\\').pop()}`);

    await s.api.ok('Set-SendConnector', { Identity: 'Outbound', TlsCertificateName: tlsName(pki.renewedCert) });
    await s.transport.reload();
    await s.api.ok('Retry-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    await pf.waitForMessages(1, 30_000);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.renewedCert.facts.thumbprint]);
  } finally {
    await s.close();
    await pf.stop();
  }
});

test('a Send connector resumes its TLS session with the next hop while its certificate stays the same, and makes a full handshake with the certificate that replaces it', { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  // This Postfix issues session tickets (the other tests' Postfix does not, so that it logs every certificate).
  const pf = await startFabrikamHop(pki, port, { tls_ssl_options: '' });
  const s = await startTestServer();
  const resumed = async () => (await pf.logLines()).filter((l) => /postfix\/smtpd\[.*Reusing old session/.test(l)).length;
  try {
    await install(s, pki.oldCert);
    await s.api.ok('New-SendConnector', {
      Name: 'Outbound',
      AddressSpaces: ['fabrikam.com'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      DNSRoutingEnabled: false,
      RequireTLS: true,
      // DomainValidation checks the next hop's certificate on every connection, a resumed one too.
      TlsAuthLevel: 'DomainValidation',
      TlsDomain: 'smtp.fabrikam.com',
      ProtocolLoggingLevel: 'Verbose',
      TlsCertificateName: tlsName(pki.oldCert),
      SmtpMaxMessagesPerConnection: 1,
    });
    await s.transport.reload();

    // One message per connection: the first makes a full handshake, the next two resume it.
    for (let i = 1; i <= 3; i++) {
      await send(s, `message ${i}`);
      await pf.waitForMessages(i, 30_000);
      await waitFor(`connection ${i} closed`, async () => (await sendRows(s)).filter((r) => r.event === '-').length === i, 30_000);
    }
    assert.equal(await resumed(), 2, (await pf.logLines()).filter((l) => /smtpd/.test(l)).join('\n'));
    // Each session, resumed or not, logs the certificate it sent and the one the next hop showed (kept with the session).
    const rows = await sendRows(s);
    assert.equal(rows.filter((r) => r.context.startsWith('Sending certificate')).length, 3);
    assert.deepEqual(rows.filter((r) => r.context === 'Certificate thumbprint').map((r) => r.data), Array(3).fill(pki.viaIntermediate.facts.thumbprint));
    assert.deepEqual([...new Set(await pf.clientCertFingerprints())], [pki.oldCert.facts.thumbprint]);

    // The renewed certificate takes over: no session of the old one is resumed, the next hop sees the new certificate.
    await install(s, pki.renewedCert);
    await s.transport.reload();
    await send(s, 'message 4');
    await pf.waitForMessages(4, 30_000);
    assert.equal(await resumed(), 2, 'the fourth connection made a full handshake');
    assert.equal((await pf.clientCertFingerprints()).at(-1), pki.renewedCert.facts.thumbprint);
  } finally {
    await s.close();
    await pf.stop();
  }
});
