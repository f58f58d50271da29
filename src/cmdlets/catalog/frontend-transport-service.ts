// Get-/Set-FrontendTransportService and Get-MailboxTransportService: the settings of a server's Front End
// Transport service (where its FrontendTransport Receive connectors, the Default Frontend among them, write
// their protocol log) and of its Mailbox Transport services, beside Get-TransportService's. Interchange runs
// them in one process; the folders are Exchange's (<Logs>\FrontEnd\…, <Logs>\Mailbox\…), under the server's
// TransportRoles folder in the data folder.
import type { FrontendTransportServiceSettings, ServerRecord, TransportServiceSettings } from '../../directory/records.js';
import type { PropertyInfo, PropertyTypeName } from '../contract.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { frontendTransportSettings, logsRoot, mailboxTransportFolders } from '../../transport/service/service-log-settings.js';
import { messageTrackingSettings } from '../../transport/tracking/message-tracking.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { formatByteQuantifiedSize, formatTimeSpan } from '../framework/units.js';
import { resolveServer, resolveServerOrRunning } from './common.js';
import path from 'node:path';

const MB = 1024 * 1024;
const DAY = 86_400_000;
const NO_GUID = '00000000-0000-0000-0000-000000000000';

/** The connectivity log's parameters, shared by Set-TransportService and Set-FrontendTransportService. */
export const CONNECTIVITY_LOG_PARAMETERS: Array<[ParameterDeclaration, 'connectivityLogEnabled' | 'connectivityLogPath' | 'connectivityLogMaxAge' | 'connectivityLogMaxDirectorySize' | 'connectivityLogMaxFileSize']> = [
  [{ name: 'ConnectivityLogEnabled', type: 'Boolean', description: 'Kept and shown as Exchange has it ($true by default); Interchange writes no connectivity log.' }, 'connectivityLogEnabled'],
  [{ name: 'ConnectivityLogPath', type: 'String', description: 'Folder of the connectivity log (kept and shown; Interchange writes no connectivity log).' }, 'connectivityLogPath'],
  [{ name: 'ConnectivityLogMaxAge', type: 'TimeSpan', description: 'Age after which connectivity log files are deleted (default 30.00:00:00; kept and shown).' }, 'connectivityLogMaxAge'],
  [{ name: 'ConnectivityLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the connectivity log folder (default 1000 MB; kept and shown).' }, 'connectivityLogMaxDirectorySize'],
  [{ name: 'ConnectivityLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new connectivity log file starts (default 10 MB; kept and shown).' }, 'connectivityLogMaxFileSize'],
];

/**
 * The folders a server shows without having them stored are derived from SendProtocolLogPath: written out before
 * it moves, they stay where they were (the front end's, connectivity, message tracking).
 */
export function pinDerivedFolders(t: TransportServiceSettings): Partial<TransportServiceSettings> {
  return { logsFolder: logsRoot(t), messageTrackingLogPath: messageTrackingSettings(t).directory };
}

/** Exchange's DNS log, off by default: Interchange writes none, and both transport services show the defaults. */
export function dnsLogDefaults() {
  return {
    DnsLogEnabled: false,
    DnsLogMaxAge: formatTimeSpan(7 * DAY),
    DnsLogMaxDirectorySize: formatByteQuantifiedSize(100 * MB),
    DnsLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    DnsLogPath: null,
  };
}

const prop = (name: string, type: PropertyTypeName, multiValued = false): PropertyInfo => ({ name, type, ...(multiValued ? { multiValued: true } : {}) });

