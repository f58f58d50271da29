// What a read of protocol logs saw and left out, so that a cmdlet can say so
// instead of returning less than the folder holds without a word.
import type { ProtocolLogKind } from './format.js';
import type { LogEncoding } from './log-encoding.js';
import type { KindSource } from './log-kind.js';

/** Everything that was not used, each with its noun in the singular and plural. */
export const SKIP_REASONS = {
  folderNamedLikeLog: ['folder named like a log file', 'folders named like log files'],
  unreadableFile: ['log file that cannot be read', 'log files that cannot be read'],
  notARow: ['line that is not a log row (no readable date-time, event or sequence number)', 'lines that are not log rows (no readable date-time, event or sequence number)'],
  overlongLine: ['line over 1 MB', 'lines over 1 MB'],
  certificateWithoutThumbprint: ['certificate record without a readable thumbprint', 'certificate records without a readable thumbprint'],
  certificateFragment: ['certificate row without its "Sending certificate" row that does not say which certificate it is', 'certificate rows without their "Sending certificate" row that do not say which certificate they are'],
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

/** Used, but not whole. */
export const NOTE_REASONS = {
  unreadableDates: ['certificate record with NotBefore/NotAfter that cannot be read (shown without them)', 'certificate records with NotBefore/NotAfter that cannot be read (shown without them)'],
  withoutFirstRow: ['certificate record whose "Sending certificate" row is missing (cut by rotation; used)', 'certificate records whose "Sending certificate" row is missing (cut by rotation; used)'],
} as const;
export type NoteReason = keyof typeof NOTE_REASONS;

export interface ProtocolLogReadReport {
  foldersSearched: number;
  filesRead: number;
  filesByKind: Record<ProtocolLogKind, number>;
  filesByEncoding: Record<LogEncoding, number>;
  kindBy: Record<KindSource, number>;
  /** Files in the folders searched that are not named SEND*.LOG/RECV*.LOG. */
  otherFiles: number;
  rowsRead: number;
  certificateRecords: number;
  certificateRowsUsed: number;
  skipped: Record<SkipReason, number>;
  notes: Record<NoteReason, number>;
  /** A few of the names skipped, for the message. */
  examples: string[];
}

export function emptyReadReport(): ProtocolLogReadReport {
  return {
    foldersSearched: 0,
    filesRead: 0,
    filesByKind: { Send: 0, Receive: 0 },
    filesByEncoding: { 'utf-8': 0, 'utf-8-bom': 0, 'utf-16le': 0, 'utf-16be': 0 },
    kindBy: { header: 0, rows: 0, 'file name': 0 },
    otherFiles: 0,
    rowsRead: 0,
    certificateRecords: 0,
    certificateRowsUsed: 0,
    skipped: { folderNamedLikeLog: 0, unreadableFile: 0, notARow: 0, overlongLine: 0, certificateWithoutThumbprint: 0, certificateFragment: 0 },
    notes: { unreadableDates: 0, withoutFirstRow: 0 },
    examples: [],
  };
}

const MAX_EXAMPLES = 3;

export function skip(report: ProtocolLogReadReport | undefined, reason: SkipReason, example?: string): void {
  if (!report) return;
  report.skipped[reason]++;
  if (example !== undefined && report.examples.length < MAX_EXAMPLES) report.examples.push(example);
}

export function note(report: ProtocolLogReadReport | undefined, reason: NoteReason): void {
  if (report) report.notes[reason]++;
}

export function somethingSkipped(report: ProtocolLogReadReport): boolean {
  return Object.values(report.skipped).some((n) => n > 0) || Object.values(report.notes).some((n) => n > 0);
}

const count = (n: number, [one, many]: readonly [string, string]): string => `${n} ${n === 1 ? one : many}`;

/**
 * One paragraph: what was read (files by kind and encoding, rows, certificate
 * records used), then what was skipped and why.
 */
export function describeReadReport(r: ProtocolLogReadReport, where: string, opts: { copied?: boolean } = {}): string {
  const parts: string[] = [];
  const utf16 = r.filesByEncoding['utf-16le'] + r.filesByEncoding['utf-16be'];
  const fileDetail = [`${r.filesByKind.Send} Send`, `${r.filesByKind.Receive} Receive`];
  if (utf16 > 0) fileDetail.push(`${utf16} in UTF-16`);
  if (r.kindBy.rows > 0) fileDetail.push(`${r.kindBy.rows} told Send/Receive by their rows (no #Log-type header)`);
  if (r.kindBy['file name'] > 0) fileDetail.push(`${r.kindBy['file name']} by their name only`);
  parts.push(
    `Read ${count(r.filesRead, ['protocol log file', 'protocol log files'])} (${fileDetail.join(', ')}) in ${count(r.foldersSearched, ['folder', 'folders'])} of ${where}: ` +
      `${count(r.rowsRead, ['row', 'rows'])}, ${count(r.certificateRecords, ['"Sending certificate" record', '"Sending certificate" records'])} used (${count(r.certificateRowsUsed, ['row', 'rows'])}).`,
  );
  if (r.filesRead === 0) {
    parts.push(
      opts.copied
        ? 'No SEND*.LOG or RECV*.LOG file was found: point -LogPath at a SmtpSend or SmtpReceive folder, at the ProtocolLog or TransportRoles\\Logs folder above them, or add -Recurse.'
        : 'No protocol log file yet: connectors write them with ProtocolLoggingLevel Verbose.',
    );
  }
  else if (r.filesByKind.Send === 0) parts.push('Only Receive protocol logs were read: what Send connectors presented is in the Send protocol logs (ProtocolLog\\SmtpSend).');
  const skipped = (Object.keys(SKIP_REASONS) as SkipReason[]).filter((k) => r.skipped[k] > 0).map((k) => count(r.skipped[k], SKIP_REASONS[k]));
  if (skipped.length > 0) parts.push(`Skipped ${skipped.join('; ')}${r.examples.length > 0 ? ` (e.g. ${r.examples.join(', ')})` : ''}.`);
  const notes = (Object.keys(NOTE_REASONS) as NoteReason[]).filter((k) => r.notes[k] > 0).map((k) => count(r.notes[k], NOTE_REASONS[k]));
  if (notes.length > 0) parts.push(`Used with gaps: ${notes.join('; ')}.`);
  if (r.otherFiles > 0) parts.push(`Ignored ${count(r.otherFiles, ['file', 'files'])} not named SEND*.LOG or RECV*.LOG.`);
  return parts.join(' ');
}
