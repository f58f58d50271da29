// Get-MessageTrackingLog: searches a server's message tracking log (MSGTRK
// files) as Exchange's cmdlet does. The files live on their server, so a search
// of another server is run by that server's admin API.
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { runOnServer } from '../framework/server-fetch.js';
import { detachTrackingRow, readTrackingLogs, type TrackingRow } from '../../transport/tracking/reader.js';
import { messageTrackingSettings } from '../../transport/tracking/message-tracking.js';
import { splitMultiValue } from '../../transport/tracking/format.js';
import { resolveServer, resolveServerOrRunning } from './common.js';

export const messageTrackingEventType = defineObjectType({
  name: 'MessageTrackingEvent',
  properties: [
    { name: 'Timestamp', type: 'DateTime' },
    { name: 'ClientIp', type: 'String' },
    { name: 'ClientHostname', type: 'String' },
    { name: 'ServerIp', type: 'String' },
    { name: 'ServerHostname', type: 'String' },
    { name: 'SourceContext', type: 'String' },
    { name: 'ConnectorId', type: 'String' },
    { name: 'Source', type: 'String' },
    { name: 'EventId', type: 'String' },
    { name: 'InternalMessageId', type: 'String' },
    { name: 'MessageId', type: 'String' },
    { name: 'NetworkMessageId', type: 'String' },
    { name: 'Recipients', type: 'String', multiValued: true },
    { name: 'RecipientStatus', type: 'String', multiValued: true },
    { name: 'TotalBytes', type: 'Int64' },
    { name: 'RecipientCount', type: 'Int32' },
    { name: 'RelatedRecipientAddress', type: 'String' },
    { name: 'Reference', type: 'String', multiValued: true },
    { name: 'MessageSubject', type: 'String' },
    { name: 'Sender', type: 'String' },
    { name: 'ReturnPath', type: 'String' },
    { name: 'Directionality', type: 'String' },
    { name: 'TenantId', type: 'String' },
    { name: 'OriginalClientIp', type: 'String' },
    { name: 'OriginalServerIp', type: 'String' },
    { name: 'MessageInfo', type: 'String' },
    { name: 'MessageLatency', type: 'TimeSpan' },
    { name: 'MessageLatencyType', type: 'String' },
    { name: 'EventData', type: 'Object', multiValued: true },
    { name: 'TransportTrafficType', type: 'String' },
    { name: 'SchemaVersion', type: 'String' },
  ],
  defaultTableView: ['Timestamp', 'EventId', 'Source', 'Sender', 'Recipients', 'MessageSubject'],
  defaultListView: [],
});

/** Exchange's words when -ResultSize (given or its default of 1000) cut the results short. */
export const DEFAULT_RESULT_SIZE_WARNING =
  'By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending on the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don\'t recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes.';
export const RESULT_SIZE_WARNING = 'There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.';

const list = (v: string): string[] => splitMultiValue(v);
const lower = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v.toLowerCase() : undefined);
/** Message-IDs are compared with or without their angle brackets. */
const bare = (v: string): string => v.trim().replace(/^<|>$/g, '').toLowerCase();

/** custom-data `S:Key=Value;S:Other=…` as Exchange's EventData key/value pairs. */
function eventData(customData: string): Array<{ Key: string; Value: string }> {
  return list(customData).map((item) => {
    const body = /^[A-Z]{1,2}:/.test(item) ? item.slice(item.indexOf(':') + 1) : item;
    const eq = body.indexOf('=');
    return eq < 0 ? { Key: body, Value: '' } : { Key: body.slice(0, eq), Value: body.slice(eq + 1) };
  });
}

export function toMessageTrackingEvent(row: TrackingRow) {
  const f = row.fields;
  const s = (name: string): string | null => f[name] || null;
  return {
    $type: 'MessageTrackingEvent',
    Timestamp: row.timestamp,
    ClientIp: s('client-ip'),
    ClientHostname: s('client-hostname'),
    ServerIp: s('server-ip'),
    ServerHostname: s('server-hostname'),
    SourceContext: s('source-context'),
    ConnectorId: s('connector-id'),
    Source: s('source'),
    EventId: s('event-id'),
    InternalMessageId: s('internal-message-id'),
    MessageId: s('message-id'),
    NetworkMessageId: s('network-message-id'),
    Recipients: list(f['recipient-address']),
    RecipientStatus: list(f['recipient-status']),
    TotalBytes: f['total-bytes'] ? Number(f['total-bytes']) : 0,
    RecipientCount: f['recipient-count'] ? Number(f['recipient-count']) : 0,
    RelatedRecipientAddress: s('related-recipient-address'),
    Reference: list(f.reference),
    MessageSubject: s('message-subject'),
    Sender: s('sender-address'),
    ReturnPath: s('return-path'),
    Directionality: s('directionality'),
    TenantId: s('tenant-id'),
    OriginalClientIp: s('original-client-ip'),
    OriginalServerIp: s('original-server-ip'),
    MessageInfo: s('message-info'),
    // Exchange 2013 and later log no latency field; its cmdlet shows none either.
    MessageLatency: null,
    MessageLatencyType: 'None',
    EventData: eventData(f['custom-data'] ?? ''),
    TransportTrafficType: s('transport-traffic-type'),
    SchemaVersion: s('schema-version'),
  };
}

