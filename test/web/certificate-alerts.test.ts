import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateAlerts, namedBy, tlsCertificateNameOf } from '../../src/web/src/lib/certificate-alerts.js';

const now = new Date('2026-06-01T00:00:00Z');
const cert = (server: string, name: string, notAfter: string, subject = 'CN=mail.contoso.com, O=Contoso, C=US') => ({
  Server: server,
  Thumbprint: `${server}-${name}`,
  FriendlyName: name,
  Subject: subject,
  Issuer: 'CN=Contoso CA, O=Contoso, C=US',
  NotAfter: notAfter,
  Status: 'Valid',
});

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

test('expired, expiring within 90 days, and named by a connector but missing on a source server', () => {
  const alerts = certificateAlerts(
    [cert('EX01', 'old', '2026-05-01T00:00:00Z'), cert('EX01', 'soon', '2026-07-01T00:00:00Z'), cert('EX01', 'fine', '2027-06-01T00:00:00Z'), cert('EX02', 'edge', '2026-08-29T12:00:00Z'), cert('EX02', 'after', '2026-08-31T00:00:00Z')],
    [
      { Name: 'Outbound', TlsCertificateName: '<I>CN=Contoso CA, O=Contoso, C=US<S>CN=mail.contoso.com, O=Contoso, C=US', SourceTransportServers: ['EX01', 'EX02', 'EX03'] },
      { Name: 'Plain', TlsCertificateName: null, SourceTransportServers: ['EX03'] },
    ],
    now,
  );
  assert.deepEqual(
    alerts.map((a) => [a.kind, a.server, a.thumbprint ?? a.connector]),
    [
      ['expired', 'EX01', 'EX01-old'],
      ['expiring', 'EX01', 'EX01-soon'],
      ['expiring', 'EX02', 'EX02-edge'],
      ['missing-on-source-server', 'EX03', 'Outbound'],
    ],
  );
  assert.match(alerts[1].text, /expires in 30 days/);
  assert.match(alerts[2].text, /expires in 89 days/);
});

test('a pending request is never flagged and never counts as installed', () => {
  const pending = { ...cert('EX01', 'req', '2026-06-02T00:00:00Z'), Status: 'PendingRequest' };
  const alerts = certificateAlerts([pending], [{ Name: 'Outbound', TlsCertificateName: tlsCertificateNameOf(pending), SourceTransportServers: ['EX01'] }], now);
  assert.deepEqual(alerts.map((a) => a.kind), ['missing-on-source-server']);
});
