// Test-Mailflow between two servers of one organization (issue 15): success
// over the intra-organization path, with its latency; *FAILURE* with the reason
// when the target's frontend presents a certificate that is not its internal
// transport certificate, and when the target's transport is stopped. The
// target keeps nothing: no queue, no delivery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { bytes, secure, tempDir } from '../support/interchange.js';
import { createTestPki, pfx } from '../support/pki.js';
import { protocolLog, startTestServers, waitFor } from '../support/transport-harness.js';

test('Test-Mailflow EX01 -TargetMailboxServer EX02: Success over STARTTLS with both internal certificates; *FAILURE* naming the reason for an impostor certificate and a stopped target', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('test-mailflow');
  // Nobody may relay through EX02 anonymously: the probe gets in only as an authenticated server.
  const [ex01, ex02] = await startTestServers({ name: 'EX01', dataDir }, { name: 'EX02', dataDir, anonymousRelay: false });
  try {
    await ex01.transport.reload();
    await ex02.transport.reload();

    // Asked of EX02 about EX01: run by EX01, as Exchange runs the test on the source server.
    const [ok] = await ex02.api.ok('Test-Mailflow', { Identity: 'EX01', TargetMailboxServer: 'ex02.contoso.com' });
    assert.equal(ok.TestMailflowResult, 'Success', JSON.stringify(ok));
    assert.equal(ok.IsRemoteTest, true);
    assert.deepEqual([ok.SourceServer, ok.TargetServer, ok.Error], ['EX01', 'EX02', null]);
    assert.match(ok.MessageLatencyTime, /^00:00:\d\d(\.\d{7})?$/);

    // The session was the intra-organization one: STARTTLS, EX01's internal certificate, logged as Exchange logs it.
    const sent = await waitFor('the send log rows', async () => {
      const rows = (await protocolLog(ex01, 'Send')).filter((r) => r.connectorId === 'Intra-Organization SMTP Send Connector');
      return rows.some((r) => /^250 /.test(r.data) && rows.some((x) => x.data === 'STARTTLS')) ? rows : undefined;
    });
    assert.ok(sent.some((r) => /RCPT TO:<TestMailflow@ex02\.contoso\.com>/i.test(r.data)), 'to the probe address of EX02');
    // Nothing stays behind on EX02.
    assert.deepEqual((await ex02.api.ok('Get-Message', {})).map((m) => m.Subject), []);

    // EX02's frontend presents another certificate than its internal transport certificate: EX01 does not send.
    const other = (await createTestPki()).oldCert;
    await ex02.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(other, 'pw', { withChain: true })), Password: secure('pw') });
    await ex02.api.ok('Set-ReceiveConnector', { Identity: 'EX02\\Default Frontend EX02', TlsCertificateName: `<I>${other.facts.issuer}<S>${other.facts.subject}` });
    await ex02.transport.reload();
    const impostor = await ex01.api.invoke('Test-Mailflow', { TargetMailboxServer: 'EX02', ExecutionTimeout: 20 });
    assert.equal(impostor.ok, true);
    const [bad] = impostor.output as Array<Record<string, unknown>>;
    assert.equal(bad.TestMailflowResult, '*FAILURE*');
    assert.equal(bad.MessageLatencyTime, '00:00:00');
    assert.match(String(bad.Error), new RegExp(`^454 4\\.7\\.5 ex02\\.contoso\\.com \\(127\\.0\\.0\\.1:${ex02.smtpPort}\\) presented the certificate ${other.facts.thumbprint.toUpperCase()}, not its internal transport certificate`));
    assert.ok(impostor.warnings?.some((w) => /did not arrive: 454 4\.7\.5/.test(w)), JSON.stringify(impostor.warnings));

    await ex02.api.ok('Set-ReceiveConnector', { Identity: 'EX02\\Default Frontend EX02', TlsCertificateName: null });
    await ex02.transport.stop();
    const [down] = await ex01.api.ok('Test-Mailflow', { TargetMailboxServer: 'EX02', ExecutionTimeout: 20 });
    assert.equal(down.TestMailflowResult, '*FAILURE*');
    assert.match(String(down.Error), /^4\d\d /, String(down.Error));

    const missing = await ex01.api.invoke('Test-Mailflow', { TargetMailboxServer: 'EX09' });
    assert.equal(missing.ok, false);
    assert.match(missing.error?.message ?? '', /EX09/);
  } finally {
    await ex01.close();
    await ex02.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
