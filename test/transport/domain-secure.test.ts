// The pure decisions behind the organization's transport settings, table by
// table: domain security outbound (the TLS policy a route's session follows,
// the queue a domain-secured domain gets) and inbound (which sender is refused,
// why), the validation of a client certificate for a partner domain against
// real certificates, the remote domain that governs a domain, and which DSNs go
// to a sender.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { defaultSendConnector } from '../../src/connectors/send-connector-defaults.js';
import { issueCertificate } from '../../src/certificates/generate.js';
import { newRemoteDomain, type SendConnectorRecord } from '../../src/directory/records.js';
import { AcceptedDomainTable } from '../../src/organization/accepted-domains.js';
import { remoteDomainFor } from '../../src/organization/remote-domains.js';
import { dsnWanted } from '../../src/transport/delivery/dsn-policy.js';
import { clientCertificateProblem } from '../../src/transport/inbound/client-certificate.js';
import { domainSecureEntry, inboundDomainSecureRefusal, outboundTlsPolicy, type InboundTlsFacts } from '../../src/transport/routing/domain-secure.js';
import { queueKey, selectSendConnector } from '../../src/transport/routing/route.js';
import { createTestPki } from '../support/pki.js';

const list = new Set(['fabrikam.com', 'woodgrovebank.com']);

test('domainSecureEntry: exact domains only, any case, a trailing dot or brackets ignored; subdomains and parents are not the domain', () => {
  const table: Array<[string, string | undefined]> = [
    ['fabrikam.com', 'fabrikam.com'],
    ['FABRIKAM.com.', 'fabrikam.com'],
    ['mail.fabrikam.com', undefined],
    ['com', undefined],
    ['contoso.com', undefined],
    ['', undefined],
  ];
  for (const [domain, expected] of table) assert.equal(domainSecureEntry(list, domain), expected, domain);
});

test('outboundTlsPolicy: a domain-secured domain requires STARTTLS and a certificate valid for it, whatever the connector says; otherwise the connector decides', () => {
  const connectors: Array<Pick<SendConnectorRecord, 'requireTls' | 'ignoreStartTls' | 'tlsAuthLevel' | 'tlsDomain'>> = [
    { requireTls: false, ignoreStartTls: false, tlsAuthLevel: null, tlsDomain: null },
    { requireTls: false, ignoreStartTls: true, tlsAuthLevel: null, tlsDomain: null },
    { requireTls: true, ignoreStartTls: false, tlsAuthLevel: 'CertificateValidation', tlsDomain: null },
    { requireTls: true, ignoreStartTls: false, tlsAuthLevel: 'DomainValidation', tlsDomain: '*.other.com' },
  ];
  for (const c of connectors) {
    assert.deepEqual(outboundTlsPolicy(c, 'fabrikam.com'), { requireTls: true, ignoreStartTls: false, tlsAuthLevel: 'DomainValidation', tlsDomain: 'fabrikam.com', domainSecure: 'fabrikam.com' }, JSON.stringify(c));
    assert.deepEqual(outboundTlsPolicy(c, undefined), { ...c }, JSON.stringify(c));
  }
});

