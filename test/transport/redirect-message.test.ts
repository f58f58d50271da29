// Taking a server out of mail flow without stopping its transport: EX01
// drains, Redirect-Message sends what it holds to EX02 over SMTP, the two
// authenticating each other with their internal transport certificates, and
// EX02 delivers it to the next hop EX01 could not reach. Nothing lost, nothing twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeTcpPort, tempDir } from '../support/interchange.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx } from '../support/pki.js';
import { swaks } from '../support/smtp-tools.js';
import { receiveLog, startRecordingSink, startTestServers, submitMessage, waitFor } from '../support/transport-harness.js';

test('a draining EX01 redirects its queued mail to EX02, which authenticates it by its internal transport certificate and delivers every message to the next hop exactly once; an ordinary client certificate gets no relay', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('redirect');
  const deadPort = await freeTcpPort();
  const sink = await startRecordingSink();
  // EX02 lets nobody relay anonymously: only an authenticated Exchange server may send it mail for fabrikam.com.
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir, anonymousRelay: false });
  const certDir = await tempDir('redirect-client-cert');
  try {
    for (const server of ['EX01', 'EX02']) {
      await ex01.api.ok('Set-TransportService', { Identity: server, TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    }
    await ex01.api.ok('New-SendConnector', { Name: 'Hop EX01', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: deadPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.api.ok('New-SendConnector', { Name: 'Hop EX02', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX02'] });
    await ex01.transport.reload();
    await ex02.transport.reload();

    const ids = Array.from({ length: 10 }, (_, i) => `redirected-${i}@contoso.com`);
    for (const id of ids) await submitMessage(ex01.smtpPort, { messageId: id, to: 'bob@fabrikam.com' });
    await waitFor('EX01 holding 10 messages in Retry', async () => (await ex01.api.ok('Get-Queue', {})).find((q) => q.Status === 'Retry' && q.MessageCount === 10));

    const same = await ex02.api.invoke('Redirect-Message', { Server: 'EX01', Target: 'EX01.contoso.com' });
    assert.equal(same.error?.code, 'ICX_REDIRECT_TARGET_INVALID');
    assert.match(same.error!.message, /^The target server ex01\.contoso\.com is the server whose messages are to be redirected \(EX01\)\. Specify another server of the organization\.$/);

    await ex01.api.ok('Set-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport', State: 'Draining', Requester: 'Maintenance' });
    // Asked of EX02, run by EX01 (the cmdlet is forwarded to the server whose queues it moves).
    await ex02.api.ok('Redirect-Message', { Server: 'EX01', Target: 'ex02.contoso.com' });

    await waitFor('all 10 messages at the next hop', async () => sink.messages.filter((m) => m.messageId?.startsWith('<redirected-')).length >= 10, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const got = sink.messages.filter((m) => m.messageId?.startsWith('<redirected-')).map((m) => m.messageId);
    assert.deepEqual([...got].sort(), ids.map((i) => `<${i}>`).sort(), 'every message exactly once');
    for (const m of sink.messages) assert.match(m.raw, /by ex02\.contoso\.com \(EX02\)\r?\n with ESMTPSA;/, 'through EX02, over TLS, authenticated');

    const queues = await waitFor('EX01 delivery queues empty', async () => {
      const qs = await ex01.api.ok('Get-Queue', {});
      return qs.filter((q) => q.Identity !== 'EX01\\Submission' && q.Identity !== 'EX01\\Unreachable').every((q) => q.MessageCount === 0) ? qs : undefined;
    });
    const redirect = queues.find((q) => q.NextHopDomain === 'ex02.contoso.com');
    assert.match(redirect?.Identity ?? '', /^EX01\\\d+$/, 'named by its QueueInteger');
    assert.ok(redirect, `a queue to EX02 in ${JSON.stringify(queues.map((q) => q.Identity))}`);
    assert.deepEqual([redirect.DeliveryType, redirect.NextHopCategory], ['SmtpRelayToServers', 'Internal']);
    assert.equal(queues.find((q) => q.Identity === 'EX01\\Submission')?.MessageCount, 0);

    const [ex01Server] = await ex01.api.ok('Get-TransportService', { Identity: 'EX01' });
    const rows = await waitFor('EX02 logging the Exchange server authentication', async () => {
      const r = await receiveLog(ex02);
      return r.some((x) => x.context === 'authenticated as an Exchange server by its internal transport certificate') ? r : undefined;
    });
    const auth = rows.find((x) => x.context === 'authenticated as an Exchange server by its internal transport certificate')!;
    assert.equal(auth.data, 'EX01');
    const session = rows.filter((x) => x.sessionId === auth.sessionId);
    assert.ok(session.some((x) => x.context === 'Certificate thumbprint' && x.data === ex01Server.InternalTransportCertificateThumbprint), 'the certificate EX01 presented is its internal transport certificate');
    assert.ok(session.some((x) => x.context === 'Set Session Permissions' && x.data.includes('SMTPAcceptAnyRecipient')));

    // An ordinary client with a self-signed certificate (one that even names EX01) is not a server of the organization.
    const pki = await createTestPki();
    const { certificate, privateKey } = pem(pki.selfSigned);
    await writeFile(join(certDir, 'client.pem'), certificate);
    await writeFile(join(certDir, 'client.key'), privateKey);
    const ordinary = await swaks(['--server', `127.0.0.1:${ex02.smtpPort}`, '--from', 'mallory@contoso.com', '--to', 'bob@fabrikam.com', '--tls', '--tls-cert', join(certDir, 'client.pem'), '--tls-key', join(certDir, 'client.key'), '--quit-after', 'RCPT']);
    assert.match(ordinary.stdout, /<~\* 550 5\.7\.54 /, ordinary.stdout);
    assert.equal(sink.messages.length, 10, 'nothing else reached the next hop');
  } finally {
    await ex01.close();
    await ex02.close();
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(certDir, { recursive: true, force: true });
  }
});

test('a target whose Receive connector presents another certificate than its internal transport certificate is refused: the mail stays on EX01 in Retry, with a LastError naming both', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('redirect-pin');
  const deadPort = await freeTcpPort();
  const sink = await startRecordingSink();
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir, anonymousRelay: false });
  try {
    await ex01.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await ex01.api.ok('New-SendConnector', { Name: 'Hop EX01', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: deadPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await ex01.api.ok('New-SendConnector', { Name: 'Hop EX02', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX02'] });
    // EX02's frontend presents a certificate of another name: whoever answers there, it is not EX02 as the directory knows it.
    const other = (await createTestPki()).oldCert;
    await ex02.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(other, 'pw', { withChain: true })), Password: secure('pw') });
    await ex02.api.ok('Set-ReceiveConnector', { Identity: 'EX02\\Default Frontend EX02', TlsCertificateName: `<I>${other.facts.issuer}<S>${other.facts.subject}` });
    await ex01.transport.reload();
    await ex02.transport.reload();

    for (const id of ['pinned-1@contoso.com', 'pinned-2@contoso.com']) await submitMessage(ex01.smtpPort, { messageId: id, to: 'bob@fabrikam.com' });
    await waitFor('EX01 holding 2 messages in Retry', async () => (await ex01.api.ok('Get-Queue', {})).find((q) => q.Status === 'Retry' && q.MessageCount === 2));
    await ex01.api.ok('Redirect-Message', { Server: 'EX01', Target: 'EX02' });
    const [ex02Server] = await ex01.api.ok('Get-TransportService', { Identity: 'EX02' });
    const q = await waitFor('the queue to EX02 in Retry', async () => (await ex01.api.ok('Get-Queue', { Identity: 'EX01\\ex02.contoso.com' })).find((x) => x.Status === 'Retry' && x.MessageCount === 2));
    assert.equal(q.LastError, `454 4.7.5 ex02.contoso.com (127.0.0.1:${ex02.smtpPort}) presented the certificate ${other.facts.thumbprint.toUpperCase()}, not its internal transport certificate ${String(ex02Server.InternalTransportCertificateThumbprint).toUpperCase()}`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.messages.length, 0, 'nothing was sent to the impostor');
  } finally {
    await ex01.close();
    await ex02.close();
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
