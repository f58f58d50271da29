// ACME issuance against a real ACME server (Debian's pebble, with pebble-challtestsrv as the DNS
// server its validation authority asks): the organization's account, a certificate for EX01
// validated by http-01 that EX01 answers itself, installed in EX01's store with its chain, and
// used for mail through a Send connector to a Postfix that verifies it against pebble's root.
//
// What is checked of trust: pebble makes a new root every start and serves it only on its
// management API, never over ACME, so the store first holds the certificate and pebble's
// intermediate but not the root, and Get-ExchangeCertificate says Untrusted (as Exchange does for
// a private CA whose root is not installed). openssl verify, given pebble's root, accepts the
// chain kept with it; once the root is installed on EX01 (imported with its chain), the
// certificate is Valid, a Send connector selects it by TlsCertificateName, and Postfix, given
// pebble's root, verifies it as the client certificate of a real message.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bytes, secure } from '../support/interchange.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { withOpenssl } from '../support/pki.js';
import { startPostfixNextHop, type PostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });

const thumbprints = async (s: TestServer) => (await s.api.ok('Get-ExchangeCertificate')).map((c) => c.Thumbprint).sort();
const domainsOf = (c: Record<string, any>): string[] => (c.CertificateDomains as { Address: string }[]).map((d) => d.Address);

