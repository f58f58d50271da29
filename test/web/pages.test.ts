import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { readCertificateData, toPem } from '../../src/certificates/containers.js';
import { issueCertificate, signCertificateRequest } from '../../src/certificates/generate.js';
import { corruptPfx, createTestPki, pfx, type TestPki } from '../support/pki.js';
import { RawSmtp, submitMessage, waitFor } from '../support/transport-harness.js';
import { api, axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { focused, pressUntil } from './keyboard.js';
import { pickServer, row, selectRow, toolbar } from './pages.js';

// Everyday pages: keyboard-only deletion, bad input shown beside the field
// with nothing changed, certificate notifications, and the other pages'
// accessibility. State is prepared and checked over the API.

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pki: TestPki;

before(async () => {
  pki = await createTestPki();
  org = await startOrganization();
  browser = await launchBrowser();
  await signIn(browser.page, org.ex01);
});

after(async () => {
  await browser?.page.screenshot({ path: `${process.env.TMPDIR ?? '/tmp'}/icx-web-pages-last.png` }).catch(() => undefined);
  await browser?.close();
  await org?.close();
});

const b64 = (b: Buffer) => ({ $bytes: b.toString('base64') });
const certCount = async (server: string) => (await output(org.ex01, 'Get-ExchangeCertificate', { Server: server })).length;

test('keyboard only: select the server, select the certificate, delete it', async () => {
  const created = await api(org.ex01, 'New-ExchangeCertificate', { Server: 'EX02', FriendlyName: 'Keyboard test', SubjectName: 'CN=keyboard.contoso.com', Services: 'None' });
  assert.ok(created.ok, created.error?.message);
  const thumbprint = String(created.output[0].Thumbprint);
  const page = browser.page;
  await page.goto(org.ex01.url + '/mail-flow/send-connectors');
  await page.getByRole('heading', { level: 1, name: 'Send connectors' }).waitFor();

  await pressUntil(page, 'Tab', (f) => f.inNav);
  await pressUntil(page, 'ArrowDown', (f) => f.inNav && f.text === 'Certificates');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();

  await pressUntil(page, 'Tab', (f) => f.role === 'combobox');
  // The picker shows its first server once the server list has loaded; opened earlier, ArrowDown would land elsewhere.
  await page.waitForFunction(() => document.querySelector('[role=combobox]')?.textContent?.trim() === 'EX01');
  await page.keyboard.press('Enter');
  await page.getByRole('listbox').waitFor();
  const activeOption = () => page.evaluate(() => document.getElementById(document.activeElement?.getAttribute('aria-activedescendant') ?? '')?.textContent?.trim() ?? '');
  for (let i = 0; i < 5 && (await activeOption()) !== 'EX02'; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await activeOption(), 'EX02');
  await page.keyboard.press('Enter');
  await page.getByRole('grid', { name: 'Certificates on EX02' }).waitFor();
  await row(page, 'Keyboard test').waitFor();

  await pressUntil(page, 'Tab', (f) => f.inGrid);
  await pressUntil(page, 'ArrowDown', (f) => f.role === 'row' && f.text.includes('Keyboard test'));
  await page.keyboard.press('Space');
  assert.equal((await focused(page)).selected, 'true', 'Space selects the row');
  await page.getByRole('complementary', { name: 'Certificate details' }).getByText(thumbprint).waitFor();

  await pressUntil(page, 'Shift+Tab', (f) => f.inToolbar);
  await pressUntil(page, 'ArrowRight', (f) => f.inToolbar && f.text === 'Delete');
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('alertdialog', { name: 'Delete certificate' });
  await confirm.getByText('Are you sure you want to delete the certificate "Keyboard test"?').waitFor();
  assert.equal((await focused(page)).text, 'Delete', 'focus starts on the dialog’s first button');
  assert.deepEqual(await axe(page), [], 'delete confirmation');
  await screenshot(page, 'certificate-delete-confirm');
  await page.keyboard.press('Enter');
  await confirm.waitFor({ state: 'detached' });
  await row(page, 'Keyboard test').waitFor({ state: 'detached' });
  assert.ok(!(await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX02' })).some((c) => c.Thumbprint === thumbprint), 'deleted on EX02');
});

test('bad input: the cmdlet error beside the field, nothing changed', async () => {
  const page = browser.page;
  await openPage(page, 'Certificates');
  await pickServer(page, 'EX01');
  const before = await certCount('EX01');

  // A wrong PFX password.
  await toolbar(page, 'Import');
  let dialog = page.getByRole('dialog', { name: 'Import Exchange certificate' });
  await dialog.getByLabel('Certificate file (.pfx, .p12)').setInputFiles({ name: 'mail.pfx', mimeType: 'application/x-pkcs12', buffer: await pfx(pki.oldCert, 'right-password') });
  await dialog.getByLabel('Password').fill('wrong-password');
  await dialog.getByRole('button', { name: 'Import' }).click();
  const passwordField = dialog.locator('.fui-Field', { has: page.getByLabel('Password') });
  await passwordField.getByText(/the wrong password was specified/).waitFor();
  assert.deepEqual(await axe(page), [], 'import dialog with an error');
  await screenshot(page, 'certificate-import-wrong-password');
  assert.equal(await certCount('EX01'), before, 'nothing imported');

  // A corrupt file.
  await dialog.getByLabel('Certificate file (.pfx, .p12)').setInputFiles({ name: 'broken.pfx', mimeType: 'application/x-pkcs12', buffer: await corruptPfx() });
  await dialog.getByLabel('Password').fill('P@ssw0rd');
  await dialog.getByRole('button', { name: 'Import' }).click();
  const fileField = dialog.locator('.fui-Field', { has: page.getByLabel('Certificate file (.pfx, .p12)') });
  await fileField.getByText(/The source data is corrupted/).waitFor();
  assert.equal(await passwordField.getByText(/wrong password/).count(), 0, 'the earlier error is gone');
  assert.equal(await certCount('EX01'), before, 'nothing imported');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // An invalid address space in the new connector wizard.
  await openPage(page, 'Send connectors');
  await toolbar(page, 'New');
  dialog = page.getByRole('dialog', { name: 'New send connector' });
  await dialog.getByLabel('Name').fill('Bad space');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByLabel('Fully qualified domain name (FQDN)').fill('*contoso.com');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('button', { name: 'Finish' }).click();
  await dialog.getByText('Step 3 of 4: Address space').waitFor();
  const spaceField = dialog.locator('.fui-Field', { hasText: 'Address space' }).first();
  await spaceField.getByText('The address space "SMTP:*contoso.com;1" isn\'t valid', { exact: false }).waitFor();
  assert.deepEqual(await axe(page), [], 'wizard with an error');
  await screenshot(page, 'send-connector-bad-address-space');
  assert.deepEqual(await output(org.ex01, 'Get-SendConnector'), [], 'no connector created');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // An invalid TlsCertificateName typed on an existing connector.
  assert.ok((await api(org.ex01, 'New-SendConnector', { Name: 'Fabrikam', AddressSpaces: ['fabrikam.com'], SourceTransportServers: ['EX01'] })).ok);
  await page.getByRole('toolbar').getByRole('button', { name: 'Refresh' }).click();
  await selectRow(page, 'Fabrikam');
  await toolbar(page, 'Edit');
  dialog = page.getByRole('dialog', { name: 'Exchange Send Connector — Fabrikam' });
  await dialog.getByRole('tab', { name: 'delivery' }).click();
  await dialog.getByRole('radio', { name: /^Type the value/ }).check();
  await dialog.getByLabel('TlsCertificateName value').fill('<I>CN=Some CA<S>O=No Common Name');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.locator('.fui-Field', { hasText: 'TLS certificate (TlsCertificateName)' }).getByText(/isn't a (valid|supported) Certificate Identifier/).waitFor();
  const [fabrikam] = await output(org.ex01, 'Get-SendConnector', { Identity: 'Fabrikam' });
  assert.equal(fabrikam.TlsCertificateName, null, 'connector unchanged');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});

test('certificates that expire soon, have expired, or are missing on a source server are flagged', async () => {
  const soon = await issueCertificate({
    issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 },
    subjectName: 'CN=soon.contoso.com',
    domainNames: ['soon.contoso.com'],
    notBefore: new Date(Date.now() - 300 * 86_400_000),
    notAfter: new Date(Date.now() + 20.5 * 86_400_000),
    serialNumber: Buffer.from('0B01', 'hex'),
  });
  const soonCert = { der: soon.der, privateKeyPkcs8: soon.privateKeyPkcs8!, facts: readCertificateFacts(soon.der), chain: [pki.ca.der] };
  for (const [cert, name] of [
    [soonCert, 'Expiring soon'],
    [pki.expired, 'Already expired'],
  ] as const) {
    const r = await api(org.ex01, 'Import-ExchangeCertificate', { Server: 'EX02', FileData: b64(await pfx(cert, 'pw')), Password: { $secure: 'pw' }, FriendlyName: name });
    assert.ok(r.ok, r.error?.message);
  }
  // Named by a connector whose source servers are EX01 and EX02, installed on EX01 only.
  // With its chain, so it is valid there: a named certificate that is not usable (untrusted, expired, no key) is flagged too.
  assert.ok((await api(org.ex01, 'Import-ExchangeCertificate', { Server: 'EX01', FileData: b64(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: { $secure: 'pw' }, FriendlyName: 'Contoso mail' })).ok);
  const smtp = await api(org.ex01, 'Enable-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.oldCert.facts.thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
  assert.ok(smtp.ok, smtp.error?.message);
  const tlsName = `<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}`;
  const made = await api(org.ex01, 'New-SendConnector', { Name: 'Contoso Partner', AddressSpaces: ['contoso.net'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: tlsName });
  assert.ok(made.ok, made.error?.message);

  const page = browser.page;
  await page.reload();
  await openPage(page, 'Certificates');
  await pickServer(page, 'EX02');
  await row(page, 'Expiring soon').getByText('Expires soon').waitFor();
  await row(page, 'Already expired').getByText('Expired', { exact: true }).waitFor();
  const notes = page.getByRole('region', { name: 'Certificate notifications' });
  await notes.getByText(/"Expiring soon" on EX02 expires in 20 days/).waitFor();
  await notes.getByText(/Send connector "Contoso Partner" names the certificate .* but no such certificate is installed on its source server EX02/).waitFor();
  assert.deepEqual(await axe(page), [], 'certificates with flags');
  await screenshot(page, 'certificates-flags');

  const bell = page.getByRole('button', { name: /^Notifications: \d+$/ });
  assert.equal(await bell.getAttribute('aria-label'), 'Notifications: 3');
  await bell.click();
  const drawer = page.getByRole('dialog', { name: 'Notifications' });
  await drawer.getByText(/"Already expired" on EX02 expired on/).waitFor();
  await drawer.getByText(/no such certificate is installed on its source server EX02/).waitFor();
  assert.deepEqual(await axe(page), [], 'notification area');
  await screenshot(page, 'notifications');
  await drawer.getByRole('link', { name: 'Open the connector' }).click();
  await page.getByRole('dialog', { name: 'Exchange Send Connector — Contoso Partner' }).getByRole('tab', { name: 'delivery', selected: true }).waitFor();
  await page.getByRole('dialog', { name: 'Exchange Send Connector — Contoso Partner' }).getByRole('button', { name: 'Cancel' }).click();
});

test('receive connectors, queues and servers pages', async () => {
  const page = browser.page;
  await openPage(page, 'Receive connectors');
  await pickServer(page, 'EX02');
  const [first] = await output(org.ex01, 'Get-ReceiveConnector', { Server: 'EX02' });
  await row(page, String(first.Name)).first().waitFor();
  // EX02's transport, asked through EX01's admin API, says its bindings listen.
  await row(page, String(first.Name)).first().getByText('Listening', { exact: true }).waitFor();
  assert.deepEqual(await axe(page), [], 'Receive connectors page');
  await screenshot(page, 'receive-connectors');

  const catalog = (await (await fetch(`${org.ex01.url}/api/v1/cmdlets`, { headers: { authorization: `Bearer ${org.ex01.token}` } })).json()) as { cmdlets: Array<{ name: string }> };
  const hasQueues = catalog.cmdlets.some((c) => c.name === 'Get-Queue');
  assert.ok((await api(org.ex01, 'Stop-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' }, { confirmed: true })).ok);
  await openPage(page, 'Queues');
  if (hasQueues) {
    await pickServer(page, 'EX02');
    await page.getByText('The transport service on EX02 is stopped').waitFor();
    await pickServer(page, 'EX01');
    await page.getByRole('grid', { name: 'Queues on EX01' }).waitFor();
    await selectRow(page, 'EX01\\Submission');
    await page.getByRole('region', { name: 'Messages in the queue' }).getByText('The queue holds no messages.').waitFor();
  } else {
    await page.getByText('Queue viewer not available').waitFor();
  }
  assert.deepEqual(await axe(page), [], 'Queues page');

  await openPage(page, 'Servers');
  await row(page, 'EX02').getByText('Stopped').waitFor();
  await row(page, 'EX01').getByText('Running').waitFor();
  assert.ok((await api(org.ex01, 'Start-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' }, { confirmed: true })).ok);
});

test('certificate lifecycle: self-signed, export, request and its completion', async () => {
  const page = browser.page;
  await openPage(page, 'Certificates');
  await pickServer(page, 'EX01');

  // New self-signed certificate, SMTP, keeping the internal transport certificate.
  await toolbar(page, 'New');
  await page.getByRole('menuitem', { name: 'Create a self-signed certificate' }).click();
  let dialog = page.getByRole('dialog', { name: 'New self-signed certificate' });
  await dialog.getByLabel('Friendly name').fill('Relay self-signed');
  await dialog.getByLabel('Subject name').fill('CN=relay.contoso.com');
  await dialog.getByLabel(/^Domains/).fill('relay.contoso.com');
  await dialog.getByRole('checkbox', { name: 'Make the private key exportable' }).check();
  await dialog.getByRole('button', { name: 'Create' }).click();
  const question = page.getByRole('alertdialog', { name: 'Overwrite the existing default SMTP certificate?' });
  await question.getByRole('button', { name: 'No' }).click();
  // While the question is open the dialog under it is aria-hidden, so wait for the result, not for the dialog.
  await row(page, 'Relay self-signed').waitFor();
  await dialog.waitFor({ state: 'detached' });
  const made = (await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX01' })).filter((c) => c.FriendlyName === 'Relay self-signed');
  assert.equal(made.length, 1, 'exactly one certificate created, though the cmdlet asked a question first');
  const [selfSigned] = made;
  assert.equal(selfSigned.Subject, 'CN=relay.contoso.com');
  assert.equal(selfSigned.IsSelfSigned, true);
  assert.match(String(selfSigned.Services), /SMTP/);
  assert.equal(selfSigned.PrivateKeyExportable, true);

  // Export it with its private key.
  await selectRow(page, 'Relay self-signed');
  await toolbar(page, 'Export');
  dialog = page.getByRole('dialog', { name: 'Export Exchange certificate' });
  await dialog.getByLabel('Password').fill('Exp0rt!pw');
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export' }).click()]);
  assert.match(download.suggestedFilename(), /^EX01-[0-9A-F]{8}\.pfx$/);
  const exported = await readCertificateData(await fs.promises.readFile((await download.path())!), 'Exp0rt!pw');
  assert.ok(exported.privateKeyPkcs8, 'the PFX holds the private key');
  assert.equal(readCertificateFacts(exported.certificates[0]).thumbprint, selfSigned.Thumbprint);

  // A request for a certification authority, then its completion with the issued file.
  await toolbar(page, 'New');
  await page.getByRole('menuitem', { name: 'Create a request for a certificate from a certification authority' }).click();
  dialog = page.getByRole('dialog', { name: 'New certificate request' });
  await dialog.getByLabel('Friendly name').fill('Fabrikam request');
  await dialog.getByLabel('Subject name').fill('CN=mail.fabrikam.com, O=Fabrikam, C=US');
  await dialog.getByLabel(/^Domains/).fill('mail.fabrikam.com');
  await dialog.getByRole('button', { name: 'Create request' }).click();
  const created = page.getByRole('dialog', { name: 'Certificate request created' });
  const csr = await created.getByRole('textbox').inputValue();
  assert.match(csr, /^-----BEGIN NEW CERTIFICATE REQUEST-----/);
  await screenshot(page, 'certificate-request');
  await created.getByRole('button', { name: 'Close' }).click();
  await row(page, 'Fabrikam request').getByText('Pending request').waitFor();

  const issued = await signCertificateRequest({ issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 }, request: csr, serialNumber: Buffer.from('0C01', 'hex') });
  await selectRow(page, 'Fabrikam request');
  await toolbar(page, 'Complete');
  dialog = page.getByRole('dialog', { name: 'Complete pending request' });
  await dialog.getByLabel('Issued certificate file').setInputFiles({ name: 'mail.fabrikam.com.cer', mimeType: 'application/pkix-cert', buffer: Buffer.from(toPem(issued.der, 'CERTIFICATE')) });
  await dialog.getByRole('button', { name: 'Complete' }).click();
  await dialog.waitFor({ state: 'detached' });
  const completed = (await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX01' })).find((c) => c.Thumbprint === readCertificateFacts(issued.der).thumbprint);
  assert.ok(completed, 'the issued certificate is installed');
  assert.notEqual(completed.Status, 'PendingRequest');
  assert.equal(completed.HasPrivateKey, true, 'joined with the key generated for the request');
  assert.ok(!(await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX01' })).some((c) => c.Status === 'PendingRequest'), 'no request left pending');
});

test('send connector: disable, enable and delete, each after confirmation', async () => {
  assert.ok((await api(org.ex01, 'New-SendConnector', { Name: 'Disposable', AddressSpaces: ['tailspintoys.com;5'] })).ok);
  const page = browser.page;
  await openPage(page, 'Send connectors');
  const state = async () => (await output(org.ex01, 'Get-SendConnector')).find((c) => c.Name === 'Disposable');
  for (const verb of ['disable', 'enable'] as const) {
    await selectRow(page, 'Disposable');
    await toolbar(page, verb === 'disable' ? 'Disable' : 'Enable');
    const confirm = page.getByRole('alertdialog', { name: `${verb === 'disable' ? 'Disable' : 'Enable'} Send connector` });
    await confirm.getByText(`Are you sure you want to ${verb} the connector "Disposable"?`).waitFor();
    await confirm.getByRole('button', { name: verb === 'disable' ? 'Disable' : 'Enable' }).click();
    await confirm.waitFor({ state: 'detached' });
    await row(page, 'Disposable').getByText(verb === 'disable' ? 'Disabled' : 'Enabled', { exact: true }).waitFor();
    assert.equal((await state())?.Enabled, verb === 'enable');
  }
  await selectRow(page, 'Disposable');
  await toolbar(page, 'Delete');
  const confirm = page.getByRole('alertdialog', { name: 'Delete Send connector' });
  await confirm.getByText('Are you sure you want to delete the connector "Disposable"?').waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.ok(await state(), 'Cancel keeps it');
  await toolbar(page, 'Delete');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await row(page, 'Disposable').waitFor({ state: 'detached' });
  assert.equal(await state(), undefined);
});

test('servers: protocol log settings through Set-TransportService, a bad path refused beside its field', async () => {
  const page = browser.page;
  await openPage(page, 'Servers');
  await selectRow(page, 'EX02');
  const before = (await output(org.ex01, 'Get-TransportService', { Identity: 'EX02' }))[0];
  await toolbar(page, 'Transport logs');
  const dialog = page.getByRole('dialog', { name: 'Transport logs — EX02' });
  await dialog.getByLabel('Send protocol log path').fill('relative/SmtpSend');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.locator('.fui-Field', { has: page.getByLabel('Send protocol log path') }).getByText('SendProtocolLogPath must be an absolute path.').waitFor();
  assert.equal((await output(org.ex01, 'Get-TransportService', { Identity: 'EX02' }))[0].SendProtocolLogPath, before.SendProtocolLogPath, 'unchanged');
  const wanted = `${org.dir}/logs/EX02/SmtpSend`;
  await dialog.getByLabel('Send protocol log path').fill(wanted);
  await dialog.getByLabel('Send log maximum age').fill('7.00:00:00');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const [after] = await output(org.ex01, 'Get-TransportService', { Identity: 'EX02' });
  assert.equal(after.SendProtocolLogPath, wanted);
  assert.equal(after.SendProtocolLogMaxAge, '7.00:00:00');
  assert.equal(after.ReceiveProtocolLogPath, before.ReceiveProtocolLogPath, 'only what was changed is sent');
  await page.getByRole('complementary', { name: 'Server details' }).getByText(wanted).waitFor();
});

/** Submits one message to a server's default Receive connector, as a mail client would. */
const submit = (port: number, id: string, to: string) => submitMessage(port, { messageId: id, to, subject: `Quarterly report ${id}`, body: 'body' });

test('queues: a queue in Retry with its messages and last error; suspend, resume and retry it', async () => {
  // Port 1: nothing listens there, and no socket of this run is ever given it (a port the kernel just handed out
  // may be handed out again, to a listener or as the source port of this very connection).
  const closedPort = 1;
  await output(org.ex01, 'Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
  assert.ok((await api(org.ex01, 'New-SendConnector', { Name: 'Northwind via smart host', AddressSpaces: ['northwind.example'], SmartHosts: ['127.0.0.1'], Port: closedPort, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] })).ok);
  const [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: 'Northwind via smart host' });
  // This connector's queue, by its NextHopConnector: another connector's queue may have the same NextHopDomain.
  const queue = async () => (await output(org.ex01, 'Get-Queue', { Server: 'EX01' })).find((q) => q.NextHopConnector === connector.Guid);
  // The transport picks up the new connector on its next configuration poll.
  await waitFor('the connector in effect', async () => {
    await submit(org.ex01.smtpPort, `q-${Date.now()}@contoso.com`, 'nancy@northwind.example');
    return (await queue()) !== undefined;
  });
  await waitFor('the queue in Retry', async () => (await queue())?.Status === 'Retry');
  // Named by its QueueInteger, as in Exchange.
  const queueId = (await queue())!.Identity as string;
  assert.match(queueId, /^EX01\\\d+$/);
  // The cmdlet first: if the page below does not list the message, the fault is the page's, not the transport's.
  const listed = await output(org.ex01, 'Get-Message', { Queue: queueId });
  if (!listed.some((m) => JSON.stringify(m.Recipients).includes('nancy@northwind.example'))) {
    const queues = await output(org.ex01, 'Get-Queue', { Server: 'EX01' });
    const all = await output(org.ex01, 'Get-Message', { Server: 'EX01' });
    assert.fail(`Get-Message -Queue ${queueId}: ${JSON.stringify(listed)}; Get-Queue: ${JSON.stringify(queues)}; Get-Message: ${JSON.stringify(all)}`);
  }

  const page = browser.page;
  await openPage(page, 'Queues');
  await pickServer(page, 'EX01');
  const queueRow = row(page, queueId);
  await queueRow.getByText('Retry', { exact: true }).waitFor();
  await queueRow.getByText(/421 4\.2\.1 Unable to connect/).waitFor();
  await selectRow(page, queueId);
  const messages = page.getByRole('region', { name: 'Messages in the queue' });
  await messages.getByText('nancy@northwind.example').first().waitFor();
  await messages.getByText(/Quarterly report/).first().waitFor();
  assert.deepEqual(await axe(page), [], 'Queues page with a queue in Retry');
  await screenshot(page, 'queues');

  await toolbar(page, 'Retry');
  await page.getByText(`The queue "${queueId}" is being retried now.`).first().waitFor();
  const [retried] = await output(org.ex01, 'Search-AdminAuditLog', { Cmdlets: ['Retry-Queue'], ResultSize: 1 });
  assert.equal(retried.Succeeded, true);

  await toolbar(page, 'Suspend');
  await queueRow.getByText('Suspended', { exact: true }).waitFor();
  assert.equal((await queue())?.Status, 'Suspended');
  await toolbar(page, 'Resume');
  await queueRow.getByText('Suspended', { exact: true }).waitFor({ state: 'detached' });
  assert.notEqual((await queue())?.Status, 'Suspended');
  assert.ok(Number((await queue())?.MessageCount) >= 1, 'the message is still queued, nothing lost');

  // One message: suspend it, resume it, remove it without an NDR.
  const [first] = await output(org.ex01, 'Get-Message', { Queue: queueId });
  const identity = String(first.Identity);
  const subject = String(first.Subject);
  const messageStatus = async () => (await output(org.ex01, 'Get-Message', { Queue: queueId })).find((m) => m.Identity === identity)?.Status;
  await selectRow(page, subject);
  const messageToolbar = page.getByRole('toolbar', { name: 'Message actions' });
  await messageToolbar.getByRole('button', { name: 'Suspend message' }).click();
  await page.getByText(`The message "${identity}" is suspended.`).first().waitFor();
  await row(page, subject).getByText('Suspended', { exact: true }).waitFor();
  assert.equal(await messageStatus(), 'Suspended');
  await messageToolbar.getByRole('button', { name: 'Resume message' }).click();
  await page.getByText(`The message "${identity}" is resumed.`).first().waitFor();
  assert.notEqual(await messageStatus(), 'Suspended');
  await selectRow(page, subject);
  await messageToolbar.getByRole('button', { name: 'Remove message' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Remove message' });
  await dialog.getByText(subject).waitFor();
  assert.deepEqual(await axe(page), [], 'Remove message dialog');
  await dialog.getByLabel('Send a non-delivery report (NDR) to the sender').uncheck();
  await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
  await page.getByText(`The message "${identity}" was removed.`).first().waitFor();
  await row(page, subject).waitFor({ state: 'detached' });
  assert.equal(await messageStatus(), undefined);
  const [removed] = await output(org.ex01, 'Search-AdminAuditLog', { Cmdlets: ['Remove-Message'], ResultSize: 1 });
  assert.equal(removed.Succeeded, true);
  assert.match(JSON.stringify(removed.CmdletParameters), /WithNDR/);
});

test('recipients > contacts: create a mail user (a weak password refused beside its field), reset its password, delete it', async () => {
  const page = browser.page;
  await openPage(page, 'Contacts');
  await page.getByRole('grid', { name: 'Mail users' }).waitFor();
  await toolbar(page, 'New');
  const dialog = page.getByRole('dialog', { name: 'New mail user' });
  await dialog.getByLabel('Display name').fill('Ed Meadows');
  await dialog.getByLabel('User logon name (UPN)').fill('ed@contoso.com');
  await dialog.getByLabel('External email address').fill('ed@tailspintoys.com');
  await dialog.getByLabel('Password').fill('short');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText(/password/i).filter({ hasText: /8|character|weak/i }).first().waitFor();
  assert.equal((await output(org.ex01, 'Get-MailUser', {})).length, 0, 'nothing created');
  await dialog.getByLabel('Password').fill('Str0ng!Passw0rd');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The mail user "Ed Meadows" was created.').first().waitFor();
  await row(page, 'ed@contoso.com').waitFor();
  const [ed] = await output(org.ex01, 'Get-MailUser', { Identity: 'ed@contoso.com' });
  assert.equal(ed.ExternalEmailAddress, 'SMTP:ed@tailspintoys.com');

  await selectRow(page, 'ed@contoso.com');
  await page.getByRole('complementary', { name: 'Mail user details' }).getByText('ed@tailspintoys.com').first().waitFor();
  assert.deepEqual(await axe(page), [], 'Contacts page');
  await screenshot(page, 'contacts');
  await toolbar(page, 'Reset password');
  const reset = page.getByRole('dialog', { name: /Reset password/ });
  await reset.getByLabel('New password').fill('An0ther!Passw0rd');
  await reset.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The password of "Ed Meadows" was reset.').first().waitFor();
  const [set] = await output(org.ex01, 'Search-AdminAuditLog', { Cmdlets: ['Set-MailUser'], ResultSize: 1 });
  assert.equal(set.Succeeded, true);
  assert.doesNotMatch(JSON.stringify(set.CmdletParameters), /An0ther/, 'the password is not in the audit log');

  await toolbar(page, 'Delete');
  const confirm = page.getByRole('alertdialog', { name: 'Delete mail user' });
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('The mail user "Ed Meadows" was deleted.').first().waitFor();
  await row(page, 'ed@contoso.com').waitFor({ state: 'detached' });
  assert.equal((await output(org.ex01, 'Get-MailUser', {})).length, 0);
});

test('mail flow > accepted domains: create one (a bad domain refused beside its field), make it the default, the default refused for deletion, delete the other', async () => {
  const page = browser.page;
  const domains = async () => new Map((await output(org.ex01, 'Get-AcceptedDomain')).map((d) => [String(d.Name), d]));
  // The harness starts EX01 without --fqdn, so its FQDN is ex01.interchange.local: first start made interchange.local the default.
  const initial = await domains();
  assert.deepEqual([...initial.keys()], ['interchange.local']);
  assert.equal(initial.get('interchange.local')!.Default, true);

  await openPage(page, 'Accepted domains');
  await page.getByText('Anonymous senders may send only to accepted domains', { exact: false }).waitFor();
  await row(page, 'interchange.local').getByRole('gridcell', { name: 'Yes', exact: true }).waitFor();

  await toolbar(page, 'New');
  const dialog = page.getByRole('dialog', { name: 'New accepted domain' });
  await dialog.getByLabel(/^Name/).fill('Fabrikam');
  await dialog.getByLabel(/^Accepted domain/).fill('fabrikam..com');
  await dialog.getByRole('radio', { name: /^Internal relay/ }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  const domainField = dialog.locator('.fui-Field', { has: page.getByLabel(/^Accepted domain/) });
  await domainField.getByText(/"fabrikam\.\.com" isn't a valid SMTP domain/).waitFor();
  assert.deepEqual(await axe(page), [], 'new accepted domain dialog with an error');
  assert.equal((await domains()).size, 1, 'nothing created');
  await dialog.getByLabel(/^Accepted domain/).fill('fabrikam.com');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The accepted domain "Fabrikam" was created.').first().waitFor();
  await row(page, 'fabrikam.com').getByText('Internal relay').waitFor();
  const [fabrikam] = await output(org.ex01, 'Get-AcceptedDomain', { Identity: 'Fabrikam' });
  assert.equal(fabrikam.DomainName, 'fabrikam.com');
  assert.equal(fabrikam.DomainType, 'InternalRelay');
  assert.equal(fabrikam.Default, false);

  const makeDefault = async (name: string) => {
    await selectRow(page, name);
    await toolbar(page, 'Edit');
    const edit = page.getByRole('dialog', { name: `Accepted domain — ${name}` });
    await edit.getByRole('checkbox', { name: 'Make this the default accepted domain' }).check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await row(page, name).getByRole('gridcell', { name: 'Yes', exact: true }).waitFor();
  };
  await makeDefault('Fabrikam');
  let now = await domains();
  assert.equal(now.get('Fabrikam')!.Default, true);
  assert.equal(now.get('interchange.local')!.Default, false, 'only one default');
  await page.getByRole('complementary', { name: 'Accepted domain details' }).getByText('fabrikam.com').waitFor();
  assert.deepEqual(await axe(page), [], 'Accepted domains page');
  await screenshot(page, 'accepted-domains');

  // The default cannot go while another domain exists: the cmdlet's refusal, in the confirmation.
  await toolbar(page, 'Delete');
  let confirm = page.getByRole('alertdialog', { name: 'Delete accepted domain' });
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  const refusal = confirm.locator('[data-error-code=ICX_ACCEPTED_DOMAIN_DEFAULT]');
  await refusal.getByText(/"Fabrikam" is the default accepted domain and can't be removed/).waitFor();
  assert.deepEqual(await axe(page), [], 'the refusal');
  await confirm.getByRole('button', { name: 'Close' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await domains()).size, 2, 'nothing removed');

  // Hand the default back, then the other domain goes.
  await makeDefault('interchange.local');
  await selectRow(page, 'fabrikam.com');
  await toolbar(page, 'Delete');
  confirm = page.getByRole('alertdialog', { name: 'Delete accepted domain' });
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('The accepted domain "Fabrikam" was deleted.').first().waitFor();
  await row(page, 'fabrikam.com').waitFor({ state: 'detached' });
  now = await domains();
  assert.deepEqual([...now.keys()], ['interchange.local']);
  assert.equal(now.get('interchange.local')!.Default, true);
});
