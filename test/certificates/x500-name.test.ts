import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import {
  formatX500Name,
  normalizeX500Name,
  parseX500Name,
  parseX500NameRdns,
  x500NameToDer,
  x500NameToX509Name,
  x500NamesEqual,
} from '../../src/certificates/x500-name.js';
import { readCertificateFacts } from '../../src/certificates/certificate-facts.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';
import { withOpenssl } from '../support/pki.js';

/** Builds a Name DER by hand, in encoding order, independent of our encoder. */
function nameDer(rdns: Array<Array<[string, asn1js.AsnType]>>): Buffer {
  return Buffer.from(
    new asn1js.Sequence({
      value: rdns.map(
        (rdn) => new asn1js.Set({ value: rdn.map(([oid, v]) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), v] })) }),
      ),
    }).toBER(false),
  );
}
const ps = (value: string) => new asn1js.PrintableString({ value });
const utf8 = (value: string) => new asn1js.Utf8String({ value });
const ia5 = (value: string) => new asn1js.IA5String({ value });

const renderCases: Array<{ name: string; der: Buffer; expected: string }> = [
  {
    name: 'simple subject, reversed to CN first',
    der: nameDer([[['2.5.4.6', ps('US')]], [['2.5.4.10', ps('Contoso')]], [['2.5.4.3', ps('mail.contoso.com')]]]),
    expected: 'CN=mail.contoso.com, O=Contoso, C=US',
  },
  {
    name: 'thawte issuer: comma in O is quoted',
    der: nameDer([[['2.5.4.6', ps('US')]], [['2.5.4.10', utf8('thawte, Inc.')]], [['2.5.4.3', ps('thawte SHA256 SSL CA')]]]),
    expected: 'CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US',
  },
  {
    name: 'stateOrProvinceName renders as S, all common short names',
    der: nameDer([
      [['2.5.4.6', ps('KR')]],
      [['2.5.4.8', utf8('SEOUL')]],
      [['2.5.4.7', utf8('JUNG-GU')]],
      [['2.5.4.10', utf8('EXCHANGE LAB')]],
      [['2.5.4.11', utf8('EXCH')]],
      [['2.5.4.3', utf8('outlook.exchange.info')]],
    ]),
    expected: 'CN=outlook.exchange.info, OU=EXCH, O=EXCHANGE LAB, L=JUNG-GU, S=SEOUL, C=KR',
  },
  {
    name: 'E, DC, STREET, SERIALNUMBER, G, SN, T',
    der: nameDer([
      [['0.9.2342.19200300.100.1.25', ia5('com')]],
      [['0.9.2342.19200300.100.1.25', ia5('contoso')]],
      [['2.5.4.9', utf8('1 Main St')]],
      [['2.5.4.5', ps('12345')]],
      [['2.5.4.42', utf8('Ann')]],
      [['2.5.4.4', utf8('Smith')]],
      [['2.5.4.12', utf8('Admin')]],
      [['1.2.840.113549.1.9.1', ia5('admin@contoso.com')]],
    ]),
    expected: 'E=admin@contoso.com, T=Admin, SN=Smith, G=Ann, SERIALNUMBER=12345, STREET=1 Main St, DC=contoso, DC=com',
  },
  {
    name: 'unknown attribute as OID.x.y.z',
    der: nameDer([[['1.3.6.1.4.1.311.60.2.1.3', ps('US')]], [['2.5.4.15', utf8('Private Organization')]], [['2.5.4.3', utf8('www.contoso.com')]]]),
    expected: 'CN=www.contoso.com, OID.2.5.4.15=Private Organization, OID.1.3.6.1.4.1.311.60.2.1.3=US',
  },
  {
    name: 'inner quotes doubled',
    der: nameDer([[['2.5.4.10', utf8('Say "Hi"')]]]),
    expected: 'O="Say ""Hi"""',
  },
  ...['+', '=', '<', '>', '#', ';', ','].map((ch) => ({
    name: `special character ${ch} quoted`,
    der: nameDer([[['2.5.4.11', utf8(`A${ch}B`)]]]),
    expected: `OU="A${ch}B"`,
  })),
  {
    name: 'leading and trailing spaces quoted',
    der: nameDer([[['2.5.4.11', utf8(' lead')]], [['2.5.4.10', utf8('trail ')]]]),
    expected: 'O="trail ", OU=" lead"',
  },
  {
    name: 'multi-valued RDN joined with +',
    der: nameDer([[['2.5.4.10', utf8('Contoso')]], [['2.5.4.3', utf8('a')], ['2.5.4.11', utf8('b')]]]),
    expected: 'CN=a + OU=b, O=Contoso',
  },
  {
    name: 'non-ASCII value kept',
    der: nameDer([[['2.5.4.10', utf8('Müller AG')]], [['2.5.4.3', utf8('mail.müller.de')]]]),
    expected: 'CN=mail.müller.de, O=Müller AG',
  },
];

