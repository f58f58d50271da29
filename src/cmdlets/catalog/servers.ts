import { isDirectoryUnavailable } from '../../directory/directory-health.js';
import { poisonDetectionSettings, type ServerRecord, type TransportServiceSettings } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { InvokeResponse, PropertyTypeName } from '../contract.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { formatByteQuantifiedSize, formatTimeSpan } from '../framework/units.js';
import { invokeOnServer } from '../framework/server-fetch.js';
import { resolveServer, resolveServerOrRunning } from './common.js';
import { messageTrackingSettings } from '../../transport/tracking/message-tracking.js';
import { connectivityLogSettings, logsRoot } from '../../transport/service/service-log-settings.js';
import path from 'node:path';
import { CONNECTIVITY_LOG_PARAMETERS, dnsLogDefaults, pinDerivedFolders } from './frontend-transport-service.js';

const MB = 1024 * 1024;
import type { ServerHeartbeatRecord } from '../../directory/records.js';
import { serverReachability } from '../../organization/server-reachability.js';
import { planServerRemoval, serverRunning } from '../../organization/server-removal.js';

export const exchangeServerType = defineObjectType({
  name: 'ExchangeServer',
  properties: [
    { name: 'Name', type: 'String' },
    { name: 'Identity', type: 'String' },
    { name: 'Fqdn', type: 'String' },
    { name: 'ServerRole', type: 'String' },
    { name: 'Site', type: 'String' },
    { name: 'Edition', type: 'String' },
    { name: 'AdminDisplayVersion', type: 'String' },
    { name: 'InterchangeVersion', type: 'String' },
    { name: 'Guid', type: 'Guid' },
    { name: 'AdminUrl', type: 'String' },
    { name: 'WhenCreated', type: 'DateTime' },
    { name: 'LastSeen', type: 'DateTime' },
    { name: 'Reachability', type: 'String' },
    { name: 'ListenerStatus', type: 'String', multiValued: true },
  ],
  defaultTableView: ['Name', 'Site', 'ServerRole', 'Edition', 'AdminDisplayVersion'],
  defaultListView: [],
});

