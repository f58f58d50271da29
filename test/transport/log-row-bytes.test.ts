// The byte encoders of the logs' hot path (row-bytes.ts) must write exactly what the string formatters write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { csvField } from '../../src/transport/logging/exchange-log-text.js';
import { fieldRoom, putField, putInt, putText, putTimestamp } from '../../src/transport/logging/row-bytes.js';
import { ProtocolLogSession, ProtocolLogWriter, formatRow } from '../../src/transport/protocol-log/index.js';

const LONG = 'x'.repeat(70);
const VALUES = [
  '', 'plain', 'a,b', 'say "hi"', 'line\r\nbreak', 'only\nlf', 'Grüße', 'ünïcödé, with comma', '日本語', '🎉 emoji', 'ends with quote"',
  LONG, `${LONG},`, `${LONG}"q"`, `${LONG}ü`, `${LONG}\r\n`, 'MAIL FROM:<alice@contoso.com> SIZE=10342', "'quoted'", '\\backslash',
];

test('putField writes csvField() byte for byte, putText the UTF-8 of the value, each within fieldRoom', () => {
  for (const v of VALUES) {
    const buf = Buffer.alloc(fieldRoom(v) + 8, 0xff);
    const end = putField(buf, 3, v);
    assert.equal(buf.toString('utf8', 3, end), csvField(v), JSON.stringify(v));
    assert.ok(end - 3 <= fieldRoom(v), `room for ${JSON.stringify(v)}`);
    assert.equal(buf[2], 0xff, 'nothing written before the position');
    const end2 = putText(buf, 1, v);
    assert.equal(buf.toString('utf8', 1, end2), v);
  }
  assert.equal(putField(Buffer.alloc(1), 0, undefined), 0);
});

test('putInt writes what String() writes; putTimestamp what toISOString() writes, across seconds and backwards', () => {
  for (const n of [0, 7, 9, 10, 99, 100, 12345, 1099511627790, Number.MAX_SAFE_INTEGER, -1, 1.5, 2 ** 60]) {
    const buf = Buffer.alloc(32);
    assert.equal(buf.toString('utf8', 0, putInt(buf, 0, n)), String(n));
  }
  const times = [Date.UTC(2025, 2, 4, 9, 59, 59, 999), Date.UTC(2025, 2, 4, 10, 0, 0, 0), Date.UTC(2025, 2, 4, 10, 0, 0, 7), Date.UTC(2025, 2, 4, 10, 0, 1, 70), Date.UTC(2024, 11, 31, 23, 59, 59, 1), 0, -1, -1000];
  for (const t of [...times, ...times.reverse()]) {
    const buf = Buffer.alloc(24);
    assert.equal(putTimestamp(buf, 0, t), 24);
    assert.equal(buf.toString('latin1'), new Date(t).toISOString());
  }
});

test('a session row of every awkward value equals formatRow() of the same fields', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-rowbytes-'));
  try {
    const at = new Date('2025-03-04T09:15:02.114Z');
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Receive', maxFileSize: 0, maxDirectorySize: 0, maxAge: 0, clock: () => at });
    const connectorId = 'EX01\\Default "Frontend", EX01';
    const s = new ProtocolLogSession(w, { connectorId, sessionId: '08DD5AC3F1A40B21', localEndpoint: '10.0.0.5:25', remoteEndpoint: '[2001:db8::1]:4000' });
    const expected: string[] = [];
    let seq = 0;
    for (const data of VALUES) {
      for (const context of ['', 'Set Session Permissions', 'a, b']) {
        s.info(data || undefined, context || undefined);
        expected.push(formatRow(at, { connectorId, sessionId: '08DD5AC3F1A40B21', sequenceNumber: seq++, localEndpoint: '10.0.0.5:25', remoteEndpoint: '[2001:db8::1]:4000', event: '*', data, context }));
      }
    }
    await w.close();
    const text = await readFile(path.join(dir, 'RECV2025030409-1.LOG'), 'utf8');
    assert.deepEqual(text.split('\r\n').slice(5, -1), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a tracking row encoded as bytes equals the thirty fields joined as strings (the former formatter)', async () => {
  const { formatTrackingRow, joinMultiValue, TRACKING_SCHEMA_VERSION } = await import('../../src/transport/tracking/format.js');
  const at = new Date('2025-03-04T09:15:02.114Z');
  const full = {
    eventId: 'SEND', source: 'SMTP', clientIp: '10.0.0.5', clientHostname: 'EX01', serverIp: '2001:db8::1', serverHostname: 'mx.fabrikam.com',
    sourceContext: 'ClientSubmitTime:;', connectorId: 'Internet, "east"', internalMessageId: 1099511627790, messageId: '<a,b@contoso.com>',
    networkMessageId: '0b7c2a1e-1d2f-5a3b-8c4d-5e6f7a8b9c0d', recipients: ['bob@fabrikam.com', "o'neil@fabrikam.com", 'x;y@fabrikam.com'],
    recipientStatus: ['250 2.0.0 Ok', '550 4.4.7 QUEUE.Expired; message expired', '250 ok'], totalBytes: 10342,
    relatedRecipientAddress: 'Grüße@contoso.com', reference: 'ref\r\nline', subject: `${'Quarterly report '.repeat(5)}"final", ü`,
    sender: 'alice@contoso.com', returnPath: 'alice@contoso.com', messageInfo: '2025-03-04T09:15:01.000Z', directionality: 'Originating', customData: 'S:a=b;c="d"',
  } as const;
  const old = (e: typeof full | { eventId: 'RECEIVE'; source: 'SMTP'; internalMessageId: number; recipients: string[] }, withSubject: boolean): string => {
    const f = e as Partial<typeof full> & { eventId: string; source: string; internalMessageId: number; recipients: readonly string[] };
    return [
      at.toISOString(), csvField(f.clientIp), csvField(f.clientHostname), csvField(f.serverIp), csvField(f.serverHostname), csvField(f.sourceContext),
      csvField(f.connectorId), f.source, f.eventId, String(f.internalMessageId), csvField(f.messageId), csvField(f.networkMessageId),
      csvField(joinMultiValue(f.recipients)), csvField(joinMultiValue(f.recipientStatus)), f.totalBytes === undefined ? '' : String(f.totalBytes),
      String(f.recipients.length), csvField(f.relatedRecipientAddress), csvField(f.reference), withSubject ? csvField(f.subject) : '', csvField(f.sender),
      csvField(f.returnPath), csvField(f.messageInfo), f.directionality ?? '', '', '', '', csvField(f.customData), 'Email', '', TRACKING_SCHEMA_VERSION,
    ].join(',');
  };
  for (const withSubject of [true, false]) assert.equal(formatTrackingRow(at, full, withSubject), old(full, withSubject));
  const bare = { eventId: 'RECEIVE' as const, source: 'SMTP' as const, internalMessageId: 7, recipients: [] };
  assert.equal(formatTrackingRow(at, bare, true), old(bare, true));
});
