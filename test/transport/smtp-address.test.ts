// The MAIL/RCPT argument parser, table by table: what RFC 5321 §4.1.2 and RFC 6531 allow, and what they do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMailArgument, parseMailParameters, parseRcptArgument, parseRcptParameters } from '../../src/transport/inbound/smtp-address.js';

const local64 = 'l'.repeat(64);
const domain255 = `${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(61)}.x`;

test('recipient paths: accepted, with the mailbox passed on as written', () => {
  const cases: Array<[string, string, boolean]> = [
    // argument, mailbox, non-ASCII
    ['TO:<bob@fabrikam.com>', 'bob@fabrikam.com', false],
    ['to:<Bob.Smith+tag@Fabrikam.COM>', 'Bob.Smith+tag@Fabrikam.COM', false],
    ['TO: <bob@fabrikam.com>', 'bob@fabrikam.com', false],
    ["TO:<!#$%&'*+-/=?^_`{|}~@x.y>", "!#$%&'*+-/=?^_`{|}~@x.y", false],
    ['TO:<"john doe"@fabrikam.com>', '"john doe"@fabrikam.com', false],
    ['TO:<"a\\"b@c>"@fabrikam.com>', '"a\\"b@c>"@fabrikam.com', false],
    ['TO:<""@x.y>', '""@x.y', false],
    ['TO:<bob@[192.0.2.1]>', 'bob@[192.0.2.1]', false],
    ['TO:<bob@[IPv6:2001:db8::1]>', 'bob@[IPv6:2001:db8::1]', false],
    ['TO:<bob@[IPv6:::ffff:192.0.2.1]>', 'bob@[IPv6:::ffff:192.0.2.1]', false],
    ['TO:<bob@[IPv6:1:2:3:4:5:6:7:8]>', 'bob@[IPv6:1:2:3:4:5:6:7:8]', false],
    ['TO:<bob@[x-tag:some.thing]>', 'bob@[x-tag:some.thing]', false],
    // A source route is accepted and dropped (RFC 5321 §4.1.1.3, Appendix C).
    ['TO:<@relay1.example,@relay2.example:bob@fabrikam.com>', 'bob@fabrikam.com', false],
    ['TO:<üser@fabrikam.com>', 'üser@fabrikam.com', true],
    ['TO:<用户@例子.广告>', '用户@例子.广告', true],
    ['TO:<"ü x"@fabrikam.com>', '"ü x"@fabrikam.com', true],
    [`TO:<${local64}@x.y>`, `${local64}@x.y`, false],
    // The longest domain a path can hold: 2 + 252 + 2 = 256 octets.
    [`TO:<l@${domain255.slice(3)}>`, `l@${domain255.slice(3)}`, false],
    ['TO:<bob@fabrikam.com> NOTIFY=NEVER', 'bob@fabrikam.com', false],
  ];
  for (const [arg, mailbox, nonAscii] of cases) {
    const r = parseRcptArgument(arg);
    assert.ok(r.ok, `${arg}: ${r.ok ? '' : r.reply}`);
    assert.equal(r.value.mailbox.address, mailbox, arg);
    assert.equal(r.value.mailbox.nonAscii, nonAscii, arg);
  }
});