// Exchange's Format-List order: the service's own properties alphabetically, then the directory object's. The ones
// Interchange does not act on (agent, DNS, routing table logs, pickup folders, …) show Exchange's defaults.
export const transportServiceType = defineObjectType({
  name: 'TransportService',
  properties: [
    ...[
      ['ActiveUserStatisticsLogMaxAge', 'TimeSpan'], ['ActiveUserStatisticsLogMaxDirectorySize', 'ByteQuantifiedSize'], ['ActiveUserStatisticsLogMaxFileSize', 'ByteQuantifiedSize'], ['ActiveUserStatisticsLogPath', 'String'],
      ['AgentLogEnabled', 'Boolean'], ['AgentLogMaxAge', 'TimeSpan'], ['AgentLogMaxDirectorySize', 'ByteQuantifiedSize'], ['AgentLogMaxFileSize', 'ByteQuantifiedSize'], ['AgentLogPath', 'String'],
      ['AntispamAgentsEnabled', 'Boolean'],
      ['ConnectivityLogEnabled', 'Boolean'], ['ConnectivityLogMaxAge', 'TimeSpan'], ['ConnectivityLogMaxDirectorySize', 'ByteQuantifiedSize'], ['ConnectivityLogMaxFileSize', 'ByteQuantifiedSize'], ['ConnectivityLogPath', 'String'],
      ['ContentConversionTracingEnabled', 'Boolean'], ['DelayNotificationTimeout', 'TimeSpan'],
      ['DnsLogEnabled', 'Boolean'], ['DnsLogMaxAge', 'TimeSpan'], ['DnsLogMaxDirectorySize', 'ByteQuantifiedSize'], ['DnsLogMaxFileSize', 'ByteQuantifiedSize'], ['DnsLogPath', 'String'],
      ['ExternalDNSAdapterEnabled', 'Boolean'], ['ExternalDNSAdapterGuid', 'Guid'], ['ExternalDNSProtocolOption', 'String'], ['ExternalDNSServers', 'String', true], ['ExternalIPAddress', 'String'],
      ['Identity', 'String'],
      ['InternalDNSAdapterEnabled', 'Boolean'], ['InternalDNSAdapterGuid', 'Guid'], ['InternalDNSProtocolOption', 'String'], ['InternalDNSServers', 'String', true],
      ['InternalTransportCertificateThumbprint', 'String'], ['IntraOrgConnectorProtocolLoggingLevel', 'String'], ['IntraOrgConnectorSmtpMaxMessagesPerConnection', 'Int32'],
      ['MaxConcurrentMailboxDeliveries', 'Int32'], ['MaxConcurrentMailboxSubmissions', 'Int32'], ['MaxConnectionRatePerMinute', 'Int32'], ['MaxOutboundConnections', 'Int32'], ['MaxPerDomainOutboundConnections', 'Int32'],
      ['MessageExpirationTimeout', 'TimeSpan'], ['MessageRetryInterval', 'TimeSpan'],
      ['MessageTrackingLogEnabled', 'Boolean'], ['MessageTrackingLogMaxAge', 'TimeSpan'], ['MessageTrackingLogMaxDirectorySize', 'ByteQuantifiedSize'], ['MessageTrackingLogMaxFileSize', 'ByteQuantifiedSize'], ['MessageTrackingLogPath', 'String'], ['MessageTrackingLogSubjectLoggingEnabled', 'Boolean'],
      ['Name', 'String'], ['OutboundConnectionFailureRetryInterval', 'TimeSpan'],
      ['PickupDirectoryMaxHeaderSize', 'ByteQuantifiedSize'], ['PickupDirectoryMaxMessagesPerMinute', 'Int32'], ['PickupDirectoryMaxRecipientsPerMessage', 'Int32'], ['PickupDirectoryPath', 'String'],
      ['PipelineTracingEnabled', 'Boolean'], ['PoisonMessageDetectionEnabled', 'Boolean'], ['PoisonThreshold', 'Int32'],
      ['QueueLogMaxAge', 'TimeSpan'], ['QueueLogMaxDirectorySize', 'ByteQuantifiedSize'], ['QueueLogMaxFileSize', 'ByteQuantifiedSize'], ['QueueLogPath', 'String'],
      ['QueueMaxIdleTime', 'TimeSpan'],
      ['ReceiveProtocolLogMaxAge', 'TimeSpan'], ['ReceiveProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'], ['ReceiveProtocolLogMaxFileSize', 'ByteQuantifiedSize'], ['ReceiveProtocolLogPath', 'String'],
      ['RecipientValidationCacheEnabled', 'Boolean'], ['ReplayDirectoryPath', 'String'], ['RootDropDirectoryPath', 'String'],
      ['RoutingTableLogMaxAge', 'TimeSpan'], ['RoutingTableLogMaxDirectorySize', 'ByteQuantifiedSize'], ['RoutingTableLogPath', 'String'],
      ['SendProtocolLogMaxAge', 'TimeSpan'], ['SendProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'], ['SendProtocolLogMaxFileSize', 'ByteQuantifiedSize'], ['SendProtocolLogPath', 'String'],
      ['TransientFailureRetryCount', 'Int32'], ['TransientFailureRetryInterval', 'TimeSpan'], ['UseDowngradedExchangeServerAuth', 'Boolean'],
    ].map(([name, type, multi]) => ({ name: name as string, type: type as PropertyTypeName, ...(multi ? { multiValued: true } : {}) })),
    { name: 'Guid', type: 'Guid' },
    { name: 'WhenCreated', type: 'DateTime' },
  ],
  defaultTableView: ['Name', 'SendProtocolLogPath', 'ReceiveProtocolLogPath'],
  defaultListView: [],
});

export const serviceType = defineObjectType({
  name: 'ServiceController',
  properties: [
    { name: 'Status', type: 'String' },
    { name: 'Name', type: 'String' },
    { name: 'DisplayName', type: 'String' },
    { name: 'MachineName', type: 'String' },
  ],
  defaultTableView: ['Status', 'Name', 'DisplayName'],
  defaultListView: ['Name', 'DisplayName', 'Status', 'MachineName'],
});

