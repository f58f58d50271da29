import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPebble, type Pebble } from '../support/pebble.js';
import { waitFor } from '../support/transport-harness.js';
import { api, axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { pickServer, row, selectRow, toolbar } from './pages.js';

// Servers > ACME (issue 14): the organization's ACME account, a certificate
// requested from pebble through the page, its renewal state and next renewal,
// and a renewal from the page that replaces it while the old one waits out its
// grace period.

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pebble: Pebble;

before(async () => {
  pebble = await startPebble();
  org = await startOrganization();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await org?.close();
  await pebble?.stop();
});

test('the ACME page shows the account, requests a certificate that renews itself, shows its next renewal, and renews it now', async () => {
  const page = browser.page;
  await signIn(page, org.ex01);
  await openPage(page, 'ACME');
  await page.getByRole('region', { name: 'ACME account' }).getByText(/no ACME account yet/).waitFor();
  assert.equal(await page.getByRole('toolbar').getByRole('button', { name: 'Request certificate', exact: true }).isDisabled(), true, 'nothing to request with before an account exists');

  // The account's CA certificate for pebble's HTTPS is a file an administrator gives in the shell; the page shows what the account is.
  const created = await api(org.ex01, 'New-AcmeAccount', { DirectoryUrl: pebble.directoryUrl, ContactEmail: ['hostmaster@contoso.com'], AcceptTermsOfService: true, AcmeServerCertificate: { $bytes: Buffer.from(pebble.tlsCaPem).toString('base64') } }, { confirmed: true });
  assert.ok(created.ok, JSON.stringify(created.error));
  await toolbar(page, 'Refresh');
  const account = page.getByRole('region', { name: 'ACME account' });
  await account.getByText(pebble.directoryUrl, { exact: true }).waitFor();
  await account.getByText('hostmaster@contoso.com', { exact: true }).waitFor();
  await account.getByText('None: Set-AcmeAccount -DnsUpdateServer gives it one', { exact: true }).waitFor();

  // pebble's root, trusted on EX01 as an administrator of a private CA would: imported with its chain, the intermediate taken out again.
  const chain = await api(org.ex01, 'Import-ExchangeCertificate', { FileData: { $bytes: Buffer.from((await pebble.issuingIntermediatePem()) + (await pebble.issuingRootPem())).toString('base64') } }, { confirmed: true });
  assert.ok(chain.ok, JSON.stringify(chain.error));
  assert.ok((await api(org.ex01, 'Remove-ExchangeCertificate', { Thumbprint: String(chain.output[0].Thumbprint) }, { confirmed: true })).ok);

  await pickServer(page, 'EX01');
  await toolbar(page, 'Request certificate');
  const dialog = page.getByRole('dialog', { name: 'Request a certificate for EX01' });
  await dialog.getByLabel('Domain names').fill('relay.contoso.com');
  await dialog.getByLabel('Port the server answers the http-01 challenge on').fill(String(pebble.httpPort));
  await dialog.getByRole('button', { name: 'Request' }).click();
  await dialog.waitFor({ state: 'detached', timeout: 60_000 });
  await row(page, 'relay.contoso.com').getByText('Scheduled', { exact: true }).waitFor();

  const [managed] = await output(org.ex01, 'Get-AcmeCertificate');
  assert.deepEqual([managed.DomainNames, managed.Servers, managed.RenewalState], [['relay.contoso.com'], ['EX01'], 'Scheduled']);
  const details = page.getByRole('complementary', { name: 'ACME certificate details' });
  await selectRow(page, 'relay.contoso.com');
  await details.getByText(String(managed.Thumbprint), { exact: true }).waitFor();
  await details.getByText(`EX01 (http-01 on port ${pebble.httpPort})`, { exact: true }).waitFor();
  const [installed] = await output(org.ex01, 'Get-ExchangeCertificate', { Thumbprint: String(managed.Thumbprint) });
  assert.equal(installed.Services, 'SMTP', 'assigned to SMTP as the dialog asked');

  assert.deepEqual(await axe(page), [], 'ACME page with the account and a certificate');
  await screenshot(page, 'acme');

  await toolbar(page, 'Renew now');
  const confirm = page.getByRole('alertdialog', { name: 'Renew now' });
  await confirm.getByRole('button', { name: 'Renew' }).click();
  await confirm.waitFor({ state: 'detached', timeout: 60_000 });
  const [renewed] = await waitFor('the renewed certificate listed', async () => {
    const all = await output(org.ex01, 'Get-AcmeCertificate');
    return all[0] && all[0].Thumbprint !== managed.Thumbprint ? all : undefined;
  });
  await details.getByText(String(renewed.Thumbprint), { exact: true }).waitFor();
  await details.getByText(new RegExp(`^${managed.Thumbprint} \\(removed after `)).waitFor();
  assert.ok((await output(org.ex01, 'Get-ExchangeCertificate')).some((c) => c.Thumbprint === managed.Thumbprint), 'the old certificate waits out its grace period');
  assert.deepEqual(await axe(page), [], 'after the renewal');

  // dns-01 asks for no port, and without a DNS update server on the account the request is refused with what to do.
  await toolbar(page, 'Request certificate');
  const dns = page.getByRole('dialog', { name: 'Request a certificate for EX01' });
  await dns.getByLabel('Domain names').fill('*.contoso.com');
  await dns.getByRole('radio', { name: /^dns-01/ }).check();
  assert.equal(await dns.getByLabel(/^Port the server answers/).count(), 0, 'no port for dns-01');
  await dns.getByRole('radio', { name: /^tls-alpn-01/ }).check();
  assert.equal(await dns.getByLabel('Port the server answers the tls-alpn-01 challenge on').inputValue(), '443');
  await dns.getByRole('radio', { name: /^dns-01/ }).check();
  assert.deepEqual(await axe(page), [], 'the request dialog with its challenge choice');
  await dns.getByRole('button', { name: 'Request' }).click();
  await dns.getByText(/Set-AcmeAccount -DnsUpdateServer/).waitFor();
  await dns.getByRole('button', { name: 'Cancel' }).click();
  await dns.waitFor({ state: 'detached' });
  assert.equal((await output(org.ex01, 'Get-AcmeCertificate')).length, 1, 'nothing requested');
});
