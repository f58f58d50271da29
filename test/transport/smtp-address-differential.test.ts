// Differential check: the same MAIL/RCPT sequences to Postfix's smtpd (a
// private instance, test/support/postfix.ts, Postfix defaults with
// smtputf8_enable = yes) and to Interchange, each case in a fresh session.
// The table holds both answers; where the reply codes differ, the last
// column says why Interchange's is the better one (the test insists on a
// reason wherever they differ, and on none where they agree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort } from '../support/smtp-tools.js';
import { RawSmtp, startTestServer } from '../support/transport-harness.js';

const u = (s: string): Buffer => Buffer.from(s, 'utf8');
const MAIL = 'MAIL FROM:<alice@contoso.com>';
const d63 = 'd'.repeat(63);

const UNDECLARED_UTF8 =
  'RFC 6531 allows a non-ASCII address only in a transaction whose MAIL declared SMTPUTF8. Postfix accepts it anyway (for mail flows older than SMTPUTF8) and then relays it, undeclared, to next hops that never agreed to UTF-8: the corruption issue 9 found. Refused at the edge, the sender learns it now and can retry with SMTPUTF8';
const CONTROL = "RFC 5321's Mailbox grammar has no control characters (atext and qtextSMTP exclude them); Postfix forwards one to the next hop and to delivery agents, where it can break log lines, pipe scripts and headers";
const LIMIT =
  'RFC 5321 §4.5.3.1 sets the sizes every server must accept and lets a server refuse beyond them. Postfix accepts and takes responsibility for an address its next hops may refuse (Exchange and most MTAs enforce 64/256), so the sender gets an NDR later instead of a clear reply now';
const EXCHANGE_CLASS =
  "Both refuse permanently with 5.5.4. 501 (syntax error in parameters) is the reply class Exchange uses for bad MAIL/RCPT arguments, which clients and scripts written against Exchange expect; RFC 5321 §4.1.1.11 allows it as well as 555, and our text names the parameter";

type Case = {
  name: string;
  /** Sent after EHLO; the last line's reply is compared. */
  lines: Array<string | Buffer>;
  interchange: string;
  /** Postfix's reply code and enhanced status. */
  postfix: string;
  why?: string;
};

