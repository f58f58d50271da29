// The "More information" section of the certificate removal article, as a
// cmdlet: which certificate did each connector really present? Reads the
// protocol logs (this organization's, or a folder copied from a real Exchange
// server), takes the latest `Sending certificate` record per connector and
// server (or, with -All, every change of certificate), and matches it to the
// certificates installed now. What it could not read, it says.
import fs from 'node:fs';
import type { CertificateStore, EvaluatedCertificate } from '../../certificate-store/certificate-store.js';
import { selectCertificateByName, selectCertificateForDomain } from '../../certificate-store/selection.js';
import { parseSmtpX509Identifier } from '../../connectors/smtp-x509-identifier.js';
import type { SendConnectorRecord, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import {
  CertificateHistory,
  collectSendingCertificates,
  describeReadReport,
  emptyReadReport,
  findProtocolLogFolders,
  readProtocolLogs,
  somethingSkipped,
  type CertificateRun,
  type LoggedCertificate,
  type ProtocolLogReadReport,
  type ProtocolLogRow,
} from '../../transport/protocol-log/index.js';
import { frontendTransportSettings } from '../../transport/service/service-log-settings.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { resolveServer, sameText } from './common.js';

export const connectorCertificateUsageType = defineObjectType({
  name: 'ConnectorCertificateUsage',
  properties: [
    { name: 'Connector', type: 'String' },
    { name: 'ConnectorType', type: 'String' },
    { name: 'Server', type: 'String' },
    { name: 'LastUsed', type: 'DateTime' },
    { name: 'FirstUsed', type: 'DateTime' },
    { name: 'Uses', type: 'Int32' },
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

interface Use {
  row: ProtocolLogRow;
  certificate: LoggedCertificate;
  server: string | undefined;
}

/** Connector ids of Receive logs are `<Server>\<Name>`; Send logs carry the Send connector's name. */
function connectorName(row: ProtocolLogRow): string {
  return row.kind === 'Receive' && row.connectorId.includes('\\') ? row.connectorId.slice(row.connectorId.indexOf('\\') + 1) : row.connectorId;
}

/** The server a Receive log's connector id names (`EXCH\Default Frontend EXCH` → `EXCH`). */
function connectorServer(row: ProtocolLogRow): string | undefined {
  return row.kind === 'Receive' && row.connectorId.includes('\\') ? row.connectorId.slice(0, row.connectorId.indexOf('\\')) : undefined;
}

async function readHistory(
  folders: Array<{ path: string; server: string | undefined }>,
  wanted: (row: ProtocolLogRow) => boolean,
  report: ProtocolLogReadReport,
): Promise<CertificateHistory<Use>> {
  const history = new CertificateHistory<Use>();
  for (const folder of folders) {
    for await (const { row, certificate } of collectSendingCertificates(readProtocolLogs(folder.path, { report }), report)) {
      if (!wanted(row)) continue;
      history.add({
        key: `${row.kind}|${row.connectorId.toLowerCase()}|${folder.server ?? ''}`,
        segment: row.file,
        at: row.dateTime,
        thumbprint: certificate.thumbprint,
        item: { row, certificate, server: folder.server },
      });
    }
  }
  return history;
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
      'Reads the SMTP send and receive protocol logs (connectors with ProtocolLoggingLevel Verbose write them) and their "Sending certificate" records: the single row of Exchange 2016/2019 and the multi-row record of Exchange 2013, also when rotation cut off its first row. ' +
      'By default it returns, per connector and server, the certificate of the latest record (LastUsed; FirstUsed is when that certificate was first seen in the logs read, Uses how many sessions presented it), matched by thumbprint to the certificates installed on the connector\'s source servers (IsInstalled, Status); SelectedThumbprint is what TlsCertificateName (or the FQDN) selects now. -All returns every change of certificate instead, oldest first; -Start and -End limit the records read to a time window. ' +
      '-LogPath reads a folder copied from a real Exchange server instead: the SEND*.LOG and RECV*.LOG files in it and in Exchange\'s layout below it (Hub, FrontEnd, Edge or Mailbox\\ProtocolLog\\SmtpSend and SmtpReceive), so it may point at TransportRoles\\Logs or at ProtocolLog; -Recurse reads every folder below it. Files are UTF-8 (with or without a BOM) or UTF-16 with a BOM; Send or Receive is taken from the #Log-type header, else from the rows, else from the file name. ' +
      'A warning says what was read (files, rows, records used) and what was skipped and why (lines that are not log rows, records without a readable thumbprint, folders named like log files); with -LogPath it is always written.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'A Send or Receive connector name (a Receive connector also as SERVER\\Name). Default: every connector found in the logs.' },
      { name: 'Server', type: 'String', description: 'Only the logs of this server (and match against its certificates). With -LogPath: the server whose certificates the copied logs are matched against.' },
      { name: 'LogPath', type: 'String', description: 'A folder of SEND*.LOG/RECV*.LOG files (or a copied ProtocolLog or TransportRoles\\Logs folder) to read instead of the servers\' protocol log folders (Interchange extension).' },
      { name: 'Recurse', type: 'SwitchParameter', description: 'With -LogPath: read the logs in every folder below it, not only in Exchange\'s ProtocolLog layout.' },
      { name: 'All', type: 'SwitchParameter', description: 'Every change of certificate per connector, oldest first (FirstUsed to LastUsed), instead of the latest only.' },
      { name: 'Start', type: 'DateTime', description: 'Only records at or after this time.' },
      { name: 'End', type: 'DateTime', description: 'Only records at or before this time.' },
    ],
    outputType: 'ConnectorCertificateUsage',
    role: 'Exchange Servers',
    changesState: false,
    examples: [
      { code: 'Get-ConnectorCertificateUsage -Identity "Outbound to Office 365" | Format-List', remarks: 'The certificate the connector presented last, on each source server.' },
      { code: 'Get-ConnectorCertificateUsage -LogPath /tmp/exchange-logs -Server EX01', remarks: 'Reads logs copied from a real Exchange server and matches them to EX01\'s certificates.' },
      { code: 'Get-ConnectorCertificateUsage -LogPath /mnt/EXCH/TransportRoles/Logs -Identity "Outbound to Office 365" -All -Start "2025-03-01"', remarks: 'Every switch of certificate since 1 March, e.g. from the old to the renewed certificate.' },
    ],
    async run(ctx, p) {
      const directory = ctx.services.directory;
      const servers = await directory.listServers();
      const connectors = await directory.listSendConnectors();
      const identity = p.Identity as string | undefined;
      const onlyServer = p.Server ? await resolveServer(directory, p.Server as string) : undefined;
      const logPath = p.LogPath as string | undefined;
      const start = p.Start as Date | undefined;
      const end = p.End as Date | undefined;
      if (start && end && end.getTime() < start.getTime()) throw new InterchangeError('ICX_PARAM_INVALID', `-End (${end.toISOString()}) is before -Start (${start.toISOString()}).`, { parameter: 'End' });
      const connector = identity ? connectors.find((c) => sameText(c.name, identity) || c.guid === identity) : undefined;

      let folders: Array<{ path: string; server: string | undefined }>;
      if (logPath) {
        const st = await fs.promises.stat(logPath).catch(() => undefined);
        if (!st) throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The protocol log folder "${logPath}" cannot be read.`, { parameter: 'LogPath' });
        if (!st.isDirectory()) throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `"${logPath}" is a file, not a folder: give -LogPath the folder that holds the SEND*.LOG/RECV*.LOG files.`, { parameter: 'LogPath' });
        folders = (await findProtocolLogFolders(logPath, { recurse: p.Recurse === true })).map((f) => ({ path: f, server: onlyServer?.name }));
      } else {
        // Rows logged before this call are in the files when the reading starts.
        await ctx.services.transport?.flushLogs?.();
        const scope = onlyServer ? [onlyServer] : connector ? servers.filter((s) => connector.sourceTransportServers.some((n) => sameText(n, s.name))) : servers;
        folders = [];
        for (const s of scope) {
          // The Transport service's logs and the front end's (where the Default Frontend connector logs), as Exchange keeps them apart.
          const frontend = frontendTransportSettings(s);
          for (const dir of new Set([s.transport.sendProtocolLogPath, s.transport.receiveProtocolLogPath, frontend.sendProtocolLogPath, frontend.receiveProtocolLogPath])) {
            if (fs.existsSync(dir)) folders.push({ path: dir, server: s.name });
          }
        }
      }
      const report = emptyReadReport();
      const history = await readHistory(
        folders,
        (row) =>
          (!identity || sameText(connectorName(row), identity) || sameText(row.connectorId, identity)) &&
          (!start || row.dateTime.getTime() >= start.getTime()) &&
          (!end || row.dateTime.getTime() <= end.getTime()),
        report,
      );
      const keys = history.keys();
      if (logPath || somethingSkipped(report) || (keys.length === 0 && report.filesRead > 0)) ctx.writeWarning(describeReadReport(report, logPath ?? 'the protocol log folders', { copied: !!logPath }));
      if (identity && keys.length === 0) ctx.writeWarning(`No "Sending certificate" record for "${identity}" in the protocol logs read${start || end ? ' in the time window given' : ''}. Is its ProtocolLoggingLevel Verbose, and has it sent mail over TLS since?`);

      const runs: Array<{ run: CertificateRun<Use>; use: Use }> = [];
      for (const key of keys) {
        if (p.All === true) for (const run of history.runs(key)) runs.push({ run, use: run.last });
        else {
          const run = history.latest(key);
          if (run) runs.push({ run, use: run.last });
        }
      }
      runs.sort(
        (a, b) =>
          a.use.row.connectorId.localeCompare(b.use.row.connectorId) ||
          (a.use.server ?? '').localeCompare(b.use.server ?? '') ||
          a.use.row.kind.localeCompare(b.use.row.kind) ||
          a.run.firstAt.getTime() - b.run.firstAt.getTime(),
      );

      const certCache = new Map<string, EvaluatedCertificate[]>();
      const certsOf = async (server: string) => {
        if (!certCache.has(server)) certCache.set(server, await store.list(server));
        return certCache.get(server)!;
      };
      const out: unknown[] = [];
      for (const { run, use } of runs) {
        const { row, certificate, server } = use;
        const name = connectorName(row);
        const sendConnector = row.kind === 'Send' ? connectors.find((c) => sameText(c.name, name)) : undefined;
        // Where to look for the certificate: the server whose log it is, else the connector's source servers, else every server.
        const namedServer = connectorServer(row);
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
          // A Receive log names its server in the connector id, also a server outside this organization.
          Server: namedServer ?? server ?? (candidates.length === 1 ? candidates[0].name : null),
          LastUsed: row.dateTime,
          FirstUsed: run.firstAt,
          Uses: run.uses,
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
