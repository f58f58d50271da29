import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ProtocolLogSession,
  ProtocolLogWriter,
  collectSendingCertificates,
  csvField,
  formatRow,
  parseCsvLine,
  parseProtocolLogText,
  parseSendingCertificateRow,
  readProtocolLogs,
  type ProtocolLogEvent,
  type ProtocolLogRow,
} from '../../src/transport/protocol-log/index.js';

// Sample lines from the reference (exchange-behavior.md §6.6), verbatim.
const OBSERVED: string[] = [
  "2023-01-11T15:59:51.433Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,1,10.10.10.10:25,95.10.20.33:56026,>,\"220 SERVER-HOSTNAME.DOMAIN.TEST Microsoft ESMTP MAIL Service ready at Wed, 11 Jan 2023 16:59:51 +0100\",",
  "2023-01-11T15:59:53.909Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,2,10.10.10.10:25,95.10.20.33:56026,<,EHLO [95.10.20.33],",
  "2023-01-11T15:59:53.910Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,3,10.10.10.10:25,95.10.20.33:56026,>,250  SERVER-HOSTNAME.DOMAIN.TEST Hello [95.10.20.33] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XRDST,",
  "2023-01-11T15:59:56.232Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,4,10.10.10.10:25,95.10.20.33:56026,<,STARTTLS,",
  "2023-01-11T15:59:56.232Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,5,10.10.10.10:25,95.10.20.33:56026,>,220 2.0.0 SMTP server ready,",
  "2023-01-11T15:59:56.232Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,6,10.10.10.10:25,95.10.20.33:56026,*, CN=SERVER-HOSTNAME CN=SERVER-HOSTNAME 12DEABC6565646512346ABDC13456894 12DEABC6565646512346ABDC1345689413589876 2020-01-17T15:15:33.000Z 2025-01-17T15:15:33.000Z SERVER-HOSTNAME;SERVER-HOSTNAME.DOMAIN.TEST,Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names",
  "2023-01-11T16:00:01.010Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,7,10.10.10.10:25,95.10.20.33:56026,*,,\"TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits\"",
  "2023-01-11T16:00:02.106Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,9,10.10.10.10:25,95.10.20.33:56026,*,,Client certificate chain validation status: 'EmptyCertificate'",
  "2023-01-11T16:00:02.106Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,10,10.10.10.10:25,95.10.20.33:56026,*,,TlsDomainCapabilities='None'; Status='NoRemoteCertificate'",
  "2016-07-19T12:13:15.145Z,Outbound to Office 365,08D3AFC581A92DD3,7,,,*,\" CN=*, OU=IT, O=contoso International (L.L.C), L=Dubai, S=Dubai, C=AE CN=thawte SHA256 SSL CA, O=\"\"thawte, Inc.\"\", C=US 0D92CFF6070B73AD5722EC8B4DA3389B AAA3D3DADA6891A2CCB3134D0B2D7764F1351BC4 *\",Sending certificate Certificate subject Certificate issuer name Certificate serial number Certificate thumbprint Certificate alternate names",
  "2019-11-04T06:00:35.402Z,Intra-Organization SMTP Send Connector,08D760DF231F00BC,28,10.0.0.31:37964,10.0.0.168:25,*,,Received certificate",
  "2019-11-04T06:00:35.402Z,Intra-Organization SMTP Send Connector,08D760DF231F00BC,29,10.0.0.31:37964,10.0.0.168:25,*,352D244A535D94B576232ECC4A4000CFE06BE106,Certificate thumbprint",
  "2019-11-04T06:00:35.496Z,Intra-Organization SMTP Send Connector,08D760DF231F00BC,45,10.0.0.31:37964,10.0.0.168:25,*,,Outbound Authentication failed with LogonDenied",
];
const CONSTRUCTED: string[] = [
  "2025-03-04T09:15:02.114Z,Internet,08DD5AC3F1A40B21,0,,198.51.100.25:25,*,,attempting to connect",
  "2025-03-04T09:15:02.161Z,Internet,08DD5AC3F1A40B21,1,10.0.0.5:28417,198.51.100.25:25,+,,",
  "2025-03-04T09:15:02.229Z,Internet,08DD5AC3F1A40B21,2,10.0.0.5:28417,198.51.100.25:25,<,220 mx.fabrikam.com ESMTP ready,",
  "2025-03-04T09:15:02.230Z,Internet,08DD5AC3F1A40B21,3,10.0.0.5:28417,198.51.100.25:25,>,EHLO mail.contoso.com,",
  "2025-03-04T09:15:02.297Z,Internet,08DD5AC3F1A40B21,4,10.0.0.5:28417,198.51.100.25:25,<,250  mx.fabrikam.com Hello [203.0.113.7] SIZE 52428800 PIPELINING 8BITMIME STARTTLS ENHANCEDSTATUSCODES CHUNKING,",
  "2025-03-04T09:15:02.298Z,Internet,08DD5AC3F1A40B21,5,10.0.0.5:28417,198.51.100.25:25,>,STARTTLS,",
  "2025-03-04T09:15:02.366Z,Internet,08DD5AC3F1A40B21,6,10.0.0.5:28417,198.51.100.25:25,<,220 2.0.0 Ready to start TLS,",
  "2025-03-04T09:15:02.367Z,Internet,08DD5AC3F1A40B21,7,10.0.0.5:28417,198.51.100.25:25,*,\" CN=mail.contoso.com CN=R11, O=Let's Encrypt, C=US 04C2A9F17E3B5D6A8B9C0D1E2F3A4B5C6D7E 7A3F0C9E51B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0 2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z mail.contoso.com;autodiscover.contoso.com\",Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names",
  "2025-03-04T09:15:02.451Z,Internet,08DD5AC3F1A40B21,8,10.0.0.5:28417,198.51.100.25:25,*,,\"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits\"",
  "2025-03-04T09:15:02.452Z,Internet,08DD5AC3F1A40B21,9,10.0.0.5:28417,198.51.100.25:25,*,,Received certificate",
  "2025-03-04T09:15:02.452Z,Internet,08DD5AC3F1A40B21,10,10.0.0.5:28417,198.51.100.25:25,*,5E1D9B7A3C2F4E6D8A0B1C3D5E7F9A2B4C6D8E0F,Certificate thumbprint",
  "2025-03-04T09:15:02.453Z,Internet,08DD5AC3F1A40B21,11,10.0.0.5:28417,198.51.100.25:25,>,EHLO mail.contoso.com,",
  "2025-03-04T09:15:02.520Z,Internet,08DD5AC3F1A40B21,12,10.0.0.5:28417,198.51.100.25:25,<,250  mx.fabrikam.com Hello [203.0.113.7] SIZE 52428800 PIPELINING 8BITMIME ENHANCEDSTATUSCODES CHUNKING,",
  "2025-03-04T09:15:02.521Z,Internet,08DD5AC3F1A40B21,13,10.0.0.5:28417,198.51.100.25:25,*,,sending message with RecordId 1099511627790 and InternetMessageId <a1b2c3d4e5@mail.contoso.com>",
  "2025-03-04T09:15:02.521Z,Internet,08DD5AC3F1A40B21,14,10.0.0.5:28417,198.51.100.25:25,>,MAIL FROM:<alice@contoso.com> SIZE=10342,",
  "2025-03-04T09:15:02.521Z,Internet,08DD5AC3F1A40B21,15,10.0.0.5:28417,198.51.100.25:25,>,RCPT TO:<bob@fabrikam.com>,",
  "2025-03-04T09:15:02.522Z,Internet,08DD5AC3F1A40B21,16,10.0.0.5:28417,198.51.100.25:25,>,BDAT 10342 LAST,",
  "2025-03-04T09:15:02.701Z,Internet,08DD5AC3F1A40B21,17,10.0.0.5:28417,198.51.100.25:25,<,250 2.0.0 Ok: queued as 4Q9xYz,",
  "2025-03-04T09:15:02.702Z,Internet,08DD5AC3F1A40B21,18,10.0.0.5:28417,198.51.100.25:25,>,QUIT,",
  "2025-03-04T09:15:02.769Z,Internet,08DD5AC3F1A40B21,19,10.0.0.5:28417,198.51.100.25:25,<,221 2.0.0 Bye,",
  "2025-03-04T09:15:02.770Z,Internet,08DD5AC3F1A40B21,20,10.0.0.5:28417,198.51.100.25:25,-,,Local",
];

