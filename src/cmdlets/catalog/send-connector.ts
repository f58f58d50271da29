import { CertificateStore } from '../../certificate-store/certificate-store.js';
import { formatAddressSpace, parseAddressSpace } from '../../connectors/address-space.js';
import { defaultSendConnector } from '../../connectors/send-connector-defaults.js';
import { parseSmartHost, validateSendConnector } from '../../connectors/send-connector-rules.js';
import { formatSmtpX509Identifier, identifierMatches, parseSmtpX509Identifier } from '../../connectors/smtp-x509-identifier.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { AddressSpace, SendConnectorRecord, SendConnectorUsage } from '../../directory/records.js';
import { checkObjectName } from '../../organization/object-name.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type BoundParameters, type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { formatByteQuantifiedSize, formatTimeSpan } from '../framework/units.js';
import { applyMultiValued, identityError, resolveServer, sameText } from './common.js';

// Exchange's Format-List order: the connector's own properties alphabetically, then those of every directory
// object. The ones Interchange has no use for show Exchange's values for a connector of this kind.
export const sendConnectorType = defineObjectType({
  name: 'SendConnector',
  properties: [
    { name: 'AddressSpaces', type: 'String', multiValued: true },
    { name: 'AuthenticationCredential', type: 'String' },
    { name: 'CloudServicesMailEnabled', type: 'Boolean' },
    { name: 'Comment', type: 'String' },
    { name: 'ConnectedDomains', type: 'String', multiValued: true },
    { name: 'ConnectionInactivityTimeOut', type: 'TimeSpan' },
    { name: 'ConnectorType', type: 'String' },
    { name: 'DNSRoutingEnabled', type: 'Boolean' },
    { name: 'DomainSecureEnabled', type: 'Boolean' },
    { name: 'Enabled', type: 'Boolean' },
    { name: 'ErrorPolicies', type: 'String' },
    { name: 'ForceHELO', type: 'Boolean' },
    { name: 'Fqdn', type: 'String' },
    { name: 'FrontendProxyEnabled', type: 'Boolean' },
    { name: 'HomeMTA', type: 'String' },
    { name: 'HomeMtaServerId', type: 'String' },
    { name: 'Identity', type: 'String' },
    { name: 'IgnoreSTARTTLS', type: 'Boolean' },
    { name: 'IsScopedConnector', type: 'Boolean' },
    { name: 'IsSmtpConnector', type: 'Boolean' },
    { name: 'MaxMessageSize', type: 'ByteQuantifiedSize' },
    { name: 'Name', type: 'String' },
    { name: 'Port', type: 'Int32' },
    { name: 'ProtocolLoggingLevel', type: 'String' },
    { name: 'RequireTLS', type: 'Boolean' },
    { name: 'SmartHostAuthMechanism', type: 'String' },
    { name: 'SmartHosts', type: 'String', multiValued: true },
    { name: 'SmartHostsString', type: 'String' },
    { name: 'SmtpMaxMessagesPerConnection', type: 'Int32' },
    { name: 'SourceIPAddress', type: 'String' },
    { name: 'SourceRoutingGroup', type: 'String' },
    { name: 'SourceTransportServers', type: 'String', multiValued: true },
    { name: 'TlsAuthLevel', type: 'String' },
    { name: 'TlsCertificateName', type: 'String' },
    { name: 'TlsDomain', type: 'String' },
    { name: 'UseExternalDNSServersEnabled', type: 'Boolean' },
    { name: 'Guid', type: 'Guid' },
    { name: 'WhenChanged', type: 'DateTime' },
    { name: 'WhenCreated', type: 'DateTime' },
  ],
  defaultTableView: ['Identity', 'AddressSpaces', 'Enabled'],
  defaultListView: [],
});