describe('Request-AcmeCertificate with pebble', { timeout: 300_000 }, () => {
  let pebble: Pebble;
  let s: TestServer;
  let postfix: PostfixNextHop | undefined;
  before(async () => {
    pebble = await startPebble();
    s = await startTestServer();
  });
  after(async () => {
    await s?.close();
    await postfix?.stop();
    await pebble?.stop();
  });

  it('refuses a request while the organization has no ACME account', async () => {
    const r = await s.api.invoke('Request-AcmeCertificate', { HttpPort: pebble.httpPort });
    assert.equal(r.error?.code, 'ICX_ACME_ACCOUNT_MISSING');
    assert.match(r.error!.message, /New-AcmeAccount/);
  });

  it("refuses a directory whose HTTPS certificate is not trusted, naming -AcmeServerCertificate, and keeps nothing", async () => {
    const r = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true });
    assert.equal(r.error?.code, 'ICX_ACME_DIRECTORY_UNREACHABLE', JSON.stringify(r.error));
    assert.match(r.error!.message, /AcmeServerCertificate/);
    assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);
  });

  it('refuses a URL that answers but is no ACME directory', async () => {
    const r = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl.replace(/\/dir$/, '/no-such-directory'), AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    assert.equal(r.error?.code, 'ICX_ACME_DIRECTORY_UNREACHABLE', JSON.stringify(r.error));
    assert.match(r.error!.message, /does not answer as an ACME directory \(HTTP 404\) during the account registration/);
    const http = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl.replace(/^https:/, 'http:'), AcceptTermsOfService: true });
    assert.equal(http.error?.code, 'ICX_PARAM_INVALID');
    assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);
  });

  it("passes on the CA's problem detail when it refuses the account", async () => {
    // pebble, like Let's Encrypt, refuses an account that did not agree to its terms of service.
    const r = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    assert.equal(r.error?.code, 'ICX_ACME_CA_REFUSED', JSON.stringify(r.error));
    assert.match(r.error!.message, /terms of service/i);
    assert.match(String(r.error!.details?.problemType), /^urn:ietf:params:acme:error:/, 'the problem type travels with the detail');
    assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);
  });

  it('creates the organization-wide account; -WhatIf creates nothing, the key never shows, the audit log records it', async () => {
    const params = { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) };
    const whatIf = await s.api.invoke('New-AcmeAccount', params, { whatIf: true });
    assert.ok(whatIf.ok);
    assert.match(whatIf.whatIf.join('\n'), /Creating ACME account/);
    assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);

    const [created] = await s.api.ok('New-AcmeAccount', params);
    assert.equal(created.DirectoryUrl, pebble.directoryUrl);
    assert.match(created.AccountUrl, /^https:\/\/localhost:\d+\/my-account\//);
    const [shown] = await s.api.ok('Get-AcmeAccount');
    assert.deepEqual(shown.ContactEmail, ['hostmaster@contoso.com']);
    assert.equal(shown.AcmeServerCertificates.length, 1);
    assert.doesNotMatch(JSON.stringify(shown), /PRIVATE KEY/);

    const again = await s.api.invoke('New-AcmeAccount', params);
    assert.equal(again.error?.code, 'ICX_OBJECT_EXISTS');

    await s.api.ok('Set-AcmeAccount', { ContactEmail: ['hostmaster@contoso.com', 'pki@contoso.com'] });
    assert.deepEqual((await s.api.ok('Get-AcmeAccount'))[0].ContactEmail, ['hostmaster@contoso.com', 'pki@contoso.com']);

    const audit = await s.api.ok('Search-AdminAuditLog', { Cmdlets: ['New-AcmeAccount', 'Set-AcmeAccount'], IsSuccess: true });
    assert.deepEqual(audit.map((a) => a.CmdletName).sort(), ['New-AcmeAccount', 'Set-AcmeAccount']);
  });

  it('reports a failed http-01 validation with the CA\'s detail and leaves the store as it was', async () => {
    const before = await thumbprints(s);
    const whatIf = await s.api.invoke('Request-AcmeCertificate', { Server: 'EX01', HttpPort: pebble.httpPort, Services: 'SMTP' }, { whatIf: true });
    assert.ok(whatIf.ok, JSON.stringify(whatIf.error));
    assert.match(whatIf.whatIf[0], /^What if: Request ACME certificate:\tServer="EX01",\tDomainName="ex01\.contoso\.com",\tServices="SMTP"/);
    assert.deepEqual(await thumbprints(s), before);
    // EX01 answers on another port than the one pebble validates on: pebble finds nobody there.
    const elsewhere = await freePort();
    const r = await s.api.invoke('Request-AcmeCertificate', { Server: 'EX01', HttpPort: elsewhere });
    assert.equal(r.error?.code, 'ICX_ACME_CHALLENGE_FAILED', JSON.stringify(r.error));
    assert.match(r.error!.message, /EX01 answered on port \d+ while the request ran/);
    assert.equal(r.error!.details?.problemType, 'urn:ietf:params:acme:error:connection');
    assert.match(r.error!.message, /ex01\.contoso\.com/);
    assert.match(r.error!.message, /connection refused|Connection refused|Fetching/i);
    assert.deepEqual(await thumbprints(s), before);
    assert.ok(await portIsFree(elsewhere), 'the challenge listener was closed');
  });

  it('issues a certificate by http-01, installs it with its chain and services, and mail flows with it', async () => {
    const pebbleRoot = await pebble.issuingRootPem();
    const intermediate = new X509Certificate(await pebble.issuingIntermediatePem());
    const postfixPort = await freePort();
    const serverTls = await selfSignedForPostfix();
    postfix = await startPostfixNextHop({ port: postfixPort, tls: { certPem: serverTls.certPem, keyPem: serverTls.keyPem, askClientCert: true, caPem: pebbleRoot } });
    await s.api.ok('New-SendConnector', { Name: 'Outbound to Fabrikam', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: postfixPort, Fqdn: 'mail.contoso.com', RequireTLS: true });

    const [issued] = await s.api.ok('Request-AcmeCertificate', { Server: 'EX01', Services: 'SMTP', HttpPort: pebble.httpPort, FriendlyName: 'Pebble SMTP' });
    // The names default to the server's FQDN and the FQDN of the Send connector it is a source of.
    assert.deepEqual(domainsOf(issued).sort(), ['ex01.contoso.com', 'mail.contoso.com']);
    assert.equal(issued.Issuer, intermediate.subject.replace(/\n/g, ', '));
    assert.equal(issued.HasPrivateKey, true);
    assert.equal(issued.FriendlyName, 'Pebble SMTP');

    const [shown] = await s.api.ok('Get-ExchangeCertificate', { Thumbprint: issued.Thumbprint });
    assert.equal(shown.Services, 'SMTP');
    assert.equal(shown.IsSelfSigned, false);
    assert.equal(shown.Status, 'Untrusted', "pebble's root is in no store of EX01");
    assert.match(shown.Issuer, /^CN=Pebble Intermediate CA /);

    // The chain kept with it is pebble's: openssl verifies it against pebble's root.
    const [exported] = await s.api.ok('Export-ExchangeCertificate', { Thumbprint: issued.Thumbprint });
    const chainPem = Buffer.from(exported.FileData.$bytes, 'base64').toString('utf8');
    assert.equal([...chainPem.matchAll(/BEGIN CERTIFICATE/g)].length, 2, 'the certificate and pebble\'s intermediate');
    const verified = await withOpenssl({ 'root.pem': pebbleRoot, 'chain.pem': chainPem, 'leaf.pem': chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 26) }, (_dir, openssl) =>
      openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', '-purpose', 'sslserver', 'leaf.pem']),
    );
    assert.match(verified, /leaf\.pem: OK/);

    // An administrator trusts pebble's root on EX01 the way this store takes roots: imported with the
    // chain it anchors (the intermediate comes in as a certificate without a key, and goes again).
    const [intermediateInStore] = await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(Buffer.from((await pebble.issuingIntermediatePem()) + pebbleRoot)) });
    await s.api.ok('Remove-ExchangeCertificate', { Thumbprint: intermediateInStore.Thumbprint }, { confirmed: true });
    const [trusted] = await s.api.ok('Get-ExchangeCertificate', { Thumbprint: issued.Thumbprint });
    assert.equal(trusted.Status, 'Valid');
    assert.equal(trusted.RootCAType, 'Registry');

    // Enable-ExchangeCertificate works on it as on any certificate (here: making it the default SMTP certificate).
    await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: issued.Thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: true } });
    const enabled = await s.api.invoke('Enable-ExchangeCertificate', { Thumbprint: issued.Thumbprint, Services: 'IIS' }, { whatIf: true });
    assert.ok(enabled.ok, JSON.stringify(enabled.error));

    // The Send connector presents it to Postfix, which verifies it against pebble's root.
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound to Fabrikam', TlsCertificateName: `<I>${issued.Issuer}<S>${issued.Subject}` });
    await s.transport.reload();
    const sent = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', 'Subject: ACME']);
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    await postfix.waitForMessages(1, 60_000);
    assert.deepEqual(await postfix.clientCertFingerprints(), [issued.Thumbprint]);
    const log = (await postfix.logLines()).join('\n');
    assert.match(log, /Trusted TLS connection established from/, 'Postfix verified the client certificate chain against pebble\'s root');
  });
});