const HEADER = (type: 'Send' | 'Receive', date: string): string =>
  '\uFEFF#Software: Microsoft Exchange Server\r\n' +
  '#Version: 15.0.0.0\r\n' +
  `#Log-type: SMTP ${type} Protocol Log\r\n` +
  `#Date: ${date}\r\n` +
  '#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-plog-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A clock the test moves by hand. */
function manualClock(start: string): { clock: () => Date; set: (iso: string) => void } {
  let now = new Date(start);
  return { clock: () => new Date(now), set: (iso) => (now = new Date(iso)) };
}

test('quoting: commas and quotes quote the field, CR/LF become \\r \\n, empty context leaves a trailing comma', () => {
  assert.equal(csvField(undefined), '');
  assert.equal(csvField(''), '');
  assert.equal(csvField('EHLO mail.contoso.com'), 'EHLO mail.contoso.com');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('line1\r\nline2'), 'line1\\r\\nline2');
  assert.equal(csvField('bare\nLF'), 'bare\\nLF');
  assert.equal(csvField('x\r\ny, "z"'), '"x\\r\\ny, ""z"""');
  assert.equal(csvField('EX01\\Default EX01'), 'EX01\\Default EX01');
  const row = formatRow(new Date('2025-03-04T09:15:02.230Z'), {
    connectorId: 'Internet', sessionId: '08DD5AC3F1A40B21', sequenceNumber: 3,
    localEndpoint: '10.0.0.5:28417', remoteEndpoint: '198.51.100.25:25', event: '>', data: 'EHLO mail.contoso.com',
  });
  assert.equal(row, '2025-03-04T09:15:02.230Z,Internet,08DD5AC3F1A40B21,3,10.0.0.5:28417,198.51.100.25:25,>,EHLO mail.contoso.com,');
  assert.deepEqual(parseCsvLine('a,"b,""c""",,d'), ['a', 'b,"c"', '', 'd']);
  assert.deepEqual(parseCsvLine('a,b,'), ['a', 'b', '']);
});

