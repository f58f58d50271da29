// The pure decisions of the transport, table-driven: Send connector selection
// (§3.7), Receive connector matching (§4), retry timing (§8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressSpace } from '../../src/connectors/address-space.js';
import { parseBinding, parseIpRange } from '../../src/connectors/receive-connector-rules.js';
import type { ReceiveConnectorRecord, SendConnectorRecord } from '../../src/directory/records.js';
import { delayNotificationDue, queueRetryDelay } from '../../src/transport/delivery/retry-policy.js';
import { NO_CONNECTOR_REPLY, TOO_BIG_REPLY, renderSmartHost, selectSendConnector } from '../../src/transport/routing/route.js';
import { defaultSendConnector } from '../../src/connectors/send-connector-defaults.js';
import { listenerBindings, matchReceiveConnector, type ReceiveConnectorRuntime } from '../../src/transport/service/config-snapshot.js';

function sc(name: string, spaces: string[], extra: Partial<SendConnectorRecord> = {}): SendConnectorRecord {
  return { ...defaultSendConnector({ name, sourceServer: 'EX01', now: new Date(0), guid: `guid-${name}` }), addressSpaces: spaces.map(parseAddressSpace), maxMessageSize: 36_700_160, ...extra };
}

const connectors = [
  sc('Internet', ['*']),
  sc('Contoso wide', ['*.contoso.com']),
  sc('Marketing', ['marketing.contoso.com;5']),
  sc('Marketing cheap', ['marketing.contoso.com;2']),
  sc('B equal', ['fabrikam.com;3']),
  sc('A equal', ['fabrikam.com;3']),
  sc('Disabled', ['tailspin.com'], { enabled: false }),
  sc('Other server', ['wingtip.com'], { sourceTransportServers: ['EX02', 'EX03'] }),
  sc('Here', ['litware.com;4']),
  sc('Elsewhere cheaper', ['litware.com;3'], { sourceTransportServers: ['EX02'] }),
  sc('Elsewhere same cost', ['adatum.com;4'], { sourceTransportServers: ['EX02'] }),
  sc('Z here', ['adatum.com;4']),
  sc('Unsourced', ['northwind.com'], { sourceTransportServers: [] }),
  sc('Small', ['big.example'], { maxMessageSize: 1000 }),
  sc('Smart', ['relay.example'], { dnsRoutingEnabled: false, smartHosts: ['10.0.0.1', 'relay.contoso.com'] }),
];

test('Send connector selection: most specific address space, then cost, then fewest hops (this server before another), then name; disabled, unsourced and too small connectors are skipped', () => {
  const cases: Array<[string, number, string | undefined]> = [
    ['a@marketing.contoso.com', 10, 'Marketing cheap'],
    ['a@sales.contoso.com', 10, 'Contoso wide'],
    ['a@contoso.com', 10, 'Contoso wide'],
    ['a@fabrikam.com', 10, 'A equal'],
    ['a@tailspin.com', 10, 'Internet'],
    ['a@wingtip.com', 10, 'Other server'],
    ['a@litware.com', 10, 'Elsewhere cheaper'],
    ['a@adatum.com', 10, 'Z here'],
    ['a@northwind.com', 10, 'Internet'],
    ['a@big.example', 10, 'Small'],
    ['a@big.example', 5000, 'Internet'],
    ['a@Example.ORG', 10, 'Internet'],
  ];
  for (const [rcpt, size, expected] of cases) {
    const r = selectSendConnector(connectors, 'ex01', rcpt, size);
    assert.equal(r.ok ? r.route.connector.name : undefined, expected, rcpt);
  }
});

test('no route: the reply says why (no connector, or every covering connector too small)', () => {
  const only = [sc('Small', ['big.example'], { maxMessageSize: 1000 }), sc('Contoso', ['contoso.com'])];
  assert.deepEqual(selectSendConnector(only, 'EX01', 'a@big.example', 2000), { ok: false, reply: TOO_BIG_REPLY });
  assert.deepEqual(selectSendConnector(only, 'EX01', 'a@nowhere.example', 10), { ok: false, reply: NO_CONNECTOR_REPLY });
});

test('a connector sourced only on other servers: the mail goes to its source servers (SmtpRelayToConnectorSourceServers, queue named by the connector)', () => {
  const r = selectSendConnector(connectors, 'EX01', 'a@Wingtip.com', 10);
  assert.ok(r.ok);
  assert.deepEqual([r.route.deliveryType, r.route.nextHopDomain, r.route.relayTo], ['SmtpRelayToConnectorSourceServers', 'other server', ['EX02', 'EX03']]);
  // On a source server itself, the same connector delivers.
  const local = selectSendConnector(connectors, 'ex03', 'a@wingtip.com', 10);
  assert.ok(local.ok);
  assert.deepEqual([local.route.deliveryType, local.route.relayTo], ['DnsConnectorDelivery', undefined]);
});

