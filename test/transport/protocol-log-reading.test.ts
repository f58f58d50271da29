// Reading protocol logs as they arrive from a real Exchange server (issue 15):
// encodings, Send/Receive without a header, records cut by rotation, what is
// skipped and why, and the history of certificate changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CertificateHistory,
  collectSendingCertificates,
  decideLogKind,
  describeReadReport,
  detectLogEncoding,
  emptyReadReport,
  findProtocolLogFolders,
  kindEvidence,
  parseProtocolLogText,
  readLogLines,
  readProtocolLogs,
  readSendingCertificateRow,
  type ProtocolLogRow,
} from '../../src/transport/protocol-log/index.js';
import { OLD, RENEWED, header, receiveSession, record2013, sendSession, sendingCertificateRow, utf16be, utf16le, utf8WithBom } from '../support/exchange-protocol-logs.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-plog-read-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('fixture certificates are well formed', () => {
  for (const c of [OLD, RENEWED]) assert.match(c.thumbprint, /^[0-9A-F]{40}$/);
});

test('detectLogEncoding: BOMs decide; without one, a zero byte beside the first ASCII character means UTF-16', () => {
  const cases: Array<[string, number[], string, number]> = [
    ['UTF-8 with BOM', [0xef, 0xbb, 0xbf, 0x23], 'utf-8-bom', 3],
    ['UTF-8 without BOM', [0x23, 0x53, 0x6f, 0x66], 'utf-8', 0],
    ['UTF-16 LE with BOM', [0xff, 0xfe, 0x23, 0x00], 'utf-16le', 2],
    ['UTF-16 BE with BOM', [0xfe, 0xff, 0x00, 0x23], 'utf-16be', 2],
    ['UTF-16 LE without BOM', [0x23, 0x00, 0x53, 0x00], 'utf-16le', 0],
    ['UTF-16 BE without BOM', [0x00, 0x23, 0x00, 0x53], 'utf-16be', 0],
    ['a row without BOM', [0x32, 0x30, 0x32, 0x35], 'utf-8', 0],
    ['empty file', [], 'utf-8', 0],
  ];
  for (const [name, bytes, encoding, bomLength] of cases) {
    assert.deepEqual(detectLogEncoding(Uint8Array.from(bytes)), { encoding, bomLength }, name);
  }
});

test('readLogLines decodes all four encodings to the same lines, also across 64 KB chunk boundaries', async () => {
  await withDir(async (dir) => {
    // Long enough to cross several read chunks, with non-ASCII text (a localized connector name).
    const lines = [...header('Send'), ...Array.from({ length: 3000 }, (_, i) => `2025-03-04T09:15:02.114Z,Sende-Connector Größe ${i},08DD5AC3F1A40B21,${i},,198.51.100.25:25,*,,attempting to connect`)];
    const files: Array<[string, Buffer, string]> = [
      ['bom.LOG', utf8WithBom(lines), 'utf-8-bom'],
      ['nobom.LOG', Buffer.from(lines.join('\n'), 'utf8'), 'utf-8'],
      ['le.LOG', utf16le(lines), 'utf-16le'],
      ['be.LOG', utf16be(lines), 'utf-16be'],
    ];
    for (const [name, bytes, expected] of files) {
      await writeFile(path.join(dir, name), bytes);
      let encoding: string | undefined;
      const read = (await all(readLogLines(path.join(dir, name), (e) => (encoding = e)))).map((l) => l.text);
      assert.equal(encoding, expected, name);
      assert.deepEqual(read.filter((t) => t !== ''), lines, name);
    }
  });
});