interface Criteria {
  start?: Date;
  end?: Date;
  sender?: string;
  recipients?: string[];
  messageId?: string;
  internalMessageId?: string;
  networkMessageId?: string;
  eventId?: string;
  source?: string;
  subject?: string;
  reference?: string;
}

function criteria(p: Record<string, unknown>): Criteria {
  const recipients = (p.Recipients as string[] | undefined)?.map((r) => r.toLowerCase());
  return {
    start: p.Start as Date | undefined,
    end: p.End as Date | undefined,
    sender: lower(p.Sender),
    recipients: recipients?.length ? recipients : undefined,
    messageId: typeof p.MessageId === 'string' && p.MessageId ? bare(p.MessageId) : undefined,
    internalMessageId: lower(p.InternalMessageId),
    networkMessageId: lower(p.NetworkMessageId),
    eventId: lower(p.EventId),
    source: lower(p.Source),
    subject: lower(p.MessageSubject),
    reference: typeof p.Reference === 'string' && p.Reference ? bare(p.Reference) : undefined,
  };
}

function matches(row: TrackingRow, c: Criteria): boolean {
  const f = row.fields;
  const t = row.timestamp.getTime();
  if (c.start && t < c.start.getTime()) return false;
  if (c.end && t > c.end.getTime()) return false;
  if (c.eventId && f['event-id'].toLowerCase() !== c.eventId) return false;
  if (c.source && (f.source ?? '').toLowerCase() !== c.source) return false;
  if (c.internalMessageId && (f['internal-message-id'] ?? '').toLowerCase() !== c.internalMessageId) return false;
  if (c.networkMessageId && (f['network-message-id'] ?? '').toLowerCase() !== c.networkMessageId) return false;
  if (c.messageId && bare(f['message-id'] ?? '') !== c.messageId) return false;
  if (c.sender && (f['sender-address'] ?? '').toLowerCase() !== c.sender) return false;
  if (c.subject && !(f['message-subject'] ?? '').toLowerCase().includes(c.subject)) return false;
  if (c.reference && !list(f.reference ?? '').some((r) => bare(r) === c.reference)) return false;
  if (c.recipients) {
    const have = list((f['recipient-address'] ?? '').toLowerCase());
    if (!c.recipients.some((r) => have.includes(r))) return false;
  }
  return true;
}

/**
 * Text a matching row must contain, for the reader to parse only the lines that
 * have it: the most selective criterion given. A value with a `"` is doubled in
 * the CSV, so it can't be looked for as it is.
 */
function rowMustContain(c: Criteria): string | undefined {
  // The event id is a bare field between two others (never quoted): `,fail,` is in every FAIL row.
  const candidates = [c.messageId, c.networkMessageId, c.sender, c.reference, c.recipients?.length === 1 ? c.recipients[0] : undefined, c.subject, c.internalMessageId, c.eventId && `,${c.eventId},`];
  return candidates.find((v): v is string => typeof v === 'string' && v.length > 0 && !v.includes('"'));
}

/** The first `limit` matching rows of a folder (null: all), and whether more exist. */
export async function searchMessageTracking(directory: string, p: Record<string, unknown>, limit: number | null): Promise<{ rows: TrackingRow[]; more: boolean }> {
  const c = criteria(p);
  const rows: TrackingRow[] = [];
  for await (const row of readTrackingLogs(directory, { start: c.start, end: c.end, contains: rowMustContain(c) })) {
    if (!matches(row, c)) continue;
    if (limit !== null && rows.length >= limit) return { rows, more: true };
    rows.push(detachTrackingRow(row));
  }
  return { rows, more: false };
}

