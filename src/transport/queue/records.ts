import { crc32 } from 'node:zlib';

/*
 * The spool's record format. A segment file is a sequence of records:
 *
 *   "ICXR" | type (1 byte) | 3 bytes zero | payload length (u32 LE) | CRC-32 (u32 LE) | payload
 *
 * The CRC covers type, padding, length and payload, so a record is either
 * whole or recognizably not. Types:
 *   M  a message: metadata length (u32 LE) | metadata JSON | the message bytes
 *   U  a new state of a message: metadata JSON
 *   D  a message needs nothing more (delivered, bounced, removed): id (f64 LE)
 * The latest M or U of an id is its state; a D ends it. Replay reads the
 * segments in order and applies the records (store.ts).
 */

export const HEADER_BYTES = 16;
const MAGIC = Buffer.from('ICXR', 'latin1');

export type RecordType = 'M' | 'U' | 'D';

export type SpoolRecord =
  | { type: 'M'; metadata: unknown; bodyOffset: number; bodyLength: number }
  | { type: 'U'; metadata: unknown }
  | { type: 'D'; id: number };

function header(type: RecordType, payload: Buffer[]): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.write(type, 4, 'latin1');
  const length = payload.reduce((n, b) => n + b.length, 0);
  h.writeUInt32LE(length, 8);
  let crc = crc32(h.subarray(4, 12));
  for (const p of payload) crc = crc32(p, crc);
  h.writeUInt32LE(crc, 12);
  return h;
}

/** The buffers of an M record; the body (one buffer or its parts) is not copied. `bodyStart` is the body's offset within the record. */
export function messageRecord(metadata: unknown, body: Buffer | readonly Buffer[]): { buffers: Buffer[]; bodyStart: number } {
  const json = Buffer.from(JSON.stringify(metadata), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  const payload = Buffer.isBuffer(body) ? [len, json, body] : [len, json, ...body];
  return { buffers: [header('M', payload), ...payload], bodyStart: HEADER_BYTES + 4 + json.length };
}

export function updateRecord(metadata: unknown): Buffer[] {
  const json = Buffer.from(JSON.stringify(metadata), 'utf8');
  return [header('U', [json]), json];
}

export function doneRecord(id: number): Buffer[] {
  const payload = Buffer.alloc(8);
  payload.writeDoubleLE(id, 0);
  return [header('D', [payload]), payload];
}

export type ParseStop =
  /** The whole file was read. */
  | { kind: 'end' }
  /** The file ends inside a record, or in zeros: a write the crash cut short. Nothing after it was ever acknowledged. */
  | { kind: 'torn'; offset: number };

/** A stretch of a segment that is not whole records, with whole records after it: disk trouble, not a crash. */
export interface SegmentDamage {
  offset: number;
  reason: string;
  /** Where reading went on: the next whole record; undefined when none follows. */
  resumedAt: number | undefined;
}

/**
 * Reads the records of one segment file held in memory. A record that is not
 * whole at the end of the file is a cut-off write (the usual crash) and ends
 * the reading. One damaged in the middle is skipped: reading goes on at the
 * next whole record, found by its marker and checksum, so that one bad
 * sector costs the records it covers and not every message after it.
 */
export function parseSegment(data: Buffer, onRecord: (r: SpoolRecord, offset: number) => void): { stop: ParseStop; damaged: SegmentDamage[] } {
  const damaged: SegmentDamage[] = [];
  let pos = 0;
  while (pos < data.length) {
    const r = readRecord(data, pos);
    if (r.kind === 'record') {
      onRecord(r.record, pos);
      pos = r.end;
      continue;
    }
    const next = nextWholeRecord(data, pos + 1);
    // What looks cut off but has whole records after it was damaged, not cut off: segments are appended in order.
    if (r.kind === 'torn' && next === undefined) return { stop: { kind: 'torn', offset: pos }, damaged };
    damaged.push({ offset: pos, reason: r.kind === 'bad' ? r.reason : 'record longer than what follows it', resumedAt: next });
    if (next === undefined) return { stop: { kind: 'end' }, damaged };
    pos = next;
  }
  return { stop: { kind: 'end' }, damaged };
}

type ReadResult = { kind: 'record'; record: SpoolRecord; end: number } | { kind: 'torn' } | { kind: 'bad'; reason: string };

function readRecord(data: Buffer, pos: number): ReadResult {
  const rest = data.length - pos;
  const bad = (reason: string): ReadResult => (isZero(data, pos) ? { kind: 'torn' } : { kind: 'bad', reason });
  if (rest < HEADER_BYTES) return isZero(data, pos) || MAGIC.subarray(0, Math.min(4, rest)).equals(data.subarray(pos, pos + Math.min(4, rest))) ? { kind: 'torn' } : bad('short header');
  if (!data.subarray(pos, pos + 4).equals(MAGIC)) return bad('no record marker');
  const type = String.fromCharCode(data[pos + 4]);
  const length = data.readUInt32LE(pos + 8);
  const end = pos + HEADER_BYTES + length;
  if (end > data.length) return { kind: 'torn' };
  const want = data.readUInt32LE(pos + 12);
  const got = crc32(data.subarray(pos + HEADER_BYTES, end), crc32(data.subarray(pos + 4, pos + 12)));
  if (want !== got) return end === data.length || isZero(data, end) ? { kind: 'torn' } : bad('checksum mismatch');
  const payload = data.subarray(pos + HEADER_BYTES, end);
  try {
    if (type === 'M') {
      const metaLen = payload.readUInt32LE(0);
      if (4 + metaLen > payload.length) return bad('metadata longer than its record');
      const metadata: unknown = JSON.parse(payload.subarray(4, 4 + metaLen).toString('utf8'));
      return { kind: 'record', record: { type: 'M', metadata, bodyOffset: pos + HEADER_BYTES + 4 + metaLen, bodyLength: payload.length - 4 - metaLen }, end };
    }
    if (type === 'U') return { kind: 'record', record: { type: 'U', metadata: JSON.parse(payload.toString('utf8')) as unknown }, end };
    if (type === 'D' && payload.length === 8) return { kind: 'record', record: { type: 'D', id: payload.readDoubleLE(0) }, end };
    return bad(`unknown record type ${JSON.stringify(type)}`);
  } catch (e) {
    return bad(`unreadable record: ${(e as Error).message}`);
  }
}

/** The offset of the next record at or after `from` that is whole (marker, length and checksum agree). */
function nextWholeRecord(data: Buffer, from: number): number | undefined {
  for (let at = data.indexOf(MAGIC, from); at >= 0; at = data.indexOf(MAGIC, at + 1)) {
    if (readRecord(data, at).kind === 'record') return at;
  }
  return undefined;
}

function isZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}