test('kind: the #Log-type header decides, else the rows, and only last the file name', () => {
  const rows = (lines: string[]): ProtocolLogRow[] => parseProtocolLogText(lines.join('\r\n'), 'x');
  const evidence = (lines: string[]): number => rows(lines).reduce((n, r) => n + kindEvidence(r), 0);
  const send = sendSession('2025-03-04T09:15:02.367Z', 'Internet', '08DD5AC3F1A40B21', OLD);
  const recv = receiveSession('2023-01-11T15:59:56.232Z', 'EXCH\\Default Frontend EXCH', '123453EC62278461', OLD);
  const cases: Array<[string, { logType?: string; evidence: number; fileName: string }, string, string]> = [
    ['receive header on a SEND file', { logType: 'SMTP Receive Protocol Log', evidence: evidence(send), fileName: 'SEND2025030409-1.LOG' }, 'Receive', 'header'],
    ['send header on a RECV file', { logType: 'SMTP Send Protocol Log', evidence: 0, fileName: 'RECV2025030409-1.LOG' }, 'Send', 'header'],
    ['receive rows renamed SEND, no header', { evidence: evidence(recv), fileName: 'SEND2025030409-1.LOG' }, 'Receive', 'rows'],
    ['send rows renamed RECV, no header', { evidence: evidence(send), fileName: 'RECV2025030409-1.LOG' }, 'Send', 'rows'],
    ['a header that says neither', { logType: 'SMTP Protocol Log', evidence: evidence(recv), fileName: 'SEND2025030409-1.LOG' }, 'Receive', 'rows'],
    ['nothing but the name', { evidence: 0, fileName: 'SEND2025030409-1.LOG' }, 'Send', 'file name'],
    ['nothing but the name (RECV)', { evidence: 0, fileName: 'recv20250304-2.log' }, 'Receive', 'file name'],
  ];
  for (const [name, input, kind, by] of cases) assert.deepEqual(decideLogKind(input), { kind, by }, name);
  // Single rows: each side's view of the same SMTP exchange.
  const row = (event: string, data: string, context = '', connectorId = 'Internet') => ({ connectorId, event, data, context });
  assert.ok(kindEvidence(row('>', 'EHLO mail.contoso.com')) > 0);
  assert.ok(kindEvidence(row('<', 'EHLO mail.contoso.com')) < 0);
  assert.ok(kindEvidence(row('<', '220 mx.fabrikam.com ESMTP ready')) > 0);
  assert.ok(kindEvidence(row('>', '220 2.0.0 SMTP server ready')) < 0);
  assert.ok(kindEvidence(row('*', '', 'attempting to connect')) > 0);
  assert.ok(kindEvidence(row('*', '', 'Local', 'EX01\\Default Frontend EX01')) < 0);
  assert.equal(kindEvidence(row('*', '', 'Local')), 0);
});

test('readSendingCertificateRow: dates it cannot read leave the certificate usable; no thumbprint is a problem, not a certificate', () => {
  const ctx = 'Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names';
  const base = ` CN=mail.contoso.com CN=R11, O=Let's Encrypt, C=US ${OLD.serial} ${OLD.thumbprint}`;
  const cases: Array<[string, string, { thumbprint?: string; notBefore?: string; domains?: string[]; datesUnreadable?: boolean; problem?: string }]> = [
    ['ISO dates', `${base} 2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z mail.contoso.com`, { thumbprint: OLD.thumbprint, notBefore: '2025-01-10T08:00:00.000Z', domains: ['mail.contoso.com'], datesUnreadable: false }],
    ['2016 CU2 without dates', `${base} *`, { thumbprint: OLD.thumbprint, domains: ['*'], datesUnreadable: false }],
    ['localized dates with spaces', `${base} 1/10/2025 8:00:00 AM 4/10/2025 8:00:00 AM mail.contoso.com`, { thumbprint: OLD.thumbprint, domains: ['mail.contoso.com'], datesUnreadable: true }],
    ['impossible ISO date', `${base} 2025-13-45T08:00:00.000Z 2025-04-10T08:00:00.000Z mail.contoso.com`, { thumbprint: OLD.thumbprint, domains: ['mail.contoso.com'], datesUnreadable: true }],
    ['one date only', `${base} 2025-01-10T08:00:00.000Z mail.contoso.com`, { thumbprint: OLD.thumbprint, domains: ['mail.contoso.com'], datesUnreadable: true }],
    ['no SAN, dates last', `${base} 2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z`, { thumbprint: OLD.thumbprint, notBefore: '2025-01-10T08:00:00.000Z', domains: [], datesUnreadable: false }],
    ['thumbprint cut short', ` CN=mail.contoso.com CN=R11 ${OLD.serial} 7A3F0C9E51B2 2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z mail.contoso.com`, { problem: 'no-thumbprint' }],
  ];
  for (const [name, data, want] of cases) {
    const r = readSendingCertificateRow({ data, context: ctx });
    assert.ok(r, name);
    if (want.problem) {
      assert.deepEqual(r, { problem: want.problem }, name);
      continue;
    }
    assert.ok('certificate' in r, name);
    assert.equal(r.certificate.thumbprint, want.thumbprint, name);
    assert.equal(r.certificate.serialNumber, OLD.serial, name);
    assert.equal(r.certificate.subject, 'CN=mail.contoso.com', name);
    assert.equal(r.certificate.notBefore?.toISOString(), want.notBefore, name);
    assert.deepEqual(r.certificate.certificateDomains, want.domains, name);
    assert.equal(r.datesUnreadable, want.datesUnreadable, name);
  }
  assert.equal(readSendingCertificateRow({ data: '', context: 'TLS protocol' }), undefined);
});

