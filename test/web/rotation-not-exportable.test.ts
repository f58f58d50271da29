import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { bytes, secure } from '../support/interchange.js';
import { api, axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { assignSmtp, importPfx, pickServer, row, selectRow, toolbar } from './pages.js';

// Issue 16 in the admin center: the renewed certificate imported on EX01 the
// default way (key not exportable). Deleting it to import it again is refused
// by Exchange's guard; the refusal and the notification area explain that no
// export is needed and finish the rotation through Switch-ExchangeCertificate.

const REFUSAL =
  'A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.';

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pki: TestPki;
let renewedPfx: Buffer;

before(async () => {
  pki = await createTestPki();
  renewedPfx = await pfx(pki.renewedCert, 'Renewed#2026', { withChain: true });
  org = await startOrganization();
  browser = await launchBrowser();
  for (const server of ['EX01', 'EX02']) {
    const r = await api(org.ex01, 'Import-ExchangeCertificate', { Server: server, FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw'), FriendlyName: 'Contoso mail 2025' }, { confirmed: true });
    assert.ok(r.ok, r.error?.message);
    const e = await api(org.ex01, 'Enable-ExchangeCertificate', { Server: server, Thumbprint: pki.oldCert.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
    assert.ok(e.ok, e.error?.message);
  }
  const f = pki.oldCert.facts;
  const c = await api(org.ex01, 'New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` }, { confirmed: true });
  assert.ok(c.ok, c.error?.message);
});

after(async () => {
  await browser?.page.screenshot({ path: `${process.env.TMPDIR ?? '/tmp'}/icx-web-rotation-not-exportable-last.png` }).catch(() => undefined);
  await browser?.close();
  await org?.close();
});

test('a renewal with a non-exportable key: the refused deletion and the notification area lead to the finished rotation', async () => {
  const page = browser.page;
  const oldTp = pki.oldCert.facts.thumbprint;
  const newTp = pki.renewedCert.facts.thumbprint;
  await signIn(page, org.ex01);
  await openPage(page, 'Certificates');

  // The renewal on EX01, imported as the dialog does by default: "Make the private key exportable" left unchecked.
  await importPfx(page, 'EX01', { name: 'mail-2026.pfx', buffer: renewedPfx }, 'Renewed#2026', 'Contoso mail 2026');
  await assignSmtp(page, 'EX01', 'Contoso mail 2026');
  const [imported] = await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX01', Thumbprint: newTp });
  assert.equal(imported.PrivateKeyExportable, false);

  // The notification area lists the half-done rotation with its command, and leads to the dialog that finishes it.
  const bell = page.getByRole('button', { name: /^Notifications: \d+$/ });
  await page.waitForFunction(() => /^Notifications: [1-9]/.test(document.querySelector('[aria-label^="Notifications:"]')?.getAttribute('aria-label') ?? ''));
  await bell.click();
  const drawer = page.getByRole('dialog', { name: 'Notifications' });
  const command = `Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers`;
  await drawer.getByText(`is on EX01 but not on EX02, where Send connector "Contoso Outbound" still uses ${oldTp}`, { exact: false }).waitFor();
  assert.ok(((await drawer.textContent()) ?? '').includes(`finish the rotation with: ${command}`));
  assert.deepEqual(await axe(page), [], 'notification area with a half-done rotation');
  await drawer.getByRole('link', { name: 'Finish the rotation' }).click();
  const fromNotification = page.getByRole('dialog', { name: 'Replace certificate on every server' });
  await fromNotification.getByRole('radio', { name: new RegExp(`on EX01 \\(${newTp}\\)`) }).waitFor();
  assert.equal(await fromNotification.getByRole('radio', { name: new RegExp(newTp) }).isChecked(), true, 'the renewal the alert names is proposed, though EX02 lacks it');
  assert.match((await fromNotification.textContent()) ?? '', new RegExp(`Replaces Contoso mail 2025 \\(${oldTp}\\)`));
  await fromNotification.getByRole('button', { name: 'Cancel' }).click();
  await fromNotification.waitFor({ state: 'detached' });
  await row(page, 'Contoso mail 2025').getByText('Rotation incomplete').waitFor();

  // The natural next step, deleting the renewal on EX01 to import it again as exportable: refused as Exchange refuses it.
  await pickServer(page, 'EX01');
  await selectRow(page, 'Contoso mail 2026');
  await toolbar(page, 'Delete');
  await page.getByRole('alertdialog', { name: 'Delete certificate' }).getByRole('button', { name: 'Delete' }).click();
  const refused = page.getByRole('alertdialog', { name: 'The certificate was not deleted' });
  await refused.getByText(REFUSAL).waitFor();
  const explained = (await refused.textContent()) ?? '';
  assert.ok(explained.includes('The rotation is half done: the renewed certificate is not on EX02 yet, a source server of "Contoso Outbound".'), explained);
  assert.ok(explained.includes('If you meant to delete it to import it again with an exportable private key, there is no need'), explained);
  assert.ok(explained.includes(`Finish the rotation runs ${command}.`), explained);
  assert.ok(explained.includes('copies it with its key to EX02 inside the organization, exportable or not'), explained);
  assert.deepEqual(await axe(page), [], 'refused deletion of a non-exportable renewal');
  await screenshot(page, 'certificate-deletion-refused-not-exportable');
  await refused.getByRole('button', { name: 'Finish the rotation' }).click();

  const dialog = page.getByRole('dialog', { name: 'Replace certificate on every server' });
  await dialog.waitFor();
  const renewed = dialog.getByRole('radio', { name: new RegExp(newTp) });
  await renewed.waitFor();
  assert.equal(await renewed.isChecked(), true, 'the renewal is the replacement, the old certificate the one replaced');
  await dialog.getByText("The replacement's private key is not exportable. That is no obstacle and no reason to import it again", { exact: false }).waitFor();
  await dialog.getByText('Preview (-WhatIf)').click();
  const preview = dialog.getByRole('region', { name: 'Preview' });
  await preview.getByText(/^What if: Replace certificate/).waitFor();
  assert.match((await preview.textContent()) ?? '', new RegExp(`^What if: Replace certificate ${oldTp} with ${newTp}: EX01 \\(Contoso Outbound\\): .* EX02 \\(Contoso Outbound\\): deploy new, TlsCertificateName`));
  assert.deepEqual(await axe(page), [], 'rotation dialog for a non-exportable renewal');
  assert.ok((await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX02' })).every((c) => c.Thumbprint !== newTp), 'the preview changed nothing');
  await dialog.getByRole('button', { name: 'Replace' }).click();
  await dialog.waitFor({ state: 'detached' });

  for (const server of ['EX01', 'EX02']) {
    const certs = await output(org.ex01, 'Get-ExchangeCertificate', { Server: server });
    assert.ok(!certs.some((c) => c.Thumbprint === oldTp), `old certificate gone from ${server}`);
    const copy = certs.find((c) => c.Thumbprint === newTp);
    assert.ok(copy && String(copy.Services).includes('SMTP') && copy.HasPrivateKey === true && copy.PrivateKeyExportable === false, `renewed certificate with its key and SMTP on ${server}`);
  }
  const [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: 'Contoso Outbound' });
  assert.equal(connector.TlsCertificateName, `<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`);
  for (const s of [org.ex01, org.ex02]) assert.equal((await output(s, 'Get-Service'))[0].Status, 'Running', 'no transport was stopped');
  assert.deepEqual(await output(org.ex01, 'Search-AdminAuditLog', { Cmdlets: ['Stop-Service'] }), [], 'no step stopped a transport');
  assert.deepEqual((await output(org.ex01, 'Get-ExchangeCertificateAlert')).filter((a) => a.Kind === 'RotationIncomplete'), []);
  await page.waitForFunction(() => document.querySelector('[aria-label^="Notifications:"]')?.getAttribute('aria-label') === 'Notifications: 0');
});
