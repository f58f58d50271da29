// ACME renewal with a real ACME server (issue 14): pebble restarts between
// issuance and renewal, as a public CA switches intermediates, so the renewed
// certificate has another issuer. The Send connector that named the old one is
// re-pointed in the same transaction; mail sent all through the renewal reaches
// Postfix with no deferral and no 454 4.7.5; Postfix sees the old, then the new
// client certificate; the old certificate is removed from the store once its
// grace period is over. A CA that cannot be reached leaves the certificate in
// use, the renewal Failing with the CA's error, and an alert.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { bytes } from '../support/interchange.js';
import { startPebble } from '../support/pebble.js';
import { withOpenssl } from '../support/pki.js';
import { startPostfixNextHop, type PostfixNextHop } from '../support/postfix.js';
import { freePort } from '../support/smtp-tools.js';
import { startTestServer, submitMessage, waitFor, type TestServer } from '../support/transport-harness.js';

/** Makes pebble's current root trusted on the server, as an administrator of a private CA would: imported with its chain, the intermediate taken out again. */
async function trustPebble(s: TestServer, rootPem: string, intermediatePem: string): Promise<void> {
  const [intermediate] = await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(Buffer.from(intermediatePem + rootPem)) });
  await s.api.ok('Remove-ExchangeCertificate', { Thumbprint: intermediate.Thumbprint }, { confirmed: true });
}