// Exchange's Format-List order: the service's own properties alphabetically, then the directory object's.
export const frontendTransportServiceType = defineObjectType({
  name: 'FrontendTransportService',
  properties: [
    prop('AgentLogEnabled', 'Boolean'), prop('AgentLogMaxAge', 'TimeSpan'), prop('AgentLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('AgentLogMaxFileSize', 'ByteQuantifiedSize'), prop('AgentLogPath', 'String'),
    prop('AntispamAgentsEnabled', 'Boolean'),
    prop('ConnectivityLogEnabled', 'Boolean'), prop('ConnectivityLogMaxAge', 'TimeSpan'), prop('ConnectivityLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('ConnectivityLogMaxFileSize', 'ByteQuantifiedSize'), prop('ConnectivityLogPath', 'String'),
    prop('DnsLogEnabled', 'Boolean'), prop('DnsLogMaxAge', 'TimeSpan'), prop('DnsLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('DnsLogMaxFileSize', 'ByteQuantifiedSize'), prop('DnsLogPath', 'String'),
    prop('ExternalDNSAdapterEnabled', 'Boolean'), prop('ExternalDNSAdapterGuid', 'Guid'), prop('ExternalDNSProtocolOption', 'String'), prop('ExternalDNSServers', 'String', true), prop('ExternalIPAddress', 'String'),
    prop('Identity', 'String'),
    prop('InternalDNSAdapterEnabled', 'Boolean'), prop('InternalDNSAdapterGuid', 'Guid'), prop('InternalDNSProtocolOption', 'String'), prop('InternalDNSServers', 'String', true),
    prop('IntraOrgConnectorProtocolLoggingLevel', 'String'), prop('MaxConnectionRatePerMinute', 'Int32'), prop('Name', 'String'),
    prop('ReceiveProtocolLogMaxAge', 'TimeSpan'), prop('ReceiveProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('ReceiveProtocolLogMaxFileSize', 'ByteQuantifiedSize'), prop('ReceiveProtocolLogPath', 'String'),
    prop('RoutingTableLogMaxAge', 'TimeSpan'), prop('RoutingTableLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('RoutingTableLogPath', 'String'),
    prop('SendProtocolLogMaxAge', 'TimeSpan'), prop('SendProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('SendProtocolLogMaxFileSize', 'ByteQuantifiedSize'), prop('SendProtocolLogPath', 'String'),
    prop('TransientFailureRetryCount', 'Int32'), prop('TransientFailureRetryInterval', 'TimeSpan'),
    prop('Guid', 'Guid'), prop('WhenCreated', 'DateTime'),
  ],
  defaultTableView: ['Name', 'ReceiveProtocolLogPath', 'SendProtocolLogPath'],
  defaultListView: [],
});

export function toFrontendTransportServiceObject(s: ServerRecord) {
  const f = frontendTransportSettings(s);
  const frontEnd = path.join(logsRoot(s.transport), 'FrontEnd');
  return {
    $type: 'FrontendTransportService',
    AgentLogEnabled: true,
    AgentLogMaxAge: formatTimeSpan(7 * DAY),
    AgentLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    AgentLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    AgentLogPath: path.join(frontEnd, 'AgentLog'),
    AntispamAgentsEnabled: false,
    ConnectivityLogEnabled: f.connectivity.enabled,
    ConnectivityLogMaxAge: formatTimeSpan(f.connectivity.maxAge),
    ConnectivityLogMaxDirectorySize: formatByteQuantifiedSize(f.connectivity.maxDirectorySize),
    ConnectivityLogMaxFileSize: formatByteQuantifiedSize(f.connectivity.maxFileSize),
    ConnectivityLogPath: f.connectivity.directory,
    ...dnsLogDefaults(),
    ExternalDNSAdapterEnabled: true,
    ExternalDNSAdapterGuid: NO_GUID,
    ExternalDNSProtocolOption: 'Any',
    ExternalDNSServers: [],
    ExternalIPAddress: null,
    Identity: s.name,
    InternalDNSAdapterEnabled: true,
    InternalDNSAdapterGuid: NO_GUID,
    InternalDNSProtocolOption: 'Any',
    InternalDNSServers: [],
    IntraOrgConnectorProtocolLoggingLevel: f.intraOrgConnectorProtocolLoggingLevel,
    MaxConnectionRatePerMinute: 72000,
    Name: s.name,
    ReceiveProtocolLogMaxAge: formatTimeSpan(f.receiveProtocolLogMaxAge),
    ReceiveProtocolLogMaxDirectorySize: formatByteQuantifiedSize(f.receiveProtocolLogMaxDirectorySize),
    ReceiveProtocolLogMaxFileSize: formatByteQuantifiedSize(f.receiveProtocolLogMaxFileSize),
    ReceiveProtocolLogPath: f.receiveProtocolLogPath,
    RoutingTableLogMaxAge: formatTimeSpan(7 * DAY),
    RoutingTableLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    RoutingTableLogPath: path.join(frontEnd, 'Routing'),
    SendProtocolLogMaxAge: formatTimeSpan(f.sendProtocolLogMaxAge),
    SendProtocolLogMaxDirectorySize: formatByteQuantifiedSize(f.sendProtocolLogMaxDirectorySize),
    SendProtocolLogMaxFileSize: formatByteQuantifiedSize(f.sendProtocolLogMaxFileSize),
    SendProtocolLogPath: f.sendProtocolLogPath,
    TransientFailureRetryCount: 6,
    TransientFailureRetryInterval: formatTimeSpan(5 * 60_000),
    Guid: s.guid,
    WhenCreated: s.createdAt,
  };
}

export const mailboxTransportServiceType = defineObjectType({
  name: 'MailboxTransportService',
  properties: [
    prop('ConnectivityLogEnabled', 'Boolean'), prop('ConnectivityLogMaxAge', 'TimeSpan'), prop('ConnectivityLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('ConnectivityLogMaxFileSize', 'ByteQuantifiedSize'), prop('ConnectivityLogPath', 'String'),
    prop('Identity', 'String'),
    prop('MailboxDeliveryAgentLogEnabled', 'Boolean'), prop('MailboxDeliveryConnectorProtocolLoggingLevel', 'String'), prop('MailboxDeliveryConnectorSmtpUtf8Enabled', 'Boolean'),
    prop('MailboxDeliveryThrottlingLogEnabled', 'Boolean'), prop('MailboxSubmissionAgentLogEnabled', 'Boolean'),
    prop('MaxConcurrentMailboxDeliveries', 'Int32'), prop('MaxConcurrentMailboxSubmissions', 'Int32'), prop('Name', 'String'),
    prop('PipelineTracingEnabled', 'Boolean'),
    prop('ReceiveProtocolLogMaxAge', 'TimeSpan'), prop('ReceiveProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('ReceiveProtocolLogMaxFileSize', 'ByteQuantifiedSize'), prop('ReceiveProtocolLogPath', 'String'),
    prop('SendProtocolLogMaxAge', 'TimeSpan'), prop('SendProtocolLogMaxDirectorySize', 'ByteQuantifiedSize'), prop('SendProtocolLogMaxFileSize', 'ByteQuantifiedSize'), prop('SendProtocolLogPath', 'String'),
    prop('Guid', 'Guid'), prop('WhenCreated', 'DateTime'),
  ],
  defaultTableView: ['Name', 'ReceiveProtocolLogPath', 'SendProtocolLogPath'],
  defaultListView: [],
});

/** Exchange's defaults throughout: Interchange has no mailbox database to deliver to or submit from. */
export function toMailboxTransportServiceObject(s: ServerRecord) {
  const folders = mailboxTransportFolders(s.transport);
  return {
    $type: 'MailboxTransportService',
    ConnectivityLogEnabled: true,
    ConnectivityLogMaxAge: formatTimeSpan(30 * DAY),
    ConnectivityLogMaxDirectorySize: formatByteQuantifiedSize(1000 * MB),
    ConnectivityLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    ConnectivityLogPath: folders.connectivityLogPath,
    Identity: s.name,
    MailboxDeliveryAgentLogEnabled: true,
    MailboxDeliveryConnectorProtocolLoggingLevel: 'None',
    MailboxDeliveryConnectorSmtpUtf8Enabled: true,
    MailboxDeliveryThrottlingLogEnabled: true,
    MailboxSubmissionAgentLogEnabled: true,
    MaxConcurrentMailboxDeliveries: 20,
    MaxConcurrentMailboxSubmissions: 20,
    Name: s.name,
    PipelineTracingEnabled: false,
    ReceiveProtocolLogMaxAge: formatTimeSpan(30 * DAY),
    ReceiveProtocolLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    ReceiveProtocolLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    ReceiveProtocolLogPath: folders.receiveProtocolLogPath,
    SendProtocolLogMaxAge: formatTimeSpan(30 * DAY),
    SendProtocolLogMaxDirectorySize: formatByteQuantifiedSize(250 * MB),
    SendProtocolLogMaxFileSize: formatByteQuantifiedSize(10 * MB),
    SendProtocolLogPath: folders.sendProtocolLogPath,
    Guid: s.guid,
    WhenCreated: s.createdAt,
  };
}

/** Set-FrontendTransportService parameter → settings field. */
const FRONTEND_SETTINGS: Array<[ParameterDeclaration, keyof FrontendTransportServiceSettings]> = [
  [{ name: 'ReceiveProtocolLogPath', type: 'String', description: 'Folder of the SMTP receive protocol log of the FrontendTransport Receive connectors (Default Frontend, Client Frontend).' }, 'receiveProtocolLogPath'],
  [{ name: 'ReceiveProtocolLogMaxAge', type: 'TimeSpan', description: 'Age after which receive log files are deleted (default 30.00:00:00); 00:00:00 keeps them.' }, 'receiveProtocolLogMaxAge'],
  [{ name: 'ReceiveProtocolLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the receive log folder (default 250 MB).' }, 'receiveProtocolLogMaxDirectorySize'],
  [{ name: 'ReceiveProtocolLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new receive log file starts (default 10 MB).' }, 'receiveProtocolLogMaxFileSize'],
  [{ name: 'SendProtocolLogPath', type: 'String', description: "Folder of the front end's SMTP send protocol log (kept and shown: Interchange's front end proxies no outbound mail, the Transport service sends it)." }, 'sendProtocolLogPath'],
  [{ name: 'SendProtocolLogMaxAge', type: 'TimeSpan', description: 'Age after which front-end send log files are deleted (default 30.00:00:00; kept and shown).' }, 'sendProtocolLogMaxAge'],
  [{ name: 'SendProtocolLogMaxDirectorySize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest size of the front-end send log folder (default 250 MB; kept and shown).' }, 'sendProtocolLogMaxDirectorySize'],
  [{ name: 'SendProtocolLogMaxFileSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Size at which a new front-end send log file starts (default 10 MB; kept and shown).' }, 'sendProtocolLogMaxFileSize'],
  [{ name: 'IntraOrgConnectorProtocolLoggingLevel', type: 'Enum', values: ['None', 'Verbose'], description: 'Protocol logging of the front end\'s intra-organization hops (kept and shown).' }, 'intraOrgConnectorProtocolLoggingLevel'],
  ...CONNECTIVITY_LOG_PARAMETERS,
];

const PATH_FIELDS = new Set<string>(['receiveProtocolLogPath', 'sendProtocolLogPath', 'connectivityLogPath']);

export function frontendTransportServiceCmdlets(): CmdletDeclaration[] {
  const identity: ParameterDeclaration = { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN. Default: every server.' };

  const getFrontend = defineCmdlet({
    name: 'Get-FrontendTransportService',
    synopsis: "Shows the Front End Transport service settings of servers: where the FrontendTransport Receive connectors' protocol log is written.",
    parameters: [identity],
    outputType: 'FrontendTransportService',
    role: 'Exchange Servers',
    changesState: false,
    examples: [{ code: 'Get-FrontendTransportService EX01 | Format-List ReceiveProtocolLogPath', remarks: "Where the Default Frontend connector's receive protocol log is." }],
    async run(ctx, p) {
      if (p.Identity) return [toFrontendTransportServiceObject(await resolveServerOrRunning(ctx, p.Identity as string))];
      return (await ctx.services.directory.listServers()).map(toFrontendTransportServiceObject);
    },
  });

  const setFrontend = defineCmdlet({
    name: 'Set-FrontendTransportService',
    synopsis: "Changes a server's Front End Transport service settings: the receive protocol log of its FrontendTransport Receive connectors, and the log settings Exchange keeps beside it.",
    parameters: [{ ...identity, mandatory: true, description: 'Server name or FQDN.' }, ...FRONTEND_SETTINGS.map(([param]) => param)],
    role: 'Exchange Servers',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Set-FrontendTransportService EX01 -ReceiveProtocolLogPath /var/log/interchange/FrontEnd/SmtpReceive', remarks: "Moves the Default Frontend connector's receive protocol log of EX01." }],
    async run(ctx, p) {
      const server = await resolveServer(ctx.services.directory, p.Identity as string);
      const changes: FrontendTransportServiceSettings = {};
      for (const [param, field] of FRONTEND_SETTINGS) {
        if (!(param.name in p)) continue;
        const value = p[param.name];
        if (PATH_FIELDS.has(field) && (typeof value !== 'string' || !value.startsWith('/'))) {
          throw new InterchangeError('ICX_PARAM_INVALID', `${param.name} must be an absolute path.`, { parameter: param.name });
        }
        (changes as Record<string, unknown>)[field] = value;
      }
      if (!ctx.shouldProcess(`Configuring Front End Transport service "${server.name}".`, server.name)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        const fresh = await tx.getServer(server.name);
        if (fresh) await tx.updateServer({ ...fresh, frontendTransport: { ...fresh.frontendTransport, ...changes } });
      });
    },
  });

  const getMailbox = defineCmdlet({
    name: 'Get-MailboxTransportService',
    synopsis: "Shows the Mailbox Transport services' settings of servers (read-only in Interchange).",
    description:
      "Interchange has no mailbox databases, so nothing is delivered to or submitted from a mailbox and nothing is written in these folders: every value is Exchange's default, shown for scripts and comparison. There is no Set-MailboxTransportService.",
    parameters: [identity],
    outputType: 'MailboxTransportService',
    role: 'Exchange Servers',
    changesState: false,
    examples: [{ code: 'Get-MailboxTransportService | Format-List Name,*ProtocolLogPath', remarks: "Exchange's Mailbox Transport protocol log folders of each server." }],
    async run(ctx, p) {
      if (p.Identity) return [toMailboxTransportServiceObject(await resolveServerOrRunning(ctx, p.Identity as string))];
      return (await ctx.services.directory.listServers()).map(toMailboxTransportServiceObject);
    },
  });

  return [getFrontend, setFrontend, getMailbox];
}
