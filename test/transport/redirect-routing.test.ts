// Redirect-Message's pure decisions, table-driven: where another server of
// the organization is reached, the route its mail takes, which route wins, and
// when a next hop pinned to a certificate is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultReceiveConnector } from '../../src/cmdlets/catalog/receive-connector.js';
import type { ServerRecord } from '../../src/directory/records.js';
import { pinMismatch } from '../../src/transport/outbound/smtp-client.js';
import { INTRA_ORGANIZATION_CONNECTOR, redirectEndpoint, redirectRoute, routeWithRedirect, type RedirectTarget } from '../../src/transport/routing/redirect.js';
import { queueKey, type RouteResult } from '../../src/transport/routing/route.js';

const server = (over: Partial<ServerRecord> = {}): ServerRecord =>
  ({ name: 'EX02', guid: 'g2', fqdn: 'ex02.contoso.com', roles: ['Mailbox'], adminUrl: 'https://10.0.0.12:8443', smtpPort: 25, internalTransportCertificateThumbprint: 'ab12', transport: {} as ServerRecord['transport'], createdAt: new Date(0), ...over }) as ServerRecord;
const frontend = (bindings = ['0.0.0.0:2525'], enabled = true) => ({ ...defaultReceiveConnector('EX02', 25, new Date(0)), bindings, enabled });

test('the target is reached at the host of its advertised admin URL (else its FQDN), on its Default Frontend port, pinned to its internal transport certificate', () => {
  const cases: Array<[string, ServerRecord, ReturnType<typeof frontend>[], Partial<RedirectTarget> | RegExp]> = [
    ['admin URL host, frontend port', server(), [frontend()], { host: '10.0.0.12', port: 2525, thumbprint: 'AB12', fqdn: 'ex02.contoso.com', serverName: 'EX02' }],
    ['a host name', server({ adminUrl: 'http://ex02.internal:80' }), [frontend(['10.0.0.12:25'])], { host: 'ex02.internal', port: 25 }],
    ['an IPv6 literal', server({ adminUrl: 'https://[fd00::12]:8443' }), [frontend()], { host: 'fd00::12' }],
    ['no admin URL: the FQDN', server({ adminUrl: null }), [frontend()], { host: 'ex02.contoso.com' }],
    ['a wildcard admin URL: the FQDN', server({ adminUrl: 'http://0.0.0.0:8443' }), [frontend()], { host: 'ex02.contoso.com' }],
    ['another server\'s frontend does not count', server(), [{ ...frontend(), server: 'EX03', name: 'Default Frontend EX02' }], /no enabled Receive connector "Default Frontend EX02"/],
    ['a disabled frontend', server(), [frontend(['0.0.0.0:25'], false)], /no enabled Receive connector/],
    ['a frontend without binding', server(), [frontend([])], /has no binding/],
    ['no internal transport certificate', server({ internalTransportCertificateThumbprint: null }), [frontend()], /has no internal transport certificate/],
  ];
  for (const [name, s, rcs, want] of cases) {
    const got = redirectEndpoint(s, rcs);
    if (want instanceof RegExp) {
      assert.equal(got.ok, false, name);
      if (!got.ok) assert.match(got.reason, want, name);
    } else {
      assert.equal(got.ok, true, name);
      if (got.ok) for (const [k, v] of Object.entries(want)) assert.equal(got.target[k as keyof RedirectTarget], v, `${name}: ${k}`);
    }
  }
});

test('redirected mail takes one route per target: a queue named by the target FQDN, STARTTLS required, the intra-organization connector; it wins over the server\'s own routing', () => {
  const target: RedirectTarget = { serverName: 'EX02', fqdn: 'EX02.contoso.com', host: '10.0.0.12', port: 2525, thumbprint: 'AB12' };
  const r = redirectRoute('EX01', target, new Date(0));
  assert.equal(r.nextHopDomain, 'ex02.contoso.com');
  assert.equal(r.deliveryType, 'SmtpRelayToServers');
  assert.equal(r.connector.name, INTRA_ORGANIZATION_CONNECTOR);
  assert.equal(r.connector.requireTls, true);
  assert.deepEqual(r.connector.sourceTransportServers, ['EX01']);
  assert.equal(r.redirectTo, target);
  assert.equal(queueKey(r), queueKey(redirectRoute('EX01', target, new Date(5))), 'the same target is the same queue');
  assert.notEqual(queueKey(r), queueKey(redirectRoute('EX01', { ...target, serverName: 'EX03', fqdn: 'ex03.contoso.com' }, new Date(0))));

  const own: RouteResult = { ok: false, reply: '550 5.4.4 no connector' };
  let asked = 0;
  const ownRouting = () => (asked++, own);
  assert.deepEqual(routeWithRedirect(r, ownRouting), { ok: true, route: r }, 'a recipient this server cannot route goes to the target, which decides');
  assert.equal(asked, 0);
  assert.equal(routeWithRedirect(undefined, ownRouting), own);
});

test('a next hop pinned to a certificate is refused, with a 4xx naming both thumbprints, unless it presents that certificate', () => {
  const t = { host: '10.0.0.12', port: 2525, name: 'ex02.contoso.com' };
  const cases: Array<[string | undefined, string | undefined, RegExp | undefined]> = [
    [undefined, 'FF', undefined],
    ['AB12', 'ab12', undefined],
    ['AB12', 'FF00', /^454 4\.7\.5 ex02\.contoso\.com \(10\.0\.0\.12:2525\) presented the certificate FF00, not its internal transport certificate AB12$/],
    ['ab12', undefined, /presented the certificate \(none\), not its internal transport certificate AB12/],
  ];
  for (const [pinned, presented, want] of cases) {
    const got = pinMismatch(pinned, presented, t);
    if (want) assert.match(got ?? '', want);
    else assert.equal(got, undefined);
  }
});
