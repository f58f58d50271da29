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

/** The buffers of an M record; the body is not copied. `bodyStart` is the body's offset within the record. */
export function messageRecord(metadata: unknown, body: Buffer): { buffers: Buffer[]; bodyStart: number } {
  const json = Buffer.from(JSON.stringify(metadata), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  const payload = [len, json, body];
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
  | { kind: 'torn'; offset: number }
  /** A damaged record with more data after it: disk trouble, not a crash. */
  | { kind: 'corrupt'; offset: number; reason: string };

/**
 * Reads the records of one segment file held in memory. Stops at the first
 * record that is not whole; `stop` says whether that looks like a cut-off
 * write (the usual crash) or damage in the middle of the file.
 */
export function parseSegment(data: Buffer, onRecord: (r: SpoolRecord, offset: number) => void): ParseStop {
  let pos = 0;
  while (pos < data.length) {
    const rest = data.length - pos;
    const torn = (): ParseStop => ({ kind: 'torn', offset: pos });
    const bad = (reason: string): ParseStop => (isZero(data, pos) ? torn() : { kind: 'corrupt', offset: pos, reason });
    if (rest < HEADER_BYTES) return isZero(data, pos) || MAGIC.subarray(0, Math.min(4, rest)).equals(data.subarray(pos, pos + Math.min(4, rest))) ? torn() : bad('short header');
    if (!data.subarray(pos, pos + 4).equals(MAGIC)) return bad('no record marker');
    const type = String.fromCharCode(data[pos + 4]);
    const length = data.readUInt32LE(pos + 8);
    const end = pos + HEADER_BYTES + length;
    if (end > data.length) return torn();
    const want = data.readUInt32LE(pos + 12);
    const got = crc32(data.subarray(pos + HEADER_BYTES, end), crc32(data.subarray(pos + 4, pos + 12)));
    if (want !== got) return end === data.length || isZero(data, end) ? torn() : bad('checksum mismatch');
    const payload = data.subarray(pos + HEADER_BYTES, end);
    try {
      if (type === 'M') {
        const metaLen = payload.readUInt32LE(0);
        if (4 + metaLen > payload.length) return bad('metadata longer than its record');
        const metadata: unknown = JSON.parse(payload.subarray(4, 4 + metaLen).toString('utf8'));
        onRecord({ type: 'M', metadata, bodyOffset: pos + HEADER_BYTES + 4 + metaLen, bodyLength: payload.length - 4 - metaLen }, pos);
      } else if (type === 'U') {
        onRecord({ type: 'U', metadata: JSON.parse(payload.toString('utf8')) as unknown }, pos);
      } else if (type === 'D' && payload.length === 8) {
        onRecord({ type: 'D', id: payload.readDoubleLE(0) }, pos);
      } else {
        return bad(`unknown record type ${JSON.stringify(type)}`);
      }
    } catch (e) {
      return bad(`unreadable record: ${(e as Error).message}`);
    }
    pos = end;
  }
  return { kind: 'end' };
}

function isZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}
