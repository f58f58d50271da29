// The service-log events Exchange's transport writes about certificates, with
// its event IDs: 12018 for a STARTTLS certificate near its NotAfter, 12014 for
// a Send connector whose TlsCertificateName selects nothing (it would answer
// 454 4.7.5); each once per interval, however often the configuration reloads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { TransportEventLog } from '../../src/transport/events/transport-event-log.js';
import { AdminApi, bytes, secure, startServerProcess, tempDir } from '../support/interchange.js';
import { createTestPki, pfx } from '../support/pki.js';
import { waitFor } from '../support/transport-harness.js';

const events = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { eventId?: number; source?: string; msg: string })
    .filter((e) => e.eventId !== undefined);

test('a STARTTLS certificate 10 days from NotAfter is event 12018, a TlsCertificateName that selects nothing is 12014; each written once', { timeout: 120_000 }, async () => {
  const pki = await createTestPki();
  const soon = await issueCertificate({
    issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 },
    subjectName: 'CN=soon.contoso.com',
    domainNames: ['soon.contoso.com'],
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 10 * 86_400_000),
  });
  const facts = readCertificateFacts(soon.der);
  const dataDir = await tempDir('cert-events');
  const server = await startServerProcess({ dataDir, serverName: 'EX01', env: { INTERCHANGE_CONFIG_POLL_MS: '100' } });
  try {
    const api = new AdminApi(server.url, server.token);
    await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx({ der: soon.der, privateKeyPkcs8: soon.privateKeyPkcs8!, facts, chain: [pki.ca.der] }, 'pw', { withChain: true })), Password: secure('pw') });
    await api.ok('Enable-ExchangeCertificate', { Thumbprint: facts.thumbprint, Services: 'SMTP', Force: true });
    await api.ok('Set-ReceiveConnector', { Identity: 'Default Frontend EX01', Fqdn: 'soon.contoso.com' });
    await api.ok('New-SendConnector', { Name: 'Partner', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.9'], DNSRoutingEnabled: false, TlsCertificateName: '<I>CN=Nobody<S>CN=nothing.contoso.com' });

    const both = await waitFor('events 12018 and 12014', async () => {
      const found = events(server.output());
      return found.some((e) => e.eventId === 12018) && found.some((e) => e.eventId === 12014) ? found : undefined;
    }, 20_000);
    const starttls = both.find((e) => e.eventId === 12018)!;
    assert.equal(starttls.source, 'MSExchangeTransport');
    assert.match(starttls.msg, new RegExp(`^The STARTTLS certificate will expire soon: subject: CN=soon\\.contoso\\.com, thumbprint: ${facts.thumbprint}, hours remaining: 2(39|40)\\. Run the New-ExchangeCertificate cmdlet to create a new certificate\\.$`));
    assert.match(both.find((e) => e.eventId === 12014)!.msg, /TlsCertificateName <I>CN=Nobody<S>CN=nothing\.contoso\.com of the Send connector Partner .* fail with 454 4\.7\.5/);

    // More reloads (each change is one): no second line for the same conditions within the hour.
    for (let i = 0; i < 5; i++) await api.ok('Set-SendConnector', { Identity: 'Partner', Comment: `change ${i}` });
    await new Promise((r) => setTimeout(r, 1500));
    const after = events(server.output());
    assert.equal(after.filter((e) => e.eventId === 12018).length, 1, server.output());
    assert.equal(after.filter((e) => e.eventId === 12014).length, 1, server.output());
  } finally {
    await server.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  }
});

test('TransportEventLog: a condition is written again after the interval, and anew once it ended and came back', () => {
  let now = 0;
  const lines: string[] = [];
  const log = new TransportEventLog({ warn: (_o: object, m: string) => lines.push(`warn ${m}`), error: (_o: object, m: string) => lines.push(`error ${m}`) } as never, 1000, () => now);
  const e = { eventId: 12018, level: 'warn' as const, key: 'a', message: 'A' };
  const table: Array<[number, Array<typeof e>, number]> = [
    [0, [e], 1],
    [500, [e], 1],
    [999, [e], 1],
    [1000, [e], 2],
    [1100, [], 2],
    [1200, [e], 3],
  ];
  for (const [t, current, total] of table) {
    now = t;
    log.write(current);
    assert.equal(lines.length, total, `at ${t} ms`);
  }
  assert.deepEqual(lines, ['warn A', 'warn A', 'warn A']);
});