test('queue names: MX delivery by recipient domain, smart hosts with IP literals bracketed', () => {
  const mx = selectSendConnector(connectors, 'EX01', 'a@Sales.Contoso.com', 1);
  assert.ok(mx.ok);
  assert.deepEqual([mx.route.deliveryType, mx.route.nextHopDomain], ['DnsConnectorDelivery', 'sales.contoso.com']);
  const smart = selectSendConnector(connectors, 'EX01', 'a@relay.example', 1);
  assert.ok(smart.ok);
  assert.deepEqual([smart.route.deliveryType, smart.route.nextHopDomain], ['SmartHostConnectorDelivery', '[10.0.0.1],relay.contoso.com']);
  assert.equal(renderSmartHost('[192.0.2.1]'), '[192.0.2.1]');
  assert.equal(renderSmartHost('2001:db8::1'), '[2001:db8::1]');
  assert.equal(renderSmartHost('Mail.Contoso.com'), 'mail.contoso.com');
});

function rc(name: string, bindings: string[], ranges: string[]): ReceiveConnectorRuntime {
  return {
    record: { name } as ReceiveConnectorRecord,
    bindings: bindings.map(parseBinding),
    ranges: ranges.map(parseIpRange),
    fqdn: 'ex01.contoso.com',
    tls: undefined,
  };
}

test('Receive connector matching: binding first (exact address over 0.0.0.0), then the narrowest RemoteIPRanges', () => {
  const all = [
    rc('Default', ['0.0.0.0:25'], ['0.0.0.0-255.255.255.255']),
    rc('Partners', ['0.0.0.0:25'], ['192.0.2.0/24']),
    rc('One host', ['0.0.0.0:25'], ['192.0.2.10']),
    rc('Relay', ['10.0.0.5:25'], ['0.0.0.0/0']),
    rc('Submission', ['0.0.0.0:587'], ['0.0.0.0/0']),
  ];
  const cases: Array<[string, number, string, string | undefined]> = [
    ['127.0.0.1', 25, '198.51.100.7', 'Default'],
    ['127.0.0.1', 25, '192.0.2.99', 'Partners'],
    ['127.0.0.1', 25, '192.0.2.10', 'One host'],
    ['::ffff:127.0.0.1', 25, '::ffff:192.0.2.10', 'One host'],
    ['10.0.0.5', 25, '192.0.2.10', 'Relay'],
    ['127.0.0.1', 587, '192.0.2.10', 'Submission'],
    ['127.0.0.1', 2525, '192.0.2.10', undefined],
  ];
  for (const [local, port, remote, expected] of cases) assert.equal(matchReceiveConnector(all, { address: local, port }, remote)?.record.name, expected, `${local}:${port} ← ${remote}`);
  assert.equal(matchReceiveConnector([rc('v4 only', ['0.0.0.0:25'], ['10.0.0.0/8'])], { address: '127.0.0.1', port: 25 }, '192.0.2.1'), undefined);
  assert.deepEqual(
    listenerBindings(all).map((b) => `${b.address}:${b.port}`).sort(),
    ['0.0.0.0:25', '0.0.0.0:587'],
    'a specific address on a port already bound to 0.0.0.0 needs no listener of its own',
  );
});

test('retry timing: TransientFailureRetryCount quick retries, then OutboundConnectionFailureRetryInterval; one delay notice after DelayNotificationTimeout', () => {
  const s = { transientFailureRetryCount: 3, transientFailureRetryInterval: 5_000, outboundConnectionFailureRetryInterval: 600_000, messageRetryInterval: 300_000 };
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => queueRetryDelay(n, s)), [5_000, 5_000, 5_000, 600_000, 600_000]);
  assert.deepEqual([0, 1].map((n) => queueRetryDelay(n, { ...s, transientFailureRetryCount: 0 })), [5_000, 600_000]);
  const t0 = new Date('2026-01-01T00:00:00Z');
  const h4 = 4 * 3_600_000;
  assert.equal(delayNotificationDue(t0, new Date(t0.getTime() + h4 - 1), h4, false), false);
  assert.equal(delayNotificationDue(t0, new Date(t0.getTime() + h4), h4, false), true);
  assert.equal(delayNotificationDue(t0, new Date(t0.getTime() + h4), h4, true), false);
});

test('RateCounter: events per second over the last minute, old seconds forgotten', async () => {
  const { RateCounter } = await import('../../src/transport/delivery/rate-counter.js');
  let now = 1_000_000;
  const r = new RateCounter(() => now);
  for (let i = 0; i < 120; i++) r.add();
  assert.equal(r.perSecond(), 2);
  now += 30_000;
  r.add(60);
  assert.equal(r.perSecond(), 3);
  now += 30_500;
  assert.equal(r.perSecond(), 1, 'the first second has left the window');
  now += 3_600_000;
  assert.equal(r.perSecond(), 0);
});
