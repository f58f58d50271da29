// DATA framing: finds the terminating <CRLF>.<CRLF>, removes dot-stuffing,
// counts bytes against the size limit and notices bare LFs. Only a CRLF.CRLF
// ends the data (never LF.LF or CR.CR): that is what stops SMTP smuggling.

export interface DataResult {
  /** The message as received, CRLF line ends, dot-unstuffed; empty when too big. */
  body: Buffer;
  size: number;
  tooBig: boolean;
  bareLf: boolean;
  /** Bytes after the terminator that belong to the next command(s). */
  rest: Buffer;
}

export class DataReader {
  private parts: Buffer[] = [];
  private size = 0;
  private carry: Buffer | undefined;
  private tooBig = false;
  private bareLf = false;
  /** The carry is the tail of a line whose start was already consumed. */
  private midLine = false;

  constructor(private readonly maxSize: number) {}

  /** Feeds bytes; returns the result once the terminator was seen. */
  push(chunk: Buffer): DataResult | undefined {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) {
        if (pos < buf.length) this.carry = buf.subarray(pos);
        // A line without end must not grow memory without bound: take all but its
        // last byte (a possible CR) as content now.
        if (this.carry && this.carry.length > 65536) {
          const head = this.carry.subarray(0, this.carry.length - 1);
          this.add(!this.midLine && head[0] === 0x2e ? head.subarray(1) : head);
          this.carry = this.carry.subarray(this.carry.length - 1);
          this.midLine = true;
        }
        return undefined;
      }
      const line = buf.subarray(pos, nl + 1);
      pos = nl + 1;
      const lineStart = !this.midLine;
      this.midLine = false;
      const crlf = line.length >= 2 && line[line.length - 2] === 0x0d;
      if (!crlf) this.bareLf = true;
      if (lineStart && crlf && line.length === 3 && line[0] === 0x2e) {
        const body = this.tooBig ? Buffer.alloc(0) : Buffer.concat(this.parts, this.size);
        return { body, size: this.size, tooBig: this.tooBig, bareLf: this.bareLf, rest: buf.subarray(pos) };
      }
      this.add(lineStart && line[0] === 0x2e ? line.subarray(1) : line);
    }
  }

  private add(content: Buffer): void {
    this.size += content.length;
    if (this.size > this.maxSize) {
      this.tooBig = true;
      this.parts = [];
    }
    if (!this.tooBig) this.parts.push(content);
  }
}
