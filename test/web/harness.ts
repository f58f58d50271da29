import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { InvokeResponse, WireValue } from '../../src/cmdlets/contract.js';
import { AdminApi, type ServerProcess, startServerProcess } from '../support/interchange.js';
import { allowAnonymousRelay } from '../support/transport-harness.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Screenshots go to a scratch folder, so `npm test` leaves tracked files as they were;
 * `npm run screenshots` sets INTERCHANGE_SCREENSHOTS to docs/screenshots to refresh the README's pictures.
 */
export const SCREENSHOTS = process.env.INTERCHANGE_SCREENSHOTS ? path.resolve(process.env.INTERCHANGE_SCREENSHOTS) : path.join(os.tmpdir(), 'interchange-screenshots');

export type Server = ServerProcess;

/** A real `interchange serve` process; the admin center must be built (`npm run build`). */
export async function startServer(dataDir: string, name: string): Promise<Server> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('dist/web is missing: run `npm run build` first.');
  const server = await startServerProcess({ dataDir, serverName: name });
  // The queue tests submit anonymously to other domains: Exchange's anonymous relay grant lets them.
  await allowAnonymousRelay(new AdminApi(server.url, server.token), `${name}\\Default Frontend ${name}`, server.smtpPort);
  return server;
}

/** EX01 and EX02 on one data folder, as the scenario has them. */
export async function startOrganization(): Promise<{ dir: string; ex01: Server; ex02: Server; close(): Promise<void> }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-web-'));
  const ex01 = await startServer(dir, 'EX01');
  const ex02 = await startServer(dir, 'EX02');
  return {
    dir,
    ex01,
    ex02,
    async close() {
      await ex02.stop();
      await ex01.stop();
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Calls a cmdlet over the API with the bearer token: how the tests check state, independently of the pages. */
export async function api(server: Server, cmdlet: string, parameters: Record<string, WireValue> = {}, options: { confirmed?: boolean; answers?: Record<string, boolean> } = {}): Promise<InvokeResponse> {
  const res = await fetch(`${server.url}/api/v1/cmdlets/${cmdlet}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ parameters, confirmed: options.confirmed ?? false, answers: options.answers }),
  });
  return (await res.json()) as InvokeResponse;
}

export async function output(server: Server, cmdlet: string, parameters: Record<string, WireValue> = {}): Promise<Array<Record<string, unknown>>> {
  const r = await api(server, cmdlet, parameters);
  if (!r.ok) throw new Error(`${cmdlet}: ${r.error?.message}`);
  return r.output;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Debian's chromium, headless, with a fresh profile. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1440, height: 900 },
    // axe-core is injected as a script; the admin center's CSP allows only its own scripts.
    bypassCSP: true,
    acceptDownloads: true,
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  // A crash of the app shows as a blank page; its error belongs in the test output.
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.stack ?? e.message}\n`));
  return {
    context,
    page,
    async close() {
      await context.close();
      await fs.promises.rm(profile, { recursive: true, force: true });
    },
  };
}

export async function signIn(page: Page, server: Server): Promise<void> {
  await page.goto(server.url + '/');
  await page.getByLabel('Administrator token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation').waitFor();
}

export async function openPage(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: title, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; html: string }>;
}

/**
 * axe-core on the current page; returns the serious and critical violations.
 * Fluent UI's focus manager (Tabster) inserts aria-hidden focus bumpers
 * (`data-tabster-dummy`) that hand focus on at once; axe's aria-hidden-focus
 * flags them. Microsoft's own Accessibility Insights suppresses exactly those
 * nodes (microsoft/accessibility-insights-web#7605, microsoft/tabster#288), and
 * so does this check; every other node of that rule still fails the test.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await settle(page);
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js') });
  const result = (await page.evaluate(async () => {
    const w = window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } };
    return w.axe.run(document, { resultTypes: ['violations'] });
  })) as { violations: AxeViolation[] };
  return result.violations
    .map((v) => (v.id === 'aria-hidden-focus' ? { ...v, nodes: v.nodes.filter((n) => !n.html.includes('data-tabster-dummy')) } : v))
    .filter((v) => (v.impact === 'serious' || v.impact === 'critical') && v.nodes.length > 0);
}

/** Waits until no transition or animation is running (a fading toast or dialog is no state to judge). */
export async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), undefined, { timeout: 10_000 });
  // A closed Fluent dialog's modalizer takes the aria-hidden off the rest of the page a moment
  // after the dialog left the DOM. Wait for that; if it never happens, axe reports it.
  await page
    .waitForFunction(
      () =>
        document.querySelector('[role=dialog],[role=alertdialog]') !== null ||
        ![...document.querySelectorAll('[aria-hidden="true"]')].some((e) => e.querySelector('button, input, select, textarea, a[href]')),
      undefined,
      { timeout: 3_000 },
    )
    .catch(() => undefined);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.promises.mkdir(SCREENSHOTS, { recursive: true });
  await settle(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}