test('record assembly: a 2013 record cut by rotation is used; a lone thumbprint or Received certificate is not; each is counted', async () => {
  const at = '2014-05-01T10:00:00.000Z';
  const whole = record2013(at, 'Internet', '08D1338A00000001', 5, OLD);
  const cases: Array<{ name: string; files: string[][]; thumbprints: string[]; used: number; rowsUsed: number; skipped?: Record<string, number>; notes?: Record<string, number> }> = [
    { name: 'whole record', files: [whole], thumbprints: [OLD.thumbprint], used: 1, rowsUsed: 6 },
    { name: 'first row lost to rotation', files: [whole.slice(1)], thumbprints: [OLD.thumbprint], used: 1, rowsUsed: 5, notes: { withoutFirstRow: 1 } },
    { name: 'split over two files of one folder', files: [whole.slice(0, 3), whole.slice(3)], thumbprints: [OLD.thumbprint], used: 1, rowsUsed: 6 },
    { name: 'only thumbprint and names left', files: [whole.slice(4)], thumbprints: [OLD.thumbprint], used: 1, rowsUsed: 2, notes: { withoutFirstRow: 1 } },
    { name: 'a lone thumbprint row', files: [whole.slice(4, 5)], thumbprints: [], used: 0, rowsUsed: 0, skipped: { certificateFragment: 1 } },
    { name: 'thumbprint row unreadable', files: [[...whole.slice(0, 4), whole[4].replace(OLD.thumbprint, 'not-hex'), whole[5]]], thumbprints: [], used: 0, rowsUsed: 0, skipped: { certificateWithoutThumbprint: 1 } },
    {
      name: 'Received certificate rows are the remote certificate',
      files: [[`${at},Internet,08D1338A00000001,28,,,*,,Received certificate`, `${at},Internet,08D1338A00000001,29,,,*,352D244A535D94B576232ECC4A4000CFE06BE106,Certificate thumbprint`]],
      thumbprints: [],
      used: 0,
      rowsUsed: 0,
    },
    {
      name: 'single rows, one without thumbprint',
      files: [[sendingCertificateRow(at, 'Internet', 'A1', 7, OLD), sendingCertificateRow(at, 'Internet', 'A2', 7, { ...RENEWED, thumbprint: 'C4D2' }), sendingCertificateRow(at, 'Internet', 'A3', 7, RENEWED, '17.01.2020 15:15:33 17.01.2025 15:15:33')]],
      thumbprints: [OLD.thumbprint, RENEWED.thumbprint],
      used: 2,
      rowsUsed: 2,
      skipped: { certificateWithoutThumbprint: 1 },
      notes: { unreadableDates: 1 },
    },
  ];
  for (const c of cases) {
    const report = emptyReadReport();
    const rows = c.files.flatMap((lines, i) => parseProtocolLogText(lines.join('\r\n'), `/logs/SmtpSend/SEND2014050110-${i + 1}.LOG`));
    const found = await all(collectSendingCertificates(rows, report));
    assert.deepEqual(found.map((f) => f.certificate.thumbprint), c.thumbprints, c.name);
    assert.equal(report.certificateRecords, c.used, c.name);
    assert.equal(report.certificateRowsUsed, c.rowsUsed, c.name);
    for (const [k, n] of Object.entries(c.skipped ?? {})) assert.equal(report.skipped[k as keyof typeof report.skipped], n, `${c.name}: ${k}`);
    for (const [k, n] of Object.entries(c.notes ?? {})) assert.equal(report.notes[k as keyof typeof report.notes], n, `${c.name}: ${k}`);
    if (!c.skipped) assert.ok(Object.values(report.skipped).every((n) => n === 0), `${c.name}: nothing skipped`);
  }
  // The record cut by rotation reports the first row that is left, with the subject it carries.
  const [cut] = await all(collectSendingCertificates(parseProtocolLogText(whole.slice(1).join('\r\n'), '/l/SEND2014050110-2.LOG')));
  assert.equal(cut.row.context, 'Certificate subject');
  assert.equal(cut.certificate.subject, OLD.subject);
  assert.equal(cut.certificate.issuer, OLD.issuer);
});