const cases: Case[] = [
  { name: 'UTF-8 recipient with SMTPUTF8', lines: [`${MAIL} SMTPUTF8`, 'RCPT TO:<üser@fabrikam.com>'], interchange: '250 2.1.5 Recipient OK', postfix: '250 2.1.5' },
  {
    name: 'UTF-8 recipient without SMTPUTF8',
    lines: [MAIL, 'RCPT TO:<üser@fabrikam.com>'],
    interchange: '553 5.6.7 Non-ASCII recipient address not permitted without the SMTPUTF8 parameter on MAIL FROM',
    postfix: '250 2.1.5',
    why: UNDECLARED_UTF8,
  },
  {
    name: 'UTF-8 sender without SMTPUTF8',
    lines: ['MAIL FROM:<ålice@contoso.com>'],
    interchange: '553 5.6.7 Non-ASCII sender address not permitted without the SMTPUTF8 parameter on MAIL FROM',
    postfix: '250 2.1.0',
    why: UNDECLARED_UTF8,
  },
  {
    name: 'invalid UTF-8 (Latin-1 ü) with SMTPUTF8',
    lines: [`${MAIL} SMTPUTF8`, Buffer.concat([u('RCPT TO:<'), Buffer.from([0xfc]), u('ser@fabrikam.com>')])],
    interchange: '501 5.1.3 Invalid address: not valid UTF-8',
    postfix: '500 5.5.2',
    why: 'Both refuse. 501 5.1.3 (bad destination mailbox syntax) points at the address, which is what is wrong; 500 5.5.2 says the command itself was not understood',
  },
  { name: 'NUL in a recipient', lines: [MAIL, 'RCPT TO:<bo\0b@fabrikam.com>'], interchange: '501 5.1.3 Invalid address: NUL or control characters are not allowed', postfix: '501 5.1.3' },
  { name: 'NUL in the sender', lines: ['MAIL FROM:<ali\0ce@contoso.com>'], interchange: '501 5.1.7 Invalid address: NUL or control characters are not allowed', postfix: '501 5.1.7' },
  { name: 'control character (0x01) in a recipient', lines: [MAIL, 'RCPT TO:<bo\x01b@fabrikam.com>'], interchange: '501 5.1.3 Invalid address: NUL or control characters are not allowed', postfix: '250 2.1.5', why: CONTROL },
  { name: 'local part of 65 octets', lines: [MAIL, `RCPT TO:<${'b'.repeat(65)}@fabrikam.com>`], interchange: '501 5.1.3 Invalid address: the local part is longer than 64 octets', postfix: '250 2.1.5', why: LIMIT },
  { name: 'local part of 310 octets', lines: [MAIL, `RCPT TO:<${'b'.repeat(310)}@fabrikam.com>`], interchange: '501 5.1.3 Invalid address: the local part is longer than 64 octets', postfix: '250 2.1.5', why: LIMIT },
  { name: 'domain of 256 octets', lines: [MAIL, `RCPT TO:<b@${d63}.${d63}.${d63}.${d63}.com>`], interchange: '501 5.1.3 Invalid address: the domain is longer than 255 octets', postfix: '501 5.1.3' },
  { name: 'path of 257 octets', lines: [MAIL, `RCPT TO:<${'b'.repeat(64)}@${d63}.${d63}.${'d'.repeat(62)}>`], interchange: '501 5.1.3 Invalid address: the path is longer than 256 octets', postfix: '250 2.1.5', why: LIMIT },
  {
    name: 'command line of 513 octets',
    lines: [`NOOP ${'x'.repeat(506)}`],
    interchange: '500 5.5.2 Line too long',
    postfix: '250 2.0.0',
    why: 'RFC 5321 §4.5.3.1.4 limits a command line to 512 octets. Postfix reads up to its line_length_limit (2048) and cuts longer lines without a word, so what it executes is not what was sent; a refusal is unambiguous',
  },
  { name: 'command line of 2106 octets', lines: [`NOOP ${'x'.repeat(2100)}`], interchange: '500 5.5.2 Line too long', postfix: '250 2.0.0', why: 'As above: Postfix executes the first 2048 octets of the line' },
  { name: 'BODY=BOGUS', lines: [`${MAIL} BODY=BOGUS`], interchange: '501 5.5.4 Invalid BODY parameter: BOGUS is not 7BIT or 8BITMIME', postfix: '555 5.5.4', why: `${EXCHANGE_CLASS}. Here the parameter is known and its value wrong, which is 501's meaning, not 555's "not recognized"` },
  { name: 'BODY=8BITMIME', lines: [`${MAIL} BODY=8BITMIME`], interchange: '250 2.1.0 Sender OK', postfix: '250 2.1.0' },
  { name: 'unknown MAIL parameter', lines: [`${MAIL} FOO=BAR`], interchange: '501 5.5.4 Unrecognized parameter FOO', postfix: '555 5.5.4', why: EXCHANGE_CLASS },
  { name: 'unknown RCPT parameter', lines: [MAIL, 'RCPT TO:<bob@fabrikam.com> FOO=BAR'], interchange: '501 5.5.4 Unrecognized parameter FOO', postfix: '555 5.5.4', why: EXCHANGE_CLASS },
  { name: 'SMTPUTF8 with a value', lines: [`${MAIL} SMTPUTF8=yes`], interchange: '501 5.5.4 Invalid SMTPUTF8 parameter: takes no value', postfix: '555 5.5.4', why: EXCHANGE_CLASS },
  { name: 'SIZE twice', lines: [`${MAIL} SIZE=1 SIZE=2`], interchange: '501 5.5.4 Parameter SIZE given twice', postfix: '250 2.1.0', why: 'Which SIZE counts is a guess (Postfix takes the last); an ambiguous command is refused rather than guessed at' },
  { name: 'SIZE not a number', lines: [`${MAIL} SIZE=abc`], interchange: '501 5.5.4 Invalid SIZE parameter: not a number', postfix: '501 5.5.4' },
  { name: 'RET and ENVID', lines: [`${MAIL} RET=HDRS ENVID=abc`], interchange: '250 2.1.0 Sender OK', postfix: '250 2.1.0' },
  { name: 'RET=ALL', lines: [`${MAIL} RET=ALL`], interchange: '501 5.5.4 Invalid RET parameter: not FULL or HDRS', postfix: '501 5.5.4' },
  { name: 'NOTIFY=SOMETIMES', lines: [MAIL, 'RCPT TO:<bob@fabrikam.com> NOTIFY=SOMETIMES'], interchange: '501 5.5.4 Invalid NOTIFY parameter: not NEVER or a list of SUCCESS, FAILURE, DELAY', postfix: '501 5.5.4' },
  { name: 'NOTIFY and ORCPT', lines: [MAIL, 'RCPT TO:<bob@fabrikam.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@fabrikam.com'], interchange: '250 2.1.5 Recipient OK', postfix: '250 2.1.5' },
  { name: 'quoted local part', lines: [MAIL, 'RCPT TO:<"john doe"@fabrikam.com>'], interchange: '250 2.1.5 Recipient OK', postfix: '250 2.1.5' },
  { name: 'address literal', lines: [MAIL, 'RCPT TO:<bob@[192.0.2.1]>'], interchange: '250 2.1.5 Recipient OK', postfix: '250 2.1.5' },
  { name: 'source route', lines: [MAIL, 'RCPT TO:<@relay.example:bob@fabrikam.com>'], interchange: '250 2.1.5 Recipient OK', postfix: '250 2.1.5' },
  { name: 'empty recipient', lines: [MAIL, 'RCPT TO:<>'], interchange: '501 5.1.3 Invalid address: a recipient cannot be empty', postfix: '501 5.1.3' },
  {
    name: 'recipient without a domain',
    lines: [MAIL, 'RCPT TO:<bob>'],
    interchange: '501 5.1.3 Invalid address',
    postfix: '250 2.1.5',
    why: 'Postfix appends its own domain to a bare local part; for a Receive connector facing other servers a recipient without a domain is not routable, and RFC 5321 excuses only <Postmaster> from having one',
  },
  { name: 'empty atom (bo..b)', lines: [MAIL, 'RCPT TO:<bo..b@fabrikam.com>'], interchange: '501 5.1.3 Invalid address', postfix: '250 2.1.5', why: "RFC 5321's Dot-string has no empty atoms; such an address is refused by strict next hops after we took responsibility for it" },
  {
    name: 'sender without angle brackets',
    lines: ['MAIL FROM:alice@contoso.com'],
    interchange: '501 5.5.4 Invalid arguments',
    postfix: '250 2.1.0',
    why: 'RFC 5321 §4.1.1.2 requires the path in angle brackets; Postfix accepts this (strict_rfc821_envelopes = no) for old clients, at the price of guessing where the address ends once parameters follow',
  },
];