describe('Request-AcmeCertificate for another server', { timeout: 180_000 }, () => {
  it('runs on the server that holds the store: EX02 answers the challenge and gets the certificate, asked through EX01', async () => {
    const pebble = await startPebble();
    const ex01 = await startTestServer();
    let ex02: TestServer | undefined;
    try {
      ex02 = await startTestServer({ name: 'EX02', dataDir: ex01.dataDir });
      await ex01.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
      const ex01Before = await thumbprints(ex01);
      const [issued] = await ex01.api.ok('Request-AcmeCertificate', { Server: 'EX02', DomainName: ['relay.contoso.com'], HttpPort: pebble.httpPort });
      assert.deepEqual(domainsOf(issued), ['relay.contoso.com']);
      assert.equal(issued.Server, 'EX02');
      assert.ok((await ex02.api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === issued.Thumbprint), "in EX02's store");
      assert.deepEqual(await thumbprints(ex01), ex01Before, "EX01's store is unchanged");
      const rows = await ex01.api.ok('Search-AdminAuditLog', { Cmdlets: ['Request-AcmeCertificate'] });
      assert.deepEqual(rows.map((r) => r.OriginatingServer).sort(), ['EX01', 'EX02'], 'asked on EX01, run on EX02');
    } finally {
      await ex02?.close();
      await ex01.close();
      await pebble.stop();
    }
  });
});

