// The text of Exchange's SMTP protocol logs (reference §6): pure functions,
// shared by the writer and the reader so both agree byte for byte.

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

export const BOM = '\uFEFF';
export const CRLF = '\r\n';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `yyyy-MM-ddTHH:mm:ss.fffZ`, always UTC. */
export function formatDateTime(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`
  );
}

/** The `<date>` part of a file name: `yyyyMMddHH` in UTC (current Exchange: one file set per hour). */
export function fileDatePart(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}`;
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

/**
 * One field as Exchange writes it: CR and LF become the two-character escapes
 * `\r` and `\n`; then a field containing `,` or `"` is quoted with inner quotes
 * doubled. Nothing else is escaped (connector ids such as `EX01\Default EX01`
 * keep their backslash).
 */
export function csvField(value: string | undefined): string {
  if (!value) return '';
  let v = value;
  if (v.includes('\r') || v.includes('\n')) v = v.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  if (v.includes(',') || v.includes('"')) v = `"${v.replace(/"/g, '""')}"`;
  return v;
}

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
  return (
    '#Software: Microsoft Exchange Server' + CRLF +
    '#Version: 15.0.0.0' + CRLF +
    `#Log-type: SMTP ${kind} Protocol Log` + CRLF +
    `#Date: ${formatDateTime(created)}` + CRLF +
    `#Fields: ${FIELDS.join(',')}` + CRLF
  );
}

/**
 * Exchange 2016+ logs a multi-line SMTP reply as one row: the code, then every
 * line's text joined by spaces (`250  mx Hello [ip] SIZE 52428800 PIPELINING`;
 * the double space is Exchange's). Anything that is not a multi-line reply is
 * returned unchanged.
 */
export function joinMultilineReply(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) return text;
  const code = lines[0].slice(0, 3);
  const isReply = lines.every((l, i) => l.startsWith(code) && /^\d{3}$/.test(code) && (l[3] === (i === lines.length - 1 ? ' ' : '-') || l.length === 3));
  if (!isReply) return text;
  return `${code}  ${lines.map((l) => l.slice(4)).join(' ')}`;
}
