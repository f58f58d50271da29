// Switch-ExchangeCertificate while mail keeps flowing: no Stop-Service, the
// next hop (Postfix asking for a client certificate) sees the old certificate
// before and the renewed one after, and no message is lost or refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toPem } from '../../src/certificates/containers.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx, type TestCert } from '../support/pki.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestServer } from '../support/transport-harness.js';

test('Switch-ExchangeCertificate rotates the certificate a running Send connector presents, without stopping transport', { timeout: 240_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const pf = await startPostfixNextHop({
    port,
    tls: { certPem: pem(pki.viaIntermediate).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(pki.viaIntermediate).privateKey, askClientCert: true, caPem: toPem(pki.ca.der, 'CERTIFICATE') },
  });
  const s = await startTestServer();
  const install = async (c: TestCert) => {
    await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(c, 'pw', { withChain: true })), Password: secure('pw'), PrivateKeyExportable: true });
    await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: c.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
  };
  let sent = 0;
  const send = async () => {
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', `Subject: rotation ${++sent}`]);
    assert.equal(r.code, 0, `message ${sent} was accepted: ${r.stdout}${r.stderr}`);
  };
  try {
    await install(pki.oldCert);
    await s.api.ok('New-SendConnector', {
      Name: 'Outbound to Fabrikam',
      AddressSpaces: ['fabrikam.com'],
      SmartHosts: ['127.0.0.1'],
      Port: port,
      RequireTLS: true,
      TlsCertificateName: `<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}`,
    });
    await s.transport.reload();
    await send();
    await pf.waitForMessages(1, 30_000);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.oldCert.facts.thumbprint]);

    // Mail keeps arriving while the rotation runs.
    await install(pki.renewedCert);
    const during = (async () => {
      for (let i = 0; i < 5; i++) await send();
    })();
    const steps = await s.api.ok('Switch-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, NewThumbprint: pki.renewedCert.facts.thumbprint });
    assert.deepEqual(steps.map((x) => [x.Connector, x.Server, x.OldCertificate]), [['Outbound to Fabrikam', 'EX01', 'Removed']]);
    await during;
    const [service] = await s.api.ok('Get-Service', { Name: ['MSExchangeTransport'] });
    assert.equal(service.Status, 'Running', 'transport was never stopped');

    await s.transport.reload();
    await send();
    await pf.waitForMessages(sent, 60_000);
    const fingerprints = await pf.clientCertFingerprints();
    assert.equal(fingerprints.at(-1), pki.renewedCert.facts.thumbprint, 'the next session presents the renewed certificate');
    assert.ok(fingerprints.every((f) => f === pki.oldCert.facts.thumbprint || f === pki.renewedCert.facts.thumbprint));
    assert.equal((await pf.receivedMessages()).length, sent, 'every message arrived, once');
    assert.ok(!(await s.api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === pki.oldCert.facts.thumbprint), 'the old certificate is gone');
  } finally {
    await s.close();
    await pf.stop();
  }
});
