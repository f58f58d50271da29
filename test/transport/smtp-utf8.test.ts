// SMTPUTF8 (RFC 6531) end to end: a UTF-8 address reaches the next hop as the
// very bytes the client sent, with SMTPUTF8 passed on; without SMTPUTF8 it is
// refused; a next hop that does not offer SMTPUTF8 gets nothing, and the
// sender gets a 5.6.7 NDR. Plus the refusals of bad addresses and parameters
// on a real session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fromMetadataDoc, toMetadataDoc } from '../../src/transport/queue/metadata.js';
import { MailQueueStore } from '../../src/transport/queue/index.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { startRawNextHop, type RawNextHop } from '../support/raw-next-hop.js';
import { freePort } from '../support/smtp-tools.js';
import { RawSmtp, startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

async function withHop(extensions: string[], run: (s: TestServer, hop: RawNextHop) => Promise<void>): Promise<void> {
  const hop = await startRawNextHop({ extensions });
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false });
    // These sessions make many refused commands on purpose; MaxProtocolErrors is tested elsewhere.
    await s.api.ok('Set-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01', MaxProtocolErrors: 'unlimited' });
    await s.transport.reload();
    await run(s, hop);
  } finally {
    await s.close();
    await hop.stop();
  }
}

/** Sends one line as these exact bytes and returns the reply. */
async function send(c: RawSmtp, line: string | Buffer): Promise<string | undefined> {
  c.write(Buffer.concat([typeof line === 'string' ? Buffer.from(line, 'utf8') : line, Buffer.from('\r\n')]));
  return c.reply();
}

async function session(port: number): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  assert.match((await c.reply())!, /^220 /);
  assert.match((await c.command('EHLO client.test'))!, /\r\n250-8BITMIME\r\n250 SMTPUTF8$/);
  return c;
}

