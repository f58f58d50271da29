// DATA framing both ways, DSN format, and the TLS domain check, on bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn, headerSection } from '../../src/transport/delivery/dsn.js';
import { DataReader } from '../../src/transport/inbound/data-reader.js';
import { headerSummary } from '../../src/transport/inbound/smtp-session.js';
import { dotStuff } from '../../src/transport/outbound/smtp-client.js';
import { domainMismatch } from '../../src/transport/outbound/tls-policy.js';

/** Feeds chunks until the end of data; `rest` then also holds the chunks not fed. */
function feed(reader: DataReader, chunks: string[]) {
  for (let i = 0; i < chunks.length; i++) {
    const r = reader.push(Buffer.from(chunks[i], 'latin1'));
    if (r) return { ...r, body: DataReader.concat(r), rest: Buffer.concat([r.rest, Buffer.from(chunks.slice(i + 1).join(''), 'latin1')]) };
  }
  return undefined;
}

test('DataReader: unstuffs dots, ends only at CRLF.CRLF across any chunking, hands back what follows', () => {
  const wire = 'Subject: x\r\n\r\n..dot line\r\n.\r\nQUIT\r\n';
  for (let split = 1; split < wire.length; split++) {
    const r = feed(new DataReader(1000), [wire.slice(0, split), wire.slice(split)]);
    assert.ok(r, `split at ${split}`);
    assert.equal(r.body.toString(), 'Subject: x\r\n\r\n.dot line\r\n');
    assert.equal(r.rest.toString(), 'QUIT\r\n');
    assert.equal(r.bareLf, false);
  }
});

test('DataReader: every way of cutting dot lines into chunks gives the same result', () => {
  const wire = 'a\r\n..\r\n.a\r\nb.\r\n.\r\r\nx\r\n.\r\nNEXT';
  const expected = 'a\r\n.\r\na\r\nb.\r\n\r\r\nx\r\n';
  for (let a = 0; a <= wire.length; a++) {
    for (let b = a; b <= wire.length; b++) {
      const r = feed(new DataReader(1000), [wire.slice(0, a), wire.slice(a, b), wire.slice(b)]);
      assert.ok(r, `cut at ${a},${b}`);
      assert.equal(r.body.toString(), expected, `cut at ${a},${b}`);
      assert.equal(r.rest.toString(), 'NEXT');
      assert.equal(r.bareLf, false);
    }
  }
  const bytes = feed(new DataReader(1000), [...wire]);
  assert.equal(bytes?.body.toString(), expected);
  const bare = 'a\nb\r\n.\r\n';
  for (let a = 0; a <= bare.length; a++) assert.equal(feed(new DataReader(1000), [bare.slice(0, a), bare.slice(a)])?.bareLf, true, `bare LF cut at ${a}`);
});

test('DataReader: bare LF is noticed and LF.LF does not end the data; oversize is counted but not kept', () => {
  const r = feed(new DataReader(1000), ['a\nb\n.\nc\r\n.\r\n']);
  assert.ok(r);
  assert.equal(r.bareLf, true);
  // The dot of `.\n` is unstuffed like any leading dot; the bare LFs reject the message anyway.
  assert.equal(r.body.toString(), 'a\nb\n\nc\r\n');
  const big = feed(new DataReader(10), ['0123456789abc\r\n', 'more\r\n.\r\n']);
  assert.ok(big);
  assert.equal(big.tooBig, true);
  assert.equal(big.body.length, 0);
  assert.equal(big.size, 21);
  // A line without end does not grow memory without bound, and is still counted.
  const reader = new DataReader(1_000_000);
  for (let i = 0; i < 20; i++) assert.equal(reader.push(Buffer.alloc(10_000, 0x41)), undefined);
  const end = reader.push(Buffer.from('\r\n.\r\n'));
  assert.ok(end);
  assert.equal(end.size, 200_002);
  assert.equal(DataReader.concat(end).length, 200_002);
});

test('dotStuff: leading dots doubled, terminator added, CRLF completed', () => {
  assert.equal(dotStuff(Buffer.from('a\r\n')).toString(), 'a\r\n.\r\n');
  assert.equal(dotStuff(Buffer.from('.a\r\nb\r\n..c\r\n')).toString(), '..a\r\nb\r\n...c\r\n.\r\n');
  assert.equal(dotStuff(Buffer.from('no newline')).toString(), 'no newline\r\n.\r\n');
  const roundTrip = new DataReader(1000).push(dotStuff(Buffer.from('.x\r\n.\r\ny\r\n')));
  assert.equal(roundTrip && DataReader.concat(roundTrip).toString(), '.x\r\n.\r\ny\r\n');
});

test('headerSummary and headerSection read only the header part', () => {
  const msg = Buffer.from('Subject: hello\r\n world\r\nMessage-ID: <m1@x>\r\n\r\nSubject: not this\r\n');
  assert.deepEqual(headerSummary(msg), { subject: 'hello world', messageId: '<m1@x>' });
  assert.equal(headerSection(msg).toString(), 'Subject: hello\r\n world\r\nMessage-ID: <m1@x>\r\n');
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