/** `250 2.1.5` of `250 2.1.5 Ok`: the reply code and enhanced status. */
function status(reply: string | undefined): string {
  return /^\d{3}(?: \d\.\d{1,3}\.\d{1,3})?/.exec(reply ?? '')?.[0] ?? String(reply);
}

async function lastReply(port: number, lines: Array<string | Buffer>): Promise<string | undefined> {
  const c = await RawSmtp.connect(port);
  try {
    assert.match((await c.reply())!, /^220 /);
    assert.match((await c.command('EHLO client.test'))!, /^250[ -]/);
    let reply: string | undefined;
    for (const line of lines) {
      c.write(Buffer.concat([typeof line === 'string' ? u(line) : line, u('\r\n')]));
      reply = await c.reply();
    }
    return reply;
  } finally {
    c.close();
  }
}

test('differential: MAIL and RCPT arguments to Postfix smtpd and to Interchange, compared reply by reply', { timeout: 180_000 }, async () => {
  const pfPort = await freePort();
  const pf = await startPostfixNextHop({ port: pfPort });
  const s = await startTestServer();
  try {
    for (const c of cases) {
      const ours = await lastReply(s.smtpPort, c.lines);
      const theirs = await lastReply(pfPort, c.lines);
      assert.equal(ours, c.interchange, `Interchange, ${c.name}`);
      assert.equal(status(theirs), c.postfix, `Postfix, ${c.name}: ${theirs}`);
      const differ = status(ours).slice(0, 3) !== c.postfix.slice(0, 3);
      if (differ) assert.ok(c.why, `${c.name}: the codes differ (${status(ours)} / ${c.postfix}) and the table does not say why`);
      else assert.equal(c.why, undefined, `${c.name}: the codes agree; a reason is not needed`);
    }
    // Nothing of these sessions reached a queue on either side: no DATA was sent.
    assert.equal((await s.api.ok('Get-Message', {})).length, 0);
    assert.equal((await pf.receivedMessages()).length, 0);
  } finally {
    await s.close();
    await pf.stop();
  }
});