test('observed Exchange lines re-format byte for byte from their parsed fields', () => {
  for (const line of OBSERVED) {
    const f = parseCsvLine(line);
    assert.equal(f.length, 9, line);
    const again = formatRow(new Date(f[0]), {
      connectorId: f[1], sessionId: f[2], sequenceNumber: Number(f[3]), localEndpoint: f[4], remoteEndpoint: f[5],
      event: f[6] as ProtocolLogEvent, data: f[7], context: f[8],
    });
    assert.equal(again, line);
  }
});

test('a Send session written through ProtocolLogSession matches the reference sample byte for byte', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2025-03-04T09:15:02.114Z');
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Send', maxFileSize: 10485760, maxDirectorySize: 262144000, maxAge: 30 * 86400_000, clock: c.clock });
    const s = new ProtocolLogSession(w, { connectorId: 'Internet', sessionId: '08DD5AC3F1A40B21', remoteEndpoint: '198.51.100.25:25' });
    const tick = (): void => c.set(CONSTRUCTED[s.sequenceNumber].slice(0, 24));
    tick(); s.attemptingToConnect();
    s.setEndpoints('10.0.0.5:28417', '198.51.100.25:25');
    tick(); s.connect();
    tick(); s.received('220 mx.fabrikam.com ESMTP ready');
    tick(); s.sent('EHLO mail.contoso.com');
    const ehlo = (tls: boolean): string =>
      ['250-mx.fabrikam.com Hello [203.0.113.7]', '250-SIZE 52428800', '250-PIPELINING', '250-8BITMIME', ...(tls ? ['250-STARTTLS'] : []), '250-ENHANCEDSTATUSCODES', '250 CHUNKING'].join('\r\n');
    tick(); s.received(ehlo(true));
    tick(); s.sent('STARTTLS');
    tick(); s.received('220 2.0.0 Ready to start TLS');
    tick(); s.sendingCertificate({
      subject: 'CN=mail.contoso.com', issuer: "CN=R11, O=Let's Encrypt, C=US", serialNumber: '04c2a9f17e3b5d6a8b9c0d1e2f3a4b5c6d7e',
      thumbprint: '7A3F0C9E51B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0', notBefore: new Date('2025-01-10T08:00:00Z'), notAfter: new Date('2025-04-10T08:00:00Z'),
      certificateDomains: ['mail.contoso.com', 'autodiscover.contoso.com'],
    });
    tick(); s.tlsNegotiated('TLSv1.2', { name: 'ECDHE-RSA-AES256-GCM-SHA384', standardName: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', version: 'TLSv1.2' }, { type: 'ECDH', name: 'secp384r1', size: 384 });
    tick(); s.receivedCertificate({ thumbprint: '5e1d9b7a3c2f4e6d8a0b1c3d5e7f9a2b4c6d8e0f' });
    tick(); s.sent('EHLO mail.contoso.com');
    tick(); s.received(ehlo(false));
    tick(); s.info(undefined, 'sending message with RecordId 1099511627790 and InternetMessageId <a1b2c3d4e5@mail.contoso.com>');
    tick(); s.sent('MAIL FROM:<alice@contoso.com> SIZE=10342');
    tick(); s.sent('RCPT TO:<bob@fabrikam.com>');
    tick(); s.sent('BDAT 10342 LAST');
    tick(); s.received('250 2.0.0 Ok: queued as 4Q9xYz');
    tick(); s.sent('QUIT');
    tick(); s.received('221 2.0.0 Bye');
    tick(); s.disconnect('Local');
    await w.close();
    assert.deepEqual(await readdir(dir), ['SEND2025030409-1.LOG']);
    const text = await readFile(path.join(dir, 'SEND2025030409-1.LOG'), 'utf8');
    assert.equal(text, HEADER('Send', '2025-03-04T09:15:02.114Z') + CONSTRUCTED.map((l) => l + '\r\n').join(''));
    const bytes = await readFile(path.join(dir, 'SEND2025030409-1.LOG'));
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  });
});