export function toSendConnectorObject(c: SendConnectorRecord) {
  return {
    $type: 'SendConnector',
    AddressSpaces: c.addressSpaces.map(formatAddressSpace),
    AuthenticationCredential: c.authenticationCredential ? c.authenticationCredential.userName : null,
    CloudServicesMailEnabled: c.cloudServicesMailEnabled,
    Comment: c.comment,
    ConnectedDomains: [],
    ConnectionInactivityTimeOut: formatTimeSpan(c.connectionInactivityTimeOut),
    ConnectorType: 'Default',
    DNSRoutingEnabled: c.dnsRoutingEnabled,
    DomainSecureEnabled: c.domainSecureEnabled,
    Enabled: c.enabled,
    ErrorPolicies: 'Default',
    ForceHELO: c.forceHelo,
    Fqdn: c.fqdn,
    FrontendProxyEnabled: false,
    HomeMTA: 'Microsoft MTA',
    HomeMtaServerId: c.sourceTransportServers[0] ?? null,
    Identity: c.name,
    IgnoreSTARTTLS: c.ignoreStartTls,
    IsScopedConnector: false,
    IsSmtpConnector: true,
    MaxMessageSize: formatByteQuantifiedSize(c.maxMessageSize),
    Name: c.name,
    Port: c.port,
    ProtocolLoggingLevel: c.protocolLoggingLevel,
    RequireTLS: c.requireTls,
    SmartHostAuthMechanism: c.smartHostAuthMechanism,
    SmartHosts: c.smartHosts,
    SmartHostsString: c.smartHosts.join(','),
    SmtpMaxMessagesPerConnection: c.smtpMaxMessagesPerConnection,
    SourceIPAddress: '0.0.0.0',
    SourceRoutingGroup: 'Exchange Routing Group (DWBGZMFD01QNBJR)',
    SourceTransportServers: c.sourceTransportServers,
    TlsAuthLevel: c.tlsAuthLevel,
    TlsCertificateName: c.tlsCertificateName,
    TlsDomain: c.tlsDomain,
    UseExternalDNSServersEnabled: c.useExternalDnsServersEnabled,
    Guid: c.guid,
    WhenChanged: c.whenChanged,
    WhenCreated: c.whenCreated,
  };
}

/** Parameters shared by New- and Set-SendConnector. */
const settableParameters: ParameterDeclaration[] = [
  { name: 'AddressSpaces', type: 'String', multiValued: true, description: 'Type:Space;Cost entries, e.g. "SMTP:*;1", "contoso.com", "*.contoso.com;5". Set also takes @{Add=...; Remove=...}.' },
  { name: 'SmartHosts', type: 'String', multiValued: true, nullable: true, description: 'Smart host FQDNs or IP addresses (host:port accepted). Needs -DNSRoutingEnabled $false.' },
  { name: 'DNSRoutingEnabled', type: 'Boolean', description: 'Route by MX records ($true, default) or through smart hosts ($false).' },
  { name: 'SourceTransportServers', type: 'String', multiValued: true, description: 'The transport servers that send through this connector.' },
  { name: 'Port', type: 'Int32', range: [0, 65535], description: 'TCP port for delivery. Default 25.' },
  { name: 'Fqdn', type: 'String', nullable: true, description: 'Name given in EHLO/HELO and used to pick a certificate when TlsCertificateName is empty.' },
  { name: 'RequireTLS', type: 'Boolean', description: 'All mail over this connector must be sent over TLS.' },
  {
    name: 'TlsAuthLevel',
    type: 'Enum',
    values: ['EncryptionOnly', 'CertificateValidation', 'DomainValidation'],
    nullable: true,
    invalidValueMessage: "'{0}' is not a known tls auth level. Valid values are: EncryptionOnly, CertificateValidation, and DomainValidation.",
    description: 'How the remote certificate is checked. Needs -RequireTLS $true.',
  },
  { name: 'TlsDomain', type: 'String', nullable: true, description: 'Name expected in the remote certificate; only with -TlsAuthLevel DomainValidation.' },
  { name: 'TlsCertificateName', type: 'String', nullable: true, description: 'The certificate to present in STARTTLS: "<I>issuer<S>subject". $null clears it.' },
  { name: 'IgnoreSTARTTLS', type: 'Boolean', description: 'Never use STARTTLS, even when offered.' },
  { name: 'MaxMessageSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest message sent, e.g. 35MB or unlimited.' },
  { name: 'ProtocolLoggingLevel', type: 'Enum', values: ['None', 'Verbose'], description: 'Verbose writes the SMTP send protocol log.' },
  { name: 'Enabled', type: 'Boolean', description: 'Disabled connectors are ignored by routing.' },
  { name: 'ConnectionInactivityTimeOut', type: 'TimeSpan', description: 'Idle time before an open connection is closed. Default 00:10:00.' },
  { name: 'SmartHostAuthMechanism', type: 'Enum', values: ['None', 'BasicAuth', 'BasicAuthRequireTLS', 'ExchangeServer', 'ExternalAuthoritative'], description: 'Authentication to smart hosts.' },
  { name: 'AuthenticationCredential', type: 'PSCredential', nullable: true, description: 'Credential for BasicAuth to smart hosts.' },
  { name: 'Comment', type: 'String', nullable: true, description: 'Free text.' },
  { name: 'DomainSecureEnabled', type: 'Boolean', description: 'Mutual TLS (Domain Security).' },
  { name: 'ForceHELO', type: 'Boolean', description: 'Send HELO instead of EHLO.' },
  { name: 'SmtpMaxMessagesPerConnection', type: 'Int32', range: [1, 1_000_000], description: 'Messages sent over one connection before it is closed. Default 20.' },
  { name: 'UseExternalDNSServersEnabled', type: 'Boolean', description: "Use the transport service's ExternalDNSServers." },
  { name: 'CloudServicesMailEnabled', type: 'Boolean', description: 'Hybrid: keep X-MS-Exchange-Organization headers.' },
];

