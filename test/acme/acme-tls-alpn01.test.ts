// tls-alpn-01 (RFC 8737) against pebble: EX01 answers TLS with ALPN acme-tls/1 on the port pebble
// validates tls-alpn-01 on (its tlsPort setting; pebble-challtestsrv resolves every name to
// 127.0.0.1), only while the request runs; a port held by another process fails before an order.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bytes } from '../support/interchange.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });

describe('Request-AcmeCertificate -ChallengeType TlsAlpn01 with pebble', { timeout: 300_000 }, () => {
  let pebble: Pebble;
  let s: TestServer;
  before(async () => {
    pebble = await startPebble();
    s = await startTestServer();
    await s.api.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
  });
  after(async () => {
    await s?.close();
    await pebble?.stop();
  });

  it('refuses a port held by another process before any order, naming -TlsAlpnPort; -TlsAlpnPort needs TlsAlpn01', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(pebble.tlsPort, r));
    try {
      const mark = pebble.output().length;
      const r = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['alpn.contoso.com'], ChallengeType: 'TlsAlpn01', TlsAlpnPort: pebble.tlsPort });
      assert.equal(r.error?.code, 'ICX_PORT_IN_USE', JSON.stringify(r.error));
      assert.equal(r.error?.parameter, 'TlsAlpnPort');
      assert.match(r.error!.message, /tls-alpn-01 challenge on port \d+/);
      assert.doesNotMatch(pebble.output().slice(mark), /order-plz/, 'no order was made');
    } finally {
      await new Promise((r) => holder.close(r));
    }
    const wrong = await s.api.invoke('Request-AcmeCertificate', { DomainName: ['alpn.contoso.com'], TlsAlpnPort: pebble.tlsPort });
    assert.equal(wrong.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(wrong.error?.parameter, 'TlsAlpnPort');
  });

  it('issues by tls-alpn-01 on -TlsAlpnPort, closes the port afterwards, and keeps the challenge for renewals', async () => {
    // Nothing else answers for the name: no http-01 responder runs, and pebble-challtestsrv's tls-alpn-01 server is off.
    const [issued] = await s.api.ok('Request-AcmeCertificate', { DomainName: ['alpn.contoso.com'], ChallengeType: 'TlsAlpn01', TlsAlpnPort: pebble.tlsPort });
    assert.deepEqual((issued.CertificateDomains as { Address: string }[]).map((d) => d.Address), ['alpn.contoso.com']);
    assert.ok(await portIsFree(pebble.tlsPort), 'the listener is closed once the request ends');
    const [managed] = await s.api.ok('Get-AcmeCertificate');
    assert.deepEqual([managed.ChallengeType, managed.TlsAlpnPort, managed.HttpPort], ['TlsAlpn01', pebble.tlsPort, null]);
  });
});