test('recipient paths: refused, with the reply naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['TO:bob@fabrikam.com', /^501 5\.5\.4 Invalid arguments$/],
    ['FROM:<bob@fabrikam.com>', /^501 5\.5\.4 Invalid arguments$/],
    ['TO:<>', /^501 5\.1\.3 Invalid address: a recipient cannot be empty$/],
    ['TO:<bob>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fabrikam.com', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fabrikam.com>x', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<b ob@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<.bob@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob.@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bo..b@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@-fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fabrikam-.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fabrikam..com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fabrikam.com.>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@fab_rikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<"bob@fabrikam.com>', /^501 5\.1\.3 Invalid address: unterminated quoted local part$/],
    ['TO:<bob@[192.0.2.256]>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@[IPv6:2001:db8:::1]>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@[IPv6:1:2:3:4:5:6:7:8:9]>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob@[192.0.2.1>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<@relay.example bob@fabrikam.com>', /^501 5\.1\.3 Invalid address$/],
    ['TO:<bob\0@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<bob@fabrikam.com\0>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<bo\x01b@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<bo\x7fb@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<bo\u0085b@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<"bo\tb"@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<"bo\\\0b"@fabrikam.com>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    ['TO:<bob@[192.0.2.1\0]>', /^501 5\.1\.3 Invalid address: NUL or control characters are not allowed$/],
    [`TO:<${local64}l@x.y>`, /^501 5\.1\.3 Invalid address: the local part is longer than 64 octets$/],
    // 33 characters, 66 octets: the limit is in octets (RFC 6531 §3.3).
    [`TO:<${'ü'.repeat(33)}@x.y>`, /^501 5\.1\.3 Invalid address: the local part is longer than 64 octets$/],
    [`TO:<${'l'.repeat(310)}@x.y>`, /^501 5\.1\.3 Invalid address: the local part is longer than 64 octets$/],
    [`TO:<l@${domain255}x>`, /^501 5\.1\.3 Invalid address: the domain is longer than 255 octets$/],
    [`TO:<l@${'d'.repeat(64)}.x>`, /^501 5\.1\.3 Invalid address: a domain label is longer than 63 octets$/],
    // 64 + 1 + 190 + 2 = 257 octets, each part within its own limit.
    [`TO:<${local64}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(62)}>`, /^501 5\.1\.3 Invalid address: the path is longer than 256 octets$/],
    [`TO:<@${'r'.repeat(60)}.example:${local64}@${'d'.repeat(63)}.${'d'.repeat(63)}>`, /^501 5\.1\.3 Invalid address: the path is longer than 256 octets$/],
  ];
  for (const [arg, reply] of cases) {
    const r = parseRcptArgument(arg);
    assert.ok(!r.ok, `${JSON.stringify(arg)} was accepted`);
    assert.match(r.reply, reply, JSON.stringify(arg));
  }
  // Exactly at the path limit: 64 + 1 + 189 + 2 = 256 octets.
  assert.ok(parseRcptArgument(`TO:<${local64}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(61)}>`).ok);
});

test('reverse paths: the null sender, Exchange\'s 5.1.7 for a bad sender, parameters left for their own parser', () => {
  const nul = parseMailArgument('FROM:<> SIZE=10');
  assert.ok(nul.ok);
  assert.equal(nul.value.mailbox, undefined);
  assert.equal(nul.value.parameters, ' SIZE=10');
  const ok = parseMailArgument('FROM:<alice@contoso.com> BODY=8BITMIME SMTPUTF8');
  assert.ok(ok.ok);
  assert.equal(ok.value.mailbox?.address, 'alice@contoso.com');
  const bad = parseMailArgument('FROM:<alice\0@contoso.com>');
  assert.ok(!bad.ok);
  assert.equal(bad.reply, '501 5.1.7 Invalid address: NUL or control characters are not allowed');
  const long = parseMailArgument(`FROM:<${'a'.repeat(65)}@contoso.com>`);
  assert.ok(!long.ok);
  assert.equal(long.reply, '501 5.1.7 Invalid address: the local part is longer than 64 octets');
});