test('receive log header and session ids of 16 upper-case hex digits, unique and increasing', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2023-01-11T16:00:04.113Z');
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Receive', maxFileSize: 10485760, maxDirectorySize: 0, maxAge: 0, clock: c.clock });
    const ids = Array.from({ length: 50 }, () => w.newSessionId());
    for (const id of ids) assert.match(id, /^[0-9A-F]{16}$/);
    assert.equal(new Set(ids).size, 50);
    assert.deepEqual([...ids].sort(), ids);
    // .NET ticks of the clock, as Exchange's ids are (they start with 08D… in these years).
    assert.ok(ids[0].startsWith('08DAF3'), ids[0]);
    const s = new ProtocolLogSession(w, { connectorId: 'EX01\\Default Frontend EX01', localEndpoint: '10.10.10.10:25', remoteEndpoint: '95.10.20.33:56026' });
    s.connect();
    s.sent('220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at Wed, 11 Jan 2023 16:59:51 +0100');
    await w.close();
    const text = await readFile(path.join(dir, 'RECV2023011116-1.LOG'), 'utf8');
    assert.equal(
      text,
      HEADER('Receive', '2023-01-11T16:00:04.113Z') +
        `2023-01-11T16:00:04.113Z,EX01\\Default Frontend EX01,${s.sessionId},0,10.10.10.10:25,95.10.20.33:56026,+,,\r\n` +
        `2023-01-11T16:00:04.113Z,EX01\\Default Frontend EX01,${s.sessionId},1,10.10.10.10:25,95.10.20.33:56026,>,"220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at Wed, 11 Jan 2023 16:59:51 +0100",\r\n`,
    );
  });
});

test('rotation at MaxFileSize to -2, -3; a new hour starts at -1; a restart continues the last file', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2026-11-26T23:10:00.000Z');
    const opts = { directory: dir, kind: 'Send' as const, maxFileSize: 1500, maxDirectorySize: 0, maxAge: 0, clock: c.clock };
    let w = new ProtocolLogWriter(opts);
    const s = new ProtocolLogSession(w, { connectorId: 'Internet', localEndpoint: '127.0.0.1:5000', remoteEndpoint: '127.0.0.1:25' });
    for (let i = 0; i < 30; i++) s.sent(`RCPT TO:<user${i}@fabrikam.com>`);
    await w.flush();
    const names = (await readdir(dir)).sort();
    assert.ok(names.length >= 3, names.join(' '));
    assert.deepEqual(names.slice(0, 3), ['SEND2026112623-1.LOG', 'SEND2026112623-2.LOG', 'SEND2026112623-3.LOG']);
    for (const n of names) {
      const t = await readFile(path.join(dir, n), 'utf8');
      assert.ok(Buffer.byteLength(t) <= 1500, `${n} is ${Buffer.byteLength(t)} bytes`);
      assert.ok(t.startsWith('\uFEFF#Software: Microsoft Exchange Server\r\n'), n);
      assert.equal(t.split('#Fields:').length, 2, `${n} has one header`);
    }
    const rows: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(dir)) rows.push(r);
    assert.deepEqual(rows.map((r) => r.sequenceNumber), Array.from({ length: 30 }, (_, i) => i));

    c.set('2026-11-27T00:00:01.000Z');
    s.sent('QUIT');
    await w.close();
    assert.ok((await readdir(dir)).includes('SEND2026112700-1.LOG'));

    // A restart in the same hour appends to the newest file while it has room.
    w = new ProtocolLogWriter(opts);
    new ProtocolLogSession(w, { connectorId: 'Internet' }).connect();
    await w.close();
    const t = await readFile(path.join(dir, 'SEND2026112700-1.LOG'), 'utf8');
    assert.equal(t.split('#Fields:').length, 2);
    assert.equal(t.trimEnd().split('\r\n').length, 7);
  });
});

test('rows encoded into chunks: thousands of rows (several 64 KiB chunks, non-ASCII, quoting) land whole, in order, cut between rows at MaxFileSize', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2026-12-06T05:10:00.000Z');
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Receive', maxFileSize: 100_000, maxDirectorySize: 0, maxAge: 0, clock: c.clock });
    const s = new ProtocolLogSession(w, { connectorId: 'EX01\\Relay, "internal"', localEndpoint: '10.0.0.5:25', remoteEndpoint: '[2001:db8::7]:40522' });
    const data = (i: number): string => `RCPT TO:<usér${i}@fabrikam.com> NOTIFY=SUCCESS,FAILURE ${'x'.repeat(i % 97)}`;
    for (let i = 0; i < 3000; i++) s.received(i % 500 === 0 ? `${data(i)}\r\nsecond line` : data(i));
    await w.close();
    const names = (await readdir(dir)).sort();
    assert.ok(names.length >= 3, names.join(' '));
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      expected.push(formatRow(new Date('2026-12-06T05:10:00.000Z'), { connectorId: 'EX01\\Relay, "internal"', sessionId: s.sessionId, sequenceNumber: i, localEndpoint: '10.0.0.5:25', remoteEndpoint: '[2001:db8::7]:40522', event: '<', data: i % 500 === 0 ? `${data(i)}\r\nsecond line` : data(i) }));
    }
    const written: string[] = [];
    for (const n of names) {
      const t = await readFile(path.join(dir, n), 'utf8');
      assert.ok(Buffer.byteLength(t) <= 100_000, `${n} is ${Buffer.byteLength(t)} bytes`);
      assert.equal(t.split('#Fields:').length, 2, `${n} has one header`);
      written.push(...t.split('\r\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('\uFEFF')));
    }
    assert.equal(written.length, 3000);
    assert.deepEqual(written, expected);
  });
});

