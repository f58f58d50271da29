// Log rows written straight into the writer's chunk as bytes. Building a row as a
// string costs a concatenation tree that V8 flattens before encoding it, and a
// Date per row; for the thirty-odd rows a message makes in Verbose protocol logs
// and message tracking that was most of what the logs cost the transport
// (docs/benchmarks.md). These helpers write the same bytes as csvField() and
// formatDateTime() of exchange-log-text.ts (test/transport/log-row-bytes.test.ts).
import { csvField } from './exchange-log-text.js';

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/** Below this length a JavaScript loop beats a native Buffer.write call. */
const SHORT = 64;

/** The most bytes putText or putField can write for `s` (UTF-8 is at most 3 bytes per UTF-16 unit; quoting adds 2). */
export function fieldRoom(s: string | undefined): number {
  return s ? s.length * 3 + 2 : 0;
}

/** `s` as UTF-8, unescaped; returns the end. The caller reserved fieldRoom(s). */
export function putText(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n > SHORT) return pos + buf.write(s, pos, 'utf8');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return pos - i + buf.write(s, pos - i, 'utf8');
    buf[pos++] = c;
  }
  return pos;
}

/** One CSV field as csvField() writes it (nothing for an empty or absent value); returns the end. */
export function putField(buf: Buffer, pos: number, s: string | undefined): number {
  if (!s) return pos;
  const n = s.length;
  if (n > SHORT) return pos + buf.write(csvField(s), pos, 'utf8');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === COMMA || c === QUOTE || c === CR || c === LF) return pos - i + buf.write(csvField(s), pos - i, 'utf8');
    buf[pos++] = c;
  }
  return pos;
}

/** putField, then the comma that ends the field. */
export function putFieldComma(buf: Buffer, pos: number, s: string | undefined): number {
  pos = putField(buf, pos, s);
  buf[pos] = COMMA;
  return pos + 1;
}

/**
 * Bytes prepared once (a session's fixed fields). TypedArray set() copies the 35-45 bytes of a row's ids and
 * endpoints in 15 ns each where a byte loop took 40 (a million rows timed in one process, Node 20).
 */
export function putBytes(buf: Buffer, pos: number, bytes: Uint8Array): number {
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** A number in decimal as String(v) writes it (at most 24 bytes); integers without a string. */
export function putInt(buf: Buffer, pos: number, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) return putText(buf, pos, String(v));
  if (v < 10) {
    buf[pos] = 0x30 + v;
    return pos + 1;
  }
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = pos + digits;
  for (let x = v; p > pos; x = Math.floor(x / 10)) buf[--p] = 0x30 + (x % 10);
  return pos + digits;
}

export const TIMESTAMP_BYTES = 24;

// Rows of a busy second share all of the timestamp but the milliseconds: that part is encoded once a second.
let memoSecond = NaN;
const memoPrefix = Buffer.alloc(19);
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `yyyy-MM-ddTHH:mm:ss.fffZ` in UTC, 24 bytes. */
export function putTimestamp(buf: Buffer, pos: number, ms: number): number {
  const millis = ((ms % 1000) + 1000) % 1000;
  const second = ms - millis;
  if (second !== memoSecond) {
    const d = new Date(second);
    memoPrefix.write(
      `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
      0,
      'latin1',
    );
    memoSecond = second;
  }
  pos = putBytes(buf, pos, memoPrefix);
  buf[pos++] = 0x2e;
  buf[pos++] = 0x30 + Math.floor(millis / 100);
  buf[pos++] = 0x30 + (Math.floor(millis / 10) % 10);
  buf[pos++] = 0x30 + (millis % 10);
  buf[pos++] = 0x5a;
  return pos;
}