describe('New-AcmeAccount with external account binding', { timeout: 120_000 }, () => {
  it('binds the account with the key id and HMAC key the CA gave, which the audit log never shows', async () => {
    const hmac = Buffer.from('interchange-eab-test-hmac-key-0123456789').toString('base64url');
    const pebble = await startPebble({ externalAccountMacKeys: { 'kid-contoso': hmac } });
    const s = await startTestServer();
    try {
      const base = { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['pki@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) };
      const unbound = await s.api.invoke('New-AcmeAccount', base);
      assert.equal(unbound.error?.code, 'ICX_ACME_CA_REFUSED', JSON.stringify(unbound.error));
      assert.match(unbound.error!.message, /externalAccountBinding/);
      const half = await s.api.invoke('New-AcmeAccount', { ...base, ExternalAccountKeyId: 'kid-contoso' });
      assert.equal(half.error?.code, 'ICX_PARAM_INVALID');
      const wrong = await s.api.invoke('New-AcmeAccount', { ...base, ExternalAccountKeyId: 'kid-contoso', ExternalAccountHmacKey: secure(Buffer.from('another key entirely, 32 bytes!!').toString('base64url')) });
      assert.equal(wrong.error?.code, 'ICX_ACME_CA_REFUSED', JSON.stringify(wrong.error));
      assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);

      const [account] = await s.api.ok('New-AcmeAccount', { ...base, ExternalAccountKeyId: 'kid-contoso', ExternalAccountHmacKey: secure(hmac) });
      assert.equal(account.ExternalAccountKeyId, 'kid-contoso');
      const [issued] = await s.api.ok('Request-AcmeCertificate', { DomainName: ['eab.contoso.com'], HttpPort: pebble.httpPort });
      assert.deepEqual(domainsOf(issued), ['eab.contoso.com']);
      const audit = JSON.stringify(await s.api.ok('Search-AdminAuditLog', { Cmdlets: ['New-AcmeAccount'] }));
      assert.ok(!audit.includes(hmac), 'the HMAC key is not in the audit log');
      assert.match(audit, /\*\*\*\*\*\*/);
    } finally {
      await s.close();
      await pebble.stop();
    }
  });
});

describe('Request-AcmeCertificate when the directory cannot be reached', { timeout: 120_000 }, () => {
  it('fails with ICX_ACME_DIRECTORY_UNREACHABLE and leaves the store unchanged', async () => {
    const pebble = await startPebble();
    const s = await startTestServer();
    try {
      await s.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
      await pebble.stop();
      const before = await thumbprints(s);
      const started = Date.now();
      const r = await s.api.invoke('Request-AcmeCertificate', { HttpPort: pebble.httpPort, Services: 'SMTP' });
      assert.equal(r.error?.code, 'ICX_ACME_DIRECTORY_UNREACHABLE', JSON.stringify(r.error));
      assert.match(r.error!.message, new RegExp(`${pebble.directoryUrl.replace(/[/.]/g, '\\$&')} can't be reached`));
      assert.match(r.error!.message, /ECONNREFUSED/);
      assert.ok(Date.now() - started < 20_000, 'the administrator learns it in seconds, not after a minute of retries');
      assert.deepEqual(await thumbprints(s), before);
      assert.ok(await portIsFree(pebble.httpPort), 'the challenge listener was closed');

      const fresh = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: 'https://127.0.0.1:1/directory', AcceptTermsOfService: true });
      assert.equal(fresh.error?.code, 'ICX_OBJECT_EXISTS');
      await s.api.ok('Remove-AcmeAccount', {}, { confirmed: true });
      assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);
      const unreachable = await s.api.invoke('New-AcmeAccount', { DirectoryUrl: `https://127.0.0.1:${await freePort()}/directory`, AcceptTermsOfService: true });
      assert.equal(unreachable.error?.code, 'ICX_ACME_DIRECTORY_UNREACHABLE');
      assert.deepEqual(await s.api.ok('Get-AcmeAccount'), []);
    } finally {
      await s.close();
      await pebble.stop();
    }
  });
});

/** Postfix's own certificate; what matters here is the certificate Interchange presents to it. */
async function selfSignedForPostfix(): Promise<{ certPem: string; keyPem: string }> {
  return withOpenssl({}, async (dir, openssl) => {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=mx.fabrikam.com']);
    const fs = await import('node:fs/promises');
    return { certPem: await fs.readFile(`${dir}/c.pem`, 'utf8'), keyPem: await fs.readFile(`${dir}/k.pem`, 'utf8') };
  });
}