async function sendMessage(c: RawSmtp, mail: string, rcpts: string[], subject: string): Promise<void> {
  assert.equal(await send(c, mail), '250 2.1.0 Sender OK');
  for (const r of rcpts) assert.equal(await send(c, r), '250 2.1.5 Recipient OK');
  assert.match((await c.command('DATA'))!, /^354 /);
  assert.match((await send(c, `Subject: ${subject}\r\n\r\nhello\r\n.`))!, /^250 2\.6\.0 /);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

test('SMTPUTF8: UTF-8 sender and recipients reach the next hop byte for byte, with SMTPUTF8 on MAIL FROM', { timeout: 60_000 }, async () => {
  await withHop(['PIPELINING', '8BITMIME', 'SMTPUTF8'], async (s, hop) => {
    const c = await session(s.smtpPort);
    try {
      await sendMessage(c, 'MAIL FROM:<ålice@contoso.com> SMTPUTF8 BODY=8BITMIME', ['RCPT TO:<üser@fabrikam.com>', 'RCPT TO:<"ü x"@bücher.example>', 'RCPT TO:<用户@例子.广告>'], 'utf8 envelope');
    } finally {
      c.close();
    }
    const [msg] = await waitFor('the message at the next hop', async () => hop.messages.length > 0 && hop.messages);
    const [mail, ...rcpts] = msg.commands;
    // The next hop offers no SIZE, so SMTPUTF8 is the only parameter; BODY= is not passed on.
    assert.deepEqual(mail, utf8('MAIL FROM:<ålice@contoso.com> SMTPUTF8'));
    assert.deepEqual(rcpts, [utf8('RCPT TO:<üser@fabrikam.com>'), utf8('RCPT TO:<"ü x"@bücher.example>'), utf8('RCPT TO:<用户@例子.广告>')]);
    // ü is C3 BC; the latin1 round trip would have made it C3 83 C2 BC.
    assert.ok(rcpts[0].includes(Buffer.from([0x3c, 0xc3, 0xbc, 0x73])));
    assert.ok(!hop.commands.some((l) => l.includes(Buffer.from([0xc3, 0x83]))));
    assert.match(msg.data.toString('utf8'), /Subject: utf8 envelope/);
  });
});

test('SMTPUTF8: non-ASCII addresses without the SMTPUTF8 parameter get 553 5.6.7; invalid UTF-8 is refused either way', { timeout: 60_000 }, async () => {
  await withHop(['SMTPUTF8'], async (s, hop) => {
    const c = await session(s.smtpPort);
    try {
      assert.equal(await send(c, 'MAIL FROM:<ålice@contoso.com>'), '553 5.6.7 Non-ASCII sender address not permitted without the SMTPUTF8 parameter on MAIL FROM');
      assert.equal(await send(c, 'MAIL FROM:<alice@contoso.com>'), '250 2.1.0 Sender OK');
      assert.equal(await send(c, 'RCPT TO:<üser@fabrikam.com>'), '553 5.6.7 Non-ASCII recipient address not permitted without the SMTPUTF8 parameter on MAIL FROM');
      assert.equal(await send(c, 'RCPT TO:<user@bücher.example>'), '553 5.6.7 Non-ASCII recipient address not permitted without the SMTPUTF8 parameter on MAIL FROM');
      // Latin-1 ü (FC) is not UTF-8.
      assert.equal(await send(c, Buffer.concat([utf8('RCPT TO:<'), Buffer.from([0xfc]), utf8('ser@fabrikam.com>')])), '553 5.6.7 Non-ASCII recipient address not permitted without the SMTPUTF8 parameter on MAIL FROM');
      assert.equal(await send(c, 'RSET'), '250 2.0.0 Resetting');
      assert.equal(await send(c, 'MAIL FROM:<alice@contoso.com> SMTPUTF8'), '250 2.1.0 Sender OK');
      assert.equal(await send(c, Buffer.concat([utf8('RCPT TO:<'), Buffer.from([0xfc]), utf8('ser@fabrikam.com>')])), '501 5.1.3 Invalid address: not valid UTF-8');
      // An overlong encoding of "/" and a lone continuation byte.
      assert.equal(await send(c, Buffer.concat([utf8('RCPT TO:<a'), Buffer.from([0xc0, 0xaf]), utf8('@fabrikam.com>')])), '501 5.1.3 Invalid address: not valid UTF-8');
      assert.equal(await send(c, Buffer.concat([utf8('RCPT TO:<a'), Buffer.from([0x80]), utf8('@fabrikam.com>')])), '501 5.1.3 Invalid address: not valid UTF-8');
      assert.equal(await send(c, 'RCPT TO:<üser@fabrikam.com>'), '250 2.1.5 Recipient OK');
      // After RSET a new transaction without SMTPUTF8 refuses it again.
      assert.equal(await send(c, 'RSET'), '250 2.0.0 Resetting');
      assert.equal(await send(c, 'MAIL FROM:<alice@contoso.com>'), '250 2.1.0 Sender OK');
      assert.match((await send(c, 'RCPT TO:<üser@fabrikam.com>'))!, /^553 5\.6\.7 /);
    } finally {
      c.close();
    }
    assert.deepEqual(hop.commands, [], 'nothing was relayed');
    assert.equal((await s.api.ok('Get-Message', {})).length, 0, 'nothing was queued');
  });
});

test('SMTPUTF8: a next hop without SMTPUTF8 gets nothing of a message that needs it; the sender gets a 5.6.7 NDR; all-ASCII mail goes on without the parameter', { timeout: 90_000 }, async () => {
  await withHop(['PIPELINING', '8BITMIME'], async (s, hop) => {
    const c = await session(s.smtpPort);
    try {
      await sendMessage(c, 'MAIL FROM:<alice@contoso.com> SMTPUTF8', ['RCPT TO:<üser@fabrikam.com>'], 'needs utf8');
      // Asked for SMTPUTF8, but nothing in envelope or headers needs it.
      await sendMessage(c, 'MAIL FROM:<alice@contoso.com> SMTPUTF8', ['RCPT TO:<bob@fabrikam.com>'], 'ascii after all');
    } finally {
      c.close();
    }
    const msgs = await waitFor('the ASCII message and the NDR at the next hop', async () => hop.messages.length >= 2 && hop.messages);
    assert.equal(msgs.length, 2);
    const ascii = msgs.find((m) => m.data.includes('Subject: ascii after all'));
    assert.ok(ascii, 'the all-ASCII message was delivered');
    assert.deepEqual(ascii.commands.map((l) => l.toString('latin1').replace(/ SIZE=\d+/, '')), ['MAIL FROM:<alice@contoso.com>', 'RCPT TO:<bob@fabrikam.com>']);
    const ndr = msgs.find((m) => m.data.includes('Subject: Undeliverable: needs utf8'));
    assert.ok(ndr, 'the sender got an NDR');
    assert.deepEqual(ndr.commands.map((l) => l.toString('latin1').replace(/ SIZE=\d+/, '')), ['MAIL FROM:<>', 'RCPT TO:<alice@contoso.com>']);
    const text = ndr.data.toString('utf8');
    assert.match(text, /Final-Recipient: rfc822;üser@fabrikam\.com\r\nAction: failed\r\nStatus: 5\.6\.7\r\n/);
    assert.match(text, /Diagnostic-Code: smtp;550 5\.6\.7 127\.0\.0\.1 does not offer SMTPUTF8/);
    // Never a re-encoded or downgraded form of the address.
    assert.ok(!hop.commands.some((l) => l.includes('ser@fabrikam.com')), hop.commands.map(String).join('\n'));
    await waitFor('an empty queue', async () => (await s.api.ok('Get-Message', {})).length === 0);
  });
});

test('bad addresses and parameters on a real session: NUL and control characters, RFC 5321 limits, BODY=, unknown parameters', { timeout: 60_000 }, async () => {
  await withHop([], async (s, hop) => {
    // Each refusal in a session of its own: ten protocol errors end a session.
    const refusals: Array<[string, string]> = [
      ['MAIL FROM:<ali\0ce@contoso.com>', '501 5.1.7 Invalid address: NUL or control characters are not allowed'],
      ['MAIL FROM:<alice@contoso.com> BODY=BOGUS', '501 5.5.4 Invalid BODY parameter: BOGUS is not 7BIT or 8BITMIME'],
      ['MAIL FROM:<alice@contoso.com> FOO=BAR', '501 5.5.4 Unrecognized parameter FOO'],
      [`MAIL FROM:<${'a'.repeat(65)}@contoso.com>`, '501 5.1.7 Invalid address: the local part is longer than 64 octets'],
      ['RCPT TO:<bob\x01@fabrikam.com>', '501 5.1.3 Invalid address: NUL or control characters are not allowed'],
      ['RCPT TO:<bob@fabrikam.com\x7f>', '501 5.1.3 Invalid address: NUL or control characters are not allowed'],
      [`RCPT TO:<${'b'.repeat(310)}@fabrikam.com>`, '501 5.1.3 Invalid address: the local part is longer than 64 octets'],
      [`RCPT TO:<b@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.com>`, '501 5.1.3 Invalid address: the domain is longer than 255 octets'],
      [`RCPT TO:<${'b'.repeat(64)}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(62)}>`, '501 5.1.3 Invalid address: the path is longer than 256 octets'],
      ['RCPT TO:<bob@fabrikam.com> FOO', '501 5.5.4 Unrecognized parameter FOO'],
      ['RCPT TO:<bob@fabrikam.com> NOTIFY=SOMETIMES', '501 5.5.4 Invalid NOTIFY parameter: not NEVER or a list of SUCCESS, FAILURE, DELAY'],
      // 1,013 octets with CRLF, one more than the 512 of RFC 5321 and the 500 that NOTIFY and ORCPT add.
      [`RCPT TO:<bob@fabrikam.com> NOTIFY=FAILURE ORCPT=rfc822;${'o'.repeat(956)}`, '500 5.5.2 Line too long'],
      [`NOOP ${'x'.repeat(507)}`, '500 5.5.2 Line too long'],
    ];
    for (const [line, reply] of refusals) {
      const c = await session(s.smtpPort);
      try {
        if (line.startsWith('RCPT')) assert.equal(await send(c, 'MAIL FROM:<alice@contoso.com>'), '250 2.1.0 Sender OK');
        assert.equal(await send(c, line), reply, line.slice(0, 80));
      } finally {
        c.close();
      }
    }
    const c = await session(s.smtpPort);
    try {
      const accepted: Array<[string, string]> = [
        ['MAIL FROM:<alice@contoso.com> BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef', '250 2.1.0 Sender OK'],
        [`RCPT TO:<bob@fabrikam.com> NOTIFY=FAILURE ORCPT=rfc822;${'o'.repeat(450)}`, '250 2.1.5 Recipient OK'],
        ['RCPT TO:<"quoted local"@[127.0.0.1]>', '250 2.1.5 Recipient OK'],
        ['RCPT TO:<@relay.example:carol@fabrikam.com>', '250 2.1.5 Recipient OK'],
        [`NOOP ${'x'.repeat(505)}`, '250 2.0.0 OK'],
      ];
      for (const [line, reply] of accepted) assert.equal(await send(c, line), reply, line.slice(0, 80));
      assert.match((await c.command('DATA'))!, /^354 /);
      assert.match((await send(c, 'Subject: limits\r\n\r\nok\r\n.'))!, /^250 2\.6\.0 /);
    } finally {
      c.close();
    }
    const [msg] = await waitFor('the message at the next hop', async () => hop.messages.length > 0 && hop.messages);
    // The source route is dropped; the quoted local part and the address literal are passed on as written.
    assert.deepEqual(
      msg.commands.slice(1).map((l) => l.toString('latin1')),
      ['RCPT TO:<bob@fabrikam.com>', 'RCPT TO:<"quoted local"@[127.0.0.1]>', 'RCPT TO:<carol@fabrikam.com>'],
    );
  });
});

test('the queue keeps the SMTPUTF8 mark across a restart; metadata written before the mark existed reads as without it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-utf8-queue-'));
  try {
    let q = await MailQueueStore.open(dir);
    const marked = await q.enqueue({ from: 'ålice@contoso.com', recipients: ['üser@fabrikam.com'], body: Buffer.from('Subject: x\r\n\r\nx\r\n'), smtpUtf8: true });
    const plain = await q.enqueue({ from: 'alice@contoso.com', recipients: ['bob@fabrikam.com'], body: Buffer.from('Subject: y\r\n\r\ny\r\n') });
    await q.close();
    q = await MailQueueStore.open(dir);
    try {
      assert.equal(q.get(marked.id)?.smtpUtf8, true);
      assert.equal(q.get(marked.id)?.from, 'ålice@contoso.com');
      assert.deepEqual(q.get(marked.id)?.recipients, ['üser@fabrikam.com']);
      assert.equal('smtpUtf8' in q.get(plain.id)!, false);
    } finally {
      await q.close();
    }
    const old = toMetadataDoc(plain) as Record<string, unknown>;
    assert.equal('smtpUtf8' in JSON.parse(JSON.stringify(old)), false, 'not written when false');
    assert.equal(fromMetadataDoc(old).smtpUtf8, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SMTPUTF8 with a real Postfix next hop: the UTF-8 envelope arrives as sent', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const pf = await startPostfixNextHop({ port });
  const s = await startTestServer();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false });
    await s.transport.reload();
    const c = await session(s.smtpPort);
    try {
      await sendMessage(c, 'MAIL FROM:<ålice@contoso.com> SMTPUTF8', ['RCPT TO:<üser@fabrikam.com>'], 'to postfix');
    } finally {
      c.close();
    }
    const [msg] = await pf.waitForMessages(1, 30_000);
    assert.equal(msg.from, 'ålice@contoso.com');
    assert.deepEqual(msg.to, ['üser@fabrikam.com']);
    // Its queue manager logged the sender as sent, not re-encoded.
    assert.ok((await pf.logLines()).some((l) => /postfix\/qmgr.*from=<ålice@contoso\.com>/.test(l)));
  } finally {
    await s.close();
    await pf.stop();
  }
});
