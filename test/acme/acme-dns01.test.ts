// dns-01 against real servers (issue 14): the test's own BIND (named) is primary for contoso.test
// and lets a TSIG key update its TXT records; pebble's validation authority asks that named. No
// name certified here has an address: only the TXT records Interchange adds by RFC 2136 updates
// prove control, for a plain name and a wildcard. Each record is gone once the request ends (asked
// of named with Node's own resolver, not the product's code); a wrong TSIG secret is refused with
// the RCODE before pebble is asked for an order; the automatic renewal answers dns-01 again.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { bytes, secure } from '../support/interchange.js';
import { startNamed, type Named } from '../support/named.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

/** The TXT values named answers for `name` (none: NXDOMAIN or no TXT). */
async function txtAt(named: Named, name: string): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  r.setServers([named.server]);
  try {
    return (await r.resolveTxt(name)).map((parts) => parts.join(''));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTFOUND' || (e as NodeJS.ErrnoException).code === 'ENODATA') return [];
    throw e;
  }
}

/** named's log lines of successful updates (the server's own account of what was added and removed). */
const updates = (named: Named, from: number) => named.output().slice(from).split('\n').filter((l) => /updating zone/.test(l));

/**
 * named's update lines since `from`, once each of `expected` is in one of them (or 5 s passed): its log
 * comes through a pipe, which the test may read after the DNS answer that the request waited for.
 */
