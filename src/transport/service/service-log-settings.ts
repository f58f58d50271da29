// The log settings of a server's three transport services, as Get-TransportService, Get-FrontendTransportService
// and Get-MailboxTransportService show them. A server stored before a setting existed has none: its value is
// derived here, with Exchange's default, and its folder beside the Hub folders the server already has
// (<Logs>\Hub\ProtocolLog\SmtpSend → <Logs>\FrontEnd\ProtocolLog\SmtpReceive), as messageTrackingSettings() does.
import path from 'node:path';
import type { FrontendTransportServiceSettings, TransportServiceSettings } from '../../directory/records.js';
import type { ProtocolLogSettings } from '../protocol-log/index.js';

const DAY = 86_400_000;
const MB = 1024 * 1024;

/** `<data>/servers/<NAME>/TransportRoles/Logs`: the folder the server's Hub protocol logs are under. */
export function logsRoot(t: Pick<TransportServiceSettings, 'sendProtocolLogPath' | 'logsFolder'>): string {
  return t.logsFolder ?? path.dirname(path.dirname(path.dirname(t.sendProtocolLogPath)));
}

export interface ConnectivityLogSettings {
  enabled: boolean;
  directory: string;
  maxAge: number;
  /** Bytes; null = unlimited. */
  maxDirectorySize: number | null;
  maxFileSize: number | null;
}

/** Exchange's defaults: enabled, 30 days, 1000 MB, 10 MB, in `<Logs>\<service>\Connectivity`. */
function connectivity(
  t: Pick<TransportServiceSettings, 'connectivityLogEnabled' | 'connectivityLogPath' | 'connectivityLogMaxAge' | 'connectivityLogMaxDirectorySize' | 'connectivityLogMaxFileSize'>,
  defaultDirectory: string,
): ConnectivityLogSettings {
  return {
    enabled: t.connectivityLogEnabled ?? true,
    directory: t.connectivityLogPath ?? defaultDirectory,
    maxAge: t.connectivityLogMaxAge ?? 30 * DAY,
    maxDirectorySize: t.connectivityLogMaxDirectorySize === undefined ? 1000 * MB : t.connectivityLogMaxDirectorySize,
    maxFileSize: t.connectivityLogMaxFileSize === undefined ? 10 * MB : t.connectivityLogMaxFileSize,
  };
}

/** The Transport (Hub) service's connectivity log settings in effect. */
export function connectivityLogSettings(t: TransportServiceSettings): ConnectivityLogSettings {
  return connectivity(t, path.join(logsRoot(t), 'Hub', 'Connectivity'));
}

/** The Front End Transport service's protocol log settings have the Transport service's shape. */
export type FrontendTransportSettings = Pick<
  TransportServiceSettings,
  | 'sendProtocolLogPath'
  | 'receiveProtocolLogPath'
  | 'sendProtocolLogMaxAge'
  | 'receiveProtocolLogMaxAge'
  | 'sendProtocolLogMaxDirectorySize'
  | 'receiveProtocolLogMaxDirectorySize'
  | 'sendProtocolLogMaxFileSize'
  | 'receiveProtocolLogMaxFileSize'
  | 'intraOrgConnectorProtocolLoggingLevel'
> & { connectivity: ConnectivityLogSettings };

/** The Front End Transport service's settings in effect: Exchange's defaults (§5) for what was never set. */
export function frontendTransportSettings(server: { transport: TransportServiceSettings; frontendTransport?: FrontendTransportServiceSettings }): FrontendTransportSettings {
  const f = server.frontendTransport ?? {};
  const frontEnd = path.join(logsRoot(server.transport), 'FrontEnd');
  const size = (v: number | null | undefined, fallback: number) => (v === undefined ? fallback : v);
  return {
    sendProtocolLogPath: f.sendProtocolLogPath ?? path.join(frontEnd, 'ProtocolLog', 'SmtpSend'),
    receiveProtocolLogPath: f.receiveProtocolLogPath ?? path.join(frontEnd, 'ProtocolLog', 'SmtpReceive'),
    sendProtocolLogMaxAge: f.sendProtocolLogMaxAge ?? 30 * DAY,
    receiveProtocolLogMaxAge: f.receiveProtocolLogMaxAge ?? 30 * DAY,
    sendProtocolLogMaxDirectorySize: size(f.sendProtocolLogMaxDirectorySize, 250 * MB),
    receiveProtocolLogMaxDirectorySize: size(f.receiveProtocolLogMaxDirectorySize, 250 * MB),
    sendProtocolLogMaxFileSize: size(f.sendProtocolLogMaxFileSize, 10 * MB),
    receiveProtocolLogMaxFileSize: size(f.receiveProtocolLogMaxFileSize, 10 * MB),
    intraOrgConnectorProtocolLoggingLevel: f.intraOrgConnectorProtocolLoggingLevel ?? 'None',
    connectivity: connectivity(f, path.join(frontEnd, 'Connectivity')),
  };
}

/** The Mailbox Transport services' folders (Exchange's `<Logs>\Mailbox\…`); Interchange has no mailbox delivery to log. */
export function mailboxTransportFolders(t: TransportServiceSettings) {
  const mailbox = path.join(logsRoot(t), 'Mailbox');
  return {
    receiveProtocolLogPath: path.join(mailbox, 'ProtocolLog', 'SmtpReceive'),
    sendProtocolLogPath: path.join(mailbox, 'ProtocolLog', 'SmtpSend'),
    connectivityLogPath: path.join(mailbox, 'Connectivity'),
  };
}

/** The receive protocol log a Receive connector of this role writes to: the front end's or the Transport service's. */
export function receiveProtocolLogSettings(server: { transport: TransportServiceSettings; frontendTransport?: FrontendTransportServiceSettings }, role: 'FrontendTransport' | 'HubTransport'): ProtocolLogSettings {
  if (role === 'HubTransport') {
    const t = server.transport;
    return { directory: t.receiveProtocolLogPath, maxFileSize: t.receiveProtocolLogMaxFileSize ?? 0, maxDirectorySize: t.receiveProtocolLogMaxDirectorySize ?? 0, maxAge: t.receiveProtocolLogMaxAge };
  }
  const f = frontendTransportSettings(server);
  return { directory: f.receiveProtocolLogPath, maxFileSize: f.receiveProtocolLogMaxFileSize ?? 0, maxDirectorySize: f.receiveProtocolLogMaxDirectorySize ?? 0, maxAge: f.receiveProtocolLogMaxAge };
}