test('rows that keep coming are appended in batches (50 ms), not one write per row while the previous write runs', async () => {
  await withDir(async (dir) => {
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Receive', maxFileSize: 0, maxDirectorySize: 0, maxAge: 0 });
    let appends = 0;
    const writer = w as unknown as { append: (...a: unknown[]) => Promise<void> };
    const append = writer.append.bind(w);
    writer.append = async (...a) => {
      appends++;
      await new Promise((r) => setTimeout(r, 2)); // a disk that takes its time
      return append(...a);
    };
    const s = new ProtocolLogSession(w, { connectorId: 'EX01\\Default Frontend EX01' });
    const until = Date.now() + 600;
    let rows = 0;
    while (Date.now() < until) {
      s.received(`RCPT TO:<user${rows++}@fabrikam.com>`);
      await new Promise((r) => setTimeout(r, 1));
    }
    await w.close();
    const written = (await readFile(path.join(dir, (await readdir(dir))[0]), 'utf8')).split('\r\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('\uFEFF'));
    assert.equal(written.length, rows);
    // A row a millisecond for 600 ms: about 12 batches of 50 ms; a write of whatever came while the last one ran would be hundreds.
    assert.ok(appends <= 20, `${appends} appends for ${rows} rows`);
  });
});

test('deletion by MaxAge and by MaxDirectorySize; the file being written is never deleted', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2026-11-26T23:10:00.000Z');
    const old = path.join(dir, 'SEND2026110101-1.LOG');
    const mid1 = path.join(dir, 'SEND2026112501-1.LOG');
    const mid2 = path.join(dir, 'SEND2026112502-1.LOG');
    const other = path.join(dir, 'RECV2026110101-1.LOG');
    for (const f of [old, mid1, mid2, other]) await writeFile(f, Buffer.alloc(1000, 'x'));
    const daysAgo = (d: number): Date => new Date(c.clock().getTime() - d * 86400_000);
    await utimes(old, daysAgo(25), daysAgo(25));
    await utimes(mid1, daysAgo(1.5), daysAgo(1.5));
    await utimes(mid2, daysAgo(1), daysAgo(1));
    await utimes(other, daysAgo(25), daysAgo(25));
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Send', maxFileSize: 0, maxDirectorySize: 2800, maxAge: 20 * 86400_000, clock: c.clock });
    new ProtocolLogSession(w, { connectorId: 'Internet' }).connect();
    await w.flush();
    // old: too old. Then 1000 + 1000 + current (~400) > 2800? No: 2400 fits, so both mid files stay.
    assert.deepEqual((await readdir(dir)).sort(), ['RECV2026110101-1.LOG', 'SEND2026112501-1.LOG', 'SEND2026112502-1.LOG', 'SEND2026112623-1.LOG']);
    w.updateSettings({ maxDirectorySize: 1100 });
    await w.enforceRetention();
    // Oldest first until within 1100 bytes: both 1000-byte files go, the current one stays; Receive logs are not ours.
    assert.deepEqual((await readdir(dir)).sort(), ['RECV2026110101-1.LOG', 'SEND2026112623-1.LOG']);
    w.updateSettings({ maxDirectorySize: 10 });
    await w.enforceRetention();
    assert.deepEqual((await readdir(dir)).sort(), ['RECV2026110101-1.LOG', 'SEND2026112623-1.LOG']);
    await w.close();
  });
});

test('setDirectory: rows written after the change go to the new folder, earlier ones to the old', async () => {
  await withDir(async (dir) => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b', 'SmtpSend');
    const w = new ProtocolLogWriter({ directory: a, kind: 'Send', maxFileSize: 10485760, maxDirectorySize: 262144000, maxAge: 0 });
    const s = new ProtocolLogSession(w, { connectorId: 'Internet' });
    s.connect();
    w.setDirectory(b);
    s.sent('EHLO x');
    await w.close();
    const rowsA = [];
    for await (const r of readProtocolLogs(a)) rowsA.push(r);
    const rowsB = [];
    for await (const r of readProtocolLogs(b, { kind: 'Send' })) rowsB.push(r);
    assert.deepEqual(rowsA.map((r) => r.event), ['+']);
    assert.deepEqual(rowsB.map((r) => [r.event, r.data, r.sequenceNumber]), [['>', 'EHLO x', 1]]);
    assert.equal(w.directory, b);
  });
});

test('write() never blocks or throws on I/O failure; errors are reported', async () => {
  await withDir(async (dir) => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const errors: unknown[] = [];
    const w = new ProtocolLogWriter({ directory: path.join(blocker, 'logs'), kind: 'Send', maxFileSize: 1000, maxDirectorySize: 0, maxAge: 0, onError: (e) => errors.push(e) });
    const s = new ProtocolLogSession(w, { connectorId: 'Internet' });
    s.connect();
    s.sent('EHLO x');
    await w.close();
    assert.ok(errors.length >= 1);
  });
});

