import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { assignSmtp, controlTransport, importPfx, openConnector, pickServer, row, selectRow, toolbar } from './pages.js';

// The scenario of Microsoft's article "Can't remove a certificate that's
// installed in Exchange Server", done entirely through the admin center of
// EX01 with EX02 in the same organization, each state checked over the API.

const CONNECTOR = 'Contoso Outbound';
const REFUSAL = `A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : ${CONNECTOR}. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.`;

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pki: TestPki;
let oldPfx: Buffer;
let renewedPfx: Buffer;

before(async () => {
  pki = await createTestPki();
  [oldPfx, renewedPfx] = await Promise.all([pfx(pki.oldCert, 'Old#2025', { withChain: true }), pfx(pki.renewedCert, 'Renewed#2026', { withChain: true })]);
  org = await startOrganization();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.page.screenshot({ path: `${process.env.TMPDIR ?? '/tmp'}/icx-web-scenario-last.png` }).catch(() => undefined);
  await browser?.close();
  await org?.close();
});

const thumbprints = async (server: string) => (await output(org.ex01, 'Get-ExchangeCertificate', { Server: server })).map((c) => String(c.Thumbprint));

test('the certificate renewal scenario, through the pages', async () => {
  const page = browser.page;
  const oldTp = pki.oldCert.facts.thumbprint;
  const newTp = pki.renewedCert.facts.thumbprint;
  const expectedName = `<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}`;
  assert.equal(`<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`, expectedName, 'the renewed certificate has the same issuer and subject');

  await signIn(page, org.ex01);
  assert.deepEqual(await axe(page), [], 'no serious accessibility violations after sign-in');

  // Servers > Certificates: import old and renewed on both servers, enable SMTP.
  await openPage(page, 'Certificates');
  const internalBefore = Object.fromEntries((await output(org.ex01, 'Get-TransportService')).map((t) => [t.Name, t.InternalTransportCertificateThumbprint]));
  for (const server of ['EX01', 'EX02']) {
    await importPfx(page, server, { name: 'mail-2025.pfx', buffer: oldPfx }, 'Old#2025', 'Contoso mail 2025');
    await importPfx(page, server, { name: 'mail-2026.pfx', buffer: renewedPfx }, 'Renewed#2026', 'Contoso mail 2026');
    assert.ok((await thumbprints(server)).includes(oldTp), `old certificate on ${server}`);
    assert.ok((await thumbprints(server)).includes(newTp), `renewed certificate on ${server}`);
    await assignSmtp(page, server, 'Contoso mail 2025');
    await assignSmtp(page, server, 'Contoso mail 2026');
    for (const tp of [oldTp, newTp]) {
      const [c] = await output(org.ex01, 'Get-ExchangeCertificate', { Server: server, Thumbprint: tp });
      assert.match(String(c.Services), /SMTP/, `${tp} enabled for SMTP on ${server}`);
    }
  }
  const internalAfter = Object.fromEntries((await output(org.ex01, 'Get-TransportService')).map((t) => [t.Name, t.InternalTransportCertificateThumbprint]));
  assert.deepEqual(internalAfter, internalBefore, 'answering No kept the internal transport certificates');

  await pickServer(page, 'EX01');
  await selectRow(page, 'Contoso mail 2025');
  const details = page.getByRole('complementary', { name: 'Certificate details' });
  await details.getByText(oldTp).waitFor();
  for (const text of [pki.oldCert.facts.issuer, pki.oldCert.facts.subject, 'mail.contoso.com, autodiscover.contoso.com', pki.oldCert.facts.serialNumber, 'SMTP']) {
    assert.ok((await details.textContent())?.includes(text), `details pane shows ${text}`);
  }
  assert.deepEqual(await axe(page), [], 'Certificates page');
  await screenshot(page, 'certificates');

  // Mail flow > Send connectors: new connector with both servers as source servers.
  await openPage(page, 'Send connectors');
  await toolbar(page, 'New');
  const wizard = page.getByRole('dialog', { name: 'New send connector' });
  await wizard.getByLabel('Name').fill(CONNECTOR);
  await wizard.getByRole('radio', { name: /^Internet/ }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('radio', { name: 'MX record associated with recipient domain' }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByLabel('Fully qualified domain name (FQDN)').fill('fabrikam.com');
  await wizard.getByRole('button', { name: 'Add', exact: true }).click();
  await wizard.getByRole('cell', { name: 'fabrikam.com', exact: true }).waitFor();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('checkbox', { name: /^EX02/ }).check();
  assert.ok(await wizard.getByRole('checkbox', { name: /^EX01/ }).isChecked());
  await wizard.getByRole('button', { name: 'Finish' }).click();
  await wizard.waitFor({ state: 'detached' });
  let [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: CONNECTOR });
  assert.deepEqual(connector.SourceTransportServers, ['EX01', 'EX02']);
  assert.deepEqual(connector.AddressSpaces, ['SMTP:fabrikam.com;1']);
  // Usage is a creation-time parameter, as in Exchange: it set the Internet defaults, it is not a property.
  assert.equal(connector.Usage, undefined);
  assert.equal(connector.DNSRoutingEnabled, true);

  // TlsCertificateName chosen from the installed certificates.
  let dialog = await openConnector(page, CONNECTOR, 'delivery');
  await dialog.getByRole('radio', { name: 'A certificate installed on the source servers' }).check();
  await dialog.getByRole('combobox', { name: 'Installed certificate' }).click();
  await page.getByRole('option', { name: new RegExp(`Contoso mail 2025 · EX01 .*${oldTp.slice(0, 12)}`) }).click();
  await dialog.getByText(expectedName).waitFor();
  assert.deepEqual(await axe(page), [], 'TLS certificate chosen from the installed certificates');
  await screenshot(page, 'send-connector-tls-certificate');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: CONNECTOR });
  assert.equal(connector.TlsCertificateName, expectedName);
  await row(page, CONNECTOR).locator(`[title="${expectedName}"]`).waitFor();
  assert.deepEqual(await axe(page), [], 'Send connectors page');
  await screenshot(page, 'send-connectors');

  // Scoping > Source server: the servers to work on.
  dialog = await openConnector(page, CONNECTOR, 'scoping');
  const sources = dialog.getByRole('group', { name: 'Source server' });
  assert.ok(await sources.getByRole('checkbox', { name: /^EX01/ }).isChecked());
  assert.ok(await sources.getByRole('checkbox', { name: /^EX02/ }).isChecked());
  assert.deepEqual(await axe(page), [], 'Send connector dialog');
  await screenshot(page, 'send-connector-scoping');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });

  // Servers > Certificates: the deletion is refused with Exchange's message.
  await openPage(page, 'Certificates');
  await pickServer(page, 'EX01');
  await selectRow(page, 'Contoso mail 2025');
  await toolbar(page, 'Delete');
  let confirm = page.getByRole('alertdialog', { name: 'Delete certificate' });
  await confirm.getByText('Are you sure you want to delete the certificate "Contoso mail 2025"?').waitFor();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  const refused = page.getByRole('alertdialog', { name: 'The certificate was not deleted' });
  const message = refused.getByTestId('cmdlet-error-message');
  await message.waitFor();
  assert.equal(await message.textContent(), REFUSAL);
  await refused.getByRole('link', { name: `Open Send connector "${CONNECTOR}"` }).waitFor();
  assert.deepEqual(await axe(page), [], 'refused deletion');
  await screenshot(page, 'certificate-deletion-refused');
  assert.ok((await thumbprints('EX01')).includes(oldTp), 'nothing was deleted');
  await refused.getByRole('button', { name: 'Close' }).click();

  // Stop transport on each source server.
  await openPage(page, 'Servers');
  for (const server of ['EX01', 'EX02']) {
    await controlTransport(page, server, 'Stop');
    const [svc] = await output(org.ex01, 'Get-Service', { Name: ['MSExchangeTransport'], ComputerName: server });
    assert.equal(svc.Status, 'Stopped', `transport stopped on ${server}`);
  }
  assert.deepEqual(await axe(page), [], 'Servers page');
  await screenshot(page, 'servers');

  // Clear TlsCertificateName.
  await openPage(page, 'Send connectors');
  dialog = await openConnector(page, CONNECTOR, 'delivery');
  await dialog.getByRole('radio', { name: /^None/ }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: CONNECTOR });
  assert.equal(connector.TlsCertificateName, null);

  // Delete the old certificate on each source server.
  await openPage(page, 'Certificates');
  for (const server of ['EX01', 'EX02']) {
    await pickServer(page, server);
    await selectRow(page, 'Contoso mail 2025');
    await toolbar(page, 'Delete');
    confirm = page.getByRole('alertdialog', { name: 'Delete certificate' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm.waitFor({ state: 'detached' });
    await row(page, 'Contoso mail 2025').waitFor({ state: 'detached' });
    const left = await thumbprints(server);
    assert.ok(!left.includes(oldTp), `old certificate deleted on ${server}`);
    assert.ok(left.includes(newTp), `renewed certificate kept on ${server}`);
  }

  // Choose the renewed certificate on the connector.
  await openPage(page, 'Send connectors');
  dialog = await openConnector(page, CONNECTOR, 'delivery');
  await dialog.getByRole('radio', { name: 'A certificate installed on the source servers' }).check();
  await dialog.getByRole('combobox', { name: 'Installed certificate' }).click();
  await page.getByRole('option', { name: new RegExp(`Contoso mail 2026 · EX01 .*${newTp.slice(0, 12)}`) }).click();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: CONNECTOR });
  assert.equal(connector.TlsCertificateName, expectedName);

  // Start transport again.
  await openPage(page, 'Servers');
  for (const server of ['EX01', 'EX02']) {
    await controlTransport(page, server, 'Start');
    const [svc] = await output(org.ex01, 'Get-Service', { Name: ['MSExchangeTransport'], ComputerName: server });
    assert.equal(svc.Status, 'Running', `transport running on ${server}`);
  }

  // The audit log tells the story, refusal included.
  await openPage(page, 'Admin audit log');
  await row(page, 'Remove-ExchangeCertificate').first().waitFor();
  assert.ok((await page.locator('[role=row]', { hasText: 'Remove-ExchangeCertificate' }).filter({ hasText: 'Failed' }).count()) >= 1);
  assert.ok((await page.locator('[role=row]', { hasText: 'Stop-Service' }).count()) >= 2);
  assert.deepEqual(await axe(page), [], 'Admin audit log page');
  await screenshot(page, 'admin-audit-log');
});
