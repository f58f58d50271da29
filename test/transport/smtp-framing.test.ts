// DATA framing both ways, DSN format, and the TLS domain check, on bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn, headerSection } from '../../src/transport/delivery/dsn.js';
import { DataReader } from '../../src/transport/inbound/data-reader.js';
import { headerSummary } from '../../src/transport/inbound/smtp-session.js';
import { DotStuffer, dotStuff, dotStuffBlocks } from '../../src/transport/outbound/smtp-client.js';
import { MessageMemoryBudget } from '../../src/transport/service/message-memory-budget.js';
import { domainMismatch } from '../../src/transport/outbound/tls-policy.js';

function reader(maxMessageSize = 1000, maxHeaderSize = 262144): DataReader {
  return new DataReader({ maxMessageSize, maxHeaderSize });
}

/** Feeds chunks until the end of data; `rest` then also holds the chunks not fed. */
function feed(reader: DataReader, chunks: Array<string | Buffer>) {
  for (let i = 0; i < chunks.length; i++) {
    const r = reader.push(Buffer.isBuffer(chunks[i]) ? (chunks[i] as Buffer) : Buffer.from(chunks[i] as string, 'latin1'));
    if (r) return { ...r, body: r.blocks.length ? DataReader.concat(r) : Buffer.alloc(0), rest: Buffer.concat([r.rest, ...chunks.slice(i + 1).map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1')))]) };
  }
  return undefined;
}

test('DataReader: unstuffs dots, ends only at CRLF.CRLF across any chunking, hands back what follows', () => {
  const wire = 'Subject: x\r\n\r\n..dot line\r\n.\r\nQUIT\r\n';
  for (let split = 1; split < wire.length; split++) {
    const r = feed(reader(), [wire.slice(0, split), wire.slice(split)]);
    assert.ok(r, `split at ${split}`);
    assert.equal(r.body.toString(), 'Subject: x\r\n\r\n.dot line\r\n');
    assert.equal(r.rest.toString(), 'QUIT\r\n');
    assert.equal(r.refusal, undefined);
  }
});

test('DataReader: every way of cutting dot lines into chunks gives the same result', () => {
  const wire = 'a\r\n..\r\n.a\r\nb.\r\n.\r\n.\r\nNEXT'.replace('.\r\n.\r\nNEXT', '...\r\nx\r\n.\r\nNEXT');
  const expected = 'a\r\n.\r\na\r\nb.\r\n..\r\nx\r\n';
  for (let a = 0; a <= wire.length; a++) {
    for (let b = a; b <= wire.length; b++) {
      const r = feed(reader(), [wire.slice(0, a), wire.slice(a, b), wire.slice(b)]);
      assert.ok(r, `cut at ${a},${b}`);
      assert.equal(r.body.toString(), expected, `cut at ${a},${b}`);
      assert.equal(r.rest.toString(), 'NEXT');
      assert.equal(r.refusal, undefined);
    }
  }
  const bytes = feed(reader(), [...wire]);
  assert.equal(bytes?.body.toString(), expected);
  const bare = 'a\nb\r\n.\r\n';
  for (let a = 0; a <= bare.length; a++) assert.equal(feed(reader(), [bare.slice(0, a), bare.slice(a)])?.refusal, 'bareLf', `bare LF cut at ${a}`);
});

test('DataReader: a bare CR or bare LF anywhere refuses the message, and only CRLF.CRLF ends it', () => {
  // The published smuggling endings, each followed by what a lenient server would take as commands.
  const fakes = ['\n.\n', '\r.\r', '\r\n.\r', '\n.\r\n', '\r.\n', '\r.\r\n', '\n.\r', '\r\n.\n', '\n\r.\r\n'];
  for (const fake of fakes) {
    const wire = `Subject: s\r\n\r\nbody${fake}MAIL FROM:<evil@x.test>\r\n\r\n.\r\nNOOP\r\n`;
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = feed(reader(), [wire.slice(0, cut), wire.slice(cut)]);
      assert.ok(r, `${JSON.stringify(fake)} cut at ${cut}`);
      assert.equal(r.rest.toString(), 'NOOP\r\n', `${JSON.stringify(fake)}: only the real CRLF.CRLF ends the data`);
      // The first bare character names the refusal.
      assert.equal(r.refusal, /^[^\r\n]*\r/.test(fake.replace(/\r\n/g, '')) ? 'bareCr' : 'bareLf', JSON.stringify(fake));
      assert.equal(r.blocks.length, 0, 'nothing of a refused message is kept');
    }
  }
  // A CR at the very end of a chunk is judged by the next chunk's first byte.
  assert.equal(feed(reader(), ['a\r', 'b\r\n.\r\n'])?.refusal, 'bareCr');
  assert.equal(feed(reader(), ['a\r', '\nb\r\n.\r\n'])?.refusal, undefined);
  assert.equal(feed(reader(), ['.\r', 'x\r\n.\r\n'])?.refusal, 'bareCr');
});

test('DataReader: oversize is counted but not kept; a line without end is refused, not held', () => {
  const big = feed(reader(10), ['0123456789abc\r\n', 'more\r\n.\r\n']);
  assert.ok(big);
  assert.equal(big.refusal, 'tooBig');
  assert.equal(big.body.length, 0);
  assert.equal(big.size, 21);
  const r = reader(100_000_000);
  for (let i = 0; i < 100; i++) assert.equal(r.push(Buffer.alloc(10_000, 0x41)), undefined);
  const end = r.push(Buffer.from('\r\n.\r\n'));
  assert.ok(end);
  assert.equal(end.refusal, 'lineTooLong');
  assert.equal(end.size, 1_000_002);
  assert.equal(end.blocks.length, 0);
});

test('DataReader: RFC 5321 text lines of 1000 octets with CRLF pass, 1001 are refused, at any chunking', () => {
  for (const [text, refusal] of [
    ['x'.repeat(998), undefined],
    ['x'.repeat(999), 'lineTooLong'],
    ['.' + 'x'.repeat(997), undefined],
    ['.' + 'x'.repeat(998), 'lineTooLong'],
  ] as const) {
    const wire = `a\r\n${text}\r\nb\r\n.\r\n`;
    for (const cut of [1, 3, 500, 1001, 1002, 1003, wire.length - 1]) {
      const r = feed(reader(10_000), [wire.slice(0, cut), wire.slice(cut)]);
      assert.equal(r?.refusal, refusal, `${text.length} octets cut at ${cut}`);
      if (!refusal) assert.equal(r?.body.toString(), `a\r\n${text.replace(/^\./, '')}\r\nb\r\n`);
    }
  }
});

test('DataReader: the header section is measured up to the first empty line against MaxHeaderSize', () => {
  const header = (n: number) => Array.from({ length: n }, (_, i) => `X-H${String(i).padStart(4, '0')}: ${'v'.repeat(88)}\r\n`).join('');
  // Each header line is 100 octets with its CRLF.
  assert.equal(feed(reader(1_000_000, 1000), [header(10) + '\r\nbody\r\n' + 'y'.repeat(500) + '\r\n.\r\n'])?.refusal, undefined);
  assert.equal(feed(reader(1_000_000, 1000), [header(11) + '\r\nbody\r\n.\r\n'])?.refusal, 'headerTooBig');
  // The body does not count, however large.
  assert.equal(feed(reader(1_000_000, 1000), [header(1) + '\r\n' + 'line\r\n'.repeat(10_000) + '.\r\n'])?.refusal, undefined);
  // A message that never ends its header section is refused as it grows, at every chunking.
  const wire = header(30) + '.\r\n';
  for (let cut = 0; cut <= wire.length; cut += 7) assert.equal(feed(reader(1_000_000, 2000), [wire.slice(0, cut), wire.slice(cut)])?.refusal, 'headerTooBig', `cut at ${cut}`);
});

test('DataReader: a message of dot lines cut at every offset into chunks comes out byte-exact, in a few large blocks', () => {
  const content = Buffer.from('Subject: dots\r\n\r\n' + '.\r\n..\r\n.x\r\nplain\r\n'.repeat(20_000), 'latin1');
  const wire = Buffer.from('Subject: dots\r\n\r\n' + '..\r\n...\r\n..x\r\nplain\r\n'.repeat(20_000) + '.\r\nQUIT\r\n', 'latin1');
  for (const size of [1, 2, 3, 5, 7, 64, 1000, 4096, 65536]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
    const r = feed(reader(10_000_000), chunks);
    assert.ok(r, `chunks of ${size}`);
    assert.equal(r.refusal, undefined);
    assert.ok(r.body.equals(content), `chunks of ${size}`);
    assert.equal(r.rest.toString(), 'QUIT\r\n');
    assert.ok(r.blocks.length <= Math.ceil(content.length / 65536) + 1, `${r.blocks.length} blocks`);
  }
});

/** What DATA means, read off the whole wire at once: the reference the byte loop is compared with. */
function referenceData(wire: string): { body: string; rest: string; refusal: 'bareCr' | 'bareLf' | undefined } {
  const end = wire.startsWith('.\r\n') ? 0 : wire.indexOf('\r\n.\r\n') + 2;
  const content = wire.slice(0, end);
  const refusal = /\r(?!\n)/.test(content) ? 'bareCr' : /(?<!\r)\n/.test(content) ? 'bareLf' : undefined;
  return { body: content.split('\r\n').map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n'), rest: wire.slice(end + 3), refusal };
}

test('DataReader: random lines of 0 to 40 octets, dots and bare line ends among them, at random chunkings, read as the reference reads them', () => {
  // Lines on both sides of the bytes the loop looks at one by one before native searches take over.
  let seed = 13;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const alphabet = 'a.. b\t.';
  for (let round = 0; round < 400; round++) {
    const lines: string[] = [];
    for (let l = rnd(12); l >= 0; l--) {
      let line = '';
      for (let k = rnd(41); k > 0; k--) line += alphabet[rnd(alphabet.length)];
      // One message in four carries a bare CR or LF somewhere in a line.
      if (round % 4 === 3 && l === 0) line = line.slice(0, rnd(line.length + 1)) + (rnd(2) ? '\r' : '\n') + 'x' + line;
      lines.push(line);
    }
    const wire = lines.map((l) => l + '\r\n').join('') + '.\r\nNEXT';
    const expected = referenceData(wire);
    const chunks: string[] = [];
    for (let i = 0; i < wire.length; ) {
      const size = 1 + rnd(round % 2 ? 7 : 60);
      chunks.push(wire.slice(i, i + size));
      i += size;
    }
    const r = feed(reader(100_000), chunks);
    const what = `${JSON.stringify(wire)} in chunks ${JSON.stringify(chunks.map((c) => c.length))}`;
    assert.ok(r, what);
    assert.equal(r.refusal, expected.refusal, what);
    if (!expected.refusal) assert.equal(r.body.toString('latin1'), expected.body, what);
    assert.equal(r.rest.toString('latin1'), expected.rest, what);
  }
});

test('DataReader: past the memory budget a message is refused for now and its blocks given back', () => {
  const budget = new MessageMemoryBudget({ limit: 1024 * 1024, reserve: 256 * 1024, smallMessage: 128 * 1024 });
  const large = new DataReader({ maxMessageSize: 10_000_000, maxHeaderSize: 262144, budget });
  assert.equal(large.begin(), true);
  assert.equal(large.push(Buffer.from('Subject: large\r\n\r\n')), undefined);
  const line = Buffer.from('x'.repeat(98) + '\r\n');
  const chunk = Buffer.concat(Array.from({ length: 655 }, () => line));
  let r;
  for (let i = 0; i < 40 && !r; i++) r = large.push(chunk);
  // The large message took what is not kept for small ones, then was refused and gave everything back.
  assert.equal(r, undefined);
  assert.equal(budget.used, 0);
  const small = new DataReader({ maxMessageSize: 10_000_000, maxHeaderSize: 262144, budget });
  assert.equal(small.begin(), true);
  const done = small.push(Buffer.from('Subject: small\r\n\r\nhello\r\n.\r\n'));
  assert.equal(done?.refusal, undefined);
  assert.ok(budget.used > 0);
  small.release();
  assert.equal(budget.used, 0);
  const end = large.push(Buffer.from('\r\n.\r\n'));
  assert.equal(end?.refusal, 'noMemory');
});

test('MessageMemoryBudget: large messages fill only their share; small ones keep the reserve; bodies for delivery wait their turn', async () => {
  const KiB = 1024;
  const budget = new MessageMemoryBudget({ limit: 1024 * KiB, reserve: 256 * KiB, smallMessage: 128 * KiB });
  // A large message (past 128 KiB) grows to 768 KiB and no further.
  let held = 0;
  while (budget.tryTake(64 * KiB, held)) held += 64 * KiB;
  assert.equal(held, 768 * KiB);
  // Small messages still find room, up to the whole budget.
  let small = 0;
  while (budget.tryTake(16 * KiB, 0)) small += 16 * KiB;
  assert.equal(small, 256 * KiB);
  budget.give(small);
  // A body for delivery waits while the large share is full, and gets it once given back.
  let got = false;
  const waiting = budget.take(100 * KiB).then((n) => (got = n === 100 * KiB));
  await new Promise((r) => setImmediate(r));
  assert.equal(got, false);
  // While it waits, a large message gets nothing more, a small one still does.
  assert.equal(budget.tryTake(64 * KiB, 0), true);
  budget.give(64 * KiB);
  assert.equal(budget.tryTake(64 * KiB, 256 * KiB), false);
  budget.give(held);
  await waiting;
  assert.equal(got, true);
  assert.equal(budget.used, 100 * KiB);
  // A body larger than the whole share is counted as the share, and goes when nothing large is held.
  budget.give(100 * KiB);
  assert.equal(await budget.take(10 * 1024 * KiB), 768 * KiB);
  budget.give(768 * KiB);
  assert.equal(budget.used, 0);
});

test('dotStuff: leading dots doubled, terminator added, CRLF completed', () => {
  assert.equal(dotStuff(Buffer.from('a\r\n')).toString(), 'a\r\n.\r\n');
  assert.equal(dotStuff(Buffer.from('.a\r\nb\r\n..c\r\n')).toString(), '..a\r\nb\r\n...c\r\n.\r\n');
  assert.equal(dotStuff(Buffer.from('no newline')).toString(), 'no newline\r\n.\r\n');
  const roundTrip = reader().push(dotStuff(Buffer.from('.x\r\n.\r\ny\r\n')));
  assert.equal(roundTrip && DataReader.concat(roundTrip).toString(), '.x\r\n.\r\ny\r\n');
});

test('dotStuffBlocks: byte-exact across block boundaries, no object per line', () => {
  // Dot lines placed so that stuffed dots fall on and around every 64 KiB block edge.
  for (const lead of [0, 1, 2, 3, 65533, 65534, 65535]) {
    const body = Buffer.from('y'.repeat(lead) + '\r\n' + '.\r\n..\r\nz\r\n'.repeat(40_000), 'latin1');
    const expected = Buffer.from('y'.repeat(lead) + '\r\n' + '..\r\n...\r\nz\r\n'.repeat(40_000) + '.\r\n', 'latin1');
    const blocks = [...dotStuffBlocks(body)];
    assert.ok(Buffer.concat(blocks).equals(expected), `lead ${lead}`);
    assert.ok(blocks.length <= Math.ceil(expected.length / 65535) + 2, `${blocks.length} blocks`);
    const back = new DataReader({ maxMessageSize: 10_000_000, maxHeaderSize: 10_000_000, maxLineLength: 100_000 }).push(Buffer.concat(blocks));
    assert.ok(back && DataReader.concat(back).equals(body), `round trip, lead ${lead}`);
  }
  // Without a line-start dot the body is sent as it is, not copied.
  const plain = Buffer.from('a\r\nb.c\r\n');
  assert.equal([...dotStuffBlocks(plain)][0], plain);
});

test('DotStuffer: a body read from the spool in chunks is stuffed exactly as the whole body, wherever the chunks are cut', () => {
  const bodies = ['.a\r\nb\r\n..c\r\n.\r\n', 'x\r\n.\r\n', 'no newline.', '.\r\n', '', 'a\r', 'a\r\n'];
  for (const text of bodies) {
    const body = Buffer.from(text, 'latin1');
    const whole = Buffer.concat([...dotStuffBlocks(body)]).toString('latin1');
    // Every way to cut it in two, and one byte at a time.
    const cuts = [...Array.from({ length: body.length + 1 }, (_, i) => [body.subarray(0, i), body.subarray(i)]), [...body].map((b) => Buffer.from([b]))];
    for (const chunks of cuts) {
      const stuffer = new DotStuffer();
      const out = [...chunks.flatMap((c) => [...stuffer.push(c)]), stuffer.end()];
      assert.equal(Buffer.concat(out).toString('latin1'), whole, `${JSON.stringify(text)} in ${chunks.length} chunks`);
    }
  }
  // A dot line cut after its CRLF: the dot that begins the next chunk is still at a line start.
  const stuffer = new DotStuffer();
  assert.equal(Buffer.concat([...stuffer.push(Buffer.from('a\r\n')), ...stuffer.push(Buffer.from('.b\r\n')), stuffer.end()]).toString(), 'a\r\n..b\r\n.\r\n');
});

test('headerSummary and headerSection read only the header part', () => {
  const msg = Buffer.from('Subject: hello\r\n world\r\nMessage-ID: <m1@x>\r\n\r\nSubject: not this\r\n');
  assert.deepEqual(headerSummary(msg), { subject: 'hello world', messageId: '<m1@x>', received: 0 });
  assert.equal(headerSummary(Buffer.from('Received: a\r\nReceived: b\r\n c\r\nX: y\r\n\r\nReceived: body\r\n')).received, 2);
  assert.equal(headerSection(msg).toString(), 'Subject: hello\r\n world\r\nMessage-ID: <m1@x>\r\n');
  // Content that starts with its blank line has no header section; what follows is body, even a 'Received:' line.
  const headerless = Buffer.from('\r\nReceived: a\r\nSubject: body\r\n\r\nmore\r\n');
  assert.deepEqual(headerSummary(headerless), { received: 0 });
  assert.equal(headerSection(headerless).length, 0);
});

test('DSN: RFC 3464 multipart/report with per-recipient status from the reply', () => {
  const dsn = buildDsn({
    kind: 'failed',
    reportingMta: 'ex01.contoso.com',
    originalFrom: 'alice@contoso.com',
    originalSubject: 'Quarterly',
    arrivalDate: new Date('2026-01-01T10:00:00Z'),
    recipients: [
      { recipient: 'bob@fabrikam.com', reply: '550 5.1.1 User unknown' },
      { recipient: 'carol@fabrikam.com', reply: 'something odd' },
    ],
    originalHeaders: Buffer.from('Subject: Quarterly\r\n'),
    now: new Date('2026-01-01T10:05:00Z'),
  }).toString();
  const boundary = /boundary="([^"]+)"/.exec(dsn)![1];
  assert.match(dsn, /^From: Microsoft Outlook <MAILER-DAEMON@ex01\.contoso\.com>\r\nTo: <alice@contoso\.com>\r\nSubject: Undeliverable: Quarterly\r\n/);
  assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status;/);
  assert.match(dsn, /Reporting-MTA: dns;ex01\.contoso\.com\r\nArrival-Date: Thu, 01 Jan 2026 10:00:00 \+0000\r\n\r\nFinal-Recipient: rfc822;bob@fabrikam\.com\r\nAction: failed\r\nStatus: 5\.1\.1\r\nDiagnostic-Code: smtp;550 5\.1\.1 User unknown/);
  assert.match(dsn, /Final-Recipient: rfc822;carol@fabrikam\.com\r\nAction: failed\r\nStatus: 5\.0\.0/);
  assert.match(dsn, new RegExp(`--${boundary}\\r\\nContent-Type: text/rfc822-headers\\r\\n\\r\\nSubject: Quarterly\\r\\n\\r\\n--${boundary}--\\r\\n$`));
  assert.equal(dsn.split(`--${boundary}\r\n`).length, 4, 'three parts');
});

