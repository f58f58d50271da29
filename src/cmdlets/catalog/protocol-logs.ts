// The "More information" section of the certificate removal article, as a
// cmdlet: which certificate did each connector really present? Reads the
// protocol logs (this organization's, or a folder copied from a real Exchange
// server), takes the latest `Sending certificate` row per connector and
// server, and matches it to the certificates installed now.
import fs from 'node:fs';
import type { CertificateStore, EvaluatedCertificate } from '../../certificate-store/certificate-store.js';
import { selectCertificateByName, selectCertificateForDomain } from '../../certificate-store/selection.js';
import { parseSmtpX509Identifier } from '../../connectors/smtp-x509-identifier.js';
import type { SendConnectorRecord, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { collectSendingCertificates, readProtocolLogs, type LoggedCertificate, type ProtocolLogRow } from '../../transport/protocol-log/index.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { resolveServer, sameText } from './common.js';

export const connectorCertificateUsageType = defineObjectType({
  name: 'ConnectorCertificateUsage',
  properties: [
    { name: 'Connector', type: 'String' },
    { name: 'ConnectorType', type: 'String' },
    { name: 'Server', type: 'String' },
    { name: 'LastUsed', type: 'DateTime' },
    { name: 'SessionId', type: 'String' },
    { name: 'RemoteEndpoint', type: 'String' },
    { name: 'Subject', type: 'String' },
    { name: 'Issuer', type: 'String' },
    { name: 'SerialNumber', type: 'String' },
    { name: 'Thumbprint', type: 'String' },
    { name: 'NotBefore', type: 'DateTime' },
    { name: 'NotAfter', type: 'DateTime' },
    { name: 'CertificateDomains', type: 'String', multiValued: true },
    { name: 'IsInstalled', type: 'Boolean' },
    { name: 'InstalledOn', type: 'String', multiValued: true },
    { name: 'Status', type: 'String' },
    { name: 'TlsCertificateName', type: 'String' },
    { name: 'SelectedThumbprint', type: 'String' },
    { name: 'PresentedIsSelected', type: 'Boolean' },
    { name: 'LogFile', type: 'String' },
  ],
  defaultTableView: ['Connector', 'Server', 'LastUsed', 'Thumbprint', 'IsInstalled', 'Status', 'PresentedIsSelected'],
  defaultListView: [],
});

interface Latest {
  row: ProtocolLogRow;
  certificate: LoggedCertificate;
  server: string | undefined;
}

/** Connector ids of Receive logs are `<Server>\<Name>`; Send logs carry the Send connector's name. */
function connectorName(row: ProtocolLogRow): string {
  return row.kind === 'Receive' && row.connectorId.includes('\\') ? row.connectorId.slice(row.connectorId.indexOf('\\') + 1) : row.connectorId;
}

async function latestPerConnector(folders: Array<{ path: string; server: string | undefined }>, wanted: (row: ProtocolLogRow) => boolean): Promise<Map<string, Latest>> {
  const latest = new Map<string, Latest>();
  for (const folder of folders) {
    for await (const { row, certificate } of collectSendingCertificates(readProtocolLogs(folder.path))) {
      if (!wanted(row)) continue;
      const key = `${row.kind}|${row.connectorId.toLowerCase()}|${folder.server ?? ''}`;
      const prev = latest.get(key);
      if (!prev || prev.row.dateTime.getTime() <= row.dateTime.getTime()) latest.set(key, { row, certificate, server: folder.server });
    }
  }
  return latest;
}

/** What TlsCertificateName (else the FQDN) would select on a server right now. */
function selectedNow(certs: EvaluatedCertificate[], connector: SendConnectorRecord | undefined, server: ServerRecord): EvaluatedCertificate | undefined {
  const installed = certs.filter((c) => c.record.der !== null);
  if (connector?.tlsCertificateName) return selectCertificateByName(installed, parseSmtpX509Identifier(connector.tlsCertificateName));
  return selectCertificateForDomain(installed, connector?.fqdn ?? server.fqdn);
}

export function protocolLogCmdlets(store: CertificateStore): CmdletDeclaration[] {
  const usage = defineCmdlet({
    name: 'Get-ConnectorCertificateUsage',
    synopsis: 'Shows which certificate each connector really presented in STARTTLS, from the protocol logs, and whether it is still installed and valid.',
    description:
      'Reads the SMTP send and receive protocol logs (connectors with ProtocolLoggingLevel Verbose write them), finds the latest "Sending certificate" row per connector and server, and matches its thumbprint to the certificates installed on the connector\'s source servers. -LogPath reads a folder of logs instead, e.g. copied from a real Exchange server. SelectedThumbprint is what TlsCertificateName (or the FQDN) selects now.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'A Send or Receive connector name. Default: every connector found in the logs.' },
      { name: 'Server', type: 'String', description: 'Only the logs of this server (and match against its certificates).' },
      { name: 'LogPath', type: 'String', description: 'A folder of SEND*.LOG/RECV*.LOG files to read instead of the servers\' protocol log folders.' },
    ],
    outputType: 'ConnectorCertificateUsage',
    role: 'Exchange Servers',
    changesState: false,
    examples: [
      { code: 'Get-ConnectorCertificateUsage -Identity "Outbound to Office 365" | Format-List', remarks: 'The certificate the connector presented last, on each source server.' },
      { code: 'Get-ConnectorCertificateUsage -LogPath /tmp/exchange-logs -Server EX01', remarks: 'Reads logs copied from a real Exchange server and matches them to EX01\'s certificates.' },
    ],
    async run(ctx, p) {
      const directory = ctx.services.directory;
      const servers = await directory.listServers();
      const connectors = await directory.listSendConnectors();
      const identity = p.Identity as string | undefined;
      const onlyServer = p.Server ? await resolveServer(directory, p.Server as string) : undefined;
      const logPath = p.LogPath as string | undefined;
      const connector = identity ? connectors.find((c) => sameText(c.name, identity) || c.guid === identity) : undefined;

      let folders: Array<{ path: string; server: string | undefined }>;
      if (logPath) {
        if (!fs.existsSync(logPath)) throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The protocol log folder "${logPath}" cannot be read.`, { parameter: 'LogPath' });
        folders = [{ path: logPath, server: onlyServer?.name }];
      } else {
        const scope = onlyServer ? [onlyServer] : connector ? servers.filter((s) => connector.sourceTransportServers.some((n) => sameText(n, s.name))) : servers;
        folders = [];
        for (const s of scope) {
          for (const dir of [s.transport.sendProtocolLogPath, s.transport.receiveProtocolLogPath]) {
            if (fs.existsSync(dir)) folders.push({ path: dir, server: s.name });
          }
        }
      }
      const latest = await latestPerConnector(folders, (row) => !identity || sameText(connectorName(row), identity) || sameText(row.connectorId, identity));
      if (identity && latest.size === 0) ctx.writeWarning(`No "Sending certificate" row for "${identity}" in the protocol logs read. Is its ProtocolLoggingLevel Verbose, and has it sent mail over TLS since?`);

      const certCache = new Map<string, EvaluatedCertificate[]>();
      const certsOf = async (server: string) => {
        if (!certCache.has(server)) certCache.set(server, await store.list(server));
        return certCache.get(server)!;
      };
      const out: unknown[] = [];
      for (const { row, certificate, server } of [...latest.values()].sort((a, b) => a.row.connectorId.localeCompare(b.row.connectorId) || (a.server ?? '').localeCompare(b.server ?? ''))) {
        const name = connectorName(row);
        const sendConnector = row.kind === 'Send' ? connectors.find((c) => sameText(c.name, name)) : undefined;
        // Where to look for the certificate: the server whose log it is, else the connector's source servers, else every server.
        const candidates = server
          ? servers.filter((s) => sameText(s.name, server))
          : sendConnector
            ? servers.filter((s) => sendConnector.sourceTransportServers.some((n) => sameText(n, s.name)))
            : row.kind === 'Receive' && row.connectorId.includes('\\')
              ? servers.filter((s) => sameText(s.name, row.connectorId.split('\\')[0]))
              : servers;
        const installedOn: string[] = [];
        let match: EvaluatedCertificate | undefined;
        let selected: EvaluatedCertificate | undefined;
        for (const s of candidates) {
          const certs = await certsOf(s.name);
          const found = certs.find((c) => c.thumbprint === certificate.thumbprint.toUpperCase());
          if (found) {
            installedOn.push(s.name);
            match ??= found;
          }
          if (row.kind === 'Send') selected ??= selectedNow(certs, sendConnector, s);
        }
        out.push({
          $type: 'ConnectorCertificateUsage',
          Connector: name,
          ConnectorType: row.kind,
          Server: server ?? (candidates.length === 1 ? candidates[0].name : null),
          LastUsed: row.dateTime,
          SessionId: row.sessionId,
          RemoteEndpoint: row.remoteEndpoint,
          Subject: certificate.subject,
          Issuer: certificate.issuer,
          SerialNumber: certificate.serialNumber,
          Thumbprint: certificate.thumbprint,
          NotBefore: certificate.notBefore ?? null,
          NotAfter: certificate.notAfter ?? null,
          CertificateDomains: certificate.certificateDomains,
          IsInstalled: installedOn.length > 0,
          InstalledOn: installedOn,
          Status: match ? match.status : 'NotInstalled',
          TlsCertificateName: sendConnector?.tlsCertificateName ?? null,
          SelectedThumbprint: selected?.thumbprint ?? null,
          PresentedIsSelected: row.kind === 'Send' ? selected?.thumbprint === certificate.thumbprint : null,
          LogFile: row.file,
        });
      }
      return out;
    },
  });
  return [usage];
}