const FIELD: Record<string, keyof SendConnectorRecord> = {
  DNSRoutingEnabled: 'dnsRoutingEnabled',
  Port: 'port',
  RequireTLS: 'requireTls',
  TlsAuthLevel: 'tlsAuthLevel',
  IgnoreSTARTTLS: 'ignoreStartTls',
  MaxMessageSize: 'maxMessageSize',
  ProtocolLoggingLevel: 'protocolLoggingLevel',
  Enabled: 'enabled',
  ConnectionInactivityTimeOut: 'connectionInactivityTimeOut',
  SmartHostAuthMechanism: 'smartHostAuthMechanism',
  DomainSecureEnabled: 'domainSecureEnabled',
  ForceHELO: 'forceHelo',
  SmtpMaxMessagesPerConnection: 'smtpMaxMessagesPerConnection',
  UseExternalDNSServersEnabled: 'useExternalDnsServersEnabled',
  CloudServicesMailEnabled: 'cloudServicesMailEnabled',
};

export async function findSendConnector(directory: DirectoryStore, identity: string): Promise<SendConnectorRecord> {
  // A connector whose whole name is the identity comes first (names made before `\` was refused may hold one);
  // then `Server\Name`, which Exchange accepts though Send connectors are organization-wide, and only when the server exists.
  const all = await directory.listSendConnectors();
  const slash = identity.lastIndexOf('\\');
  const viaServer = slash > 0 && (await directory.getServer(identity.slice(0, slash))) ? identity.slice(slash + 1) : undefined;
  const found = all.find((c) => sameText(c.name, identity) || c.guid === identity.toLowerCase()) ?? (viaServer === undefined ? undefined : all.find((c) => sameText(c.name, viaServer)));
  if (!found) throw identityError('Send connectors', identity);
  return found;
}

/** Applies the given parameters to a connector record (New and Set share this). */
async function applyParameters(ctx: CmdletContext, store: CertificateStore, c: SendConnectorRecord, p: BoundParameters): Promise<SendConnectorRecord> {
  const next: SendConnectorRecord = { ...c };
  const has = (k: string) => k in p;
  for (const [param, field] of Object.entries(FIELD)) if (has(param)) (next as unknown as Record<string, unknown>)[field] = p[param];
  if (has('AddressSpaces')) {
    const parsed = (x: unknown) => (typeof x === 'string' ? parseAddressSpace(x) : (x as AddressSpace));
    const value = p.AddressSpaces;
    const edit = value && typeof value === 'object' && !Array.isArray(value) ? { add: (value as { add: string[] }).add.map(parsed), remove: (value as { remove: string[] }).remove.map(parsed) } : (value as string[]).map(parsed);
    next.addressSpaces = applyMultiValued(c.addressSpaces, edit, (a, b) => a.type.toLowerCase() === b.type.toLowerCase() && a.address === b.address);
  }
  if (has('SmartHosts')) {
    const value = p.SmartHosts;
    const norm = (v: unknown) => (v === null ? null : Array.isArray(v) ? v.map((s) => parseSmartHost(String(s))) : { add: (v as { add: string[] }).add.map(parseSmartHost), remove: (v as { remove: string[] }).remove.map(parseSmartHost) });
    next.smartHosts = applyMultiValued(c.smartHosts, norm(value), sameText);
    // Giving smart hosts implies smart-host routing unless the command says otherwise.
    if (!has('DNSRoutingEnabled') && next.smartHosts.length) next.dnsRoutingEnabled = false;
  }
  if (has('SourceTransportServers')) {
    const list = applyMultiValued(c.sourceTransportServers, p.SourceTransportServers, sameText);
    const resolved: string[] = [];
    for (const s of list) resolved.push((await resolveServer(ctx.services.directory, s)).name);
    next.sourceTransportServers = [...new Set(resolved)];
  }
  if (has('Fqdn')) next.fqdn = (p.Fqdn as string | null) || null;
  if (has('TlsDomain')) next.tlsDomain = (p.TlsDomain as string | null) || null;
  if (has('Comment')) next.comment = (p.Comment as string | null) ?? '';
  if (has('AuthenticationCredential')) {
    const cred = p.AuthenticationCredential as { userName: string; password: string } | null;
    next.authenticationCredential = cred ? { userName: cred.userName, password: ctx.services.vault.seal(Buffer.from(cred.password, 'utf8')) } : null;
  }
  if (has('TlsCertificateName')) {
    const text = p.TlsCertificateName as string | null;
    next.tlsCertificateName = text === null || text === '' ? null : formatSmtpX509Identifier(parseSmtpX509Identifier(text));
    if (next.tlsCertificateName) await checkCertificateEnabledForSmtp(store, next);
  }
  // Exchange's side effect: DNS routing drops smart hosts and their authentication.
  if (next.dnsRoutingEnabled && has('DNSRoutingEnabled') && p.DNSRoutingEnabled === true) {
    if (has('SmartHosts') && next.smartHosts.length) {
      throw new InterchangeError('ICX_CONNECTOR_INVALID', 'You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used.', { parameter: 'DNSRoutingEnabled' });
    }
    next.smartHosts = [];
    next.smartHostAuthMechanism = 'None';
    next.authenticationCredential = null;
  }
  // Strictly increasing, since Set-SendConnector uses it to detect a concurrent change.
  next.whenChanged = new Date(Math.max(ctx.services.clock().getTime(), c.whenChanged.getTime() + 1));
  validateSendConnector(next, new Set(Object.keys(p)));
  return next;
}

