// Get-ConnectorCertificateUsage -LogPath over folders as administrators copy
// them off a real Exchange server (issue 15): it reads every protocol log
// Exchange writes and says what it read and skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '../support/transport-harness.js';
import { OLD, RENEWED, header, receiveSession, record2013, sendSession, sendingCertificateRow, utf16be, utf16le, utf8WithBom } from '../support/exchange-protocol-logs.js';

let s: TestServer;
let root: string;
let n = 0;

before(async () => {
  s = await startTestServer();
  root = await mkdtemp(path.join(os.tmpdir(), 'icx-usage-logs-'));
});
after(async () => {
  await s.close();
  await rm(root, { recursive: true, force: true });
});

/** A fresh folder with these files (relative path → bytes). */
async function folder(files: Record<string, Buffer | null>): Promise<string> {
  const dir = path.join(root, `copy-${++n}`);
  await mkdir(dir, { recursive: true });
  for (const [rel, bytes] of Object.entries(files)) {
    const p = path.join(dir, rel);
    if (bytes === null) await mkdir(p, { recursive: true });
    else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, bytes);
    }
  }
  return dir;
}

async function usage(parameters: Record<string, unknown>): Promise<{ output: Array<Record<string, any>>; warnings: string[] }> {
  const r = await s.api.invoke('Get-ConnectorCertificateUsage', parameters as never);
  assert.equal(r.ok, true, `${r.error?.code}: ${r.error?.message}`);
  return { output: r.output as Array<Record<string, any>>, warnings: r.warnings };
}

const sendLog = (at: string, session: string, cert = OLD, connector = 'Outbound to Office 365') => [...header('Send', at), ...sendSession(at, connector, session, cert)];
const recvLog = (at: string, session: string, cert = OLD) => [...header('Receive', at), ...receiveSession(at, 'EXCH\\Default Frontend EXCH', session, cert)];

test('a folder with no log, and one with only other files: an empty result with a warning that says so', async () => {
  for (const files of [{}, { 'MSGTRK2025030409-1.LOG': Buffer.from('#Software: Microsoft Exchange Server\r\n') }]) {
    const dir = await folder(files);
    const { output, warnings } = await usage({ LogPath: dir });
    assert.deepEqual(output, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^Read 0 protocol log files \(0 Send, 0 Receive\) in 1 folder of .*: 0 rows, 0 "Sending certificate" records used/);
    assert.match(warnings[0], /No SEND\*\.LOG or RECV\*\.LOG file was found: .*-Recurse/);
  }
});

test('only receive logs: the receive connector of a foreign server keeps its server, and the warning says no Send log was read', async () => {
  const dir = await folder({ 'RECV2025030409-1.LOG': utf8WithBom(recvLog('2025-03-04T09:15:02.367Z', '123453EC62278461')) });
  const { output, warnings } = await usage({ LogPath: dir });
  assert.equal(output.length, 1);
  assert.equal(output[0].Connector, 'Default Frontend EXCH');
  assert.equal(output[0].ConnectorType, 'Receive');
  assert.equal(output[0].Server, 'EXCH');
  assert.equal(output[0].Thumbprint, OLD.thumbprint);
  assert.equal(output[0].IsInstalled, false);
  assert.match(warnings[0], /Read 1 protocol log file \(0 Send, 1 Receive\)/);
  assert.match(warnings[0], /Only Receive protocol logs were read/);
});

test('UTF-16 copies in a whole TransportRoles\\Logs folder (Hub and FrontEnd) or its ProtocolLog: read, and counted as UTF-16', async () => {
  const dir = await folder({
    'Hub/ProtocolLog/SmtpSend/SEND2025030409-1.LOG': utf16le(sendLog('2025-03-04T09:15:02.367Z', '08DD5AC3F1A40B21')),
    'Hub/ProtocolLog/SmtpReceive/RECV2025030409-1.LOG': Buffer.from(recvLog('2025-03-04T09:10:00.000Z', '123453EC62278462').join('\n')),
    'FrontEnd/ProtocolLog/SmtpReceive/RECV2025030409-1.LOG': utf16be(recvLog('2025-03-04T09:20:00.000Z', '123453EC62278461', RENEWED)),
  });
  const whole = await usage({ LogPath: dir });
  assert.deepEqual(
    whole.output.map((o) => [o.ConnectorType, o.Connector, o.Server, o.Thumbprint]),
    [
      ['Receive', 'Default Frontend EXCH', 'EXCH', RENEWED.thumbprint],
      ['Send', 'Outbound to Office 365', 'EX01', OLD.thumbprint],
    ],
  );
  assert.match(whole.warnings[0], /^Read 3 protocol log files \(1 Send, 2 Receive, 2 in UTF-16\) in 8 folders of /);
  const hub = await usage({ LogPath: path.join(dir, 'Hub', 'ProtocolLog') });
  assert.deepEqual(
    hub.output.map((o) => [o.ConnectorType, o.Thumbprint]),
    [
      ['Receive', OLD.thumbprint],
      ['Send', OLD.thumbprint],
    ],
  );
  assert.match(hub.warnings[0], /^Read 2 protocol log files \(1 Send, 1 Receive, 1 in UTF-16\) in 3 folders of /);
});

