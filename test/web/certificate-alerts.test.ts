import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namedBy, tlsCertificateNameOf } from '../../src/web/src/lib/certificate-alerts.js';

test('TlsCertificateName is built and matched as Microsoft builds it, tags and case aside', () => {
  const c = { Issuer: 'CN=Contoso CA, O=Contoso, C=US', Subject: 'CN=mail.contoso.com, O=Contoso, C=US' };
  assert.equal(tlsCertificateNameOf(c), '<I>CN=Contoso CA, O=Contoso, C=US<S>CN=mail.contoso.com, O=Contoso, C=US');
  for (const [value, expected] of [
    ['<I>CN=Contoso CA, O=Contoso, C=US<S>CN=mail.contoso.com, O=Contoso, C=US', true],
    ['<i>cn=contoso ca, o=contoso, c=us<s>cn=MAIL.contoso.com, o=Contoso, c=US', true],
    ['<S>CN=mail.contoso.com, O=Contoso, C=US', true],
    ['<I>CN=Other CA<S>CN=mail.contoso.com, O=Contoso, C=US', false],
    ['<I>CN=Contoso CA, O=Contoso, C=US<S>CN=smtp.contoso.com', false],
    ['not an identifier', false],
  ] as const) {
    assert.equal(namedBy(value, c), expected, value);
  }
});