/**
 * The domain Exchange's Site is named under (`contoso.com/Configuration/Sites/…`): Active Directory's, which
 * Interchange does not have; the server's own domain stands for it.
 */
function directoryDomainOf(fqdn: string): string {
  const dot = fqdn.indexOf('.');
  return dot > 0 && dot < fqdn.length - 1 ? fqdn.slice(dot + 1).toLowerCase() : fqdn.toLowerCase();
}

/**
 * The server as configured, with what its own process last said of itself: the version it runs (nothing
 * until a process of it has run), when it was last seen, whether it still is, and its listeners.
 */
/**
 * What AdminDisplayVersion shows: the Exchange release whose management shell Interchange follows
 * (Exchange Server 2019 CU15, 15.2.1748.10). Scripts parse `Version 15.x (Build …)` to decide what
 * cmdlets and parameters a server has; the product's own version is in InterchangeVersion.
 */
export const EMULATED_EXCHANGE_VERSION = 'Version 15.2 (Build 1748.10)';

export function toExchangeServerObject(s: ServerRecord, heartbeat: ServerHeartbeatRecord | undefined, now: Date) {
  return {
    $type: 'ExchangeServer',
    Name: s.name,
    Identity: s.name,
    Fqdn: s.fqdn,
    ServerRole: s.roles.join(', '),
    Site: `${directoryDomainOf(s.fqdn)}/Configuration/Sites/Default-First-Site-Name`,
    Edition: 'Interchange',
    AdminDisplayVersion: heartbeat ? EMULATED_EXCHANGE_VERSION : null,
    InterchangeVersion: heartbeat?.productVersion ?? null,
    Guid: s.guid,
    AdminUrl: s.adminUrl,
    WhenCreated: s.createdAt,
    LastSeen: heartbeat?.lastSeen ?? null,
    Reachability: serverReachability(heartbeat, now),
    ListenerStatus: (heartbeat?.listeners ?? []).map((l) => `${l.connector}: ${l.binding} ${l.status}`),
  };
}

const NO_GUID = '00000000-0000-0000-0000-000000000000';

