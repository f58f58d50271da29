// Reads message tracking logs (ours, or MSGTRK files copied from an Exchange
// server) a line at a time: a folder may hold a gigabyte of them, and a search
// stops as soon as it has what it was asked for.
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
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

/**
 * Every row of the folder's files, oldest file first, in file order; files
 * wholly outside [start, end] are not opened. Lines that are not rows (cut off
 * by a crash, hand-edited) are skipped.
 */
export async function* readTrackingLogs(directory: string, window: { start?: Date; end?: Date } = {}): AsyncIterable<TrackingRow> {
  for (const file of await listTrackingFiles(directory)) {
    if (window.start && file.to.getTime() <= window.start.getTime()) continue;
    if (window.end && file.from.getTime() > window.end.getTime()) continue;
    let names: readonly string[] = TRACKING_FIELDS;
    const input = createReadStream(file.path, { encoding: 'utf8' });
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      let first = true;
      for await (const raw of rl) {
        let line = raw;
        if (first && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        first = false;
        if (line.length === 0) continue;
        if (line.startsWith('#')) {
          const m = /^#Fields:\s?(.*)$/i.exec(line);
          if (m) names = m[1].split(',').map((f) => f.trim().toLowerCase());
          continue;
        }
        const values = parseCsvLine(line);
        const fields: Record<string, string> = {};
        for (let i = 0; i < names.length; i++) fields[names[i]] = values[i] ?? '';
        const timestamp = new Date(fields['date-time']);
        if (Number.isNaN(timestamp.getTime()) || !fields['event-id']) continue;
        yield { timestamp, fields };
      }
    } finally {
      rl.close();
      input.destroy();
    }
  }
}