for (const c of renderCases) {
  test(`formatX500Name: ${c.name}`, () => {
    assert.equal(formatX500Name(c.der), c.expected);
  });
}

test('formatX500Name renders names of certificates made by openssl -subj (encoding order C first)', async () => {
  await withOpenssl({}, async (_dir, openssl) => {
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '1', '-subj', '/C=US/ST=Washington/O=thawte, Inc./CN=thawte SHA256 SSL CA',
    ]);
    await openssl(['x509', '-in', 'c.pem', '-outform', 'DER', '-out', 'c.der']);
    const { readFile } = await import('node:fs/promises');
    const facts = readCertificateFacts(await readFile(`${_dir}/c.der`));
    assert.equal(facts.subject, 'CN=thawte SHA256 SSL CA, O="thawte, Inc.", S=Washington, C=US');
    assert.equal(facts.issuer, facts.subject);
  });
});

const parseCases: Array<{ text: string; expected: Array<[string, string]> }> = [
  { text: 'CN=mail.contoso.com, O=Contoso, C=US', expected: [['CN', 'mail.contoso.com'], ['O', 'Contoso'], ['C', 'US']] },
  { text: 'CN=mail.contoso.com,O=Contoso,C=US', expected: [['CN', 'mail.contoso.com'], ['O', 'Contoso'], ['C', 'US']] },
  { text: 'cn=mail.contoso.com;o=Contoso;c=US', expected: [['CN', 'mail.contoso.com'], ['O', 'Contoso'], ['C', 'US']] },
  { text: 'C=US, S=WA, CN=x', expected: [['C', 'US'], ['S', 'WA'], ['CN', 'x']] },
  { text: 'CN=x, ST=Washington', expected: [['CN', 'x'], ['S', 'Washington']] },
  { text: 'CN=x, emailAddress=admin@contoso.com', expected: [['CN', 'x'], ['E', 'admin@contoso.com']] },
  { text: 'CN=x, E=admin@contoso.com', expected: [['CN', 'x'], ['E', 'admin@contoso.com']] },
  { text: 'CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US', expected: [['CN', 'thawte SHA256 SSL CA'], ['O', 'thawte, Inc.'], ['C', 'US']] },
  { text: 'O="Say ""Hi"""', expected: [['O', 'Say "Hi"']] },
  { text: 'O=thawte\\, Inc.', expected: [['O', 'thawte, Inc.']] },
  { text: '  CN = spaced.contoso.com ,  O = Contoso  ', expected: [['CN', 'spaced.contoso.com'], ['O', 'Contoso']] },
  { text: 'CN=*.contoso.com', expected: [['CN', '*.contoso.com']] },
  { text: 'OID.1.3.6.1.4.1.311.60.2.1.3=US, 2.5.4.15=Private Organization', expected: [['OID.1.3.6.1.4.1.311.60.2.1.3', 'US'], ['OID.2.5.4.15', 'Private Organization']] },
  { text: 'CN=a + OU=b, O=c', expected: [['CN', 'a'], ['OU', 'b'], ['O', 'c']] },
];

for (const c of parseCases) {
  test(`parseX500Name: ${c.text}`, () => {
    assert.deepEqual(
      parseX500Name(c.text).map((a) => [a.type, a.value]),
      c.expected,
    );
  });
}

test('parseX500NameRdns keeps multi-valued RDNs together', () => {
  assert.deepEqual(parseX500NameRdns('CN=a + OU=b, O=c'), [
    [{ type: 'CN', value: 'a' }, { type: 'OU', value: 'b' }],
    [{ type: 'O', value: 'c' }],
  ]);
});