test('routing: a domain-secured recipient domain marks the route, and through smart hosts gets a queue of its own named by the domain', () => {
  const dns: SendConnectorRecord = { ...defaultSendConnector({ name: 'Internet', sourceServer: 'EX01', now: new Date(0), guid: 'g-dns' }), addressSpaces: [{ type: 'SMTP', address: '*', cost: 1 }], dnsRoutingEnabled: true };
  const smart: SendConnectorRecord = { ...dns, guid: 'g-smart', name: 'Smart', dnsRoutingEnabled: false, smartHosts: ['10.0.0.1'] };
  const table: Array<[SendConnectorRecord, string, { nextHopDomain: string; domainSecure?: string }]> = [
    [dns, 'bob@fabrikam.com', { nextHopDomain: 'fabrikam.com', domainSecure: 'fabrikam.com' }],
    [dns, 'bob@mail.fabrikam.com', { nextHopDomain: 'mail.fabrikam.com' }],
    [dns, 'bob@tailspintoys.com', { nextHopDomain: 'tailspintoys.com' }],
    [smart, 'bob@Fabrikam.com', { nextHopDomain: 'fabrikam.com', domainSecure: 'fabrikam.com' }],
    [smart, 'bob@tailspintoys.com', { nextHopDomain: '[10.0.0.1]' }],
  ];
  for (const [connector, recipient, expected] of table) {
    const r = selectSendConnector([connector], 'EX01', recipient, 100, list);
    assert.ok(r.ok, recipient);
    assert.deepEqual({ nextHopDomain: r.route.nextHopDomain, ...(r.route.domainSecure ? { domainSecure: r.route.domainSecure } : {}) }, expected, `${connector.name} ${recipient}`);
  }
  const secured = selectSendConnector([smart], 'EX01', 'bob@fabrikam.com', 100, list);
  const plain = selectSendConnector([smart], 'EX01', 'bob@tailspintoys.com', 100, list);
  assert.ok(secured.ok && plain.ok);
  assert.notEqual(queueKey(secured.route), queueKey(plain.route));
  // Without the list (the default argument), nothing is domain-secured.
  const none = selectSendConnector([dns], 'EX01', 'bob@fabrikam.com', 100);
  assert.ok(none.ok && none.route.domainSecure === undefined);
  // Mail relayed to the connector's source servers is theirs to secure: this server only hands it on.
  const elsewhere = selectSendConnector([{ ...dns, sourceTransportServers: ['EX02'] }], 'EX01', 'bob@fabrikam.com', 100, list);
  assert.ok(elsewhere.ok && elsewhere.route.deliveryType === 'SmtpRelayToConnectorSourceServers' && elsewhere.route.domainSecure === undefined);
});

