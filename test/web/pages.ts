import type { Page } from 'playwright-core';

// Page-level steps shared by the admin center tests: each is what an
// administrator does with the mouse, named after the EAC path.

export async function pickServer(page: Page, server: string): Promise<void> {
  const picker = page.getByRole('combobox', { name: 'Select server:' });
  if ((await picker.textContent())?.trim() === server) return;
  await picker.click();
  await page.getByRole('option', { name: server, exact: true }).click();
  await page.waitForFunction((s) => document.querySelector('[role=combobox]')?.textContent?.trim() === s, server);
  await page.getByRole('progressbar').waitFor({ state: 'detached' });
}

export function row(page: Page, text: string) {
  return page.locator('[role=row]', { hasText: text });
}

export async function selectRow(page: Page, text: string): Promise<void> {
  const r = row(page, text);
  await r.first().click();
  await page.waitForFunction((t) => [...document.querySelectorAll('[role=row][aria-selected=true]')].some((e) => e.textContent?.includes(t)), text);
}

export async function toolbar(page: Page, name: string): Promise<void> {
  await page.getByRole('toolbar').getByRole('button', { name, exact: true }).click();
}

export async function importPfx(page: Page, server: string, file: { name: string; buffer: Buffer }, password: string, friendlyName: string): Promise<void> {
  await pickServer(page, server);
  await toolbar(page, 'Import');
  const dialog = page.getByRole('dialog', { name: 'Import Exchange certificate' });
  await dialog.getByLabel('Certificate file (.pfx, .p12)').setInputFiles({ name: file.name, mimeType: 'application/x-pkcs12', buffer: file.buffer });
  await dialog.getByLabel('Password').fill(password);
  await dialog.getByLabel('Friendly name').fill(friendlyName);
  await dialog.getByRole('button', { name: 'Import' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row(page, friendlyName).first().waitFor();
}

/** Assigns SMTP and answers the cmdlet's "Overwrite the existing default SMTP certificate?" with No. */
export async function assignSmtp(page: Page, server: string, friendlyName: string): Promise<void> {
  await pickServer(page, server);
  await selectRow(page, friendlyName);
  await toolbar(page, 'Assign services');
  const dialog = page.getByRole('dialog', { name: 'Assign services to certificate' });
  await dialog.getByRole('checkbox', { name: 'SMTP' }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  const question = page.getByRole('alertdialog', { name: 'Overwrite the existing default SMTP certificate?' });
  await question.waitFor();
  await question.getByRole('button', { name: 'No' }).click();
  // While the question is open the dialog under it is aria-hidden, so wait for the result, not for the dialog.
  await page.getByRole('complementary', { name: 'Certificate details' }).getByText('SMTP', { exact: true }).waitFor();
  await dialog.waitFor({ state: 'detached' });
}

export async function openConnector(page: Page, name: string, tab: 'general' | 'delivery' | 'scoping') {
  await selectRow(page, name);
  await toolbar(page, 'Edit');
  const dialog = page.getByRole('dialog', { name: `Exchange Send Connector — ${name}` });
  await dialog.getByRole('tab', { name: tab }).click();
  return dialog;
}

export async function controlTransport(page: Page, server: string, verb: 'Stop' | 'Start'): Promise<void> {
  await selectRow(page, server);
  const button = page.getByRole('toolbar').getByRole('button', { name: `${verb} transport` });
  await button.click();
  const dialog = page.getByRole('alertdialog', { name: `${verb} the transport service` });
  await dialog.getByRole('button', { name: verb, exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  await row(page, server).getByText(verb === 'Stop' ? 'Stopped' : 'Running').waitFor();
}
