import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { axe, type Browser, launchBrowser, output, screenshot, type Server, signIn, startServer } from './harness.js';

// Sign-in, the session cookie and what is refused without it, against a real `interchange serve`.

let dir: string;
let server: Server;
let browser: Browser;

before(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-web-session-'));
  server = await startServer(dir, 'EX01');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await fs.promises.rm(dir, { recursive: true, force: true });
});

const signInRequest = (token: string) => fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
const invoke = (cookie: string | undefined, cmdlet: string, parameters: object) =>
  fetch(`${server.url}/api/v1/cmdlets/${cmdlet}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ parameters, confirmed: true }) });

test('requests without a valid session are refused and change nothing', async () => {
  for (const cookie of [undefined, 'icx_session=forged-session-id']) {
    const list = await fetch(`${server.url}/api/v1/cmdlets`, { headers: cookie ? { cookie } : {} });
    assert.equal(list.status, 401);
    const session = await fetch(`${server.url}/api/v1/session`, { headers: cookie ? { cookie } : {} });
    assert.equal(session.status, 401);
    const res = await invoke(cookie, 'New-SendConnector', { Name: 'Sneaky', AddressSpaces: ['*'] });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ICX_AUTH_REQUIRED');
  }
  assert.deepEqual(await output(server, 'Get-SendConnector'), []);
});

test('sign-in sets a secure, HTTP-only, SameSite=Strict cookie that works until sign-out', async () => {
  const res = await signInRequest(server.token);
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /^icx_session=[A-Za-z0-9_-]{43};/);
  for (const flag of [/; HttpOnly/i, /; Secure/i, /; SameSite=Strict/i, /; Path=\//i]) assert.match(setCookie, flag);
  const body = await res.text();
  assert.ok(!body.includes(server.token), 'the answer does not echo the token');
  assert.ok(!setCookie.includes(server.token), 'the cookie is not the token');
  const cookie = setCookie.split(';')[0];

  const created = await invoke(cookie, 'New-SendConnector', { Name: 'Via session', AddressSpaces: ['fabrikam.com'] });
  assert.equal(created.status, 200);
  assert.deepEqual((await output(server, 'Get-SendConnector')).map((c) => c.Name), ['Via session']);
  const [entry] = await output(server, 'Search-AdminAuditLog', { Cmdlets: ['New-SendConnector'] });
  assert.equal(entry.Caller, 'Administrator', 'the audit log names the signed-in administrator');

  const foreign = await fetch(`${server.url}/api/v1/cmdlets/Remove-SendConnector`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: 'http://attacker.example' },
    body: JSON.stringify({ parameters: { Identity: 'Via session' }, confirmed: true }),
  });
  assert.equal(foreign.status, 401, 'a request from another origin is refused even with the cookie');
  assert.equal((await output(server, 'Get-SendConnector')).length, 1);

  const out = await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /icx_session=;/);
  assert.equal((await invoke(cookie, 'Remove-SendConnector', { Identity: 'Via session' })).status, 401, 'the old cookie is dead after sign-out');
  assert.equal((await output(server, 'Get-SendConnector')).length, 1);
});

test('the page signs in without keeping the token, and signs out', async () => {
  const page = browser.page;
  await page.goto(server.url + '/servers/certificates');
  await page.getByLabel('Administrator token').fill('icx_not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The administrator token was not recognized.').waitFor();
  assert.deepEqual(await axe(page), [], 'sign-in page');
  await screenshot(page, 'sign-in');
  await signIn(page, server);
  const stored = await page.evaluate(() => ({ cookie: document.cookie, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), html: document.documentElement.outerHTML }));
  assert.equal(stored.cookie, '', 'the session cookie is invisible to scripts');
  assert.equal(stored.local, '{}');
  assert.equal(stored.session, '{}');
  assert.ok(!stored.html.includes(server.token), 'the token is not in the page');
  const [cookie] = await browser.context.cookies(server.url);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');

  await page.getByRole('button', { name: 'Administrator' }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByLabel('Administrator token').waitFor();
  const res = await fetch(`${server.url}/api/v1/session`, { headers: { cookie: `icx_session=${cookie.value}` } });
  assert.equal(res.status, 401, 'signing out ended the session on the server');
});

test('the admin center is served with a restrictive content security policy, client routes load the app', async () => {
  for (const p of ['/', '/servers/certificates']) {
    const res = await fetch(server.url + p);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<div id="root"><\/div>/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'; .*frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  }
  const missing = await fetch(server.url + '/api/v1/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ICX_OBJECT_NOT_FOUND');
});

// Last: it leaves this client's address throttled.
test('failed sign-ins are throttled per address, and the right token still signs in from that address', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await signInRequest(`icx_guess-${i}`)).status);
  assert.ok(statuses.slice(0, 6).every((s) => s === 401), `early guesses are answered 401: ${statuses}`);
  assert.equal(statuses.at(-1), 429);
  const limited = await signInRequest('icx_one-more-guess');
  assert.equal(limited.status, 429);
  assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  const body = (await limited.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'ICX_SIGNIN_RATE_LIMITED');
  // A stranger's guesses from the same address (a proxy, 127.0.0.1) must not lock the administrators out.
  const right = await signInRequest(server.token);
  assert.equal(right.status, 200, 'the right token signs in from a throttled address');
  const audit = await output(server, 'Search-AdminAuditLog', { Cmdlets: ['Sign-In'] });
  assert.equal(audit.length, 0, 'failed sign-ins are counted in the service log, not written to the audit log');
});
