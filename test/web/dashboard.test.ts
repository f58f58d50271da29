import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { bytes, freeTcpPort, secure } from '../support/interchange.js';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { type RecordingSink, startRecordingSink, submitMessage, waitFor } from '../support/transport-harness.js';
import { SMTPServer } from 'smtp-server';
import { api, axe, type Browser, launchBrowser, output, screenshot, signIn, startOrganization } from './harness.js';

// The Home dashboard after real mail: EX01 delivers to a recording sink and
// is deferred by a next hop, and the charts show it from Get-MailFlowStatistics;
// a certificate about to expire heads the certificate list; a Send connector
// whose TlsCertificateName selects no certificate is listed as at risk.

// The servers are child processes: they sample every half second instead of every minute.
process.env.INTERCHANGE_STATISTICS_INTERVAL_MS = '500';

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pki: TestPki;
let sink: RecordingSink;
let hop: { port: number; stop(): Promise<void> };

/** A next hop that answers 451 to every recipient. */
async function startDeferringHop(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeTcpPort();
  const srv = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, cb) {
      cb(Object.assign(new Error('4.2.0 Try again later'), { responseCode: 451 }));
    },
  });
  srv.on('error', () => undefined);
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  return { port, stop: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

before(async () => {
  pki = await createTestPki();
  sink = await startRecordingSink();
  hop = await startDeferringHop();
  org = await startOrganization();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await org?.close();
  await hop?.stop();
  await sink?.stop();
});

const ok = async (server: typeof org.ex01, cmdlet: string, parameters: Parameters<typeof api>[2], options?: Parameters<typeof api>[3]) => {
  const r = await api(server, cmdlet, parameters, options);
  assert.ok(r.ok, `${cmdlet}: ${r.error?.message}`);
  return r.output;
};

test('Home: charts of real mail flow, the certificates that expire soonest and the connectors at risk, with no axe violations', { timeout: 180_000 }, async () => {
  const soon = await issueCertificate({
    issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 },
    subjectName: 'CN=soon.contoso.com',
    domainNames: ['soon.contoso.com'],
    notBefore: new Date(Date.now() - 300 * 86_400_000),
    notAfter: new Date(Date.now() + 12.5 * 86_400_000),
    serialNumber: Buffer.from('0D01', 'hex'),
  });
  const soonCert = { der: soon.der, privateKeyPkcs8: soon.privateKeyPkcs8!, facts: readCertificateFacts(soon.der), chain: [pki.ca.der] };
  await ok(org.ex01, 'Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(await pfx(soonCert, 'pw', { withChain: true })), Password: secure('pw'), FriendlyName: 'Partner mail expiring' }, { confirmed: true });
  await ok(org.ex01, 'New-SendConnector', { Name: 'Fabrikam TLS', AddressSpaces: ['fabrikam.test'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'], TlsCertificateName: '<I>CN=Nobody CA<S>CN=nobody.contoso.com' });
  await ok(org.ex01, 'New-SendConnector', { Name: 'Sink', AddressSpaces: ['sink.test'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
  await ok(org.ex01, 'New-SendConnector', { Name: 'Deferring', AddressSpaces: ['defer.test'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });

  // The transport reads configuration changes at its poll, every half second.
  await new Promise((r) => setTimeout(r, 2_000));
  for (let i = 1; i <= 3; i++) await submitMessage(org.ex01.smtpPort, { messageId: `home-${i}@contoso.com`, to: `bob${i}@sink.test` });
  await new Promise((r) => setTimeout(r, 1_500));
  for (let i = 4; i <= 5; i++) await submitMessage(org.ex01.smtpPort, { messageId: `home-${i}@contoso.com`, to: `bob${i}@sink.test` });
  await submitMessage(org.ex01.smtpPort, { messageId: 'home-deferred@contoso.com', to: 'later@defer.test' });
  await waitFor('five messages at the sink', async () => sink.messages.length >= 5, 30_000);
  const sum = (rows: Array<Record<string, unknown>>, p: string) => rows.reduce((t, r) => t + Number(r[p]), 0);
  await waitFor(
    'six received, five sent and a deferral in the statistics',
    async () => {
      const rows = await output(org.ex01, 'Get-MailFlowStatistics', { Hours: 1 });
      return sum(rows, 'MessagesReceived') === 6 && sum(rows, 'MessagesSent') === 5 && sum(rows, 'MessagesDeferred') >= 1;
    },
    30_000,
  );

  const page = browser.page;
  await signIn(page, org.ex01);
  // Home is where the admin center opens.
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  assert.equal(await page.title(), 'Home - Interchange admin center');
  await page.getByRole('navigation').getByRole('link', { name: 'Home', exact: true }).waitFor();
  await page.getByRole('toolbar', { name: 'Dashboard actions' }).getByRole('button', { name: 'Refresh' }).click();

  const messages = page.getByRole('figure', { name: 'Messages per minute on EX01' });
  await messages.waitFor();
  // Drawn: a line per series in the SVG, and every point in the table that is its text alternative.
  await waitFor('the lines of the messages chart', async () => (await messages.locator('svg .recharts-line-curve').count()) === 2, 15_000);
  const cells = async (figure: typeof messages, column: number) => (await figure.locator('table tbody tr').evaluateAll((rows, c) => rows.map((r) => Number(r.children[c]?.textContent ?? 0)), column));
  const received = await cells(messages, 1);
  const sent = await cells(messages, 2);
  assert.ok(received.length >= 2, `samples in the table: ${received.length}`);
  assert.ok(Math.max(...received) > 0, `a minute with messages received: ${received}`);
  assert.ok(Math.max(...sent) > 0, `a minute with messages sent: ${sent}`);
  assert.match((await messages.locator('#chart-messages-summary').textContent()) ?? '', /^Received: now [\d.]+, highest [1-9][\d.]* per minute; Sent: now [\d.]+, highest [1-9][\d.]* per minute\.$/);
  const queue = page.getByRole('figure', { name: 'Delivery queues on EX01' });
  assert.ok(Math.max(...(await cells(queue, 1))) >= 1, 'the deferred message waits in a queue');
  const deferrals = page.getByRole('figure', { name: 'Deferrals and failures per minute on EX01' });
  assert.ok(Math.max(...(await cells(deferrals, 1))) > 0, 'the deferral is charted');

  const certificates = page.getByRole('table', { name: 'Certificates that expire soonest' });
  const first = certificates.locator('tbody tr').first();
  await first.getByText('Partner mail expiring').waitFor();
  assert.deepEqual(
    await first.locator('td').allTextContents(),
    ['Partner mail expiring', 'EX02', soonCert.facts.thumbprint, soonCert.facts.notAfter.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' }), '12'],
  );
  // Both servers' own certificates are listed too, later.
  const servers = await certificates.locator('tbody tr td:nth-child(2)').allTextContents();
  assert.ok(servers.includes('EX01') && servers.includes('EX02'), `servers: ${servers}`);

  const connectors = page.getByRole('table', { name: 'Connectors at risk' });
  const risky = connectors.locator('tbody tr', { hasText: 'Fabrikam TLS' });
  await risky.waitFor();
  assert.equal(await risky.locator('td').nth(1).textContent(), 'EX01');
  assert.match((await risky.locator('td').nth(2).textContent()) ?? '', /Send connector "Fabrikam TLS" names the certificate/);

  assert.deepEqual(await axe(page), [], 'Home dashboard');
  await screenshot(page, 'home-dashboard');

  // The link goes to the connector, opened on its delivery tab.
  await risky.getByRole('link', { name: 'Fabrikam TLS' }).click();
  await page.getByRole('dialog', { name: 'Exchange Send Connector — Fabrikam TLS' }).getByRole('tab', { name: 'delivery', selected: true }).waitFor();
});
