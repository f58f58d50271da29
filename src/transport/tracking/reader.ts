// Reads message tracking logs (ours, or MSGTRK files copied from an Exchange
// server) a line at a time: a folder may hold a gigabyte of them, and a search
// stops as soon as it has what it was asked for.
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseCsvLine } from '../logging/exchange-log-text.js';
import { TRACKING_FIELDS, TRACKING_FILE_NAME_PATTERN } from './format.js';

/** One row, its fields by name (`date-time`, `event-id`, …) as the file's `#Fields:` line names them. */
export interface TrackingRow {
  timestamp: Date;
  fields: Record<string, string>;
}

export interface TrackingFile {
  path: string;
  /** The hour (or, for the older daily names, the day) its rows belong to. */
  from: Date;
  to: Date;
}

function periodOf(datePart: string): { from: Date; to: Date } {
  const y = Number(datePart.slice(0, 4));
  const mo = Number(datePart.slice(4, 6)) - 1;
  const d = Number(datePart.slice(6, 8));
  if (datePart.length === 10) {
    const h = Number(datePart.slice(8, 10));
    return { from: new Date(Date.UTC(y, mo, d, h)), to: new Date(Date.UTC(y, mo, d, h + 1)) };
  }
  return { from: new Date(Date.UTC(y, mo, d)), to: new Date(Date.UTC(y, mo, d + 1)) };
}

/** The MSGTRK files of a folder, oldest first; a missing folder has none (tracking may never have run). */
export async function listTrackingFiles(directory: string): Promise<TrackingFile[]> {
  let names: string[];
  try {
    names = await fsp.readdir(directory);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The message tracking log folder "${directory}" cannot be read.`, { cause: e });
  }
  return names
    .map((name) => ({ name, m: TRACKING_FILE_NAME_PATTERN.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => {
      const da = a.m[1].padEnd(10, '0');
      const db = b.m[1].padEnd(10, '0');
      return da !== db ? (da < db ? -1 : 1) : Number(a.m[2]) - Number(b.m[2]);
    })
    .map((x) => ({ path: path.join(directory, x.name), ...periodOf(x.m[1]) }));
}

/** Text read from a file at a time: big enough that a gigabyte is a thousand reads, small enough to hold. */
const CHUNK_BYTES = 1 << 20;

export interface TrackingWindow {
  start?: Date;
  end?: Date;
  /**
   * Lower-case text every wanted row contains (a message id, an address):
   * lines without it are not parsed. A search over a gigabyte then costs
   * little more than reading it.
   */
  contains?: string;
}

/**
 * Every row of the folder's files, oldest file first, in file order; files
 * wholly outside [start, end] are not opened. Lines that are not rows (cut off
 * by a crash, hand-edited) are skipped.
 */
export async function* readTrackingLogs(directory: string, window: TrackingWindow = {}): AsyncIterable<TrackingRow> {
  const needle = window.contains || undefined;
  for (const file of await listTrackingFiles(directory)) {
    if (window.start && file.to.getTime() <= window.start.getTime()) continue;
    if (window.end && file.from.getTime() > window.end.getTime()) continue;
    let names: readonly string[] = TRACKING_FIELDS;
    const row = (line: string): TrackingRow | undefined => {
      if (line.length === 0) return undefined;
      if (line.startsWith('#')) {
        const m = /^#Fields:\s?(.*)$/i.exec(line);
        if (m) names = m[1].split(',').map((f) => f.trim().toLowerCase());
        return undefined;
      }
      const values = parseCsvLine(line);
      const fields: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) fields[names[i]] = values[i] ?? '';
      const timestamp = new Date(fields['date-time']);
      if (Number.isNaN(timestamp.getTime()) || !fields['event-id']) return undefined;
      return { timestamp, fields };
    };
    // Bytes, cut at the last line end and decoded whole lines at a time: text kept
    // across reads as a string would carry the BOM's two-byte representation into
    // every chunk after it, and halve the speed of lower-casing and searching.
    const input = createReadStream(file.path, { highWaterMark: CHUNK_BYTES });
    try {
      let carry: Buffer | undefined;
      let first = true;
      for await (const piece of input as AsyncIterable<Buffer>) {
        let bytes = carry ? Buffer.concat([carry, piece]) : piece;
        if (first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
        first = false;
        const cut = bytes.lastIndexOf(0x0a);
        if (cut < 0) {
          carry = bytes;
          continue;
        }
        carry = cut + 1 < bytes.length ? Buffer.from(bytes.subarray(cut + 1)) : undefined;
        for (const line of candidateLines(bytes.toString('utf8', 0, cut + 1), needle)) {
          const r = row(line);
          if (r) yield r;
        }
      }
      if (carry) for (const line of candidateLines(carry.toString('utf8'), needle)) {
        const r = row(line);
        if (r) yield r;
      }
    } finally {
      input.destroy();
    }
  }
}

/**
 * The lines of `text` (whole lines, CR LF or LF) worth parsing: all of them, or
 * with a needle only the header lines and the lines that contain it.
 */
function* candidateLines(text: string, needle: string | undefined): Iterable<string> {
  const lower = needle ? text.toLowerCase() : undefined;
  // Lower-casing changed the length (a rare character): positions no longer match, so every line is a candidate.
  if (!needle || !lower || lower.length !== text.length) {
    for (const line of text.split('\n')) yield line.endsWith('\r') ? line.slice(0, -1) : line;
    return;
  }
  const line = (at: number): { start: number; end: number } => {
    const start = text.lastIndexOf('\n', at - 1) + 1;
    const nl = text.indexOf('\n', at);
    return { start, end: nl < 0 ? text.length : nl };
  };
  const take = (l: { start: number; end: number }) => text.slice(l.start, text[l.end - 1] === '\r' ? l.end - 1 : l.end);
  let headers = text.startsWith('#') ? 0 : text.indexOf('\n#');
  let hit = lower.indexOf(needle);
  while (headers >= 0 || hit >= 0) {
    const h = headers >= 0 ? (text[headers] === '#' ? headers : headers + 1) : -1;
    if (h >= 0 && (hit < 0 || h <= hit)) {
      const l = line(h);
      yield take(l);
      headers = text.indexOf('\n#', l.end);
      if (hit >= 0 && hit < l.end) hit = lower.indexOf(needle, l.end);
    } else {
      const l = line(hit);
      yield take(l);
      hit = lower.indexOf(needle, l.end);
    }
  }
}

/**
 * The row with field values that no longer share memory with the megabyte of
 * text they were cut from. V8 keeps a whole chunk alive for a substring of it:
 * a search that keeps rows scattered over a gigabyte of logs would otherwise
 * hold most of the gigabyte.
 */
export function detachTrackingRow(row: TrackingRow): TrackingRow {
  const keys = Object.keys(row.fields);
  // One copy of the row's text, then its values cut from that copy: cheaper than a copy per field.
  const copy = Buffer.from(keys.map((k) => row.fields[k]).join('\u0000'), 'utf8').toString('utf8').split('\u0000');
  const fields: Record<string, string> = {};
  // A value holding the separator itself (a damaged file): copy field by field.
  const whole = copy.length === keys.length;
  for (let i = 0; i < keys.length; i++) fields[keys[i]] = whole ? copy[i] : Buffer.from(row.fields[keys[i]], 'utf8').toString('utf8');
  return { timestamp: row.timestamp, fields };
}
