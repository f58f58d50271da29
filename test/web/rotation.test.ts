import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { bytes, secure } from '../support/interchange.js';
import { api, axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { pickServer, selectRow, toolbar } from './pages.js';

// Interchange's answer to the article, in the admin center: from the refused
// deletion, replace the certificate on every server in one step, no transport
// stopped, the renewed certificate copied to the server that lacked it.

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let pki: TestPki;

before(async () => {
  pki = await createTestPki();
  org = await startOrganization();
  browser = await launchBrowser();
  const put = async (server: string, cert: typeof pki.oldCert, name: string, exportable: boolean) => {
    const r = await api(org.ex01, 'Import-ExchangeCertificate', { Server: server, FileData: bytes(await pfx(cert, 'pw', { withChain: true })), Password: secure('pw'), FriendlyName: name, PrivateKeyExportable: exportable }, { confirmed: true });
    assert.ok(r.ok, r.error?.message);
    const e = await api(org.ex01, 'Enable-ExchangeCertificate', { Server: server, Thumbprint: cert.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
    assert.ok(e.ok, e.error?.message);
  };
  await put('EX01', pki.oldCert, 'Contoso mail 2025', false);
  await put('EX02', pki.oldCert, 'Contoso mail 2025', false);
  await put('EX01', pki.renewedCert, 'Contoso mail 2026', true);
  const f = pki.oldCert.facts;
  const c = await api(org.ex01, 'New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` }, { confirmed: true });
  assert.ok(c.ok, c.error?.message);
});

after(async () => {
  await browser?.close();
  await org?.close();
});

test('from the refused deletion, replace the certificate on every server in one step', async () => {
  const page = browser.page;
  await signIn(page, org.ex01);
  await openPage(page, 'Certificates');
  await pickServer(page, 'EX01');
  await selectRow(page, 'Contoso mail 2025');
  await toolbar(page, 'Delete');
  await page.getByRole('alertdialog', { name: 'Delete certificate' }).getByRole('button', { name: 'Delete' }).click();
  const refused = page.getByRole('alertdialog', { name: 'The certificate was not deleted' });
  await refused.getByRole('button', { name: 'Replace this certificate on every server' }).click();

  const dialog = page.getByRole('dialog', { name: 'Replace certificate on every server' });
  await dialog.waitFor();
  const renewed = dialog.getByRole('radio', { name: new RegExp(pki.renewedCert.facts.thumbprint) });
  assert.equal(await renewed.isChecked(), true, 'the renewal (same subject and issuer) is proposed');
  await dialog.getByText('Preview (-WhatIf)').click();
  const preview = dialog.getByRole('region', { name: 'Preview' });
  await preview.getByText(/^What if: Replace certificate/).waitFor();
  assert.match((await preview.textContent()) ?? '', /EX02 \(Contoso Outbound\): deploy new, TlsCertificateName/);
  assert.deepEqual(await axe(page), [], 'rotation dialog');
  await screenshot(page, 'certificate-rotation');
  assert.ok((await output(org.ex01, 'Get-ExchangeCertificate', { Server: 'EX02' })).every((c) => c.Thumbprint !== pki.renewedCert.facts.thumbprint), 'the preview changed nothing');

  await dialog.getByRole('button', { name: 'Replace' }).click();
  await dialog.waitFor({ state: 'detached' });

  for (const server of ['EX01', 'EX02']) {
    const certs = await output(org.ex01, 'Get-ExchangeCertificate', { Server: server });
    assert.ok(!certs.some((c) => c.Thumbprint === pki.oldCert.facts.thumbprint), `old certificate gone from ${server}`);
    assert.ok(certs.some((c) => c.Thumbprint === pki.renewedCert.facts.thumbprint && String(c.Services).includes('SMTP')), `renewed certificate with SMTP on ${server}`);
  }
  const [connector] = await output(org.ex01, 'Get-SendConnector', { Identity: 'Contoso Outbound' });
  assert.equal(connector.TlsCertificateName, `<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`);
  for (const s of [org.ex01, org.ex02]) assert.equal((await output(s, 'Get-Service'))[0].Status, 'Running', 'no transport was stopped');
});
