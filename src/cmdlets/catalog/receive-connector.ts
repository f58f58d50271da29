import crypto from 'node:crypto';
import { bindingConflict, formatBinding, parseBinding, parseIpRange, validateReceiveConnector } from '../../connectors/receive-connector-rules.js';
import { formatSmtpX509Identifier, parseSmtpX509Identifier } from '../../connectors/smtp-x509-identifier.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import { receiveConnectorLimitDefaults, type PermissionGroup, type ReceiveAuthMechanism, type ReceiveConnectorLimits, type ReceiveConnectorRecord, type ReceiveConnectorUsage } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { checkObjectName } from '../../organization/object-name.js';
import type { CmdletContext } from '../framework/context.js';
import { type BoundParameters, type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { invokeOnServer } from '../framework/server-fetch.js';
import type { PropertyInfo, PropertyTypeName } from '../contract.js';
import { MAX_HOP_COUNT } from '../../transport/inbound/smtp-session.js';
import { formatByteQuantifiedSize, formatTimeSpan } from '../framework/units.js';
import { applyMultiValued, identityError, resolveServer, sameText } from './common.js';

const rcProp = (name: string, type: PropertyTypeName, multiValued = false): PropertyInfo => ({ name, type, ...(multiValued ? { multiValued: true } : {}) });

// Exchange's Format-List order, as for Send connectors: the connector's own properties alphabetically, then those of
// every directory object. The ones Interchange does not act on show Exchange's defaults; BindingStatus is Interchange's.
export const receiveConnectorType = defineObjectType({
  name: 'ReceiveConnector',
  properties: [
    rcProp('AdvertiseClientSettings', 'Boolean'),
    rcProp('AuthMechanism', 'String'),
    rcProp('AuthTarpitInterval', 'TimeSpan'),
    rcProp('Banner', 'String'),
    rcProp('BareLinefeedRejectionEnabled', 'Boolean'),
    rcProp('BinaryMimeEnabled', 'Boolean'),
    rcProp('Bindings', 'String', true),
    rcProp('BindingStatus', 'String', true),
    rcProp('ChunkingEnabled', 'Boolean'),
    rcProp('Comment', 'String'),
    rcProp('ConnectionInactivityTimeout', 'TimeSpan'),
    rcProp('ConnectionTimeout', 'TimeSpan'),
    rcProp('DefaultDomain', 'String'),
    rcProp('DeliveryStatusNotificationEnabled', 'Boolean'),
    rcProp('DomainSecureEnabled', 'Boolean'),
    rcProp('EightBitMimeEnabled', 'Boolean'),
    rcProp('EnableAuthGSSAPI', 'Boolean'),
    rcProp('Enabled', 'Boolean'),
    rcProp('EnhancedStatusCodesEnabled', 'Boolean'),
    rcProp('ExtendedProtectionPolicy', 'String'),
    rcProp('Fqdn', 'String'),
    rcProp('Identity', 'String'),
    rcProp('LiveCredentialEnabled', 'Boolean'),
    rcProp('LongAddressesEnabled', 'Boolean'),
    rcProp('MaxAcknowledgementDelay', 'TimeSpan'),
    rcProp('MaxHeaderSize', 'ByteQuantifiedSize'),
    rcProp('MaxHopCount', 'Int32'),
    rcProp('MaxInboundConnection', 'Object'),
    rcProp('MaxInboundConnectionPercentagePerSource', 'Int32'),
    rcProp('MaxInboundConnectionPerSource', 'Object'),
    rcProp('MaxLocalHopCount', 'Int32'),
    rcProp('MaxLogonFailures', 'Int32'),
    rcProp('MaxMessageSize', 'ByteQuantifiedSize'),
    rcProp('MaxProtocolErrors', 'Object'),
    rcProp('MaxRecipientsPerMessage', 'Int32'),
    rcProp('MessageRateLimit', 'Object'),
    rcProp('MessageRateSource', 'String'),
    rcProp('Name', 'String'),
    rcProp('OrarEnabled', 'Boolean'),
    rcProp('PermissionGroups', 'String'),
    rcProp('PipeliningEnabled', 'Boolean'),
    rcProp('ProtocolLoggingLevel', 'String'),
    rcProp('ProxyEnabled', 'Boolean'),
    rcProp('RejectReservedSecondLevelRecipientDomains', 'Boolean'),
    rcProp('RejectReservedTopLevelRecipientDomains', 'Boolean'),
    rcProp('RejectSingleLabelRecipientDomains', 'Boolean'),
    rcProp('RemoteIPRanges', 'String', true),
    rcProp('RequireEHLODomain', 'Boolean'),
    rcProp('RequireTLS', 'Boolean'),
    rcProp('Server', 'String'),
    rcProp('ServiceDiscoveryFqdn', 'String'),
    rcProp('SizeEnabled', 'String'),
    rcProp('SmtpUtf8Enabled', 'Boolean'),
    rcProp('SuppressXAnonymousTls', 'Boolean'),
    rcProp('TarpitInterval', 'TimeSpan'),
    rcProp('TlsCertificateName', 'String'),
    rcProp('TlsDomainCapabilities', 'String', true),
    rcProp('TransportRole', 'String'),
    // The directory object's, in Exchange's order.
    rcProp('AdminDisplayName', 'String'),
    rcProp('ExchangeVersion', 'String'),
    rcProp('DistinguishedName', 'String'),
    rcProp('Guid', 'Guid'),
    rcProp('ObjectCategory', 'String'),
    rcProp('ObjectClass', 'String', true),
    rcProp('WhenChanged', 'DateTime'),
    rcProp('WhenCreated', 'DateTime'),
    rcProp('WhenChangedUTC', 'DateTime'),
    rcProp('WhenCreatedUTC', 'DateTime'),
    rcProp('OrganizationId', 'String'),
    rcProp('OriginatingServer', 'String'),
    rcProp('IsValid', 'Boolean'),
  ],
  defaultTableView: ['Identity', 'Bindings', 'Enabled'],
  defaultListView: [],
});

/** `bindingStatus`: whether each binding listens, which only Get-ReceiveConnector asks the transport. */
export function toReceiveConnectorObject(c: ReceiveConnectorRecord, bindingStatus?: string[]) {
  return {
    $type: 'ReceiveConnector',
    AdvertiseClientSettings: false,
    AuthMechanism: c.authMechanism.join(', '),
    AuthTarpitInterval: formatTimeSpan(c.authTarpitInterval),
    Banner: c.banner,
    BareLinefeedRejectionEnabled: false,
    // BDAT is refused (502) and CHUNKING not offered: Interchange's values, where Exchange's default is $true.
    BinaryMimeEnabled: false,
    Bindings: c.bindings,
    ...(bindingStatus ? { BindingStatus: bindingStatus } : {}),
    ChunkingEnabled: false,
    Comment: c.comment,
    ConnectionInactivityTimeout: formatTimeSpan(c.connectionInactivityTimeout),
    ConnectionTimeout: formatTimeSpan(c.connectionTimeout),
    DefaultDomain: null,
    DeliveryStatusNotificationEnabled: true,
    DomainSecureEnabled: true,
    EightBitMimeEnabled: true,
    EnableAuthGSSAPI: false,
    Enabled: c.enabled,
    EnhancedStatusCodesEnabled: true,
    ExtendedProtectionPolicy: 'None',
    Fqdn: c.fqdn,
    Identity: `${c.server}\\${c.name}`,
    LiveCredentialEnabled: false,
    LongAddressesEnabled: false,
    MaxAcknowledgementDelay: formatTimeSpan(30_000),
    MaxHeaderSize: formatByteQuantifiedSize(c.maxHeaderSize),
    // What the transport refuses at (a Received header count), not Exchange's default of 60.
    MaxHopCount: MAX_HOP_COUNT,
    MaxInboundConnection: unlimitedInt(c.maxInboundConnection),
    MaxInboundConnectionPercentagePerSource: c.maxInboundConnectionPercentagePerSource,
    MaxInboundConnectionPerSource: unlimitedInt(c.maxInboundConnectionPerSource),
    MaxLocalHopCount: 12,
    MaxLogonFailures: c.maxLogonFailures,
    MaxMessageSize: formatByteQuantifiedSize(c.maxMessageSize),
    MaxProtocolErrors: unlimitedInt(c.maxProtocolErrors),
    MaxRecipientsPerMessage: c.maxRecipientsPerMessage,
    MessageRateLimit: 'Unlimited',
    MessageRateSource: 'IPAddress',
    Name: c.name,
    OrarEnabled: false,
    PermissionGroups: c.permissionGroups.join(', '),
    PipeliningEnabled: true,
    ProtocolLoggingLevel: c.protocolLoggingLevel,
    ProxyEnabled: false,
    RejectReservedSecondLevelRecipientDomains: false,
    RejectReservedTopLevelRecipientDomains: false,
    RejectSingleLabelRecipientDomains: false,
    RemoteIPRanges: c.remoteIpRanges,
    RequireEHLODomain: false,
    RequireTLS: c.requireTls,
    Server: c.server,
    ServiceDiscoveryFqdn: null,
    SizeEnabled: 'Enabled',
    SmtpUtf8Enabled: true,
    SuppressXAnonymousTls: false,
    TarpitInterval: formatTimeSpan(c.tarpitInterval),
    TlsCertificateName: c.tlsCertificateName,
    TlsDomainCapabilities: [],
    TransportRole: c.transportRole,
    AdminDisplayName: null,
    ExchangeVersion: '0.1 (8.0.535.0)',
    DistinguishedName: `CN=${c.name},CN=SMTP Receive Connectors,CN=Protocols,CN=${c.server},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=First Organization,CN=Microsoft Exchange,CN=Services,CN=Configuration`,
    Guid: c.guid,
    ObjectCategory: 'Configuration/Schema/ms-Exch-Smtp-Receive-Connector',
    ObjectClass: ['top', 'msExchSmtpReceiveConnector'],
    WhenChanged: c.whenChanged,
    WhenCreated: c.whenCreated,
    WhenChangedUTC: c.whenChanged,
    WhenCreatedUTC: c.whenCreated,
    OrganizationId: null,
    OriginatingServer: c.server,
    IsValid: true,
  };
}

/** Exchange's Unlimited<int> as Get- shows it: the number, or `Unlimited`. */
function unlimitedInt(n: number | null): number | string {
  return n === null ? 'Unlimited' : n;
}

const AUTH = ['None', 'Tls', 'Integrated', 'BasicAuth', 'BasicAuthRequireTLS', 'ExchangeServer', 'ExternalAuthoritative'];
const PERMISSIONS = ['None', 'AnonymousUsers', 'ExchangeUsers', 'ExchangeServers', 'ExchangeLegacyServers', 'Partners', 'Custom'];

const settable: ParameterDeclaration[] = [
  { name: 'Bindings', type: 'String', multiValued: true, description: 'Local IP:port pairs to listen on, e.g. 0.0.0.0:25 or [::]:25.' },
  { name: 'RemoteIPRanges', type: 'String', multiValued: true, description: 'Remote addresses this connector serves: addresses, ranges or CIDR. The most specific match wins.' },
  { name: 'Fqdn', type: 'String', nullable: true, description: 'Name in the banner and EHLO reply; picks the STARTTLS certificate when TlsCertificateName is empty.' },
  { name: 'TlsCertificateName', type: 'String', nullable: true, description: 'The STARTTLS certificate: "<I>issuer<S>subject".' },
  { name: 'AuthMechanism', type: 'Flags', values: AUTH, description: 'None, Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer, ExternalAuthoritative.' },
  { name: 'PermissionGroups', type: 'Flags', values: PERMISSIONS, description: 'AnonymousUsers, ExchangeUsers, ExchangeServers, ExchangeLegacyServers, Partners, Custom.' },
  { name: 'ProtocolLoggingLevel', type: 'Enum', values: ['None', 'Verbose'], description: 'Verbose writes the SMTP receive protocol log.' },
  { name: 'MaxMessageSize', type: 'ByteQuantifiedSize', description: 'Largest message accepted (64 KB to 2 GB). Default 36 MB.' },
  { name: 'Enabled', type: 'Boolean', description: 'A disabled connector does not listen.' },
  { name: 'RequireTLS', type: 'Boolean', description: 'Refuse MAIL before STARTTLS.' },
  { name: 'TransportRole', type: 'Enum', values: ['FrontendTransport', 'HubTransport'], description: 'The transport service that hosts the connector.' },
  { name: 'Banner', type: 'String', nullable: true, description: 'The 220 greeting text (after "220 ").' },
  { name: 'Comment', type: 'String', nullable: true, description: 'Free text.' },
  { name: 'ConnectionTimeout', type: 'TimeSpan', description: 'Longest time a connection may stay open, even while data flows (00:00:01 to 1.00:00:00). Default 00:10:00 (FrontendTransport), 00:05:00 (HubTransport).' },
  { name: 'ConnectionInactivityTimeout', type: 'TimeSpan', description: 'Longest idle time before a connection is closed; less than ConnectionTimeout. Default 00:05:00 (FrontendTransport), 00:01:00 (HubTransport).' },
  { name: 'MaxInboundConnection', type: 'Int32', allowUnlimited: true, range: [1, 2147483647], description: 'Connections the connector serves at once (1 to 2147483647, or unlimited). Default 5000.' },
  { name: 'MaxInboundConnectionPerSource', type: 'Int32', allowUnlimited: true, range: [1, 10000], description: 'Connections from one IP address at once (1 to 10000, or unlimited). Default 20.' },
  { name: 'MaxInboundConnectionPercentagePerSource', type: 'Int32', range: [1, 100], description: 'Connections from one IP address at once, as a percentage of the connections still free (1 to 100). Default 2.' },
  { name: 'MaxRecipientsPerMessage', type: 'Int32', range: [1, 512000], description: 'Recipients per message; further RCPT commands get 452 4.5.3. Default 200.' },
  { name: 'MaxHeaderSize', type: 'ByteQuantifiedSize', description: 'Largest message header (1 byte to 2147483647 bytes). Default 256 KB.' },
  { name: 'MaxProtocolErrors', type: 'Int32', allowUnlimited: true, range: [0, 2147483647], description: 'SMTP protocol errors before the connection is closed (0 to 2147483647, or unlimited). Default 5.' },
  { name: 'TarpitInterval', type: 'TimeSpan', description: 'How long an error reply to an anonymous session is held back (00:00:00 to 00:10:00; 00:00:00 turns it off). Default 00:00:05.' },
  { name: 'MaxLogonFailures', type: 'Int32', range: [0, 10], description: 'Failed AUTH attempts before the connection is closed (0 to 10; 0: never closed for them). Default 3.' },
  { name: 'AuthTarpitInterval', type: 'TimeSpan', description: 'How long a failed AUTH attempt is answered late (00:00:00 to 00:10:00). Default 00:00:05.' },
];

/** Set-ReceiveConnector's parameter to the record's property, for the limits that copy over as bound. */
const LIMITS: Array<[string, keyof ReceiveConnectorLimits | 'connectionTimeout']> = [
  ['ConnectionTimeout', 'connectionTimeout'],
  ['ConnectionInactivityTimeout', 'connectionInactivityTimeout'],
  ['MaxInboundConnection', 'maxInboundConnection'],
  ['MaxInboundConnectionPerSource', 'maxInboundConnectionPerSource'],
  ['MaxInboundConnectionPercentagePerSource', 'maxInboundConnectionPercentagePerSource'],
  ['MaxRecipientsPerMessage', 'maxRecipientsPerMessage'],
  ['MaxHeaderSize', 'maxHeaderSize'],
  ['MaxProtocolErrors', 'maxProtocolErrors'],
  ['TarpitInterval', 'tarpitInterval'],
  ['MaxLogonFailures', 'maxLogonFailures'],
  ['AuthTarpitInterval', 'authTarpitInterval'],
];

/** Receive connectors are per server: `Server\Name`, a name on the connected server, or a GUID. */
export async function findReceiveConnector(directory: DirectoryStore, identity: string, localServer: string): Promise<ReceiveConnectorRecord> {
  const slash = identity.lastIndexOf('\\');
  const serverName = slash >= 0 ? identity.slice(0, slash) : localServer;
  const name = slash >= 0 ? identity.slice(slash + 1) : identity;
  const all = await directory.listReceiveConnectors();
  const found =
    all.find((c) => c.guid === identity.toLowerCase()) ??
    all.find((c) => sameText(c.server, serverName) && sameText(c.name, name)) ??
    (slash < 0 ? (() => { const byName = all.filter((c) => sameText(c.name, name)); return byName.length === 1 ? byName[0] : undefined; })() : undefined);
  if (!found) throw identityError('Receive connectors', identity);
  return found;
}

function apply(ctx: CmdletContext, c: ReceiveConnectorRecord, p: BoundParameters): ReceiveConnectorRecord {
  const next = { ...c };
  const has = (k: string) => k in p;
  if (has('Bindings')) next.bindings = applyMultiValued(c.bindings, p.Bindings, sameText).map((b) => formatBinding(parseBinding(b)));
  if (has('RemoteIPRanges')) {
    next.remoteIpRanges = applyMultiValued(c.remoteIpRanges, p.RemoteIPRanges, sameText);
    next.remoteIpRanges.forEach(parseIpRange);
  }
  if (has('Fqdn')) next.fqdn = (p.Fqdn as string | null) || null;
  if (has('TlsCertificateName')) {
    const t = p.TlsCertificateName as string | null;
    next.tlsCertificateName = t ? formatSmtpX509Identifier(parseSmtpX509Identifier(t)) : null;
  }
  if (has('AuthMechanism')) next.authMechanism = p.AuthMechanism as ReceiveAuthMechanism[];
  if (has('PermissionGroups')) next.permissionGroups = p.PermissionGroups as PermissionGroup[];
  if (has('ProtocolLoggingLevel')) next.protocolLoggingLevel = p.ProtocolLoggingLevel as 'None' | 'Verbose';
  if (has('MaxMessageSize')) next.maxMessageSize = p.MaxMessageSize as number;
  if (has('Enabled')) next.enabled = p.Enabled as boolean;
  if (has('RequireTLS')) next.requireTls = p.RequireTLS as boolean;
  if (has('TransportRole')) next.transportRole = p.TransportRole as 'FrontendTransport' | 'HubTransport';
  if (has('Banner')) next.banner = (p.Banner as string | null) || null;
  if (has('Comment')) next.comment = (p.Comment as string | null) ?? '';
  for (const [parameter, property] of LIMITS) if (has(parameter)) (next as Record<string, unknown>)[property] = p[parameter];
  next.whenChanged = ctx.services.clock();
  validateReceiveConnector(next);
  return next;
}

/** Defaults per usage type, after Exchange's (reference §4). */
function usageDefaults(usage: ReceiveConnectorUsage): Pick<ReceiveConnectorRecord, 'authMechanism' | 'permissionGroups'> {
  switch (usage) {
    case 'Client':
      return { authMechanism: ['Tls', 'BasicAuth', 'BasicAuthRequireTLS'], permissionGroups: ['ExchangeUsers'] };
    case 'Internal':
      return { authMechanism: ['Tls', 'ExchangeServer'], permissionGroups: ['ExchangeServers', 'ExchangeLegacyServers'] };
    case 'Internet':
      return { authMechanism: ['Tls'], permissionGroups: ['AnonymousUsers'] };
    case 'Partner':
      return { authMechanism: ['Tls'], permissionGroups: ['Partners'] };
    default:
      return { authMechanism: ['Tls'], permissionGroups: [] };
  }
}

/** The Default Frontend connector's bindings, as Exchange Setup makes them: IPv6 and IPv4, all addresses. */
export function defaultFrontendBindings(port: number): string[] {
  return [`[::]:${port}`, `0.0.0.0:${port}`];
}

export function defaultReceiveConnector(server: string, port: number, now: Date): ReceiveConnectorRecord {
  return {
    guid: crypto.randomUUID(),
    server,
    name: `Default Frontend ${server}`,
    bindings: defaultFrontendBindings(port),
    remoteIpRanges: ['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    fqdn: null,
    tlsCertificateName: null,
    // Exchange's: AUTH is offered only after STARTTLS (BasicAuthRequireTLS); Integrated (NTLM, Kerberos) is shown but not offered here.
    authMechanism: ['Tls', 'Integrated', 'BasicAuth', 'BasicAuthRequireTLS', 'ExchangeServer'],
    permissionGroups: ['AnonymousUsers', 'ExchangeServers', 'ExchangeLegacyServers'],
    protocolLoggingLevel: 'Verbose',
    maxMessageSize: 36 * 1024 * 1024,
    enabled: true,
    requireTls: false,
    transportRole: 'FrontendTransport',
    banner: null,
    comment: '',
    ...receiveConnectorLimitDefaults('FrontendTransport'),
    whenCreated: now,
    whenChanged: now,
  };
}

export function receiveConnectorCmdlets(): CmdletDeclaration[] {
  const identity = (mandatory: boolean): ParameterDeclaration => ({
    name: 'Identity',
    type: 'String',
    position: 0,
    mandatory,
    valueFromPipeline: true,
    valueFromPipelineByPropertyName: true,
    description: 'Server\\Name, a name on the connected server, or the GUID.',
  });

  const get = defineCmdlet({
    name: 'Get-ReceiveConnector',
    synopsis: 'Lists Receive connectors.',
    parameters: [identity(false), { name: 'Server', type: 'String', description: 'Only the connectors of this server.' }],
    outputType: 'ReceiveConnector',
    role: 'Receive Connectors',
    changesState: false,
    examples: [{ code: 'Get-ReceiveConnector -Server EX01', remarks: 'The Receive connectors of EX01.' }],
    async run(ctx, p) {
      const records =
        p.Identity !== undefined
          ? [await findReceiveConnector(ctx.services.directory, p.Identity as string, ctx.services.localServer)]
          : await ctx.services.directory.listReceiveConnectors(p.Server ? (await resolveServer(ctx.services.directory, p.Server as string)).name : undefined);
      const status = await bindingStatusOf(ctx, records);
      return records.map((r) => toReceiveConnectorObject(r, status.get(r.guid) ?? []));
    },
  });

  const newConnector = defineCmdlet({
    name: 'New-ReceiveConnector',
    synopsis: 'Creates a Receive connector on a server.',
    parameters: [
      { name: 'Name', type: 'String', position: 0, mandatory: true, description: 'Unique on the server; at most 64 characters.' },
      { name: 'Server', type: 'String', description: 'The server. Default: the connected server.' },
      ...settable,
      { name: 'Usage', type: 'Enum', values: ['Client', 'Internal', 'Internet', 'Partner', 'Custom'], description: 'Sets default permission groups and authentication.' },
      { name: 'Client', type: 'SwitchParameter', description: 'Usage Client.' },
      { name: 'Internal', type: 'SwitchParameter', description: 'Usage Internal.' },
      { name: 'Internet', type: 'SwitchParameter', description: 'Usage Internet.' },
      { name: 'Partner', type: 'SwitchParameter', description: 'Usage Partner.' },
      { name: 'Custom', type: 'SwitchParameter', description: 'Usage Custom.' },
    ],
    outputType: 'ReceiveConnector',
    role: 'Receive Connectors',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'New-ReceiveConnector -Name "Relay" -Internet -Bindings 0.0.0.0:2526 -RemoteIPRanges 10.0.0.0/24', remarks: 'A connector on port 2526 for one subnet.' }],
    async run(ctx, p) {
      const server = await resolveServer(ctx.services.directory, (p.Server as string) ?? ctx.services.localServer);
      const switches = (['Client', 'Internal', 'Internet', 'Partner', 'Custom'] as const).filter((u) => p[u]);
      if (switches.length + (p.Usage ? 1 : 0) > 1) throw new InterchangeError('ICX_CONNECTOR_INVALID', 'At most one of the following parameters can be specified: -usage, -client, -internal, -internet, -partner, -custom.');
      const usage = ((p.Usage as ReceiveConnectorUsage | undefined) ?? switches[0] ?? 'Custom') as ReceiveConnectorUsage;
      const name = checkObjectName(p.Name);
      const now = ctx.services.clock();
      // Exchange's timeouts differ by role: a HubTransport connector gets the hub's defaults.
      const role = (p.TransportRole as ReceiveConnectorRecord['transportRole'] | undefined) ?? 'FrontendTransport';
      const base: ReceiveConnectorRecord = {
        ...defaultReceiveConnector(server.name, usage === 'Client' ? 587 : 25, now),
        name,
        bindings: usage === 'Client' ? ['0.0.0.0:587'] : usage === 'Internal' ? ['0.0.0.0:25'] : [],
        protocolLoggingLevel: 'None',
        transportRole: role,
        ...receiveConnectorLimitDefaults(role),
        ...usageDefaults(usage),
      };
      const record = apply(ctx, base, p);
      if (!ctx.shouldProcess(`Creating Receive connector "${name}" on server "${server.name}".`, `${server.name}\\${name}`)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        const existing = await tx.listReceiveConnectors(server.name);
        if (existing.some((c) => sameText(c.name, name))) {
          throw new InterchangeError('ICX_OBJECT_EXISTS', `A Receive connector with the name "${name}" already exists on server ${server.name}.`, { parameter: 'Name' });
        }
        refuseBindingConflict(record, existing);
        await tx.insertReceiveConnector(record);
      });
      return toReceiveConnectorObject(record);
    },
  });

  const set = defineCmdlet({
    name: 'Set-ReceiveConnector',
    synopsis: 'Changes a Receive connector.',
    parameters: [identity(true), { name: 'Name', type: 'String', description: 'A new name.' }, ...settable],
    role: 'Receive Connectors',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Set-ReceiveConnector "EX01\\Default Frontend EX01" -ProtocolLoggingLevel Verbose', remarks: 'Turns on the receive protocol log.' }],
    async run(ctx, p) {
      const current = await findReceiveConnector(ctx.services.directory, p.Identity as string, ctx.services.localServer);
      if (!ctx.shouldProcess(`Configuring Receive connector "${current.server}\\${current.name}".`, `${current.server}\\${current.name}`)) return;
      const next = apply(ctx, current, p);
      if (typeof p.Name === 'string') next.name = checkObjectName(p.Name);
      await ctx.services.directory.exclusive(async (tx) => {
        const existing = await tx.listReceiveConnectors(current.server);
        if (!sameText(next.name, current.name) && existing.some((c) => sameText(c.name, next.name))) {
          throw new InterchangeError('ICX_OBJECT_EXISTS', `A Receive connector with the name "${next.name}" already exists on server ${current.server}.`, { parameter: 'Name' });
        }
        refuseBindingConflict(next, existing);
        await tx.updateReceiveConnector(next);
      });
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-ReceiveConnector',
    synopsis: 'Removes a Receive connector.',
    parameters: [identity(true)],
    role: 'Receive Connectors',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-ReceiveConnector "EX01\\Relay"', remarks: 'Removes the connector after confirmation.' }],
    async run(ctx, p) {
      const c = await findReceiveConnector(ctx.services.directory, p.Identity as string, ctx.services.localServer);
      if (!ctx.shouldProcess(`Removing Receive connector "${c.server}\\${c.name}".`, `${c.server}\\${c.name}`)) return;
      await ctx.services.directory.deleteReceiveConnector(c.guid);
    },
  });

  return [get, newConnector, set, remove];
}