test('reader: BOM, quoting, kind from file name, multiple files in order; round trip of what the writer wrote', async () => {
  await withDir(async (dir) => {
    const raw = '\uFEFF' + HEADER('Send', '2025-03-04T09:15:02.114Z').slice(1) + CONSTRUCTED.map((l) => l + '\r\n').join('');
    await writeFile(path.join(dir, 'SEND2025030409-1.LOG'), raw);
    await writeFile(path.join(dir, 'RECV2023011116-1.LOG'), HEADER('Receive', '2023-01-11T16:00:04.113Z') + OBSERVED.slice(0, 9).map((l) => l + '\r\n').join(''));
    // The older daily naming, sorted before the hourly one of a later day.
    await writeFile(path.join(dir, 'SEND20160719-1.LOG'), HEADER('Send', '2016-07-19T12:00:00.000Z') + OBSERVED[9] + '\r\n');
    await mkdir(path.join(dir, 'not-a-log'));
    const send: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(dir, { kind: 'Send' })) send.push(r);
    assert.equal(send.length, 1 + CONSTRUCTED.length);
    assert.equal(send[0].connectorId, 'Outbound to Office 365');
    const first = send[1];
    assert.equal(first.dateTime.toISOString(), '2025-03-04T09:15:02.114Z');
    assert.equal(first.kind, 'Send');
    assert.equal(first.sessionId, '08DD5AC3F1A40B21');
    assert.equal(first.sequenceNumber, 0);
    assert.equal(first.localEndpoint, '');
    assert.equal(first.remoteEndpoint, '198.51.100.25:25');
    assert.equal(first.event, '*');
    assert.equal(first.context, 'attempting to connect');
    assert.equal(send[1 + 8].context.startsWith('TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded'), true);
    const recv: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(dir, { kind: 'Receive' })) recv.push(r);
    assert.equal(recv.length, 9);
    assert.equal(recv[0].kind, 'Receive');
    assert.equal(recv[0].connectorId, 'SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME');
    assert.equal(recv[0].data, '220 SERVER-HOSTNAME.DOMAIN.TEST Microsoft ESMTP MAIL Service ready at Wed, 11 Jan 2023 16:59:51 +0100');
    const all: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(dir)) all.push(r);
    assert.equal(all.length, send.length + recv.length);
    // Every row re-formats to the line it came from.
    for (const r of send.slice(1)) {
      assert.equal(formatRow(r.dateTime, r), CONSTRUCTED[r.sequenceNumber]);
    }
  });
});

test('parseSendingCertificateRow reads both 2016/2019 layouts from the reference samples', () => {
  const rows = parseProtocolLogText(OBSERVED.join('\r\n') + '\r\n' + CONSTRUCTED.join('\r\n'));
  const certs = rows.map((r) => parseSendingCertificateRow(r)).filter((c) => c !== undefined);
  assert.equal(certs.length, 3);
  assert.deepEqual(certs[0], {
    subject: 'CN=SERVER-HOSTNAME',
    issuer: 'CN=SERVER-HOSTNAME',
    serialNumber: '12DEABC6565646512346ABDC13456894',
    thumbprint: '12DEABC6565646512346ABDC1345689413589876',
    notBefore: new Date('2020-01-17T15:15:33.000Z'),
    notAfter: new Date('2025-01-17T15:15:33.000Z'),
    certificateDomains: ['SERVER-HOSTNAME', 'SERVER-HOSTNAME.DOMAIN.TEST'],
  });
  // Exchange 2016 CU2 era: no dates, commas and doubled quotes inside the names.
  assert.deepEqual(certs[1], {
    subject: 'CN=*, OU=IT, O=contoso International (L.L.C), L=Dubai, S=Dubai, C=AE',
    issuer: 'CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US',
    serialNumber: '0D92CFF6070B73AD5722EC8B4DA3389B',
    thumbprint: 'AAA3D3DADA6891A2CCB3134D0B2D7764F1351BC4',
    notBefore: undefined,
    notAfter: undefined,
    certificateDomains: ['*'],
  });
  assert.deepEqual(certs[2], {
    subject: 'CN=mail.contoso.com',
    issuer: "CN=R11, O=Let's Encrypt, C=US",
    serialNumber: '04C2A9F17E3B5D6A8B9C0D1E2F3A4B5C6D7E',
    thumbprint: '7A3F0C9E51B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0',
    notBefore: new Date('2025-01-10T08:00:00.000Z'),
    notAfter: new Date('2025-04-10T08:00:00.000Z'),
    certificateDomains: ['mail.contoso.com', 'autodiscover.contoso.com'],
  });
  // Other rows, including the Received certificate pair, are not sending certificates.
  assert.equal(parseSendingCertificateRow({ data: '', context: 'Received certificate' }), undefined);
  assert.equal(parseSendingCertificateRow({ data: '352D244A535D94B576232ECC4A4000CFE06BE106', context: 'Certificate thumbprint' }), undefined);
  // No domains, serial of 20 bytes (as long as a thumbprint), subject with spaces and several RDNs.
  assert.deepEqual(
    parseSendingCertificateRow({
      context: 'Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names',
      data: ' CN=Mail Gateway, OU=Ops Team, O="Contoso, Ltd", C=US CN=Contoso Issuing CA 01, DC=contoso, DC=com 7F00000012ABCDEF0123456789ABCDEF01234567 0123456789ABCDEF0123456789ABCDEF01234567 2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z ',
    }),
    {
      subject: 'CN=Mail Gateway, OU=Ops Team, O="Contoso, Ltd", C=US',
      issuer: 'CN=Contoso Issuing CA 01, DC=contoso, DC=com',
      serialNumber: '7F00000012ABCDEF0123456789ABCDEF01234567',
      thumbprint: '0123456789ABCDEF0123456789ABCDEF01234567',
      notBefore: new Date('2026-01-01T00:00:00.000Z'),
      notAfter: new Date('2027-01-01T00:00:00.000Z'),
      certificateDomains: [],
    },
  );
});