export function toTransportServiceObject(s: ServerRecord) {
  const t = s.transport;
  const poison = poisonDetectionSettings(t);
  const tracking = messageTrackingSettings(t);
  const connectivity = connectivityLogSettings(t);
  const logs = logsRoot(t);
  const roles = path.dirname(logs);
  return {
    $type: 'TransportService',
    ActiveUserStatisticsLogMaxAge: formatTimeSpan(30 * 86_400_000),
    ActiveUserStatisticsLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    ActiveUserStatisticsLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    ActiveUserStatisticsLogPath: path.join(logs, 'Hub', 'ActiveUsersStats'),
    AgentLogEnabled: true,
    AgentLogMaxAge: formatTimeSpan(7 * 86_400_000),
    AgentLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    AgentLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    AgentLogPath: path.join(logs, 'Hub', 'AgentLog'),
    AntispamAgentsEnabled: false,
    ConnectivityLogEnabled: connectivity.enabled,
    ConnectivityLogMaxAge: formatTimeSpan(connectivity.maxAge),
    ConnectivityLogMaxDirectorySize: formatByteQuantifiedSize(connectivity.maxDirectorySize),
    ConnectivityLogMaxFileSize: formatByteQuantifiedSize(connectivity.maxFileSize),
    ConnectivityLogPath: connectivity.directory,
    ContentConversionTracingEnabled: false,
    DelayNotificationTimeout: formatTimeSpan(t.delayNotificationTimeout),
    ...dnsLogDefaults(),
    ExternalDNSAdapterEnabled: true,
    ExternalDNSAdapterGuid: NO_GUID,
    ExternalDNSProtocolOption: 'Any',
    ExternalDNSServers: t.externalDnsServers,
    ExternalIPAddress: null,
    Identity: s.name,
    InternalDNSAdapterEnabled: true,
    InternalDNSAdapterGuid: NO_GUID,
    InternalDNSProtocolOption: 'Any',
    InternalDNSServers: [],
    InternalTransportCertificateThumbprint: s.internalTransportCertificateThumbprint,
    IntraOrgConnectorProtocolLoggingLevel: t.intraOrgConnectorProtocolLoggingLevel,
    IntraOrgConnectorSmtpMaxMessagesPerConnection: 20,
    MaxConcurrentMailboxDeliveries: 20,
    MaxConcurrentMailboxSubmissions: 20,
    MaxConnectionRatePerMinute: 1200,
    MaxOutboundConnections: t.maxOutboundConnections,
    MaxPerDomainOutboundConnections: t.maxPerDomainOutboundConnections,
    MessageExpirationTimeout: formatTimeSpan(t.messageExpirationTimeout),
    MessageRetryInterval: formatTimeSpan(t.messageRetryInterval),
    MessageTrackingLogEnabled: tracking.enabled,
    MessageTrackingLogMaxAge: formatTimeSpan(tracking.maxAge),
    MessageTrackingLogMaxDirectorySize: formatByteQuantifiedSize(tracking.maxDirectorySize || null),
    MessageTrackingLogMaxFileSize: formatByteQuantifiedSize(tracking.maxFileSize || null),
    MessageTrackingLogPath: tracking.directory,
    MessageTrackingLogSubjectLoggingEnabled: tracking.subjectLoggingEnabled,
    Name: s.name,
    OutboundConnectionFailureRetryInterval: formatTimeSpan(t.outboundConnectionFailureRetryInterval),
    PickupDirectoryMaxHeaderSize: formatByteQuantifiedSize(64 * 1024),
    PickupDirectoryMaxMessagesPerMinute: 100,
    PickupDirectoryMaxRecipientsPerMessage: 100,
    PickupDirectoryPath: path.join(roles, 'Pickup'),
    PipelineTracingEnabled: false,
    PoisonMessageDetectionEnabled: poison.enabled,
    PoisonThreshold: poison.threshold,
    QueueLogMaxAge: formatTimeSpan(7 * 86_400_000),
    QueueLogMaxDirectorySize: formatByteQuantifiedSize(200 * MB),
    QueueLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    QueueLogPath: path.join(logs, 'Hub', 'QueueViewer'),
    QueueMaxIdleTime: formatTimeSpan(3 * 60_000),
    ReceiveProtocolLogMaxAge: formatTimeSpan(t.receiveProtocolLogMaxAge),
    ReceiveProtocolLogMaxDirectorySize: formatByteQuantifiedSize(t.receiveProtocolLogMaxDirectorySize),
    ReceiveProtocolLogMaxFileSize: formatByteQuantifiedSize(t.receiveProtocolLogMaxFileSize),
    ReceiveProtocolLogPath: t.receiveProtocolLogPath,
    RecipientValidationCacheEnabled: false,
    ReplayDirectoryPath: path.join(roles, 'Replay'),
    RootDropDirectoryPath: null,
    RoutingTableLogMaxAge: formatTimeSpan(7 * 86_400_000),
    RoutingTableLogMaxDirectorySize: formatByteQuantifiedSize(50 * MB),
    RoutingTableLogPath: path.join(logs, 'Hub', 'Routing'),
    SendProtocolLogMaxAge: formatTimeSpan(t.sendProtocolLogMaxAge),
    SendProtocolLogMaxDirectorySize: formatByteQuantifiedSize(t.sendProtocolLogMaxDirectorySize),
    SendProtocolLogMaxFileSize: formatByteQuantifiedSize(t.sendProtocolLogMaxFileSize),
    SendProtocolLogPath: t.sendProtocolLogPath,
    TransientFailureRetryCount: t.transientFailureRetryCount,
    TransientFailureRetryInterval: formatTimeSpan(t.transientFailureRetryInterval),
    UseDowngradedExchangeServerAuth: false,
    Guid: s.guid,
    WhenCreated: s.createdAt,
  };
}

