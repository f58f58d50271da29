import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { RESULT_SIZE_WARNING } from '../../src/cmdlets/catalog/message-tracking.js';
import { freeTcpPort } from '../support/interchange.js';
import { type PostfixNextHop, startPostfixNextHop } from '../support/postfix.js';
import { submitMessage, waitFor } from '../support/transport-harness.js';
import { api, axe, type Browser, launchBrowser, openPage, output, screenshot, signIn, startOrganization } from './harness.js';
import { focused, pressUntil } from './keyboard.js';
import { row, selectRow } from './pages.js';

// Mail flow > Message trace: a message goes EX01 → EX02 → Postfix; the page
// searches both servers' message tracking logs with Get-MessageTrackingLog and
// shows the message's timeline across the two hops. ResultSize's warning and a
// server that is down are shown, not swallowed.

let org: Awaited<ReturnType<typeof startOrganization>>;
let browser: Browser;
let postfix: PostfixNextHop;
const tag = randomUUID().slice(0, 8);
const messageId = `trace-${tag}@contoso.com`;
const sender = `alice-${tag}@contoso.com`;
const recipient = 'bob@fabrikam.com';

before(async () => {
  org = await startOrganization();
  postfix = await startPostfixNextHop({ port: await freeTcpPort() });
  browser = await launchBrowser();
  for (const server of ['EX01', 'EX02']) {
    const r = await api(org.ex01, 'Set-TransportService', { Identity: server, TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' }, { confirmed: true });
    assert.ok(r.ok, r.error?.message);
  }
  const connectors = [
    { Name: 'EX01 to EX02', Port: org.ex02.smtpPort, SourceTransportServers: ['EX01'] },
    { Name: 'EX02 to next hop', Port: postfix.port, SourceTransportServers: ['EX02'] },
  ];
  for (const c of connectors) {
    const r = await api(org.ex01, 'New-SendConnector', { ...c, AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], DNSRoutingEnabled: false }, { confirmed: true });
    assert.ok(r.ok, r.error?.message);
  }
  // The transports read configuration changes at their next poll (500 ms).
  await new Promise((r) => setTimeout(r, 1500));
  await submitMessage(org.ex01.smtpPort, { messageId, from: sender, to: recipient, subject: `Trace ${tag}` });
  const [delivered] = await postfix.waitForMessages(1, 60_000);
  assert.match(delivered.raw, new RegExp(`Message-ID: <${messageId}>`, 'i'));
  // EX02 logs its SEND once Postfix's 250 is in.
  await waitFor('the SEND on EX02 in its tracking log', async () => (await output(org.ex01, 'Get-MessageTrackingLog', { Server: 'EX02', MessageId: messageId, EventId: 'SEND' })).length === 1, 15_000);
});

after(async () => {
  await browser?.close();
  await org?.close();
  await postfix?.stop();
});

interface TimelineRow {
  timestamp: string;
  server: string;
  eventId: string;
  source: string;
  connector: string;
  recipients: string;
  status: string;
}

async function timeline(page: Page): Promise<TimelineRow[]> {
  const table = page.getByRole('table', { name: 'Message timeline' });
  await table.waitFor();
  return table.evaluate((t) =>
    [...t.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim());
      return { timestamp: tr.querySelector('time')?.getAttribute('datetime') ?? '', server: cells[1], eventId: cells[2], source: cells[3], connector: cells[4], recipients: cells[5], status: cells[6] };
    }),
  );
}

async function search(page: Page, fields: { 'Message ID'?: string; Sender?: string; 'Result size'?: string }): Promise<void> {
  const form = page.getByRole('search', { name: 'Message trace search' });
  for (const label of ['Sender', 'Message ID', 'Result size'] as const) await form.getByLabel(label, { exact: true }).fill(fields[label] ?? '');
  await form.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('region', { name: 'Search results' }).waitFor();
}

