// What a Receive connector lets a session do, and which accepted domain takes
// a recipient: the pure rules the SMTP session asks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultReceiveConnector } from '../../src/cmdlets/catalog/receive-connector.js';
import { sessionPermissionsText, sessionRights } from '../../src/connectors/receive-permissions.js';
import type { AcceptedDomainRecord, ReceiveConnectorRecord } from '../../src/directory/records.js';
import { AcceptedDomainTable, parseAcceptedDomainName } from '../../src/organization/accepted-domains.js';

const connector = (over: Partial<ReceiveConnectorRecord>): ReceiveConnectorRecord => ({ ...defaultReceiveConnector('EX01', 25, new Date(0)), ...over });

test('permission groups give the rights of Exchange\'s table; added entries add; a deny wins; externally secured gets everything', () => {
  const frontend = connector({});
  assert.equal(sessionPermissionsText(sessionRights(frontend, false)), 'SMTPSubmit SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders');
  assert.equal(sessionRights(frontend, false).has('ms-Exch-SMTP-Accept-Any-Recipient'), false);

  const client = connector({ permissionGroups: ['ExchangeUsers'], authMechanism: ['Tls', 'BasicAuth', 'BasicAuthRequireTLS'] });
  assert.equal(sessionPermissionsText(sessionRights(client, false)), '', 'nothing before AUTH');
  assert.equal(sessionPermissionsText(sessionRights(client, true)), 'SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag AcceptRoutingHeaders');

  const relay = connector({ permissionGroups: ['AnonymousUsers'], permissions: [{ user: 'NT AUTHORITY\\ANONYMOUS LOGON', extendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'], deny: false }] });
  assert.ok(sessionRights(relay, false).has('ms-Exch-SMTP-Accept-Any-Recipient'));
  const everyone = connector({ permissionGroups: [], permissions: [{ user: 'everyone', extendedRights: ['ms-Exch-SMTP-Submit'], deny: false }] });
  assert.deepEqual([...sessionRights(everyone, false)], ['ms-Exch-SMTP-Submit'], 'principal names in any case');

  const denied = connector({
    permissionGroups: ['AnonymousUsers', 'ExchangeUsers'],
    permissions: [{ user: 'NT AUTHORITY\\ANONYMOUS LOGON', extendedRights: ['ms-Exch-SMTP-Submit'], deny: true }],
  });
  assert.equal(sessionRights(denied, false).has('ms-Exch-SMTP-Submit'), false, 'anonymous senders must authenticate');
  assert.equal(sessionRights(denied, true).has('ms-Exch-SMTP-Submit'), true, 'an authenticated session is not anonymous logon: the deny does not touch it');
  assert.equal(sessionRights(connector({ permissionGroups: ['AnonymousUsers'] }), true).size, 0, 'AnonymousUsers gives an authenticated session nothing');

  const secured = connector({ permissionGroups: ['ExchangeServers'], authMechanism: ['Tls', 'ExternalAuthoritative'] });
  assert.equal(sessionPermissionsText(sessionRights(secured, false)), 'SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender BypassMessageSizeLimit AcceptRoutingHeaders');
  assert.equal(sessionRights(connector({ permissionGroups: ['ExchangeServers'] }), false).size, 0, 'ExchangeServers gives an anonymous session nothing');
});

test('a server of the organization authenticated by its internal transport certificate acts as MS Exchange\\Hub Transport Servers: every right, on a connector with ExchangeServer authentication and the ExchangeServers group only', () => {
  const all = 'SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender BypassMessageSizeLimit AcceptRoutingHeaders';
  const cases: Array<[string, Partial<ReceiveConnectorRecord>, string]> = [
    ['the Default Frontend', {}, all],
    ['ExchangeServers without ExchangeServer authentication', { authMechanism: ['Tls'] }, ''],
    ['ExchangeServer authentication without the ExchangeServers group (a server is not anonymous)', { permissionGroups: ['AnonymousUsers'] }, ''],
  ];
  for (const [name, over, rights] of cases) assert.equal(sessionPermissionsText(sessionRights(connector(over), 'exchangeServer')), rights, name);
  // A server is an authenticated principal too: a deny for Authenticated Users reaches it.
  const denied = connector({ permissions: [{ user: 'NT AUTHORITY\\Authenticated Users', extendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'], deny: true }] });
  assert.equal(sessionRights(denied, 'exchangeServer').has('ms-Exch-SMTP-Accept-Any-Recipient'), false);
  assert.equal(sessionRights(connector({}), true).has('ms-Exch-SMTP-Accept-Any-Sender'), false, 'an SMTP AUTH user is not a server');
});

test('the most specific accepted domain takes a recipient: an exact domain, then a wildcard or MatchSubDomains over a parent', () => {
  const d = (name: string, domainName: string, matchSubDomains = false): AcceptedDomainRecord => ({
    guid: name,
    name,
    domainName,
    domainType: 'Authoritative',
    default: false,
    matchSubDomains,
    whenCreated: new Date(0),
    whenChanged: new Date(0),
  });
  const table = new AcceptedDomainTable([d('Contoso', 'contoso.com'), d('Contoso all', '*.contoso.com'), d('Sales', 'sales.contoso.com'), d('Fabrikam', 'fabrikam.com', true)]);
  const name = (domain: string) => table.find(domain)?.name;
  assert.equal(name('contoso.com'), 'Contoso');
  assert.equal(name('CONTOSO.COM.'), 'Contoso');
  assert.equal(name('eu.contoso.com'), 'Contoso all');
  assert.equal(name('sales.contoso.com'), 'Sales');
  assert.equal(name('eu.sales.contoso.com'), 'Contoso all', 'Sales does not match subdomains');
  assert.equal(name('mail.fabrikam.com'), 'Fabrikam');
  assert.equal(name('notcontoso.com'), undefined);
  assert.equal(name('contoso.com.evil.test'), undefined);
  assert.equal(table.findForAddress('Kim@Eu.Contoso.com')?.name, 'Contoso all');
  assert.equal(table.findForAddress('kim@[10.0.0.1]'), undefined);

  assert.equal(parseAcceptedDomainName(' Contoso.COM. '), 'contoso.com');
  assert.equal(parseAcceptedDomainName('*.Contoso.com'), '*.contoso.com');
  for (const bad of ['', '*', '*.', 'a..b', '-a.com', 'a_b.com', 'contoso.*', 'x'.repeat(64) + '.com']) {
    assert.throws(() => parseAcceptedDomainName(bad), (e: { code?: string }) => e.code === 'ICX_PARAM_INVALID', bad);
  }
});