test('CertificateHistory: runs of the same certificate per connector, oldest first; the latest run as today', () => {
  const h = new CertificateHistory<string>();
  const add = (key: string, segment: string, at: string, thumbprint: string) => h.add({ key, segment, at: new Date(at), thumbprint, item: `${segment}@${at}` });
  add('Internet', 'f1', '2025-03-01T10:00:00Z', 'OLD');
  add('Internet', 'f1', '2025-03-01T11:00:00Z', 'OLD');
  add('Internet', 'f2', '2025-03-02T10:00:00Z', 'OLD');
  add('Internet', 'f2', '2025-03-02T12:00:00Z', 'NEW');
  add('Internet', 'f3', '2025-03-03T10:00:00Z', 'NEW');
  add('Other', 'f1', '2025-03-01T09:00:00Z', 'X');
  // A file read out of order (an older copy found in another folder).
  add('Internet', 'f0', '2025-02-28T10:00:00Z', 'ANCIENT');
  const runs = h.runs('Internet');
  assert.deepEqual(
    runs.map((r) => [r.thumbprint, r.firstAt.toISOString(), r.lastAt.toISOString(), r.uses, r.first, r.last]),
    [
      ['ANCIENT', '2025-02-28T10:00:00.000Z', '2025-02-28T10:00:00.000Z', 1, 'f0@2025-02-28T10:00:00Z', 'f0@2025-02-28T10:00:00Z'],
      ['OLD', '2025-03-01T10:00:00.000Z', '2025-03-02T10:00:00.000Z', 3, 'f1@2025-03-01T10:00:00Z', 'f2@2025-03-02T10:00:00Z'],
      ['NEW', '2025-03-02T12:00:00.000Z', '2025-03-03T10:00:00.000Z', 2, 'f2@2025-03-02T12:00:00Z', 'f3@2025-03-03T10:00:00Z'],
    ],
  );
  const latest = h.latest('Internet')!;
  assert.deepEqual([latest.thumbprint, latest.last, latest.firstAt.toISOString(), latest.uses], ['NEW', 'f3@2025-03-03T10:00:00Z', '2025-03-02T12:00:00.000Z', 2]);
  assert.deepEqual(h.keys().sort(), ['Internet', 'Other']);
  assert.equal(h.latest('none'), undefined);
  // On a tie in time, the use read last wins (as the cmdlet always did).
  const t = new CertificateHistory<string>();
  t.add({ key: 'k', segment: 'a', at: new Date('2025-01-01T00:00:00Z'), thumbprint: 'A', item: 'a' });
  t.add({ key: 'k', segment: 'b', at: new Date('2025-01-01T00:00:00Z'), thumbprint: 'B', item: 'b' });
  assert.equal(t.latest('k')!.thumbprint, 'B');
});