async function updatesWith(named: Named, from: number, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const log = updates(named, from);
    if (expected.every((e) => log.some((l) => l.includes(e))) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Request-AcmeCertificate -ChallengeType Dns01 with BIND and pebble', { timeout: 300_000 }, () => {
  let named: Named;
  let pebble: Pebble;
  let s: TestServer;
  before(async () => {
    named = await startNamed({ zone: 'contoso.test' });
    pebble = await startPebble({ dnsServer: named.server });
    s = await startTestServer();
    await s.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    // pebble's root trusted on EX01, as for a private CA: a renewal replaces only a certificate whose status is Valid.
    const [intermediate] = await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(Buffer.from((await pebble.issuingIntermediatePem()) + (await pebble.issuingRootPem()))) });
    await s.api.ok('Remove-ExchangeCertificate', { Thumbprint: intermediate.Thumbprint }, { confirmed: true });
  });
  after(async () => {
    await s?.close();
    await pebble?.stop();
    await named?.stop();
  });

  it('asks for a DNS update server before any order, and refuses a wildcard without dns-01, naming -ChallengeType Dns01', async () => {
    const missing = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['nohost.contoso.test'], ChallengeType: 'Dns01' });
    assert.equal(missing.error?.code, 'ICX_ACME_DNS_UPDATE_MISSING', JSON.stringify(missing.error));
    assert.match(missing.error!.message, /Set-AcmeAccount -DnsUpdateServer/);
    const wildcard = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['*.contoso.test'], HttpPort: pebble.httpPort });
    assert.equal(wildcard.error?.code, 'ICX_PARAM_INVALID');
    assert.match(wildcard.error!.message, /dns-01 only.*-ChallengeType Dns01/);
    const port = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['nohost.contoso.test'], ChallengeType: 'Dns01', HttpPort: 8080 });
    assert.equal(port.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(port.error?.parameter, 'HttpPort');
  });

  it('checks the DNS update setting and never shows the secret', async () => {
    const noKey = await s.api.invoke('Set-AcmeAccount', { DnsUpdateServer: named.server });
    assert.equal(noKey.error?.code, 'ICX_PARAM_INVALID');
    assert.match(noKey.error!.message, /-DnsUpdateKeyName/);
    const badServer = await s.api.invoke('Set-AcmeAccount', { DnsUpdateServer: 'ns1.contoso.test:99999', DnsUpdateKeyName: named.keyName, DnsUpdateKeySecret: secure(named.secret) });
    assert.equal(badServer.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(badServer.error?.parameter, 'DnsUpdateServer');
    const badSecret = await s.api.invoke('Set-AcmeAccount', { DnsUpdateServer: named.server, DnsUpdateKeyName: named.keyName, DnsUpdateKeySecret: secure('not base64!') });
    assert.equal(badSecret.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(badSecret.error?.parameter, 'DnsUpdateKeySecret');
    const [unchanged] = await s.api.ok('Get-AcmeAccount');
    assert.equal(unchanged.DnsUpdateServer, null, 'a refused change leaves the account as it was');

    await s.api.ok('Set-AcmeAccount', { DnsUpdateServer: named.server, DnsUpdateKeyName: named.keyName, DnsUpdateKeySecret: secure(named.secret) });
    const [account] = await s.api.ok('Get-AcmeAccount');
    assert.deepEqual([account.DnsUpdateServer, account.DnsUpdateKeyName, account.DnsUpdateKeyAlgorithm, account.DnsUpdateZone], [named.server, named.keyName, 'hmac-sha256', null]);
    const everything = JSON.stringify([account, await s.api.ok('Search-AdminAuditLog', { Cmdlets: ['Set-AcmeAccount'] })]);
    assert.ok(!everything.includes(named.secret), 'the TSIG secret shows nowhere');
  });

  it('refuses a wrong TSIG secret with NOTAUTH, naming server, zone and key but not the secret, before pebble is asked for an order', async () => {
    const wrong = Buffer.from('another secret of thirty-two by!').toString('base64');
    await s.api.ok('Set-AcmeAccount', { DnsUpdateKeySecret: secure(wrong) });
    const before = await s.api.ok('Get-ExchangeCertificate');
    const mark = pebble.output().length;
    const r = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['nohost.contoso.test'], ChallengeType: 'Dns01', Services: 'SMTP' });
    assert.equal(r.error?.code, 'ICX_ACME_DNS_UPDATE_REFUSED', JSON.stringify(r.error));
    assert.match(r.error!.message, /NOTAUTH \(BADSIG\)/);
    assert.ok(r.error!.message.includes(named.server) && r.error!.message.includes(named.keyName), r.error!.message);
    assert.equal(r.error!.details?.zone, 'contoso.test');
    assert.ok(!r.error!.message.includes(wrong));
    assert.doesNotMatch(pebble.output().slice(mark), /new-order|order-plz/i, 'no order was made');
    assert.deepEqual((await s.api.ok('Get-ExchangeCertificate')).map((c) => c.Thumbprint), before.map((c) => c.Thumbprint));
    assert.deepEqual(await s.api.ok('Get-AcmeCertificate'), []);
    await s.api.ok('Set-AcmeAccount', { DnsUpdateKeySecret: secure(named.secret) });
  });

  let thumbprint: string;
  it('issues a certificate for a name without a host and a wildcard by dns-01; the TXT records are gone afterwards', async () => {
    const mark = named.output().length;
    const pebbleMark = pebble.output().length;
    const [issued] = await s.api.ok('Request-AcmeCertificate', { DomainName: ['nohost.contoso.test', '*.contoso.test'], ChallengeType: 'Dns01', Services: 'SMTP' });
    thumbprint = issued.Thumbprint;
    assert.match(pebble.output().slice(pebbleMark), /order-plz/, "pebble's log names the order requests (what the refusal above checks is absent)");
    assert.deepEqual((issued.CertificateDomains as { Address: string }[]).map((d) => d.Address), ['nohost.contoso.test', '*.contoso.test']);
    // Both records were added and each removed again, the wildcard's at the base name.
    const names = ['_acme-challenge.nohost.contoso.test', '_acme-challenge.contoso.test'];
    const log = await updatesWith(named, mark, names.flatMap((name) => [`adding an RR at '${name}' TXT`, `deleting an RR at ${name} TXT`]));
    for (const name of names) {
      assert.ok(log.some((l) => l.includes(`adding an RR at '${name}' TXT`)), `${name} added:\n${log.join('\n')}`);
      assert.ok(log.some((l) => l.includes(`deleting an RR at ${name} TXT`)), `${name} removed:\n${log.join('\n')}`);
      assert.deepEqual(await txtAt(named, name), [], `${name} answers no TXT any more`);
    }
    const [managed] = await s.api.ok('Get-AcmeCertificate');
    assert.deepEqual([managed.Thumbprint, managed.ChallengeType, managed.HttpPort, managed.DomainNames], [thumbprint, 'Dns01', null, ['nohost.contoso.test', '*.contoso.test']]);
  });

  it('renews it by dns-01 again (Update-AcmeCertificate), cleaning up the records', async () => {
    const mark = named.output().length;
    const [renewed] = await s.api.ok('Update-AcmeCertificate', { Thumbprint: thumbprint });
    assert.notEqual(renewed.Thumbprint, thumbprint);
    const log = await updatesWith(named, mark, ["adding an RR at '_acme-challenge.contoso.test' TXT", 'deleting an RR at _acme-challenge.contoso.test TXT']);
    assert.ok(log.some((l) => l.includes("adding an RR at '_acme-challenge.contoso.test' TXT")), log.join('\n'));
    assert.ok(log.some((l) => l.includes('deleting an RR at _acme-challenge.contoso.test TXT')), log.join('\n'));
    assert.deepEqual(await txtAt(named, '_acme-challenge.contoso.test'), []);
    assert.deepEqual(await txtAt(named, '_acme-challenge.nohost.contoso.test'), []);
    const [managed] = await s.api.ok('Get-AcmeCertificate');
    assert.deepEqual([managed.Thumbprint, managed.ChallengeType, managed.RenewalState], [renewed.Thumbprint, 'Dns01', 'Scheduled']);
  });
});