/** Set-TransportService parameter → settings field. */
const TRANSPORT_SETTINGS: Array<[ParameterDeclaration, keyof TransportServiceSettings]> = [
  [{ name: 'SendProtocolLogPath', type: 'String', description: 'Folder of the SMTP send protocol log.' }, 'sendProtocolLogPath'],
  [{ name: 'ReceiveProtocolLogPath', type: 'String', description: 'Folder of the SMTP receive protocol log.' }, 'receiveProtocolLogPath'],
  [{ name: 'SendProtocolLogMaxAge', type: 'TimeSpan', description: 'Age after which send log files are deleted; 00:00:00 keeps them.' }, 'sendProtocolLogMaxAge'],
  [{ name: 'ReceiveProtocolLogMaxAge', type: 'TimeSpan', description: 'Age after which receive log files are deleted; 00:00:00 keeps them.' }, 'receiveProtocolLogMaxAge'],
  [{ name: 'SendProtocolLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the send log folder.' }, 'sendProtocolLogMaxDirectorySize'],
  [{ name: 'ReceiveProtocolLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the receive log folder.' }, 'receiveProtocolLogMaxDirectorySize'],
  [{ name: 'SendProtocolLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new send log file starts.' }, 'sendProtocolLogMaxFileSize'],
  [{ name: 'ReceiveProtocolLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new receive log file starts.' }, 'receiveProtocolLogMaxFileSize'],
  [{ name: 'IntraOrgConnectorProtocolLoggingLevel', type: 'Enum', values: ['None', 'Verbose'], description: 'Protocol logging of server-to-server hops.' }, 'intraOrgConnectorProtocolLoggingLevel'],
  [{ name: 'MessageExpirationTimeout', type: 'TimeSpan', description: 'How long a message may stay queued before a non-delivery report (00:00:05 to 90.00:00:00).' }, 'messageExpirationTimeout'],
  [{ name: 'TransientFailureRetryInterval', type: 'TimeSpan', description: 'Wait between quick retries of a failed connection.' }, 'transientFailureRetryInterval'],
  [{ name: 'TransientFailureRetryCount', type: 'Int32', range: [0, 15], description: 'Quick retries before the queue goes to Retry.' }, 'transientFailureRetryCount'],
  [{ name: 'OutboundConnectionFailureRetryInterval', type: 'TimeSpan', description: 'Wait between retries after the quick retries failed.' }, 'outboundConnectionFailureRetryInterval'],
  [{ name: 'MessageRetryInterval', type: 'TimeSpan', description: 'Wait before retrying a message that failed on its own.' }, 'messageRetryInterval'],
  [{ name: 'DelayNotificationTimeout', type: 'TimeSpan', description: 'When a delay notification goes to the sender.' }, 'delayNotificationTimeout'],
  [{ name: 'MaxOutboundConnections', type: 'Int32', range: [1, 100000], description: 'Concurrent outbound connections of the server.' }, 'maxOutboundConnections'],
  [{ name: 'MaxPerDomainOutboundConnections', type: 'Int32', range: [1, 100000], description: 'Concurrent outbound connections per next hop.' }, 'maxPerDomainOutboundConnections'],
  [{ name: 'ExternalDNSServers', type: 'String', multiValued: true, nullable: true, description: 'DNS servers (IP or IP:port) for MX lookups; empty = the system resolver.' }, 'externalDnsServers'],
  [{ name: 'PoisonMessageDetectionEnabled', type: 'Boolean', description: 'Whether a message the service crashed on PoisonThreshold times goes to the Poison queue ($true by default).' }, 'poisonMessageDetectionEnabled'],
  [{ name: 'PoisonThreshold', type: 'Int32', range: [1, 10], description: 'Crashes while processing a message before it goes to the Poison queue (1 to 10; default 2).' }, 'poisonThreshold'],
  [{ name: 'MessageTrackingLogEnabled', type: 'Boolean', description: 'Whether the message tracking log is written ($true by default).' }, 'messageTrackingLogEnabled'],
  [{ name: 'MessageTrackingLogPath', type: 'String', description: 'Folder of the message tracking log (MSGTRK files).' }, 'messageTrackingLogPath'],
  [{ name: 'MessageTrackingLogMaxAge', type: 'TimeSpan', description: 'Age after which message tracking log files are deleted (default 30.00:00:00); 00:00:00 keeps them.' }, 'messageTrackingLogMaxAge'],
  [{ name: 'MessageTrackingLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the message tracking log folder (default 1000 MB).' }, 'messageTrackingLogMaxDirectorySize'],
  [{ name: 'MessageTrackingLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new message tracking log file starts (default 10 MB).' }, 'messageTrackingLogMaxFileSize'],
  [{ name: 'MessageTrackingLogSubjectLoggingEnabled', type: 'Boolean', description: 'Whether message subjects are written to the message tracking log ($true by default).' }, 'messageTrackingLogSubjectLoggingEnabled'],
  ...CONNECTIVITY_LOG_PARAMETERS.map(([p, field]) => [p, field] as [ParameterDeclaration, keyof TransportServiceSettings]),
];