test('inboundDomainSecureRefusal: a listed sender domain on a TLS connector needs TLS, a client certificate and one that validates; others pass', () => {
  const facts: InboundTlsFacts = { connectorOffersTls: true, secure: true, clientCertificate: true, certificateProblem: () => undefined };
  const table: Array<[string, typeof facts, RegExp | undefined]> = [
    ['fabrikam.com', facts, undefined],
    ['Fabrikam.COM', { ...facts, secure: false }, /^530 5\.7\.1 Not authorized: mail from fabrikam\.com must come domain-secured \(STARTTLS first/],
    ['fabrikam.com', { ...facts, clientCertificate: false }, /^530 5\.7\.1 .*no client certificate was presented/],
    ['fabrikam.com', { ...facts, certificateProblem: (d: string) => `the client certificate does not name ${d}` }, /^530 5\.7\.1 .*\(the client certificate does not name fabrikam\.com\)$/],
    ['fabrikam.com', { ...facts, connectorOffersTls: false, secure: false }, undefined],
    ['contoso.com', { ...facts, secure: false, clientCertificate: false }, undefined],
    ['mail.fabrikam.com', { ...facts, secure: false }, undefined],
  ];
  for (const [domain, f, expected] of table) {
    const r = inboundDomainSecureRefusal(list, domain, f);
    if (expected) assert.match(r ?? '', expected, domain);
    else assert.equal(r, undefined, `${domain} ${JSON.stringify(f)}`);
  }
});

test('clientCertificateProblem: the chain to a trusted root, within validity, naming the domain', async () => {
  const pki = await createTestPki();
  const x = (der: Buffer) => new X509Certificate(der);
  const issuer = { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 };
  const fabrikam = await issueCertificate({ issuer, subjectName: 'CN=fabrikam.com, O=Fabrikam, C=US', domainNames: ['fabrikam.com'], notBefore: new Date(Date.now() - 86_400_000) });
  const now = new Date();
  const roots = [x(pki.ca.der)];
  const table: Array<[string, X509Certificate[], X509Certificate[], string, RegExp | undefined]> = [
    ['issued by a trusted root, naming the domain', [x(fabrikam.der)], roots, 'fabrikam.com', undefined],
    ['through an intermediate the client sent', [x(pki.viaIntermediate.der), x(pki.intermediate.der)], roots, 'smtp.fabrikam.com', undefined],
    ['an intermediate the client did not send', [x(pki.viaIntermediate.der)], roots, 'smtp.fabrikam.com', /does not chain to a root this server trusts/],
    ['a host of the domain is not the domain', [x(pki.viaIntermediate.der), x(pki.intermediate.der)], roots, 'fabrikam.com', /does not name fabrikam\.com/],
    ['a root this server does not trust', [x(fabrikam.der)], [x(pki.selfSigned.der)], 'fabrikam.com', /does not chain to a root this server trusts/],
    ['self-signed', [x(pki.selfSigned.der)], roots, 'ex01.contoso.com', /does not chain to a root this server trusts/],
    ['expired', [x(pki.expired.der)], roots, 'expired.contoso.com', /is not valid now/],
    ['nothing presented', [], roots, 'fabrikam.com', /no client certificate/],
  ];
  for (const [what, chain, trusted, domain, expected] of table) {
    const problem = clientCertificateProblem(chain, trusted, domain, now);
    if (expected) assert.match(problem ?? '', expected, what);
    else assert.equal(problem, undefined, what);
  }
});

test('remoteDomainFor: the exact domain, then the nearest *.parent, then Default', () => {
  const now = new Date();
  const rd = (name: string, domain: string) => newRemoteDomain(name, name, domain, now);
  const domains = [rd('Default', '*'), rd('Fabrikam', 'fabrikam.com'), rd('AllFabrikam', '*.fabrikam.com'), rd('Sales', '*.sales.fabrikam.com')];
  const table: Array<[string, string]> = [
    ['fabrikam.com', 'Fabrikam'],
    ['FABRIKAM.COM.', 'Fabrikam'],
    ['mail.fabrikam.com', 'AllFabrikam'],
    ['eu.sales.fabrikam.com', 'Sales'],
    ['sales.fabrikam.com', 'Sales'],
    ['tailspintoys.com', 'Default'],
    ['notfabrikam.com', 'Default'],
  ];
  for (const [domain, name] of table) assert.equal(remoteDomainFor(domains, domain)?.name, name, domain);
  assert.equal(remoteDomainFor([], 'fabrikam.com'), undefined);
});

test("dsnWanted: NDRs to outside senders follow their remote domain's NDREnabled, delay reports DeliveryReportEnabled and ExternalDelayDsnEnabled; inside senders InternalDelayDsnEnabled", () => {
  const now = new Date();
  const accepted = new AcceptedDomainTable([{ guid: 'a', name: 'Contoso', domainName: 'contoso.com', domainType: 'Authoritative', default: true, matchSubDomains: false, whenCreated: now, whenChanged: now }]);
  const remote = [newRemoteDomain('d', 'Default', '*', now), { ...newRemoteDomain('f', 'Fabrikam', 'fabrikam.com', now), ndrEnabled: false, deliveryReportEnabled: false }];
  const on = { internalDelayDsnEnabled: true, externalDelayDsnEnabled: true };
  const table: Array<['failed' | 'delayed', string, typeof on, boolean]> = [
    ['failed', 'alice@contoso.com', on, true],
    ['delayed', 'alice@contoso.com', on, true],
    ['delayed', 'alice@contoso.com', { ...on, internalDelayDsnEnabled: false }, false],
    ['delayed', 'alice@contoso.com', { ...on, externalDelayDsnEnabled: false }, true],
    ['failed', 'bob@fabrikam.com', on, false],
    ['delayed', 'bob@fabrikam.com', on, false],
    ['failed', 'carol@tailspintoys.com', on, true],
    ['delayed', 'carol@tailspintoys.com', on, true],
    ['delayed', 'carol@tailspintoys.com', { ...on, externalDelayDsnEnabled: false }, false],
    ['failed', 'carol@tailspintoys.com', { internalDelayDsnEnabled: false, externalDelayDsnEnabled: false }, true],
  ];
  for (const [kind, sender, config, expected] of table) assert.equal(dsnWanted(kind, sender, { acceptedDomains: accepted, remoteDomains: remote, config }), expected, `${kind} ${sender} ${JSON.stringify(config)}`);
});