async function forward(ctx: CmdletContext, serverName: string, parameters: Record<string, unknown>): Promise<unknown[]> {
  const server = await resolveServer(ctx.services.directory, serverName);
  return runOnServer(ctx, server, 'Get-MessageTrackingLog', parameters, (detail) => new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Can't search the message tracking log of "${server.name}": ${detail}.`));
}

export function messageTrackingCmdlets(): CmdletDeclaration[] {
  const getLog = defineCmdlet({
    name: 'Get-MessageTrackingLog',
    synopsis: 'Searches the message tracking log of a server for what happened to messages: received, resolved, sent, deferred, failed, reported.',
    description:
      'Reads the MSGTRK files in the MessageTrackingLogPath of the server (Get-TransportService), oldest first, a line at a time. Every given filter must match. Without -ResultSize, the first 1000 events are returned, with a warning when there are more. -LogPath reads a folder of message tracking logs instead, e.g. copied from an Exchange server.',
    parameters: [
      // Exchange's `Get-ExchangeServer | Get-MessageTrackingLog …` searches every server: each server object stands for its Identity.
      { name: 'Server', type: 'String', valueFromPipeline: true, description: 'The server whose log to search (name or FQDN). Default: the connected server. Accepts Get-ExchangeServer output from the pipeline.' },
      { name: 'Start', type: 'DateTime', description: 'Events at or after this time.' },
      { name: 'End', type: 'DateTime', description: 'Events at or before this time.' },
      { name: 'Sender', type: 'String', description: "The sender's address (sender-address)." },
      { name: 'Recipients', type: 'String', multiValued: true, description: 'Events with any of these recipient addresses.' },
      { name: 'MessageId', type: 'String', description: 'The Message-ID header field (with or without its angle brackets).' },
      { name: 'InternalMessageId', type: 'String', description: "The message's id in the queue of the server (Get-Message's MessageIdentity)." },
      { name: 'NetworkMessageId', type: 'String', description: 'The GUID a message keeps across servers.' },
      { name: 'EventId', type: 'String', description: 'RECEIVE, RESOLVE, SEND, DEFER, FAIL, DSN, POISONMESSAGE, …' },
      { name: 'Source', type: 'String', description: 'SMTP, ROUTING, DSN, QUEUE, ADMIN, POISONMESSAGE, …' },
      { name: 'MessageSubject', type: 'String', description: 'Events whose subject contains this text.' },
      { name: 'Reference', type: 'String', description: 'The reference field: for a DSN, the Message-ID of the message it reports on.' },
      { name: 'ResultSize', type: 'Int32', allowUnlimited: true, range: [1, 2147483647], description: 'At most this many events (default 1000); Unlimited for all.' },
      { name: 'LogPath', type: 'String', description: 'A folder of message tracking logs to read instead of a server\'s (Interchange extension).' },
    ],
    outputType: 'MessageTrackingEvent',
    role: 'Message Tracking',
    changesState: false,
    examples: [
      { code: "Get-MessageTrackingLog -MessageId '<1234@contoso.com>' | Format-List Timestamp,EventId,Source,Recipients,RecipientStatus,ServerHostname,ConnectorId", remarks: 'What happened to one message: received, then sent to the next hop (or deferred, failed).' },
      { code: 'Get-MessageTrackingLog -Server EX02 -EventId FAIL -Start (Get-Date).AddHours(-1)', remarks: 'Deliveries that failed on EX02 in the last hour.' },
      { code: "Get-ExchangeServer | Get-MessageTrackingLog -MessageId '<1234@contoso.com>' | Sort-Object Timestamp | Format-Table Timestamp,ServerHostname,EventId,Source,ConnectorId,Recipients", remarks: 'One message across every server of the organization, hop by hop.' },
    ],
    async run(ctx, p) {
      const defaulted = !('ResultSize' in p);
      const limit = defaulted ? 1000 : ((p.ResultSize as number | null) ?? null);
      let directory = p.LogPath as string | undefined;
      if (directory !== undefined && !directory.startsWith('/')) throw new InterchangeError('ICX_PARAM_INVALID', 'LogPath must be an absolute path.', { parameter: 'LogPath' });
      if (directory === undefined) {
        const server = await resolveServerOrRunning(ctx, (p.Server as string | undefined) ?? ctx.services.localServer);
        if (server.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
          const { Server: _s, ...rest } = p;
          return forward(ctx, server.name, rest);
        }
        // Events tracked before this call are in the files when the search starts.
        await ctx.services.transport?.flushLogs?.();
        directory = messageTrackingSettings(server.transport).directory;
      }
      const { rows, more } = await searchMessageTracking(directory, p, limit);
      if (more) ctx.writeWarning(defaulted ? DEFAULT_RESULT_SIZE_WARNING : RESULT_SIZE_WARNING);
      return rows.map(toMessageTrackingEvent);
    },
  });
  return [getLog];
}