const badNames: Array<[string, RegExp]> = [
  ['', /empty/],
  ['   ', /empty/],
  ['CN', /"CN" has no "="/],
  ['CN=a,', /ends with ","/],
  ['CN=a, XYZ=1', /"XYZ" is not a known attribute name/],
  ['CN="unterminated', /not closed/],
  ['=foo', /attribute name is missing/],
  ['CN="a"b', /unexpected text after the quoted value/],
  ['CN=', /CN has an empty value/],
  ['CN=a,,O=b', /attribute is missing|has no "="/],
];

for (const [text, message] of badNames) {
  test(`parseX500Name rejects ${JSON.stringify(text)}`, () => {
    assert.throws(
      () => parseX500Name(text),
      (e: unknown) => isInterchangeError(e) && e.code === 'ICX_PARAM_INVALID' && message.test(e.message),
    );
  });
}

const normalizeCases: Array<[string, string]> = [
  ['cn=mail.contoso.com,o=Contoso,c=US', 'CN=mail.contoso.com, O=Contoso, C=US'],
  ['CN=x, O="Contoso"', 'CN=x, O=Contoso'],
  ['O=thawte\\, Inc.', 'O="thawte, Inc."'],
  ['CN=x;ST=WA', 'CN=x, S=WA'],
  ['CN=x, emailAddress=a@b.c', 'CN=x, E=a@b.c'],
  ['CN=a+OU=b,O=c', 'CN=a + OU=b, O=c'],
  ['CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US', 'CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US'],
];

for (const [input, expected] of normalizeCases) {
  test(`normalizeX500Name: ${input}`, () => {
    assert.equal(normalizeX500Name(input), expected);
  });
}

test('x500NamesEqual: case and spacing do not matter, order and values do', () => {
  assert.equal(x500NamesEqual('CN=mail.contoso.com, O=Contoso, C=US', 'cn=MAIL.contoso.com,o=contoso,c=us'), true);
  assert.equal(x500NamesEqual('CN=x, ST=WA', 'CN=x, S=WA'), true);
  assert.equal(x500NamesEqual('O="thawte, Inc."', 'O=thawte\\, Inc.'), true);
  assert.equal(x500NamesEqual('CN=mail.contoso.com, O=Contoso, C=US', 'C=US, O=Contoso, CN=mail.contoso.com'), false);
  assert.equal(x500NamesEqual('CN=mail.contoso.com', 'CN=mail.contoso.org'), false);
  assert.equal(x500NamesEqual('not a name', 'NOT A NAME'), true);
});

const roundTrips = [
  'CN=mail.contoso.com, O=Contoso, C=US',
  'CN=outlook.exchange.info, OU=EXCH, O=EXCHANGE LAB, L=JUNG-GU, S=SEOUL, C=KR',
  'CN=thawte SHA256 SSL CA, O="thawte, Inc.", C=US',
  'CN=*.contoso.com',
  'CN=EX01',
  'CN=x, E=admin@contoso.com, DC=contoso, DC=com',
  'CN=a + OU=b, O=c',
  'CN=mail.müller.de, O=Müller AG, C=DE',
  'CN=q, O="Say ""Hi"""',
];

for (const text of roundTrips) {
  test(`round trip through DER: ${text}`, () => {
    assert.equal(formatX500Name(x500NameToDer(text)), normalizeX500Name(text));
    assert.equal(formatX500Name(x500NameToX509Name(text)), normalizeX500Name(text));
  });
}

test('x500NameToDer encodes in reverse of the typed order (C first), with the right string types', () => {
  const der = x500NameToDer('CN=mail.contoso.com, E=a@b.c, C=US');
  const seq = asn1js.fromBER(new Uint8Array(der)).result as asn1js.Sequence;
  const atv = (i: number) => ((seq.valueBlock.value[i] as asn1js.Set).valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
  assert.equal((atv(0)[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '2.5.4.6');
  assert.ok(atv(0)[1] instanceof asn1js.PrintableString);
  assert.ok(atv(1)[1] instanceof asn1js.IA5String);
  assert.equal((atv(2)[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '2.5.4.3');
});

test('x500NameToDer rejects a non-printable country', () => {
  assert.throws(() => x500NameToDer('CN=x, C=Ü1'), (e: unknown) => isInterchangeError(e) && e.code === 'ICX_PARAM_INVALID');
});