/**
 * Exchange refuses a TlsCertificateName when the certificate it names on the
 * first source server is not enabled for SMTP; a name that matches nothing
 * installed is accepted (the certificate may be installed next).
 */
async function checkCertificateEnabledForSmtp(store: CertificateStore, c: SendConnectorRecord) {
  const first = c.sourceTransportServers[0];
  if (!first) return;
  const id = parseSmtpX509Identifier(c.tlsCertificateName!);
  const matches = (await store.list(first)).filter((x) => x.status !== 'PendingRequest' && identifierMatches(id, x.facts));
  if (matches.length && !matches.some((m) => m.services.includes('SMTP'))) {
    throw new InterchangeError(
      'ICX_CERT_NOT_SMTP',
      "The given certificate is not enabled for SMTP protocol. Only certificates enabled for SMTP protocol can be set on Send Connectors. To enable a certificate for SMTP, please use 'Enable-ExchangeCertificate' cmdlet.",
      { parameter: 'TlsCertificateName' },
    );
  }
}

export function sendConnectorCmdlets(store: CertificateStore): CmdletDeclaration[] {
  const identity = (mandatory: boolean): ParameterDeclaration => ({
    name: 'Identity',
    type: 'String',
    position: 0,
    mandatory,
    valueFromPipeline: true,
    valueFromPipelineByPropertyName: true,
    description: 'The connector: its name or GUID.',
  });

  const get = defineCmdlet({
    name: 'Get-SendConnector',
    synopsis: 'Lists the Send connectors of the organization.',
    parameters: [identity(false)],
    outputType: 'SendConnector',
    role: 'Send Connectors',
    changesState: false,
    examples: [{ code: 'Get-SendConnector -Identity "Contoso Outbound" | Format-List SourceTransportServers', remarks: 'The servers that send through a connector.' }],
    async run(ctx, p) {
      const all = await ctx.services.directory.listSendConnectors();
      if (p.Identity === undefined) return all.map(toSendConnectorObject);
      return [toSendConnectorObject(await findSendConnector(ctx.services.directory, p.Identity as string))];
    },
  });

  const newConnector = defineCmdlet({
    name: 'New-SendConnector',
    synopsis: 'Creates a Send connector.',
    parameters: [
      { name: 'Name', type: 'String', position: 0, mandatory: true, description: 'Unique name; also the connector-id of the send protocol log.' },
      ...settableParameters.map((x) => (x.name === 'AddressSpaces' ? { ...x, mandatory: true } : x)),
      { name: 'Usage', type: 'Enum', values: ['Custom', 'Internal', 'Internet', 'Partner'], description: 'Connector type; default Custom.' },
      { name: 'Custom', type: 'SwitchParameter', description: 'Usage Custom.' },
      { name: 'Internal', type: 'SwitchParameter', description: 'Usage Internal (MaxMessageSize unlimited).' },
      { name: 'Internet', type: 'SwitchParameter', description: 'Usage Internet.' },
      { name: 'Partner', type: 'SwitchParameter', description: 'Usage Partner (Domain Security).' },
      { name: 'Force', type: 'SwitchParameter', description: 'Accepted for compatibility.' },
    ],
    outputType: 'SendConnector',
    role: 'Send Connectors',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      {
        code: 'New-SendConnector -Name "Contoso Outbound" -AddressSpaces "contoso.com" -DNSRoutingEnabled $false -SmartHosts mx.contoso.com -SourceTransportServers EX01,EX02 -RequireTLS $true',
        remarks: 'A connector that sends mail for contoso.com through a smart host over TLS.',
      },
    ],
    async run(ctx, p) {
      const switches = (['Custom', 'Internal', 'Internet', 'Partner'] as const).filter((u) => p[u]);
      if (switches.length + (p.Usage ? 1 : 0) > 1) {
        throw new InterchangeError('ICX_CONNECTOR_INVALID', 'At most one of the following parameters can be specified: -usage, -internet, -internal, -partner, -custom.');
      }
      const usage = ((p.Usage as SendConnectorUsage | undefined) ?? switches[0] ?? 'Custom') as SendConnectorUsage;
      const name = checkObjectName(p.Name);
      const now = ctx.services.clock();
      const base = defaultSendConnector({ name, usage, sourceServer: ctx.services.localServer, now });
      const record = await applyParameters(ctx, store, base, p);
      if (!ctx.shouldProcess(`Creating Send Connector "${name}", Address Spaces "${record.addressSpaces.map(formatAddressSpace).join(',')}".`, name)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        if ((await tx.listSendConnectors()).some((c) => sameText(c.name, name))) {
          throw new InterchangeError('ICX_OBJECT_EXISTS', `A Send connector with the name "${name}" already exists. Choose another name.`, { parameter: 'Name' });
        }
        await tx.insertSendConnector(record);
      });
      ctx.objectModified = name;
      return toSendConnectorObject(record);
    },
  });

  const set = defineCmdlet({
    name: 'Set-SendConnector',
    synopsis: 'Changes a Send connector.',
    parameters: [identity(true), { name: 'Name', type: 'String', description: 'A new name.' }, ...settableParameters, { name: 'Force', type: 'SwitchParameter', description: 'Accepted for compatibility.' }],
    role: 'Send Connectors',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $null', remarks: 'Stops naming a certificate: the connector then picks one by its FQDN.' },
      { code: '$cert = Get-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C\n$tlscertificatename = "<i>$($cert.Issuer)<s>$($cert.Subject)"\nSet-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $tlscertificatename', remarks: "Names a certificate by its issuer and subject, as Microsoft's article builds the value." },
    ],
    async run(ctx, p) {
      const first = await findSendConnector(ctx.services.directory, p.Identity as string);
      if (!ctx.shouldProcess(`Configuring Send connector "${first.name}".`, first.name)) return;
      ctx.objectModified = first.name;
      // Validation reads other objects, so it runs outside the write lock; the
      // write then commits only if nobody changed the connector meanwhile, in
      // one exclusive transaction that a concurrent certificate removal sees
      // either entirely before or entirely after itself.
      for (let attempt = 0; ; attempt++) {
        const current = attempt === 0 ? first : await findSendConnector(ctx.services.directory, first.guid);
        const next = await applyParameters(ctx, store, current, p);
        if (typeof p.Name === 'string') next.name = checkObjectName(p.Name);
        const committed = await ctx.services.directory.exclusive(async (tx) => {
          const all = await tx.listSendConnectors();
          const fresh = all.find((c) => c.guid === current.guid);
          if (!fresh) throw identityError('Send connectors', p.Identity as string);
          if (fresh.whenChanged.getTime() !== current.whenChanged.getTime()) return false;
          if (!sameText(next.name, fresh.name) && all.some((c) => sameText(c.name, next.name))) {
            throw new InterchangeError('ICX_OBJECT_EXISTS', `A Send connector with the name "${next.name}" already exists. Choose another name.`, { parameter: 'Name' });
          }
          await tx.updateSendConnector(next);
          return true;
        });
        if (committed) return;
        if (attempt >= 5) throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The Send connector "${first.name}" kept changing while it was being saved. Try the command again.`);
      }
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-SendConnector',
    synopsis: 'Removes a Send connector.',
    parameters: [identity(true)],
    role: 'Send Connectors',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-SendConnector "Contoso Outbound"', remarks: 'Removes the connector after confirmation.' }],
    async run(ctx, p) {
      const c = await findSendConnector(ctx.services.directory, p.Identity as string);
      if (!ctx.shouldProcess(`Removing Send connector "${c.name}".`, c.name)) return;
      await ctx.services.directory.deleteSendConnector(c.guid);
    },
  });

  return [get, newConnector, set, remove];
}