test('a subfolder named like a log file is skipped and counted, not an internal error', async () => {
  const dir = await folder({ 'SEND20240102-1.LOG': null, 'SEND2025030409-1.LOG': utf8WithBom(sendLog('2025-03-04T09:15:02.367Z', '08DD5AC3F1A40B21')) });
  const { output, warnings } = await usage({ LogPath: dir });
  assert.equal(output.length, 1);
  assert.equal(output[0].Thumbprint, OLD.thumbprint);
  assert.match(warnings[0], /Skipped 1 folder named like a log file \(e\.g\. SEND20240102-1\.LOG\/\)/);
});

test('-Recurse finds logs in folders outside Exchange\'s layout; without it the warning points there', async () => {
  const dir = await folder({ 'zips/EXCH-2025-03/SEND2025030409-1.LOG': utf8WithBom(sendLog('2025-03-04T09:15:02.367Z', '08DD5AC3F1A40B21')) });
  const without = await usage({ LogPath: dir });
  assert.deepEqual(without.output, []);
  assert.match(without.warnings[0], /Read 0 protocol log files .*add -Recurse/);
  const withIt = await usage({ LogPath: dir, Recurse: true });
  assert.equal(withIt.output.length, 1);
  assert.equal(withIt.output[0].Connector, 'Outbound to Office 365');
  assert.match(withIt.warnings[0], /Read 1 protocol log file \(1 Send, 0 Receive\) in 3 folders/);
});

test('records cut by rotation are used; unreadable thumbprints and dates and lines that are not rows are counted in the warning', async () => {
  const at = '2014-05-01T10:00:00.000Z';
  const cut = record2013(at, 'Internet', '08D1338A00000001', 5, OLD).slice(1);
  const badThumb = sendingCertificateRow('2014-05-01T11:00:00.000Z', 'Partner', '08D1338A00000002', 7, { ...RENEWED, thumbprint: 'C4D2E8F1' });
  const badDates = sendingCertificateRow('2014-05-01T12:00:00.000Z', 'Relay', '08D1338A00000003', 7, RENEWED, '17.01.2020 15:15:33 17.01.2025 15:15:33');
  const dir = await folder({ 'SEND2014050110-2.LOG': utf8WithBom([...header('Send', at), ...cut, badThumb, badDates, '2014-05-01T12:00:00.000Z,Relay,08D13']) });
  const { output, warnings } = await usage({ LogPath: dir });
  assert.deepEqual(
    output.map((o) => [o.Connector, o.Thumbprint, o.NotBefore]),
    [
      ['Internet', OLD.thumbprint, null],
      ['Relay', RENEWED.thumbprint, null],
    ],
  );
  assert.equal(output[0].Subject, OLD.subject);
  assert.match(warnings[0], /2 "Sending certificate" records used \(6 rows\)/);
  assert.match(warnings[0], /Skipped 1 line that is not a log row .*; 1 certificate record without a readable thumbprint/);
  assert.match(warnings[0], /Used with gaps: 1 certificate record with NotBefore\/NotAfter that cannot be read .*; 1 certificate record whose "Sending certificate" row is missing/);
});