test('collectSendingCertificates handles the 2013 six-row form, interleaved sessions and the single row', async () => {
  const text = [
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,5,10.0.0.5:1000,198.51.100.25:25,*,,Sending certificate',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000002,3,10.0.0.5:1001,198.51.100.26:25,>,EHLO mail.contoso.com,',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,6,10.0.0.5:1000,198.51.100.25:25,*,CN=mail.contoso.com,Certificate subject',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,7,10.0.0.5:1000,198.51.100.25:25,*,"CN=R3, O=Let\'s Encrypt, C=US",Certificate issuer name',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,8,10.0.0.5:1000,198.51.100.25:25,*,04a1b2c3,Certificate serial number',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,9,10.0.0.5:1000,198.51.100.25:25,*,9f3c0000000000000000000000000000000000aa,Certificate thumbprint',
    '2014-05-01T10:00:00.000Z,Internet,08D1338A00000001,10,10.0.0.5:1000,198.51.100.25:25,*,mail.contoso.com;autodiscover.contoso.com,Certificate alternate names',
    ...CONSTRUCTED,
  ].join('\r\n');
  const found = [];
  for await (const f of collectSendingCertificates(parseProtocolLogText(text, 'x.LOG'))) found.push(f);
  assert.equal(found.length, 2);
  assert.equal(found[0].row.sequenceNumber, 5);
  assert.deepEqual(found[0].certificate, {
    subject: 'CN=mail.contoso.com',
    issuer: "CN=R3, O=Let's Encrypt, C=US",
    serialNumber: '04A1B2C3',
    thumbprint: '9F3C0000000000000000000000000000000000AA',
    certificateDomains: ['mail.contoso.com', 'autodiscover.contoso.com'],
  });
  assert.equal(found[1].certificate.thumbprint, '7A3F0C9E51B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0');
  assert.equal(found[1].row.sessionId, '08DD5AC3F1A40B21');
});

test('rows are buffered and appended in order; beyond maxBufferedBytes they are dropped and reported, not queued', async () => {
  await withDir(async (dir) => {
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Receive', maxFileSize: 0, maxDirectorySize: 0, maxAge: 0 });
    const s = new ProtocolLogSession(w, { connectorId: 'EX01\\Default EX01', localEndpoint: '127.0.0.1:25', remoteEndpoint: '127.0.0.1:40000' });
    for (let i = 0; i < 5000; i++) s.received(`RCPT TO:<u${i}@contoso.com>`);
    // Nothing was written synchronously: write() only buffers.
    assert.deepEqual(await readdir(dir), []);
    await w.flush();
    const rows: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(dir)) rows.push(r);
    assert.equal(rows.length, 5000);
    assert.ok(rows.every((r, i) => r.sequenceNumber === i && r.data === `RCPT TO:<u${i}@contoso.com>`));
    await w.close();

    // A lone row is not held until someone flushes: the batch goes out by itself.
    const lone = new ProtocolLogWriter({ directory: path.join(dir, 'lone'), kind: 'Receive', maxFileSize: 0, maxDirectorySize: 0, maxAge: 0 });
    new ProtocolLogSession(lone, { connectorId: 'c' }).received('EHLO lone.test');
    const deadline = Date.now() + 5000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        for await (const r of readProtocolLogs(path.join(dir, 'lone'))) if (r.data === 'EHLO lone.test') seen = true;
      } catch {
        /* the folder is not there yet */
      }
    }
    assert.ok(seen, 'the row reached its file without a flush');
    await lone.close();

    const errors: unknown[] = [];
    const small = new ProtocolLogWriter({ directory: path.join(dir, 'small'), kind: 'Receive', maxFileSize: 0, maxDirectorySize: 0, maxAge: 0, maxBufferedBytes: 1000, onError: (e) => errors.push(e) });
    const s2 = new ProtocolLogSession(small, { connectorId: 'c' });
    for (let i = 0; i < 100; i++) s2.received(`line ${i}`);
    await small.close();
    assert.equal(errors.length, 1);
    const kept: ProtocolLogRow[] = [];
    for await (const r of readProtocolLogs(path.join(dir, 'small'))) kept.push(r);
    assert.ok(kept.length > 0 && kept.length < 100, `${kept.length} rows kept`);
  });
});

