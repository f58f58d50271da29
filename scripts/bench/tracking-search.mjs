#!/usr/bin/env node
// Searching a gigabyte of message tracking logs (issue 12: "a search over 1 GB
// of logs answers in seconds"). Writes --gb of MSGTRK files (10 MB each, as
// Exchange's MessageTrackingLogMaxFileSize, spread over --hours hourly names)
// with Interchange's own row writer, then times the search behind
// Get-MessageTrackingLog (searchMessageTracking from dist/, the cmdlet minus the
// shell) for the filters an administrator uses, and `grep -F -c -r` of the same
// text over the same files as this host's floor for reading them. The files are
// read once beforehand, so every run reads them from the page cache alike.
// Prints one summary line per search. Not a test: nothing here asserts a time.
//   --gb N (1)  --hours N (24)  --keep DIR (write the files there and keep them)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, openSync, writeSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { formatTrackingHeader, formatTrackingRow, trackingFileName } = await import(path.join(REPO, 'dist/transport/tracking/format.js'));
const { searchMessageTracking } = await import(path.join(REPO, 'dist/cmdlets/catalog/message-tracking.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const totalBytes = Number(arg('gb', '1')) * 1024 ** 3;
const hours = Number(arg('hours', '24'));
const keep = arg('keep', undefined);
const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'icx-msgtrk-'));
mkdirSync(dir, { recursive: true });

const FILE_BYTES = 10 * 1024 * 1024;
const start = Date.UTC(2026, 10, 1, 0);
const events = ['RECEIVE', 'RESOLVE', 'SEND', 'SEND', 'DEFER', 'RECEIVE'];
let written = 0;
let n = 0;
let files = 0;
const t0 = performance.now();
const already = readdirSync(dir).filter((f) => f.startsWith('MSGTRK')).length;
if (already === 0) {
  const perHour = Math.ceil(totalBytes / FILE_BYTES / hours);
  while (written < totalBytes) {
    const hour = Math.floor(files / perHour);
    const at = new Date(start + hour * 3600_000);
    const name = path.join(dir, trackingFileName(at, (files % perHour) + 1));
    const fd = openSync(name, 'w');
    let size = 0;
    const parts = ['\uFEFF' + formatTrackingHeader(at)];
    while (size < FILE_BYTES) {
      const i = n++;
      // One message in 50,000 fails: the rare event a search for FAIL has to find in the whole gigabyte.
      const eventId = i % 50_000 === 49_999 ? 'FAIL' : events[i % events.length];
      const line =
        formatTrackingRow(new Date(at.getTime() + (i % 3_600_000)), {
          eventId,
          source: eventId === 'RESOLVE' ? 'ROUTING' : 'SMTP',
          clientIp: '10.0.0.5',
          clientHostname: 'ex01.contoso.com',
          serverIp: '192.0.2.25',
          serverHostname: 'mx.fabrikam.com',
          connectorId: 'Internet',
          internalMessageId: i,
          messageId: `<${i.toString(36)}.${(i * 7919).toString(16)}@contoso.com>`,
          networkMessageId: `0a1b2c3d-${String(i).padStart(4, '0').slice(-4)}-4e5f-8a9b-${String(i).padStart(12, '0')}`,
          recipients: [`user${i % 5000}@fabrikam.com`],
          recipientStatus: eventId === 'SEND' ? ['250 2.0.0 OK'] : undefined,
          totalBytes: 5120 + (i % 1000),
          sender: `sender${i % 2000}@contoso.com`,
          returnPath: `sender${i % 2000}@contoso.com`,
          subject: `Weekly report ${i % 97}, part ${i % 3}`,
          directionality: 'Originating',
        }, true) + '\r\n';
      parts.push(line);
      size += line.length;
      if (parts.length >= 2000) {
        writeSync(fd, parts.join(''));
        parts.length = 0;
      }
    }
    writeSync(fd, parts.join(''));
    closeSync(fd);
    written += size;
    files++;
  }
}
const list = readdirSync(dir).filter((f) => f.startsWith('MSGTRK'));
const bytes = list.reduce((s, f) => s + readFileSync(path.join(dir, f)).length, 0); // also warms the page cache
const rows = n || Math.round(bytes / 480);
console.log(`tracking-search files=${list.length} bytes=${bytes} rows=${n || 'existing'} write_s=${((performance.now() - t0) / 1000).toFixed(1)}`);

// The message searched for is one of the last written: no early stop helps it.
const last = n > 0 ? n - 7 : Math.floor(rows * 0.99);
const targetId = `<${last.toString(36)}.${(last * 7919).toString(16)}@contoso.com>`;
const searches = [
  ['MessageId', { MessageId: targetId }, targetId.slice(1, -1)],
  ['Sender+EventId', { Sender: 'sender1234@contoso.com', EventId: 'SEND' }, 'sender1234@contoso.com'],
  ['Recipients', { Recipients: ['user4321@fabrikam.com'] }, 'user4321@fabrikam.com'],
  ['EventId FAIL', { EventId: 'FAIL' }, ',FAIL,'],
  ['MessageSubject', { MessageSubject: 'report 42, part 1' }, 'report 42, part 1'],
  // No text to look for: every row of the hour's files is parsed (the other files are not opened).
  ['Start/End one hour', { Start: new Date(start + 5 * 3600_000), End: new Date(start + 5 * 3600_000 + 3599_999) }, null],
];
for (const [label, params, grepText] of searches) {
  const rss0 = process.memoryUsage().rss;
  const s0 = performance.now();
  const { rows: found } = await searchMessageTracking(dir, params, null);
  const secs = (performance.now() - s0) / 1000;
  let grepSecs = '-';
  if (grepText) {
    const g0 = performance.now();
    try {
      execFileSync('grep', ['-F', '-c', '-r', '-i', '--', grepText, dir], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });
    } catch {
      /* grep exits 1 when a file has no match */
    }
    grepSecs = ((performance.now() - g0) / 1000).toFixed(2);
  }
  console.log(`tracking-search search="${label}" matches=${found.length} seconds=${secs.toFixed(2)} mb_per_s=${(bytes / 1048576 / secs).toFixed(0)} grep_seconds=${grepSecs} rss_mb=${(process.memoryUsage().rss / 1048576).toFixed(0)} rss_before_mb=${(rss0 / 1048576).toFixed(0)}`);
}
if (!keep) rmSync(dir, { recursive: true, force: true });
