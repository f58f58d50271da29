// DATA framing: finds the terminating <CRLF>.<CRLF>, removes dot-stuffing,
// counts bytes against the size limit and notices bare LFs. Only a CRLF.CRLF
// ends the data (never LF.LF or CR.CR): that is what stops SMTP smuggling.
//
// Content is kept as slices of the received chunks, cut only where a line
// starts with a dot, so a large message costs one copy (into the stored body)
// however many lines it has.

export interface DataResult {
  /** The message as received, CRLF line ends, dot-unstuffed, as slices; empty when too big. */
  parts: Buffer[];
  size: number;
  tooBig: boolean;
  bareLf: boolean;
  /** Bytes after the terminator that belong to the next command(s). */
  rest: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export class DataReader {
  private parts: Buffer[] = [];
  private size = 0;
  private tooBig = false;
  private bareLf = false;
  /** Whether the next byte starts a line. */
  private atLineStart = true;
  /** The last byte of the previous chunk (to tell CRLF from a bare LF across chunks). */
  private prev = LF;
  /** A line start `.` whose meaning (terminator or stuffing) the next bytes decide. */
  private pendingDot = false;
  /** After a line-start dot: a CR seen, waiting for LF to know it was the terminator. */
  private pendingDotCr = false;

  constructor(private readonly maxSize: number) {}

  /** Convenience for tests and callers that want one buffer. */
  static concat(r: DataResult): Buffer {
    return Buffer.concat(r.parts, r.tooBig ? 0 : r.size);
  }

  private add(content: Buffer): void {
    if (content.length === 0) return;
    this.size += content.length;
    if (this.tooBig) return;
    if (this.size > this.maxSize) {
      this.tooBig = true;
      this.parts = [];
      return;
    }
    this.parts.push(content);
  }

  private result(rest: Buffer): DataResult {
    return { parts: this.tooBig ? [] : this.parts, size: this.size, tooBig: this.tooBig, bareLf: this.bareLf, rest };
  }

  /** Feeds bytes; returns the result once the terminator was seen. */
  push(chunk: Buffer): DataResult | undefined {
    if (chunk.length === 0) return undefined;
    let pos = 0;
    // Finish a dot line that straddles chunks: `.` then CR then LF is the end.
    if (this.pendingDot || this.pendingDotCr) {
      if (this.pendingDot && !this.pendingDotCr) {
        if (chunk[0] === CR) {
          this.pendingDotCr = true;
          pos = 1;
          if (chunk.length === 1) return undefined;
        } else {
          // A stuffed dot: drop it, the line continues.
          this.pendingDot = false;
          this.atLineStart = false;
        }
      }
      if (this.pendingDotCr) {
        if (chunk[pos] === LF) return this.result(chunk.subarray(pos + 1));
        // `.` CR something: the dot was stuffing, the CR is content.
        this.pendingDot = this.pendingDotCr = false;
        this.add(Buffer.from([CR]));
        this.prev = CR;
        this.atLineStart = false;
      }
    }
    let start = pos;
    for (;;) {
      if (this.atLineStart && pos < chunk.length && chunk[pos] === DOT) {
        // A line starting with a dot: the terminator, or a stuffed dot to remove.
        this.add(chunk.subarray(start, pos));
        if (pos + 2 < chunk.length || (pos + 2 === chunk.length && chunk[pos + 1] !== CR)) {
          if (chunk[pos + 1] === CR && chunk[pos + 2] === LF) return this.result(chunk.subarray(pos + 3));
        } else if (pos + 1 === chunk.length) {
          this.pendingDot = true;
          return undefined;
        } else {
          // `.` CR at the very end of the chunk.
          this.pendingDot = true;
          this.pendingDotCr = true;
          return undefined;
        }
        pos += 1;
        start = pos;
        this.atLineStart = false;
      }
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) {
        this.add(chunk.subarray(start));
        if (chunk.length > 0) this.prev = chunk[chunk.length - 1];
        this.atLineStart = false;
        return undefined;
      }
      const before = nl > 0 ? chunk[nl - 1] : this.prev;
      if (before !== CR) this.bareLf = true;
      pos = nl + 1;
      this.atLineStart = true;
      if (pos >= chunk.length) {
        this.add(chunk.subarray(start));
        this.prev = LF;
        return undefined;
      }
    }
  }
}