test('TLS negotiation rows in Schannel terms from what Node reports', async () => {
  const { describeTlsNegotiation } = await import('../../src/transport/protocol-log/index.js');
  assert.equal(
    describeTlsNegotiation('Receive', 'TLSv1.2', { name: 'ECDHE-RSA-AES128-GCM-SHA256', standardName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' }, {}),
    'TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits',
  );
  assert.equal(
    describeTlsNegotiation('Send', 'TLSv1.3', { name: 'TLS_AES_256_GCM_SHA384', standardName: 'TLS_AES_256_GCM_SHA384', version: 'TLSv1.3' }, { type: 'ECDH', name: 'X25519', size: 253 }),
    'TLS protocol SP_PROT_TLS1_3_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 255 bits',
  );
  assert.match(describeTlsNegotiation('Send', 'TLSv1.2', 'AES256-SHA', null), /CALG_AES_256 .* CALG_SHA1 with strength 160 bits and key exchange algorithm CALG_RSA_KEYX/);
});

test('latestSendingCertificates: per connector, the newest Sending certificate row across files (before and after a renewal)', async () => {
  await withDir(async (dir) => {
    const c = manualClock('2026-11-26T10:00:00.000Z');
    const w = new ProtocolLogWriter({ directory: dir, kind: 'Send', maxFileSize: 2000, maxDirectorySize: 0, maxAge: 0, clock: c.clock });
    const facts = (serial: string, thumb: string, nb: string) => ({
      subject: 'CN=mail.contoso.com, O=Contoso, C=US', issuer: 'CN=Interchange Test Root CA, O=Interchange Tests, C=US',
      serialNumber: serial, thumbprint: thumb, notBefore: new Date(nb), notAfter: new Date('2027-11-26T00:00:00Z'), certificateDomains: ['mail.contoso.com'],
    });
    const session = (connector: string, f: ReturnType<typeof facts>): void => {
      const s = new ProtocolLogSession(w, { connectorId: connector, localEndpoint: '127.0.0.1:40001', remoteEndpoint: '127.0.0.1:2525' });
      s.connect();
      s.sent('STARTTLS');
      s.received('220 2.0.0 Ready to start TLS');
      s.sendingCertificate(f);
      s.disconnect('Local');
    };
    const oldF = facts('0A01', 'A'.repeat(40), '2026-10-27T00:00:00Z');
    const newF = facts('0A02', 'B'.repeat(40), '2026-11-25T00:00:00Z');
    session('Outbound to Fabrikam', oldF);
    session('Internet', oldF);
    c.set('2026-11-26T11:30:00.000Z');
    session('Outbound to Fabrikam', newF);
    await w.close();
    assert.ok((await readdir(dir)).length >= 2);
    const { latestSendingCertificates } = await import('../../src/transport/protocol-log/index.js');
    const all = await latestSendingCertificates(readProtocolLogs(dir, { kind: 'Send' }));
    assert.deepEqual(all.map((p) => [p.connectorId, p.certificate.thumbprint, p.dateTime.toISOString()]), [
      ['Internet', 'A'.repeat(40), '2026-11-26T10:00:00.000Z'],
      ['Outbound to Fabrikam', 'B'.repeat(40), '2026-11-26T11:30:00.000Z'],
    ]);
    const one = await latestSendingCertificates(readProtocolLogs(dir), { connectorId: 'outbound to fabrikam' });
    assert.equal(one.length, 1);
    assert.equal(one[0].certificate.serialNumber, '0A02');
    assert.equal(one[0].certificate.issuer, 'CN=Interchange Test Root CA, O=Interchange Tests, C=US');
    assert.equal(one[0].remoteEndpoint, '127.0.0.1:2525');
  });
});

test('formatDateTime, which reuses the text of the second it last formatted, always equals toISOString', async () => {
  const { formatDateTime } = await import('../../src/transport/logging/exchange-log-text.js');
  const times = [
    Date.UTC(2025, 2, 4, 9, 59, 59, 999), Date.UTC(2025, 2, 4, 10, 0, 0, 0), Date.UTC(2025, 2, 4, 10, 0, 0, 7),
    Date.UTC(2025, 2, 4, 10, 0, 1, 7), Date.UTC(2025, 2, 4, 10, 0, 0, 500), Date.UTC(2024, 11, 31, 23, 59, 59, 1),
    Date.UTC(2025, 0, 1, 0, 0, 0, 1), 0, -1, -999, -1000, Date.UTC(1969, 11, 31, 23, 59, 58, 3),
  ];
  for (const t of [...times, ...times.reverse()]) assert.equal(formatDateTime(new Date(t)), new Date(t).toISOString(), String(t));
});