test('readProtocolLogs: UTF-16 copies, a renamed receive log, a folder named like a log and bad lines are read or counted, never fatal', async () => {
  await withDir(async (dir) => {
    await writeFile(path.join(dir, 'SEND2025030409-1.LOG'), utf16le([...header('Send'), ...sendSession('2025-03-04T09:15:02.367Z', 'Internet', '08DD5AC3F1A40B21', OLD)]));
    await writeFile(path.join(dir, 'SEND2025030410-1.LOG'), utf16be([...header('Send', '2025-03-04T10:00:00.000Z'), ...sendSession('2025-03-04T10:15:02.367Z', 'Internet', '08DD5AC3F1A40B22', RENEWED)]));
    // A receive log renamed SEND…, its header lost: its rows say Receive.
    await writeFile(path.join(dir, 'SEND2025030411-1.LOG'), Buffer.from(receiveSession('2025-03-04T11:00:00.000Z', 'EXCH\\Default Frontend EXCH', '123453EC62278461', OLD).join('\r\n') + '\r\n'));
    // Cut off by a crash, and a line that is not a row.
    await writeFile(path.join(dir, 'SEND2025030412-1.LOG'), utf8WithBom([...header('Send'), '2025-03-04T12:00:00.000Z,Internet,08DD5AC3F1A4', 'garbage line', ...sendSession('2025-03-04T12:15:00.000Z', 'Internet', '08DD5AC3F1A40B23', RENEWED)]));
    await mkdir(path.join(dir, 'SEND20240102-1.LOG'));
    await writeFile(path.join(dir, 'readme.txt'), 'copied from EXCH');
    const report = emptyReadReport();
    const rows = await all(readProtocolLogs(dir, { report }));
    assert.equal(report.filesRead, 4);
    assert.deepEqual(report.filesByKind, { Send: 3, Receive: 1 });
    assert.deepEqual(report.kindBy, { header: 3, rows: 1, 'file name': 0 });
    assert.equal(report.filesByEncoding['utf-16le'], 1);
    assert.equal(report.filesByEncoding['utf-16be'], 1);
    assert.equal(report.filesByEncoding['utf-8-bom'], 1);
    assert.equal(report.filesByEncoding['utf-8'], 1);
    assert.equal(report.skipped.folderNamedLikeLog, 1);
    assert.equal(report.skipped.notARow, 2);
    assert.equal(report.otherFiles, 1);
    assert.equal(rows.length, 14 + 14 + 10 + 14);
    assert.equal(report.rowsRead, rows.length);
    const renamed = rows.filter((r) => r.file.endsWith('SEND2025030411-1.LOG'));
    assert.ok(renamed.every((r) => r.kind === 'Receive'));
    assert.ok(rows.filter((r) => !r.file.endsWith('SEND2025030411-1.LOG')).every((r) => r.kind === 'Send'));
    // Only one kind: the renamed receive log is left out of a Send read.
    const sendOnly = await all(readProtocolLogs(dir, { kind: 'Send' }));
    assert.equal(sendOnly.length, 14 * 3);
    const certs = await all(collectSendingCertificates(rows));
    assert.deepEqual(certs.map((c) => [c.row.kind, c.certificate.thumbprint]), [['Send', OLD.thumbprint], ['Send', RENEWED.thumbprint], ['Receive', OLD.thumbprint], ['Send', RENEWED.thumbprint]]);
  });
});