// pebble asks its own pebble-challtestsrv here, not the named that takes the updates: the CA finds no
// TXT record and refuses, and the record Interchange added must still be removed.
describe('Request-AcmeCertificate -ChallengeType Dns01 when the CA cannot see the record', { timeout: 300_000 }, () => {
  let named: Named;
  let pebble: Pebble;
  let s: TestServer;
  before(async () => {
    named = await startNamed({ zone: 'contoso.test' });
    pebble = await startPebble();
    s = await startTestServer();
    await s.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    await s.api.ok('Set-AcmeAccount', { DnsUpdateServer: named.server, DnsUpdateKeyName: named.keyName, DnsUpdateKeySecret: secure(named.secret), DnsUpdateZone: 'contoso.test' });
  });
  after(async () => {
    await s?.close();
    await pebble?.stop();
    await named?.stop();
  });

  it("fails with the CA's detail and a hint about the zone's servers, and removes the TXT record all the same", async () => {
    const mark = named.output().length;
    const r = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['hidden.contoso.test'], ChallengeType: 'Dns01' });
    assert.equal(r.error?.code, 'ICX_ACME_CHALLENGE_FAILED', JSON.stringify(r.error));
    assert.match(r.error!.message, /could not validate hidden\.contoso\.test by dns-01: .*_acme-challenge\.hidden\.contoso\.test/);
    assert.equal(r.error!.details?.challengeType, 'Dns01');
    const log = await updatesWith(named, mark, ["adding an RR at '_acme-challenge.hidden.contoso.test' TXT", 'deleting an RR at _acme-challenge.hidden.contoso.test TXT']);
    assert.ok(log.some((l) => l.includes("adding an RR at '_acme-challenge.hidden.contoso.test' TXT")), log.join('\n'));
    assert.ok(log.some((l) => l.includes('deleting an RR at _acme-challenge.hidden.contoso.test TXT')), log.join('\n'));
    assert.deepEqual(await txtAt(named, '_acme-challenge.hidden.contoso.test'), []);
    assert.deepEqual(await s.api.ok('Get-AcmeCertificate'), []);
  });
});