test('Send or Receive: a receive log renamed SEND without its header is a receive log; a header beats the name', async () => {
  const noHeader = receiveSession('2025-03-04T09:15:02.367Z', 'EXCH\\Default Frontend EXCH', '123453EC62278461', OLD);
  const dir = await folder({
    'SEND2025030409-1.LOG': Buffer.from(noHeader.join('\r\n') + '\r\n'),
    'RECV2025030410-1.LOG': utf8WithBom(sendLog('2025-03-04T10:15:02.367Z', '08DD5AC3F1A40B21')),
  });
  const { output, warnings } = await usage({ LogPath: dir });
  assert.deepEqual(
    output.map((o) => [o.Connector, o.ConnectorType, o.Server]),
    [
      ['Default Frontend EXCH', 'Receive', 'EXCH'],
      ['Outbound to Office 365', 'Send', 'EX01'],
    ],
  );
  assert.match(warnings[0], /\(1 Send, 1 Receive, 1 told Send\/Receive by their rows \(no #Log-type header\)\)/);
});

test('history: -All shows the switch from the old to the renewed certificate, oldest first; -Start/-End window it; the default stays the latest', async () => {
  const dir = await folder({
    'SEND2025030109-1.LOG': utf8WithBom([...sendLog('2025-03-01T09:00:00.000Z', '08DD5AC3F1A40B01', OLD), ...sendSession('2025-03-01T09:30:00.000Z', 'Outbound to Office 365', '08DD5AC3F1A40B02', OLD)]),
    'SEND2025030209-1.LOG': utf8WithBom([...sendLog('2025-03-02T09:00:00.000Z', '08DD5AC3F1A40B03', OLD), ...sendSession('2025-03-02T10:00:00.000Z', 'Outbound to Office 365', '08DD5AC3F1A40B04', RENEWED)]),
    'SEND2025030309-1.LOG': utf8WithBom([...sendLog('2025-03-03T09:00:00.000Z', '08DD5AC3F1A40B05', RENEWED), ...sendSession('2025-03-03T09:00:00.000Z', 'Internet', '08DD5AC3F1A40B06', OLD)]),
  });
  const latest = await usage({ LogPath: dir });
  assert.deepEqual(
    latest.output.map((o) => [o.Connector, o.Thumbprint, new Date(o.LastUsed).toISOString(), new Date(o.FirstUsed).toISOString(), o.Uses]),
    [
      ['Internet', OLD.thumbprint, '2025-03-03T09:00:00.000Z', '2025-03-03T09:00:00.000Z', 1],
      ['Outbound to Office 365', RENEWED.thumbprint, '2025-03-03T09:00:00.000Z', '2025-03-02T10:00:00.000Z', 2],
    ],
  );
  const history = await usage({ LogPath: dir, Identity: 'Outbound to Office 365', All: true });
  assert.deepEqual(
    history.output.map((o) => [o.Thumbprint, new Date(o.FirstUsed).toISOString(), new Date(o.LastUsed).toISOString(), o.Uses, o.SessionId]),
    [
      [OLD.thumbprint, '2025-03-01T09:00:00.000Z', '2025-03-02T09:00:00.000Z', 3, '08DD5AC3F1A40B03'],
      [RENEWED.thumbprint, '2025-03-02T10:00:00.000Z', '2025-03-03T09:00:00.000Z', 2, '08DD5AC3F1A40B05'],
    ],
  );
  const beforeSwitch = await usage({ LogPath: dir, Identity: 'Outbound to Office 365', End: '2025-03-02T09:30:00Z' });
  assert.deepEqual(beforeSwitch.output.map((o) => [o.Thumbprint, new Date(o.LastUsed).toISOString()]), [[OLD.thumbprint, '2025-03-02T09:00:00.000Z']]);
  const window = await usage({ LogPath: dir, Identity: 'Outbound to Office 365', All: true, Start: '2025-03-01T09:15:00Z', End: '2025-03-02T23:00:00Z' });
  assert.deepEqual(window.output.map((o) => [o.Thumbprint, o.Uses]), [[OLD.thumbprint, 2], [RENEWED.thumbprint, 1]]);
  const empty = await usage({ LogPath: dir, Identity: 'Outbound to Office 365', Start: '2025-04-01T00:00:00Z' });
  assert.deepEqual(empty.output, []);
  assert.ok(empty.warnings.some((w) => /No "Sending certificate" record for "Outbound to Office 365" in the protocol logs read in the time window given/.test(w)), JSON.stringify(empty.warnings));
  const backwards = await s.api.invoke('Get-ConnectorCertificateUsage', { LogPath: dir, Start: '2025-03-03T00:00:00Z', End: '2025-03-01T00:00:00Z' });
  assert.equal(backwards.ok, false);
  assert.equal(backwards.error?.code, 'ICX_PARAM_INVALID');
  assert.match(backwards.error!.message, /-End .* is before -Start/);
});

test('a LogPath that is a file or missing is a clear error', async () => {
  const dir = await folder({ 'SEND2025030409-1.LOG': utf8WithBom(sendLog('2025-03-04T09:15:02.367Z', '08DD5AC3F1A40B21')) });
  const file = await s.api.invoke('Get-ConnectorCertificateUsage', { LogPath: path.join(dir, 'SEND2025030409-1.LOG') });
  assert.equal(file.error?.code, 'ICX_PROTOCOL_LOG_UNREADABLE');
  assert.match(file.error!.message, /is a file, not a folder/);
  const missing = await s.api.invoke('Get-ConnectorCertificateUsage', { LogPath: path.join(dir, 'nope') });
  assert.equal(missing.error?.code, 'ICX_PROTOCOL_LOG_UNREADABLE');
});

test('Get-Help: the description and parameters say what is read and reported', async () => {
  const res = await fetch(`${s.api.url}/api/v1/cmdlets`, { headers: { authorization: `Bearer ${s.api.token}` } });
  const { cmdlets } = (await res.json()) as { cmdlets: Array<{ name: string; description: string; parameters: Array<{ name: string; description?: string }> }> };
  const help = cmdlets.find((c) => c.name === 'Get-ConnectorCertificateUsage')!;
  for (const words of [/UTF-16/, /#Log-type/, /-All/, /-Recurse/, /TransportRoles\\Logs/, /warning says what was read/, /cut off its first row/]) assert.match(help.description, words);
  const params = Object.fromEntries(help.parameters.map((p) => [p.name, p.description ?? '']));
  assert.match(params.All, /Every change of certificate/);
  assert.match(params.Recurse, /every folder below/);
  assert.match(params.Start, /at or after/);
  assert.match(params.End, /at or before/);
});