test('MAIL parameters: SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH; everything else refused', () => {
  const accepted: Array<[string, boolean, object]> = [
    ['', false, { smtpUtf8: false }],
    [' SIZE=1000', false, { smtpUtf8: false, size: 1000 }],
    [' size=0  body=8bitmime', false, { smtpUtf8: false, size: 0, body: '8BITMIME' }],
    [' BODY=7BIT', false, { smtpUtf8: false, body: '7BIT' }],
    [' SMTPUTF8', false, { smtpUtf8: true }],
    [' RET=HDRS ENVID=QQ314159+2B+3Dx', false, { smtpUtf8: false, ret: 'HDRS', envid: 'QQ314159+2B+3Dx' }],
    [' AUTH=<>', true, { smtpUtf8: false }],
    [' AUTH=alice+40contoso.com', true, { smtpUtf8: false }],
  ];
  for (const [text, authOffered, value] of accepted) {
    const r = parseMailParameters(text, { authOffered });
    assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reply}`);
    assert.deepEqual(r.value, value, text);
  }
  const refused: Array<[string, boolean, string]> = [
    [' BODY=BOGUS', false, '501 5.5.4 Invalid BODY parameter: BOGUS is not 7BIT or 8BITMIME'],
    [' BODY=BINARYMIME', false, '501 5.5.4 Invalid BODY parameter: BINARYMIME is not 7BIT or 8BITMIME'],
    [' BODY', false, '501 5.5.4 Invalid BODY parameter:  is not 7BIT or 8BITMIME'],
    [' FOO=BAR', false, '501 5.5.4 Unrecognized parameter FOO'],
    [' X-ANYTHING', false, '501 5.5.4 Unrecognized parameter X-ANYTHING'],
    [' SIZE=abc', false, '501 5.5.4 Invalid SIZE parameter: not a number'],
    [' SIZE=123456789012345678901', false, '501 5.5.4 Invalid SIZE parameter: not a number'],
    [' SIZE=1 SIZE=2', false, '501 5.5.4 Parameter SIZE given twice'],
    [' SMTPUTF8=yes', false, '501 5.5.4 Invalid SMTPUTF8 parameter: takes no value'],
    [' RET=ALL', false, '501 5.5.4 Invalid RET parameter: not FULL or HDRS'],
    [' ENVID=a+2b', false, '501 5.5.4 Invalid ENVID parameter: not xtext of at most 100 characters'],
    [` ENVID=${'e'.repeat(101)}`, false, '501 5.5.4 Invalid ENVID parameter: not xtext of at most 100 characters'],
    [' AUTH=<>', false, '501 5.5.4 Unrecognized parameter AUTH'],
    [' SIZE=1\0', false, '501 5.5.4 Invalid arguments'],
    [' =1', false, '501 5.5.4 Invalid arguments'],
    [' SIZE=1=2', false, '501 5.5.4 Invalid arguments'],
  ];
  for (const [text, authOffered, reply] of refused) {
    const r = parseMailParameters(text, { authOffered });
    assert.ok(!r.ok, `${JSON.stringify(text)} was accepted`);
    assert.equal(r.reply, reply, JSON.stringify(text));
  }
});

test('RCPT parameters: NOTIFY and ORCPT with RFC 3461 syntax; everything else refused', () => {
  const accepted: Array<[string, object]> = [
    ['', {}],
    [' NOTIFY=NEVER', { notify: ['NEVER'] }],
    [' NOTIFY=success,FAILURE,Delay', { notify: ['SUCCESS', 'FAILURE', 'DELAY'] }],
    [' ORCPT=rfc822;bob+40fabrikam.com', { orcpt: 'rfc822;bob+40fabrikam.com' }],
    [' ORCPT=utf-8;üser@fabrikam.com NOTIFY=FAILURE', { orcpt: 'utf-8;üser@fabrikam.com', notify: ['FAILURE'] }],
  ];
  for (const [text, value] of accepted) {
    const r = parseRcptParameters(text);
    assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reply}`);
    assert.deepEqual(r.value, value, text);
  }
  const refused: Array<[string, string]> = [
    [' NOTIFY=NEVER,FAILURE', '501 5.5.4 Invalid NOTIFY parameter: not NEVER or a list of SUCCESS, FAILURE, DELAY'],
    [' NOTIFY=SOMETIMES', '501 5.5.4 Invalid NOTIFY parameter: not NEVER or a list of SUCCESS, FAILURE, DELAY'],
    [' NOTIFY=FAILURE,FAILURE', '501 5.5.4 Invalid NOTIFY parameter: not NEVER or a list of SUCCESS, FAILURE, DELAY'],
    [' ORCPT=bob@fabrikam.com', '501 5.5.4 Invalid ORCPT parameter: not addr-type;xtext of at most 500 characters'],
    [' ORCPT=rfc822;üser@fabrikam.com', '501 5.5.4 Invalid ORCPT parameter: not addr-type;xtext of at most 500 characters'],
    [` ORCPT=rfc822;${'o'.repeat(500)}`, '501 5.5.4 Invalid ORCPT parameter: not addr-type;xtext of at most 500 characters'],
    [' SIZE=10', '501 5.5.4 Unrecognized parameter SIZE'],
    [' BODY=8BITMIME', '501 5.5.4 Unrecognized parameter BODY'],
  ];
  for (const [text, reply] of refused) {
    const r = parseRcptParameters(text);
    assert.ok(!r.ok, `${JSON.stringify(text)} was accepted`);
    assert.equal(r.reply, reply, JSON.stringify(text));
  }
});
