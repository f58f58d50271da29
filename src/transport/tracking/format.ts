// The text of Exchange's message tracking log (MSGTRK files): pure functions,
// shared by the writer and the reader.
import crypto from 'node:crypto';

// The one-shot crypto.hash (Node 20.12+) makes no Hash object per message; older 20.x releases use createHash.
const sha1Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha1', text, 'hex') : (text) => crypto.createHash('sha1').update(text).digest('hex');
import { formatLogHeader, hourlyDatePart, splitQuoted } from '../logging/exchange-log-text.js';
import { fieldRoom, putBytes, putField, putFieldComma, putInt, putText, putTimestamp, TIMESTAMP_BYTES } from '../logging/row-bytes.js';
import type { LogFileNaming } from '../logging/rotating-log-writer.js';

export const TRACKING_FIELDS = [
  'date-time',
  'client-ip',
  'client-hostname',
  'server-ip',
  'server-hostname',
  'source-context',
  'connector-id',
  'source',
  'event-id',
  'internal-message-id',
  'message-id',
  'network-message-id',
  'recipient-address',
  'recipient-status',
  'total-bytes',
  'recipient-count',
  'related-recipient-address',
  'reference',
  'message-subject',
  'sender-address',
  'return-path',
  'message-info',
  'directionality',
  'tenant-id',
  'original-client-ip',
  'original-server-ip',
  'custom-data',
  'transport-traffic-type',
  'log-id',
  'schema-version',
] as const;

/**
 * The events Interchange logs, with Exchange's EventId values. Exchange has no
 * event for Suspend-/Resume-Message (only leaving the Poison queue is logged),
 * so neither does Interchange.
 */
export type TrackingEventId = 'RECEIVE' | 'RESOLVE' | 'SEND' | 'DEFER' | 'FAIL' | 'DSN' | 'POISONMESSAGE';
/** Exchange's Source values for them; ADMIN is an administrator's queue action. */
export type TrackingSource = 'SMTP' | 'ROUTING' | 'DSN' | 'ADMIN' | 'POISONMESSAGE';
export type Directionality = 'Originating' | 'Incoming';

export interface TrackingEvent {
  eventId: TrackingEventId;
  source: TrackingSource;
  clientIp?: string;
  clientHostname?: string;
  serverIp?: string;
  serverHostname?: string;
  sourceContext?: string;
  connectorId?: string;
  internalMessageId: number;
  messageId?: string;
  networkMessageId?: string;
  /** Joined by `;` in the file, as Exchange does. */
  recipients: readonly string[];
  recipientStatus?: readonly string[];
  totalBytes?: number;
  relatedRecipientAddress?: string;
  reference?: string;
  subject?: string;
  sender?: string;
  returnPath?: string;
  messageInfo?: string;
  directionality?: Directionality;
  customData?: string;
}

/** What Exchange writes as its schema version; the value Get-MessageTrackingLog readers expect to parse. */
export const TRACKING_SCHEMA_VERSION = '15.0.0.0';

/** `MSGTRK2025030409-1.LOG`: current Exchange starts one file set per hour, as for protocol logs. */
export function trackingFileName(at: Date, instance: number): string {
  return `MSGTRK${hourlyDatePart(at)}-${instance}.LOG`;
}

/** Our names and Exchange's, including the daily `yyyyMMdd` form of older versions; not MSGTRKMA/MD/MS (mailbox transport). */
export const TRACKING_FILE_NAME_PATTERN = /^MSGTRK(\d{8}|\d{10})-(\d+)\.LOG$/i;

export function formatTrackingHeader(created: Date): string {
  return formatLogHeader({ version: TRACKING_SCHEMA_VERSION, logType: 'Message Tracking Log', created, fields: TRACKING_FIELDS });
}

export const TRACKING_NAMING: LogFileNaming = {
  datePart: hourlyDatePart,
  fileName: trackingFileName,
  parse: (name) => {
    const m = TRACKING_FILE_NAME_PATTERN.exec(name);
    return m ? { datePart: m[1], instance: Number(m[2]), sortKey: `${m[1].padEnd(10, '0')}-${m[2].padStart(10, '0')}` } : undefined;
  },
  header: formatTrackingHeader,
};

/**
 * A multi-valued field (recipients, their statuses): values joined by `;`, a
 * value that itself holds `;` (`550 4.4.7 QUEUE.Expired; message expired`) or
 * starts with `'` enclosed in single quotes with inner ones doubled, so the
 * reader gets each value back whole.
 */
export function joinMultiValue(values: readonly string[] | undefined): string {
  if (!values || values.length === 0) return '';
  if (values.length === 1 && !values[0].includes(';') && !values[0].startsWith("'")) return values[0];
  return values.map((v) => (v.includes(';') || v.startsWith("'") ? `'${v.replace(/'/g, "''")}'` : v)).join(';');
}

export function splitMultiValue(text: string): string[] {
  if (!text) return [];
  return text.includes("'") ? splitQuoted(text, ';', "'") : text.split(';');
}

/** One row without its line ending; the subject only when MessageTrackingLogSubjectLoggingEnabled. */
export function formatTrackingRow(at: Date, e: TrackingEvent, withSubject: boolean): string {
  const row = encodeTrackingEvent(e, withSubject);
  const buf = Buffer.allocUnsafe(row.room);
  return buf.toString('utf8', 0, row.write(buf, 0, at.getTime()));
}