const SERVICES: Record<string, string> = {
  msexchangetransport: 'MSExchangeTransport',
  'microsoft exchange transport': 'MSExchangeTransport',
};

/** Stop-/Start-Service on another server are run by that server's own admin API. */
export async function forward(ctx: CmdletContext, serverName: string, cmdlet: string, parameters: Record<string, unknown>): Promise<unknown[]> {
  const server = await resolveServer(ctx.services.directory, serverName);
  if (!server.adminUrl) throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Cannot find any service with service name 'MSExchangeTransport' on computer '${server.name}': the server has not registered an admin endpoint.`);
  let body: InvokeResponse;
  try {
    body = await invokeOnServer(ctx, server, cmdlet, parameters);
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Cannot open MSExchangeTransport service on computer '${server.name}' (${server.adminUrl}): ${(e as Error).message}`);
  }
  if (!body.ok && body.error) throw new InterchangeError(body.error.code as never, body.error.message);
  return body.output;
}

async function heartbeatsByServer(directory: CmdletContext['services']['directory']): Promise<Map<string, ServerHeartbeatRecord>> {
  return new Map((await directory.listHeartbeats()).map((h) => [h.serverName.toLowerCase(), h]));
}

export function serverCmdlets(): CmdletDeclaration[] {
  const getServer = defineCmdlet({
    name: 'Get-ExchangeServer',
    synopsis: 'Lists the servers of the organization.',
    parameters: [{ name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN.' }],
    outputType: 'ExchangeServer',
    role: 'Exchange Servers',
    changesState: false,
    examples: [
      { code: 'Get-ExchangeServer | Format-List Name,Fqdn,AdminUrl', remarks: 'Every server and where its admin API listens.' },
      { code: 'Get-ExchangeServer | Format-Table Name,InterchangeVersion,Reachability,LastSeen', remarks: 'The Interchange version each server runs and whether its process was seen recently. AdminDisplayVersion shows the Exchange version whose shell Interchange follows (Version 15.2 (Build 1748.10)), for scripts that parse it.' },
    ],
    async run(ctx, p) {
      const directory = ctx.services.directory;
      const servers = p.Identity ? [await resolveServer(directory, p.Identity as string)] : await directory.listServers();
      const heartbeats = await heartbeatsByServer(directory);
      const now = ctx.services.clock();
      return servers.map((s) => toExchangeServerObject(s, heartbeats.get(s.name.toLowerCase()), now));
    },
  });

  const getTransport = defineCmdlet({
    name: 'Get-TransportService',
    synopsis: 'Shows the transport service settings of servers.',
    parameters: [{ name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN. Default: every server.' }],
    outputType: 'TransportService',
    role: 'Exchange Servers',
    changesState: false,
    examples: [{ code: 'Get-TransportService | Format-List Identity,*ProtocolLogPath', remarks: 'Where each server writes its SMTP protocol logs.' }],
    async run(ctx, p) {
      if (p.Identity) return [toTransportServiceObject(await resolveServerOrRunning(ctx, p.Identity as string))];
      try {
        return (await ctx.services.directory.listServers()).map(toTransportServiceObject);
      } catch (e) {
        // Without the directory, this server can still say how its own transport runs.
        const running = isDirectoryUnavailable(e) ? ctx.services.transport?.runningServer?.() : undefined;
        if (!running) throw e;
        ctx.writeWarning(`${(e as Error).message} Only ${running.name} is listed, from its running configuration.`);
        return [toTransportServiceObject(running)];
      }
    },
  });

  const setTransport = defineCmdlet({
    name: 'Set-TransportService',
    synopsis: "Changes a server's transport service settings: protocol and message tracking log folders and limits, retry and expiry intervals, poison message detection.",
    parameters: [
      { name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN.' },
      ...TRANSPORT_SETTINGS.map(([p]) => p),
    ],
    role: 'Exchange Servers',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Set-TransportService EX01 -SendProtocolLogPath /var/log/interchange/SmtpSend', remarks: 'Moves the send protocol log of EX01.' }],
    async run(ctx, p) {
      const server = await resolveServer(ctx.services.directory, p.Identity as string);
      if (!ctx.shouldProcess(`Configuring transport service "${server.name}".`, server.name)) return;
      const transport = { ...server.transport };
      for (const [param, field] of TRANSPORT_SETTINGS) {
        if (!(param.name in p)) continue;
        const value = p[param.name];
        if ((field === 'sendProtocolLogPath' || field === 'receiveProtocolLogPath' || field === 'messageTrackingLogPath' || field === 'connectivityLogPath') && (typeof value !== 'string' || !value.startsWith('/'))) {
          throw new InterchangeError('ICX_PARAM_INVALID', `${param.name} must be an absolute path.`, { parameter: param.name });
        }
        if (field === 'messageExpirationTimeout' && ((value as number) < 5000 || (value as number) > 90 * 86_400_000)) {
          throw new InterchangeError('ICX_PARAM_INVALID', 'MessageExpirationTimeout must be from 00:00:05 through 90.00:00:00.', { parameter: param.name });
        }
        (transport as Record<string, unknown>)[field] = field === 'externalDnsServers' ? (value ?? []) : value;
      }
      await ctx.services.directory.exclusive(async (tx) => {
        const fresh = await tx.getServer(server.name);
        if (!fresh) return;
        // Folders never set are derived from SendProtocolLogPath; moving it must not move them: they stay where they were.
        const pinned = 'SendProtocolLogPath' in p ? pinDerivedFolders(fresh.transport) : undefined;
        await tx.updateServer({ ...fresh, transport: { ...pinned, ...transport } });
      });
    },
  });

  const serviceParams: ParameterDeclaration[] = [
    { name: 'Name', type: 'String', position: 0, multiValued: true, valueFromPipelineByPropertyName: true, description: 'The service: MSExchangeTransport.', aliases: ['ServiceName'] },
    { name: 'ComputerName', type: 'String', description: "A server of the organization; default: the connected server. Interchange reaches it through the admin API it registered." },
  ];

  const serviceCmdlet = (name: string, verb: 'Get' | 'Stop' | 'Start' | 'Restart'): CmdletDeclaration =>
    defineCmdlet({
      name,
      synopsis: verb === 'Get' ? "Shows the state of the server's transport service." : `${verb}s the Microsoft Exchange Transport service of a server.`,
      description:
        verb === 'Stop'
          ? 'Stopping closes the Receive connectors, lets sessions in progress finish (or ends them with 421 after a grace period) and pauses delivery. Queued mail is kept and delivered after Start-Service.'
          : undefined,
      parameters: [{ ...serviceParams[0], mandatory: verb !== 'Get' }, serviceParams[1], ...(verb === 'Get' ? [] : [{ name: 'Force', type: 'SwitchParameter', description: 'Accepted for compatibility.' } as ParameterDeclaration])],
      outputType: 'ServiceController',
      role: 'Exchange Servers',
      changesState: verb !== 'Get',
      confirmImpact: 'Medium',
      examples: [{ code: `${name} MSExchangeTransport`, remarks: `${verb === 'Get' ? 'Shows' : verb + 's'} the transport service of the connected server.` }],
      async run(ctx, p) {
        const target = (p.ComputerName as string | undefined) ?? ctx.services.localServer;
        const server = await resolveServerOrRunning(ctx, target);
        const names = (p.Name as string[] | undefined) ?? ['MSExchangeTransport'];
        for (const n of names) {
          if (!SERVICES[n.toLowerCase()] && !(verb === 'Get' && n.includes('*'))) {
            throw new InterchangeError('ICX_SERVICE_NOT_FOUND', `Cannot find any service with service name '${n}'.`);
          }
        }
        if (server.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
          if (verb !== 'Get' && !ctx.shouldProcess(`Performing the operation "${verb}-Service" on target "Microsoft Exchange Transport (MSExchangeTransport)" on computer "${server.name}".`, server.name)) return;
          return forward(ctx, server.name, name, { Name: ['MSExchangeTransport'] });
        }
        const transport = ctx.services.transport;
        if (!transport) throw new InterchangeError('ICX_SERVICE_NOT_FOUND', `Cannot find any service with service name 'MSExchangeTransport' on computer '${server.name}': this process runs no transport.`);
        if (verb !== 'Get') {
          if (!ctx.shouldProcess(`Performing the operation "${verb}-Service" on target "Microsoft Exchange Transport (MSExchangeTransport)".`, server.name)) return;
          if (verb === 'Stop' || verb === 'Restart') await transport.stop();
          if (verb === 'Start' || verb === 'Restart') await transport.start();
          if (verb !== 'Restart') return;
        }
        return { $type: 'ServiceController', Status: transport.status(), Name: 'MSExchangeTransport', DisplayName: 'Microsoft Exchange Transport', MachineName: server.name };
      },
    });

  const removeServer = defineCmdlet({
    name: 'Remove-ExchangeServer',
    synopsis: 'Removes a server that no longer runs from the organization, with its Receive connectors, certificates and heartbeat.',
    description:
      "Interchange's counterpart of uninstalling Exchange from a server. Refused for the server you are connected to, while the server's process is seen running, and while it is the only source server of a Send connector; Send connectors it shares with other servers keep the others. Its data folder (queue, logs, keys) stays on its host.",
    parameters: [{ name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN.' }],
    role: 'Organization Configuration',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-ExchangeServer EX02', remarks: 'Removes EX02, once its process is stopped, from another server of the organization.' }],
    async run(ctx, p) {
      const directory = ctx.services.directory;
      const server = await resolveServer(directory, p.Identity as string);
      // Holding the server's name (across hosts, with PostgreSQL) keeps it from starting while it is removed.
      let lease: Awaited<ReturnType<typeof directory.lockServer>> | undefined;
      if (server.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
        try {
          lease = await directory.lockServer(server.name);
        } catch (e) {
          if (!(e instanceof InterchangeError) || e.code !== 'ICX_SERVER_ALREADY_RUNNING') throw e;
          throw serverRunning(server.name, (await directory.listHeartbeats()).find((h) => h.serverName.toLowerCase() === server.name.toLowerCase()));
        }
      }
      try {
        await directory.exclusive(async (tx) => {
          const fresh = await tx.getServer(server.name);
          if (!fresh) throw new InterchangeError('ICX_SERVER_NOT_FOUND', `The operation couldn't be performed because object '${p.Identity as string}' couldn't be found on the directory of organization servers.`);
          const plan = planServerRemoval({
            serverName: fresh.name,
            localServer: ctx.services.localServer,
            heartbeat: (await tx.listHeartbeats()).find((h) => h.serverName.toLowerCase() === fresh.name.toLowerCase()),
            sendConnectors: await tx.listSendConnectors(),
            now: ctx.services.clock(),
          });
          if (!ctx.shouldProcess(`Removing Exchange server "${fresh.name}" from the organization.`, fresh.name)) return;
          for (const c of plan.sendConnectors) await tx.updateSendConnector(c);
          await tx.deleteServer(fresh.name);
        });
      } finally {
        await lease?.release();
      }
    },
  });

  return [getServer, removeServer, getTransport, setTransport, serviceCmdlet('Get-Service', 'Get'), serviceCmdlet('Stop-Service', 'Stop'), serviceCmdlet('Start-Service', 'Start'), serviceCmdlet('Restart-Service', 'Restart')];
}
