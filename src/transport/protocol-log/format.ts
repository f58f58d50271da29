// The text of Exchange's SMTP protocol logs (reference §6): pure functions,
// shared by the writer and the reader so both agree byte for byte.

import { csvField, formatDateTime, formatLogHeader, hourlyDatePart } from '../logging/exchange-log-text.js';

export type ProtocolLogKind = 'Send' | 'Receive';
export type ProtocolLogEvent = '+' | '-' | '>' | '<' | '*';

export interface ProtocolLogRowInput {
  connectorId: string;
  sessionId: string;
  sequenceNumber: number;
  localEndpoint?: string;
  remoteEndpoint?: string;
  event: ProtocolLogEvent;
  data?: string;
  context?: string;
}

export const FIELDS = [
  'date-time',
  'connector-id',
  'session-id',
  'sequence-number',
  'local-endpoint',
  'remote-endpoint',
  'event',
  'data',
  'context',
] as const;

export { BOM, CRLF, csvField, formatDateTime } from '../logging/exchange-log-text.js';

/** The `<date>` part of a file name: `yyyyMMddHH` in UTC (current Exchange: one file set per hour). */
export function fileDatePart(d: Date): string {
  return hourlyDatePart(d);
}

export function filePrefix(kind: ProtocolLogKind): 'SEND' | 'RECV' {
  return kind === 'Send' ? 'SEND' : 'RECV';
}

/** `SEND2025030409-1.LOG`, `RECV2023011116-2.LOG`. */
export function fileName(kind: ProtocolLogKind, d: Date, instance: number): string {
  return `${filePrefix(kind)}${fileDatePart(d)}-${instance}.LOG`;
}

/** Matches our own and Exchange's names, including the older daily `yyyyMMdd` form. */
export const FILE_NAME_PATTERN = /^(SEND|RECV)(\d{8}|\d{10})-(\d+)\.LOG$/i;

/** One row without its line ending. A row with empty context ends with a comma. */
export function formatRow(at: Date, row: ProtocolLogRowInput): string {
  return [
    formatDateTime(at),
    csvField(row.connectorId),
    row.sessionId,
    String(row.sequenceNumber),
    csvField(row.localEndpoint),
    csvField(row.remoteEndpoint),
    row.event,
    csvField(row.data),
    csvField(row.context),
  ].join(',');
}

/** The five header lines, each ending in CRLF (without the BOM, which only starts a file). */
export function formatHeader(kind: ProtocolLogKind, created: Date): string {
  return formatLogHeader({ version: '15.0.0.0', logType: `SMTP ${kind} Protocol Log`, created, fields: FIELDS });
}

/**
 * Exchange 2016+ logs a multi-line SMTP reply as one row: the code, then every
 * line's text joined by spaces (`250  mx Hello [ip] SIZE 52428800 PIPELINING`;
 * the double space is Exchange's). Anything that is not a multi-line reply is
 * returned unchanged.
 */
export function joinMultilineReply(text: string): string {
  if (!text.includes('\n')) return text;
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) return text;
  const code = lines[0].slice(0, 3);
  const isReply = lines.every((l, i) => l.startsWith(code) && /^\d{3}$/.test(code) && (l[3] === (i === lines.length - 1 ? ' ' : '-') || l.length === 3));
  if (!isReply) return text;
  return `${code}  ${lines.map((l) => l.slice(4)).join(' ')}`;
}