test('DomainValidation: TlsDomain exact or wildcard against SANs and CN', () => {
  const cert = { subject: { CN: 'mx.fabrikam.com' }, subjectaltname: 'DNS:mx.fabrikam.com, DNS:*.mail.protection.outlook.com' } as never;
  assert.equal(domainMismatch(cert, 'mx.fabrikam.com', 'C'), undefined);
  assert.equal(domainMismatch(cert, 'contoso-com.mail.protection.outlook.com', 'C'), undefined);
  assert.equal(domainMismatch(cert, '*.mail.protection.outlook.com', 'C'), undefined);
  assert.match(domainMismatch(cert, 'mail.contoso.com', 'C')!, /^454 4\.7\.5 The remote certificate does not match the TLS domain mail\.contoso\.com/);
});

test('DataReader: after a refusal, the rest of the message is skipped to the same terminator at every chunking, and what follows is handed back', () => {
  // Refused at once (bare LF), then stuffed-dot lines that are not terminators, a smuggling attempt, and the real end.
  const stream = 'bad\nline\r\n..\r\n.x\r\n\r\n..\r\nnot.\r\nend\r\n.\r\nNEXT COMMAND\r\n';
  const wholeEnd = stream.indexOf('\r\n.\r\n') + 5;
  for (let a = 1; a < stream.length; a++) {
    for (let b = a; b < stream.length; b += 3) {
      const r = feed(reader(100_000), [stream.slice(0, a), stream.slice(a, b), stream.slice(b)].filter((c) => c.length > 0));
      assert.ok(r, `cut at ${a},${b}`);
      assert.equal(r.refusal, 'bareLf', `cut at ${a},${b}`);
      assert.equal(r.rest.toString('latin1'), stream.slice(wholeEnd), `cut at ${a},${b}`);
    }
  }
  // A refusal right before the terminator, and the terminator as the very next bytes of a new chunk.
  assert.equal(feed(reader(100_000), ['x\ry\r\n', '.\r\n', 'Q'])?.rest.toString(), 'Q');
  assert.equal(feed(reader(100_000), ['x\ry\r', '\n.\r\nQ'])?.rest.toString(), 'Q');
  // After a bare LF a dot does not start a line: LF.CRLF is no terminator, here or anywhere.
  assert.equal(feed(reader(100_000), ['x\n', '.\r\n', 'Q']), undefined);
});