test('an ACME certificate renewed after the CA changed its intermediate: the connector follows, mail never defers, the old certificate goes after its grace period; an unreachable CA leaves it in use with an alert', { timeout: 300_000 }, async () => {
  const pebble = await startPebble();
  const s = await startTestServer({ acmeRenewalIntervalMs: 500 });
  let postfix: PostfixNextHop | undefined;
  let sending = true;
  let loop: Promise<number> = Promise.resolve(0);
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await s.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    await trustPebble(s, await pebble.issuingRootPem(), await pebble.issuingIntermediatePem());
    const postfixPort = await freePort();
    const serverTls = await withOpenssl({}, async (dir, openssl) => {
      await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=mx.fabrikam.com']);
      const fs = await import('node:fs/promises');
      return { certPem: await fs.readFile(`${dir}/c.pem`, 'utf8'), keyPem: await fs.readFile(`${dir}/k.pem`, 'utf8') };
    });
    postfix = await startPostfixNextHop({ port: postfixPort, tls: { certPem: serverTls.certPem, keyPem: serverTls.keyPem, askClientCert: true } });
    await s.api.ok('New-SendConnector', { Name: 'Outbound to Fabrikam', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: postfixPort, DNSRoutingEnabled: false, RequireTLS: true });

    const [first] = await s.api.ok('Request-AcmeCertificate', { DomainName: ['mail.contoso.com'], Services: 'SMTP', HttpPort: pebble.httpPort, OldCertificateGracePeriod: '00:00:04' });
    assert.equal(first.Status, 'Valid');
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound to Fabrikam', TlsCertificateName: `<I>${first.Issuer}<S>${first.Subject}` });
    await s.transport.reload();

    const [managed] = await s.api.ok('Get-AcmeCertificate');
    assert.deepEqual([managed.Thumbprint, managed.RenewalState, managed.Servers, managed.DomainNames, managed.OldCertificateGracePeriod], [first.Thumbprint, 'Scheduled', ['EX01'], ['mail.contoso.com'], '00:00:04']);
    const lifetime = new Date(managed.NotAfter).getTime() - new Date(managed.NotBefore).getTime();
    assert.equal(new Date(managed.NextRenewal).getTime(), new Date(managed.NotBefore).getTime() + Math.floor((lifetime * 2) / 3), 'due two thirds into its lifetime');

    // Mail all through what follows: a message every 100 ms.
    let n = 0;
    loop = (async () => {
      while (sending) {
        await submitMessage(s.smtpPort, { messageId: `renewal-${n}@contoso.com`, to: 'bob@fabrikam.com' });
        n++;
        await new Promise((r) => setTimeout(r, 100));
      }
      return n;
    })();
    await waitFor('mail flowing with the first certificate', async () => (await postfix!.clientCertFingerprints()).includes(first.Thumbprint), 60_000);

    // The CA restarts: it forgets the account and signs with a new intermediate of another name.
    await pebble.restart();
    const newIntermediate = new X509Certificate(await pebble.issuingIntermediatePem());
    assert.notEqual(newIntermediate.subject.replace(/\n/g, ', '), first.Issuer);
    await trustPebble(s, await pebble.issuingRootPem(), await pebble.issuingIntermediatePem());

    // Two renewals asked for at once on the same server (and the renewal service's own pass, every 500 ms): one runs, the other is refused.
    const [renewal, concurrent] = await Promise.all([
      s.api.invoke('Update-AcmeCertificate', { Thumbprint: first.Thumbprint }, { confirmed: true }),
      new Promise((r) => setTimeout(r, 50)).then(() => s.api.invoke('Update-AcmeCertificate', { Thumbprint: first.Thumbprint }, { confirmed: true })),
    ]);
    assert.ok(renewal.ok, JSON.stringify(renewal.error));
    assert.equal(concurrent.error?.code, 'ICX_ACME_RENEWAL_IN_PROGRESS', JSON.stringify(concurrent.error));
    assert.match(concurrent.error!.message, new RegExp(`^EX01 is renewing the certificate ${first.Thumbprint} `));
    const [renewed] = renewal.output as Array<Record<string, any>>;
    assert.notEqual(renewed.Thumbprint, first.Thumbprint);
    assert.equal(renewed.Issuer, newIntermediate.subject.replace(/\n/g, ', '));
    assert.equal(renewed.Status, 'Valid');
    assert.deepEqual(renewal.warnings, ['The TlsCertificateName of the Send connector "Outbound to Fabrikam" now names the renewed certificate: its issuer or subject changed.']);
    const [connector] = await s.api.ok('Get-SendConnector', { Identity: 'Outbound to Fabrikam' });
    assert.equal(connector.TlsCertificateName, `<I>${renewed.Issuer}<S>${renewed.Subject}`);
    // In its grace period the old certificate is still installed.
    assert.ok((await s.api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === first.Thumbprint), 'kept during the grace period');
    const [after] = await s.api.ok('Get-AcmeCertificate');
    assert.equal(after.Thumbprint, renewed.Thumbprint);
    assert.equal(after.RenewalState, 'Scheduled');
    assert.match(after.RetiringCertificates[0], new RegExp(`^${first.Thumbprint} \\(removed after `));
    // The account the CA forgot was registered again with its key.
    const [account] = await s.api.ok('Get-AcmeAccount');
    assert.ok(account.AccountUrl, 'an account URL');

    await waitFor('mail flowing with the renewed certificate', async () => (await postfix!.clientCertFingerprints()).includes(renewed.Thumbprint), 60_000);
    sending = false;
    const sent = await loop;
    await postfix.waitForMessages(sent, 60_000);
    const deferred = await s.api.ok('Get-MessageTrackingLog', { EventId: 'DEFER', ResultSize: 'Unlimited' });
    assert.deepEqual(deferred.map((d) => d.RecipientStatus), [], 'nothing was deferred during the renewal');
    assert.equal((await s.api.ok('Get-MessageTrackingLog', { EventId: 'SEND', ResultSize: 'Unlimited' })).length, sent, `all ${sent} messages sent once`);
    const presented = await postfix.clientCertFingerprints();
    assert.deepEqual([...new Set(presented)], [first.Thumbprint, renewed.Thumbprint], 'Postfix saw the old certificate, then only the new one');

    // The grace period over, the renewal service removes the old certificate.
    await waitFor('the old certificate removed', async () => !(await s.api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === first.Thumbprint), 30_000);
    assert.deepEqual((await s.api.ok('Get-AcmeCertificate'))[0].RetiringCertificates, []);

    // The CA is gone: the renewal fails with its cause, the certificate stays in use, an alert says so.
    await pebble.stop();
    const failed = await s.api.invoke('Update-AcmeCertificate', { Thumbprint: renewed.Thumbprint }, { confirmed: true });
    assert.equal(failed.error?.code, 'ICX_ACME_DIRECTORY_UNREACHABLE', JSON.stringify(failed.error));
    const [failing] = await s.api.ok('Get-AcmeCertificate');
    assert.deepEqual([failing.Thumbprint, failing.RenewalState, failing.FailedAttempts], [renewed.Thumbprint, 'Failing', 1]);
    assert.match(failing.LastError, /can't be reached/);
    assert.ok(new Date(failing.NextRenewal).getTime() > Date.now(), 'retried later');
    const alerts = (await s.api.ok('Get-ExchangeCertificateAlert')).filter((a) => a.Kind === 'AcmeRenewalFailing');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].Command, `Update-AcmeCertificate -Thumbprint ${renewed.Thumbprint}`);
    assert.match(alerts[0].Message, /failed 1 time; it is tried again at .* Last error: .*can't be reached/);
    assert.equal((await s.api.ok('Get-SendConnector', { Identity: 'Outbound to Fabrikam' }))[0].TlsCertificateName, `<I>${renewed.Issuer}<S>${renewed.Subject}`);
    assert.ok((await s.api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === renewed.Thumbprint), 'still installed and in use');

    // Who is told by mail when it keeps failing: through the organization's own transport, at the third failure, then at most daily.
    const badRecipient = await s.api.invoke('Set-AcmeAccount', { AlertRecipient: ['not an address'] }, { confirmed: true });
    assert.equal(badRecipient.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(badRecipient.error?.parameter, 'AlertRecipient');
    assert.deepEqual((await s.api.ok('Get-AcmeAccount'))[0].AlertRecipients, [], 'left as it was');
    await s.api.ok('Set-AcmeAccount', { AlertRecipient: ['pki@fabrikam.com'] }, { confirmed: true });
    for (let i = 0; i < 2; i++) assert.equal((await s.api.invoke('Update-AcmeCertificate', { Thumbprint: renewed.Thumbprint }, { confirmed: true })).ok, false);
    const withAlert = await postfix.waitForMessages(sent + 1, 60_000);
    const alertsMailed = () => withAlert.filter((m) => /Subject: Renewal of the certificate for mail\.contoso\.com keeps failing/.test(m.raw));
    assert.equal(alertsMailed().length, 1);
    const mail = alertsMailed()[0].raw;
    assert.match(mail, /^From: Microsoft Exchange <postmaster@ex01\.contoso\.com>\r?$/m);
    assert.match(mail, new RegExp(`has failed 3 times in a row`));
    assert.match(mail, /Last error: .*can't be reached/);
    assert.match(mail, new RegExp(`Update-AcmeCertificate -Thumbprint ${renewed.Thumbprint}`));
    assert.equal((await s.api.invoke('Update-AcmeCertificate', { Thumbprint: renewed.Thumbprint }, { confirmed: true })).ok, false);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await postfix.waitForMessages(sent + 1, 1000)).filter((m) => /keeps failing/.test(m.raw)).length, 1, 'not again within a day');

    const unknown = await s.api.invoke('Update-AcmeCertificate', { Thumbprint: 'AB'.repeat(20) }, { confirmed: true });
    assert.equal(unknown.error?.code, 'ICX_CERT_NOT_FOUND');
  } finally {
    sending = false;
    await loop.catch(() => undefined);
    await s.close();
    await postfix?.stop();
    await pebble.stop();
  }
});