test('a message from EX01 through EX02 to Postfix: found by message ID and by sender, its timeline shows both servers’ hops in time order', async () => {
  const page = browser.page;
  await signIn(page, org.ex01);
  await openPage(page, 'Message trace');
  const servers = page.getByRole('group', { name: 'Servers to search' });
  for (const name of ['EX01', 'EX02']) await waitFor(`${name} checked by default`, async () => servers.getByRole('checkbox', { name }).isChecked());
  assert.match(await page.getByLabel('Start', { exact: true }).inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, 'a start time is filled in');

  await search(page, { 'Message ID': `<${messageId}>` });
  const results = page.getByRole('grid', { name: 'Traced messages' });
  assert.equal(await results.locator('[role=row]').count(), 2, 'a header and one message');
  await row(page, `<${messageId}>`).getByText(sender, { exact: true }).waitFor();
  assert.match((await row(page, `<${messageId}>`).textContent()) ?? '', /SEND on EX02: 250 2\.0\.0 Ok/, 'its last event is EX02 handing it to Postfix');

  await selectRow(page, `<${messageId}>`);
  const events = await timeline(page);
  const find = (server: string, eventId: string) => events.find((e) => e.server === server && e.eventId === eventId);
  const ex01Receive = find('EX01', 'RECEIVE');
  const ex01Send = find('EX01', 'SEND');
  const ex02Receive = find('EX02', 'RECEIVE');
  const ex02Send = find('EX02', 'SEND');
  assert.ok(ex01Receive && ex01Send && ex02Receive && ex02Send, `RECEIVE and SEND on both servers in ${JSON.stringify(events)}`);
  assert.equal(ex01Receive.connector, 'EX01\\Default Frontend EX01');
  assert.equal(ex01Send.connector, 'EX01 to EX02');
  assert.equal(ex02Receive.connector, 'EX02\\Default Frontend EX02');
  assert.equal(ex02Send.connector, 'EX02 to next hop');
  for (const e of events) assert.equal(e.recipients, recipient);
  assert.match(ex01Send.status, /^250 2\.6\.0 /, 'EX02 queued it');
  assert.match(ex02Send.status, /^250 2\.0\.0 Ok: queued as /, 'Postfix queued it');
  const times = events.map((e) => Date.parse(e.timestamp));
  assert.ok(times.every((t) => !Number.isNaN(t)));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
  assert.ok(Date.parse(ex01Receive.timestamp) <= Date.parse(ex02Receive.timestamp) && Date.parse(ex02Receive.timestamp) <= Date.parse(ex02Send.timestamp));
  // Nothing the two cmdlets returned is left out.
  const fromApi = [...(await output(org.ex01, 'Get-MessageTrackingLog', { MessageId: messageId })), ...(await output(org.ex01, 'Get-MessageTrackingLog', { Server: 'EX02', MessageId: messageId }))];
  assert.equal(events.length, fromApi.length);

  assert.deepEqual(await axe(page), [], 'message trace page with a timeline');
  await screenshot(page, 'message-trace');

  // By sender, and from the keyboard: the search is submitted with Enter, the message selected with Space.
  const form = page.getByRole('search', { name: 'Message trace search' });
  await form.getByLabel('Message ID', { exact: true }).fill('');
  await form.getByLabel('Sender', { exact: true }).fill(sender);
  await page.keyboard.press('Enter');
  await page.getByRole('table', { name: 'Message timeline' }).waitFor({ state: 'detached' });
  await row(page, `<${messageId}>`).waitFor();
  assert.equal(await results.locator('[role=row]').count(), 2, 'the sender sent one message');
  await pressUntil(page, 'Tab', (f) => f.inGrid);
  await pressUntil(page, 'ArrowDown', (f) => f.role === 'row' && f.text.includes(`<${messageId}>`));
  await page.keyboard.press('Space');
  assert.equal((await focused(page)).selected, 'true', 'Space selects the message');
  assert.equal((await timeline(page)).length, events.length);
});

test('ResultSize’s warning is shown for each server it cut short', async () => {
  const page = browser.page;
  await search(page, { Sender: sender, 'Result size': '1' });
  for (const server of ['EX01', 'EX02']) {
    const bar = page.locator('.fui-MessageBar', { hasText: `Warning from ${server}` });
    await bar.waitFor();
    assert.match((await bar.textContent()) ?? '', new RegExp(RESULT_SIZE_WARNING.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  assert.deepEqual(await axe(page), [], 'with warnings');
});

test('a server that is down gets its own error; the other server’s events still show', async () => {
  const page = browser.page;
  await org.ex02.stop();
  await search(page, { Sender: sender });
  const error = page.getByRole('alert').filter({ hasText: 'EX02 could not be searched' });
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /Can't search the message tracking log of "EX02"/);
  assert.equal(await page.getByRole('alert').filter({ hasText: 'EX01 could not be searched' }).count(), 0);
  await row(page, `<${messageId}>`).waitFor();
  assert.match((await row(page, `<${messageId}>`).textContent()) ?? '', /SEND on EX01: 250 2\.6\.0 /, 'EX01’s part of the trace');
  await selectRow(page, `<${messageId}>`);
  assert.deepEqual(
    (await timeline(page)).map((e) => [e.server, e.eventId]),
    [
      ['EX01', 'RECEIVE'],
      ['EX01', 'SEND'],
    ],
  );
  assert.deepEqual(await axe(page), [], 'with a server error');
});