function refuseBindingConflict(candidate: ReceiveConnectorRecord, serverConnectors: readonly ReceiveConnectorRecord[]): void {
  const conflict = bindingConflict(candidate, serverConnectors);
  if (conflict) throw new InterchangeError('ICX_CONNECTOR_INVALID', conflict.message, { parameter: 'Bindings' });
}

/**
 * Whether each connector's bindings are really open: only the transport of
 * the connector's own server knows, so another server's connectors are asked
 * of that server's admin API (its BindingStatus, by GUID).
 */
async function bindingStatusOf(ctx: CmdletContext, records: readonly ReceiveConnectorRecord[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const local = ctx.services.localServer.toLowerCase();
  const remoteServers = new Set<string>();
  for (const r of records) {
    if (!r.enabled) out.set(r.guid, r.bindings.map((b) => `${b} Disabled`));
    else if (r.server.toLowerCase() !== local) remoteServers.add(r.server);
    else out.set(r.guid, ctx.services.transport?.receiveBindingStatus?.(r.bindings) ?? r.bindings.map((b) => `${b} Unknown`));
  }
  for (const name of remoteServers) {
    const theirs = await askServer(ctx, name);
    for (const r of records) if (r.server === name && !out.has(r.guid)) out.set(r.guid, theirs?.get(r.guid) ?? r.bindings.map((b) => `${b} Unknown (${name} cannot be reached)`));
  }
  return out;
}

async function askServer(ctx: CmdletContext, serverName: string): Promise<Map<string, string[]> | undefined> {
  const server = await resolveServer(ctx.services.directory, serverName);
  if (!server.adminUrl || !ctx.caller.token) return undefined;
  try {
    const body = await invokeOnServer(ctx, server, 'Get-ReceiveConnector', { Server: server.name }, AbortSignal.timeout(5000));
    const output = body.output as Array<{ Guid: string; BindingStatus?: string[] }>;
    return body.ok ? new Map(output.map((o) => [o.Guid, o.BindingStatus ?? []])) : undefined;
  } catch {
    return undefined;
  }
}
