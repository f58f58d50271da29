// Two servers of one organization hold an ACME certificate (issue 14). EX01
// starts its renewal and is killed (SIGKILL) in the middle of it; its lease in
// the directory runs out and EX02's renewal service finishes the renewal: the
// new certificate is on both servers, and no Send connector names a certificate
// that is missing on one of its source servers at any point.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { test } from 'node:test';
import { AdminApi, bytes, freeTcpPort, secure, startServerProcess, tempDir, type ServerProcess } from '../support/interchange.js';
import { startPebble } from '../support/pebble.js';
import { waitFor } from '../support/transport-harness.js';

const env = { INTERCHANGE_ACME_RENEWAL_INTERVAL_MS: '300', INTERCHANGE_ACME_LEASE_MS: '3000' };

/** Every Send connector's TlsCertificateName names a certificate installed on each of its source servers. */
async function connectorsCovered(api: AdminApi): Promise<string[]> {
  const gaps: string[] = [];
  for (const c of await api.ok('Get-SendConnector')) {
    if (!c.TlsCertificateName) continue;
    for (const server of c.SourceTransportServers as string[]) {
      const certs = await api.ok('Get-ExchangeCertificate', { Server: server });
      if (!certs.some((x) => `<I>${x.Issuer}<S>${x.Subject}` === c.TlsCertificateName && x.HasPrivateKey)) gaps.push(`${c.Name} on ${server}`);
    }
  }
  return gaps;
}

test('EX01 is killed in the middle of a renewal: its lease runs out, EX02 takes over and finishes it, both servers get the new certificate, connectors never lose theirs', { timeout: 240_000 }, async () => {
  const pebble = await startPebble();
  // pebble's validation reaches the http-01 answer through a proxy that holds each connection for 2 s, so a
  // renewal is in flight long enough to be seen and cut. pebble's own random delay (0 to n-1 whole seconds)
  // was sometimes 0: the renewal was over before the test saw it start.
  const challengePort = await freeTcpPort();
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    const timer = setTimeout(() => {
      const upstream = net.connect(challengePort, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.once('close', () => (sockets.delete(upstream), client.destroy()));
      client.pipe(upstream).pipe(client);
    }, 2000);
    client.once('close', () => (sockets.delete(client), clearTimeout(timer)));
  });
  const dir = await tempDir('acme-takeover');
  const running: ServerProcess[] = [];
  let updating: Promise<unknown> = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => proxy.once('error', reject).listen(pebble.httpPort, '127.0.0.1', resolve));
    const ex01 = await startServerProcess({ dataDir: dir, serverName: 'EX01', env });
    running.push(ex01);
    const ex02 = await startServerProcess({ dataDir: dir, serverName: 'EX02', env });
    running.push(ex02);
    const api1 = new AdminApi(ex01.url, ex01.token);
    const api2 = new AdminApi(ex02.url, ex02.token);
    await api1.ok('New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: bytes(Buffer.from(pebble.tlsCaPem)) });
    for (const server of ['EX01', 'EX02']) {
      const [chain] = await api1.ok('Import-ExchangeCertificate', { Server: server, FileData: bytes(Buffer.from((await pebble.issuingIntermediatePem()) + (await pebble.issuingRootPem()))) });
      await api1.ok('Remove-ExchangeCertificate', { Server: server, Thumbprint: chain.Thumbprint }, { confirmed: true });
    }

    // The certificate on both servers (exported from EX01 with its key, imported on EX02), named by a connector sourced on both.
    const [first] = await api1.ok('Request-AcmeCertificate', { Server: 'EX01', DomainName: ['relay.contoso.com'], HttpPort: challengePort, Services: 'SMTP', PrivateKeyExportable: true });
    const [pfx] = await api1.ok('Export-ExchangeCertificate', { Server: 'EX01', Thumbprint: first.Thumbprint, BinaryEncoded: true, Password: secure('pw') });
    await api1.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: pfx.FileData, Password: secure('pw') });
    await api1.ok('New-SendConnector', { Name: 'Outbound', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: 25, DNSRoutingEnabled: false, SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${first.Issuer}<S>${first.Subject}` });
    assert.deepEqual(await connectorsCovered(api2), []);

    // EX01 renews; once it holds the lease and is at work, it dies.
    updating = api1.invoke('Update-AcmeCertificate', { Thumbprint: first.Thumbprint }, { confirmed: true }).catch((e) => e);
    let last: unknown;
    // Asked of EX01 itself: asked of EX02, the Renewing state of a short renewal went unseen (once in CI, once in 3
    // runs here; the cause was not found). EX02's view is checked once EX01 is dead.
    await waitFor('EX01 renewing', async () => {
      const [m] = await api1.ok('Get-AcmeCertificate');
      last = m;
      return m.RenewalState === 'Renewing' && m.RenewingServer === 'EX01';
    }, 30_000).catch((e) => assert.fail(`${(e as Error).message}; Get-AcmeCertificate last said ${JSON.stringify(last)}`));
    await ex01.stop('SIGKILL');
    const cut = await api2.ok('Get-AcmeCertificate');
    assert.equal(cut[0].Thumbprint, first.Thumbprint, 'killed before it finished');
    assert.deepEqual(await connectorsCovered(api2), [], 'nothing half-rotated after the kill');

    // EX02 finishes it once the lease has run out.
    const [done] = await waitFor('EX02 finished the renewal', async () => {
      const m = await api2.ok('Get-AcmeCertificate');
      return m[0].Thumbprint !== first.Thumbprint && m[0].RenewalState === 'Scheduled' ? m : undefined;
    }, 90_000);
    assert.equal(done.FailedAttempts, 0);
    assert.deepEqual([...done.Servers].sort(), ['EX01', 'EX02'], 'the new certificate is on both servers');
    assert.match(done.RetiringCertificates[0], new RegExp(`^${first.Thumbprint} `));
    assert.deepEqual(await connectorsCovered(api2), []);
    // Same issuer and subject: the connector is left as it was written, and now selects the newer certificate.
    assert.equal((await api2.ok('Get-SendConnector', { Identity: 'Outbound' }))[0].TlsCertificateName, `<I>${first.Issuer}<S>${first.Subject}`);

    // EX01 comes back and finds the renewal done.
    const again = await startServerProcess({ dataDir: dir, serverName: 'EX01', env });
    running.push(again);
    const [seen] = await new AdminApi(again.url, again.token).ok('Get-AcmeCertificate');
    assert.equal(seen.Thumbprint, done.Thumbprint);
  } finally {
    for (const p of running) await p.stop();
    await updating;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await pebble.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