test('findProtocolLogFolders: Exchange\'s layout below TransportRoles\\Logs or ProtocolLog; -Recurse for any other', async () => {
  await withDir(async (dir) => {
    const made = ['Hub/ProtocolLog/SmtpSend', 'Hub/ProtocolLog/SmtpReceive', 'FrontEnd/ProtocolLog/SmtpReceive', 'FrontEnd/ProtocolLog/SmtpSend', 'Mailbox/ProtocolLog/SmtpSend/Submission', 'MessageTracking', 'zipped/EXCH/SmtpSend', 'SEND20240102-1.LOG'];
    for (const d of made) await mkdir(path.join(dir, d), { recursive: true });
    const rel = (xs: string[]) => xs.map((x) => path.relative(dir, x) || '.');
    assert.deepEqual(rel(await findProtocolLogFolders(dir)), [
      '.',
      'FrontEnd',
      'FrontEnd/ProtocolLog',
      'FrontEnd/ProtocolLog/SmtpReceive',
      'FrontEnd/ProtocolLog/SmtpSend',
      'Hub',
      'Hub/ProtocolLog',
      'Hub/ProtocolLog/SmtpReceive',
      'Hub/ProtocolLog/SmtpSend',
      'Mailbox',
      'Mailbox/ProtocolLog',
      'Mailbox/ProtocolLog/SmtpSend',
      'Mailbox/ProtocolLog/SmtpSend/Submission',
    ]);
    assert.deepEqual(rel(await findProtocolLogFolders(path.join(dir, 'Hub', 'ProtocolLog'))), ['Hub/ProtocolLog', 'Hub/ProtocolLog/SmtpReceive', 'Hub/ProtocolLog/SmtpSend']);
    const recursed = rel(await findProtocolLogFolders(dir, { recurse: true }));
    assert.ok(recursed.includes('zipped/EXCH/SmtpSend'));
    assert.ok(recursed.includes('MessageTracking'));
    assert.ok(!recursed.includes('SEND20240102-1.LOG'), 'a folder named like a log is counted by the reader, not walked');
  });
});

test('describeReadReport names what was read and each reason for skipping, with counts', () => {
  const r = emptyReadReport();
  assert.match(describeReadReport(r, '/tmp/x', { copied: true }), /^Read 0 protocol log files \(0 Send, 0 Receive\) in 0 folders of \/tmp\/x: 0 rows, 0 "Sending certificate" records used \(0 rows\)\. No SEND\*\.LOG or RECV\*\.LOG file was found: .*-Recurse\.$/);
  assert.match(describeReadReport(r, 'the protocol log folders'), /No protocol log file yet/);
  Object.assign(r, { foldersSearched: 2, filesRead: 3, rowsRead: 120, certificateRecords: 4, certificateRowsUsed: 9, otherFiles: 1 });
  r.filesByKind.Receive = 3;
  r.filesByEncoding['utf-16le'] = 2;
  r.kindBy.rows = 1;
  r.skipped.folderNamedLikeLog = 1;
  r.skipped.notARow = 2;
  r.skipped.certificateWithoutThumbprint = 1;
  r.notes.withoutFirstRow = 1;
  r.examples.push('SEND20240102-1.LOG/');
  const text = describeReadReport(r, '/tmp/x', { copied: true });
  assert.match(text, /^Read 3 protocol log files \(0 Send, 3 Receive, 2 in UTF-16, 1 told Send\/Receive by their rows \(no #Log-type header\)\) in 2 folders of \/tmp\/x: 120 rows, 4 "Sending certificate" records used \(9 rows\)\./);
  assert.match(text, /Only Receive protocol logs were read/);
  assert.match(text, /Skipped 1 folder named like a log file; 2 lines that are not log rows \(no readable date-time, event or sequence number\); 1 certificate record without a readable thumbprint \(e\.g\. SEND20240102-1\.LOG\/\)\./);
  assert.match(text, /Used with gaps: 1 certificate record whose "Sending certificate" row is missing/);
  assert.match(text, /Ignored 1 file not named SEND\*\.LOG or RECV\*\.LOG\./);
});