/** A tracking event ready to be encoded: the most bytes its row can take, and the writing of it. */
export interface EncodedTrackingEvent {
  room: number;
  /** Writes the row (no line ending) at buf[pos…] stamped atMs; returns its end. */
  write(buf: Buffer, pos: number, atMs: number): number;
}

const ROW_TAIL = Buffer.from(`,Email,,${TRACKING_SCHEMA_VERSION}`);
const COMMAS_4 = Buffer.from(',,,,');

/**
 * The row's bytes, written straight into the log writer's chunk (row-bytes.ts): it runs for every event on
 * the transport's hot path, where a thirty-field string cost a concatenation, its flattening and a Date.
 */
export function encodeTrackingEvent(e: TrackingEvent, withSubject: boolean): EncodedTrackingEvent {
  const recipients = joinMultiValue(e.recipients);
  const statuses = joinMultiValue(e.recipientStatus);
  const subject = withSubject ? e.subject : undefined;
  // 26 separators, and three numbers of at most 24 characters each (putInt).
  const room =
    TIMESTAMP_BYTES + 32 + 3 * 24 + ROW_TAIL.length + e.source.length + e.eventId.length + (e.directionality?.length ?? 0) +
    fieldRoom(e.clientIp) + fieldRoom(e.clientHostname) + fieldRoom(e.serverIp) + fieldRoom(e.serverHostname) +
    fieldRoom(e.sourceContext) + fieldRoom(e.connectorId) + fieldRoom(e.messageId) + fieldRoom(e.networkMessageId) +
    fieldRoom(recipients) + fieldRoom(statuses) + fieldRoom(e.relatedRecipientAddress) + fieldRoom(e.reference) +
    fieldRoom(subject) + fieldRoom(e.sender) + fieldRoom(e.returnPath) + fieldRoom(e.messageInfo) + fieldRoom(e.customData);
  return {
    room,
    write(buf, pos, atMs) {
      let p = putTimestamp(buf, pos, atMs);
      buf[p++] = COMMA;
      p = putFieldComma(buf, p, e.clientIp);
      p = putFieldComma(buf, p, e.clientHostname);
      p = putFieldComma(buf, p, e.serverIp);
      p = putFieldComma(buf, p, e.serverHostname);
      p = putFieldComma(buf, p, e.sourceContext);
      p = putFieldComma(buf, p, e.connectorId);
      p = putText(buf, p, e.source);
      buf[p++] = COMMA;
      p = putText(buf, p, e.eventId);
      buf[p++] = COMMA;
      p = putInt(buf, p, e.internalMessageId);
      buf[p++] = COMMA;
      p = putFieldComma(buf, p, e.messageId);
      p = putFieldComma(buf, p, e.networkMessageId);
      p = putFieldComma(buf, p, recipients);
      p = putFieldComma(buf, p, statuses);
      if (e.totalBytes !== undefined) p = putInt(buf, p, e.totalBytes);
      buf[p++] = COMMA;
      p = putInt(buf, p, e.recipients.length);
      buf[p++] = COMMA;
      p = putFieldComma(buf, p, e.relatedRecipientAddress);
      p = putFieldComma(buf, p, e.reference);
      p = putFieldComma(buf, p, subject);
      p = putFieldComma(buf, p, e.sender);
      p = putFieldComma(buf, p, e.returnPath);
      p = putFieldComma(buf, p, e.messageInfo);
      if (e.directionality) p = putText(buf, p, e.directionality);
      p = putBytes(buf, p, COMMAS_4);
      p = putField(buf, p, e.customData);
      return putBytes(buf, p, ROW_TAIL);
    },
  };
}

const COMMA = 0x2c;

/**
 * Exchange stamps every message with a NetworkMessageId GUID. The spool does not
 * store one, so it is derived from what identifies a queued message for good
 * (server, queue id, arrival time): the same message always gets the same GUID.
 */
export function networkMessageId(serverName: string, internalMessageId: number, receivedAt: Date): string {
  // Asked for at least twice per message (RECEIVE, then SEND): hash once.
  const memo = NETWORK_MESSAGE_IDS.get(internalMessageId);
  if (memo && memo.server === serverName && memo.at === receivedAt.getTime()) return memo.id;
  const id = deriveNetworkMessageId(serverName, internalMessageId, receivedAt);
  if (NETWORK_MESSAGE_IDS.size >= NETWORK_MESSAGE_ID_MEMO) NETWORK_MESSAGE_IDS.clear();
  NETWORK_MESSAGE_IDS.set(internalMessageId, { server: serverName, at: receivedAt.getTime(), id });
  return id;
}

const NETWORK_MESSAGE_ID_MEMO = 16_384;
const NETWORK_MESSAGE_IDS = new Map<number, { server: string; at: number; id: string }>();

function deriveNetworkMessageId(serverName: string, internalMessageId: number, receivedAt: Date): string {
  const h = sha1Hex(`${serverName}|${internalMessageId}|${receivedAt.getTime()}`);
  // Shaped as a version 5 (name-based, SHA-1) UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
