// DATA framing: finds the terminating <CRLF>.<CRLF>, removes dot-stuffing,
// and checks what a message may not hold. Only a CRLF.CRLF ends the data
// (never LF.LF, CR.CR or a mix): that is what stops SMTP smuggling, and a
// bare CR or bare LF anywhere refuses the message, so the next hop can never
// read what we forward differently from us.
//
// Bounded by design: content is copied into fixed-size blocks as it arrives
// (one copy, no object per line), and once a message is refused nothing more
// of it is held; the reader only scans on to the terminator. The work per
// received chunk is one linear pass over it.
import type { MessageMemoryBudget } from '../service/message-memory-budget.js';

/** Why a message is refused at the end of its data (the session picks the reply). */
export type DataRefusal =
  /** Larger than MaxMessageSize. */
  | 'tooBig'
  /** The header section (up to the first empty line) is larger than MaxHeaderSize. */
  | 'headerTooBig'
  /** A text line longer than RFC 5321's 1000 octets, CRLF included. */
  | 'lineTooLong'
  | 'bareLf'
  | 'bareCr'
  /** The service's budget for message data held in memory is spent. */
  | 'noMemory';

export interface DataResult {
  /** The message as received, CRLF line ends, dot-unstuffed, in blocks; empty when refused. */
  blocks: Buffer[];
  /** Content bytes seen (counted on even when refused). */
  size: number;
  refusal: DataRefusal | undefined;
  /** Bytes after the terminator that belong to the next command(s). */
  rest: Buffer;
}

export interface DataReaderOptions {
  maxMessageSize: number;
  maxHeaderSize: number;
  /** Octets per text line including CRLF (RFC 5321 4.5.3.1.6). */
  maxLineLength?: number;
  /** Where the blocks' bytes are accounted; without it, only the size limit bounds them. */
  budget?: MessageMemoryBudget;
}

export const TEXT_LINE_LIMIT = 1000;
const FIRST_BLOCK = 16 * 1024;
const BLOCK = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** Bytes of a line looked at one by one before native searches take over (data-reader's byte loop). */
const SHORT_SCAN = 16;

/**
 * Blocks of messages already copied out (joined, or refused) are reused: a
 * fresh 64 KiB allocation for every message kept the garbage collector busy
 * enough to cost a 100 KB message a fifth of its speed. Bounded: what does
 * not fit is left to the collector.
 */
const POOL_MAX = 64;
const pools = new Map<number, Buffer[]>([
  [16 * 1024, []],
  [64 * 1024, []],
]);

export class DataReader {
  /** Every block this reader allocated or took from the pool, whole. */
  private owned: Buffer[] = [];
  private blocks: Buffer[] = [];
  private block: Buffer | undefined;
  private fill = 0;
  /** Bytes taken from the budget for the blocks held. */
  private held = 0;
  private size = 0;
  private refusal: DataRefusal | undefined;
  /** The next byte begins a line (only a CRLF ends one). */
  private lineStart = true;
  /** The line so far is just its first dot (removed): the terminator if CRLF follows. */
  private dotOnly = false;
  /** The previous byte was a CR, not yet known to be followed by LF. */
  private cr = false;
  /** Octets of the current line as sent (stuffed dot included, CRLF not). */
  private lineLen = 0;
  private inHeader = true;
  private headerBytes = 0;
  private readonly maxLine: number;
  /** Once refused: the last bytes seen, so skip() finds a terminator cut between chunks. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly opts: DataReaderOptions) {
    this.maxLine = opts.maxLineLength ?? TEXT_LINE_LIMIT;
  }

  /** Takes the first block: false (nothing held) when the memory budget cannot give it, before any data is invited. */
  begin(): boolean {
    return this.newBlock();
  }

  /** One buffer of the whole content (tests, and small messages kept whole). */
  static concat(r: DataResult): Buffer {
    return r.blocks.length === 1 ? r.blocks[0] : Buffer.concat(r.blocks);
  }

  /**
   * Hands the blocks back for the next message, once nothing refers to them
   * any more (the session joined a small message into its own buffer, or the
   * message was refused). Never for blocks given to the spool as they are.
   */
  recycle(): void {
    for (const b of this.owned) {
      const pool = pools.get(b.length);
      if (pool && pool.length < POOL_MAX) pool.push(b);
    }
    this.owned = [];
    this.blocks = [];
    this.block = undefined;
  }

  /** Gives back the memory of blocks handed out in a result, once they are no longer needed. */
  release(): void {
    if (this.held > 0) this.opts.budget?.give(this.held);
    this.held = 0;
  }

  private refuse(why: DataRefusal): void {
    if (this.refusal) return;
    this.refusal = why;
    // The blocks go now, not when the client finally sends the terminator: a refused
    // session would otherwise keep memory the budget has already given to others.
    this.recycle();
    this.release();
  }

  private newBlock(): boolean {
    if (this.block) this.blocks.push(this.block.subarray(0, this.fill));
    const bytes = this.blocks.length === 0 ? FIRST_BLOCK : BLOCK;
    if (this.opts.budget && !this.opts.budget.tryTake(bytes, this.held)) {
      this.refuse('noMemory');
      return false;
    }
    this.held += bytes;
    this.block = pools.get(bytes)?.pop() ?? Buffer.allocUnsafe(bytes);
    this.owned.push(this.block);
    this.fill = 0;
    return true;
  }

  /** Content bytes chunk[from, to) into the blocks. */
  private emit(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.size += to - from;
    if (this.refusal) return;
    if (this.size > this.opts.maxMessageSize) return this.refuse('tooBig');
    while (from < to) {
      if (!this.block || this.fill === this.block.length) {
        if (!this.newBlock()) return;
      }
      const block = this.block!;
      const n = Math.min(to - from, block.length - this.fill);
      // Short runs (a dot line is 3 bytes) cost less copied by hand than through a native call.
      if (n < 32) for (let k = 0; k < n; k++) block[this.fill + k] = chunk[from + k];
      else chunk.copy(block, this.fill, from, from + n);
      this.fill += n;
      from += n;
    }
  }

  /** A CRLF ended a line that was not the terminator. */
  private endLine(): void {
    if (this.lineLen + 2 > this.maxLine) this.refuse('lineTooLong');
    if (this.inHeader) {
      if (this.lineLen === 0) this.inHeader = false;
      else if ((this.headerBytes += this.lineLen + 2) > this.opts.maxHeaderSize) this.refuse('headerTooBig');
    }
    this.lineLen = 0;
    this.lineStart = true;
  }

  private result(rest: Buffer): DataResult {
    if (this.block && !this.refusal) this.blocks.push(this.block.subarray(0, this.fill));
    this.block = undefined;
    return { blocks: this.refusal ? [] : this.blocks, size: this.size, refusal: this.refusal, rest };
  }

  /** Feeds bytes; returns the result once the terminator was seen. */
  push(chunk: Buffer): DataResult | undefined {
    if (this.refusal) return this.skip(chunk);
    const n = chunk.length;
    let i = 0;
    /** Start of the content not yet copied. */
    let run = 0;
    /** The next CR and LF at or after the scan (-1: none left in this chunk; -2: not searched yet). */
    let nextCr = -2;
    let nextLf = -2;
    while (i < n) {
      let c = chunk[i];
      if (this.lineStart) {
        this.lineStart = false;
        if (c === DOT) {
          // A stuffed dot, or the terminator's: never content.
          this.emit(chunk, run, i);
          run = ++i;
          this.dotOnly = true;
          this.lineLen = 1;
          continue;
        }
      }
      if (this.cr) {
        this.cr = false;
        if (c === LF) {
          i++;
          if (this.dotOnly) {
            this.dotOnly = false;
            return this.result(chunk.subarray(i));
          }
          this.endLine();
          continue;
        }
        this.refuse('bareCr');
      }
      if (c === CR) {
        // After a lone dot this CR is the terminator's or a bare one (refused): not content either way.
        if (this.dotOnly) {
          this.emit(chunk, run, i);
          run = i + 1;
        }
        this.cr = true;
        i++;
        continue;
      }
      this.dotOnly = false;
      if (c === LF) {
        this.refuse('bareLf');
        this.lineLen++;
        i++;
        continue;
      }
      // The rest of the line's text up to the next CR or LF. Its first bytes are looked at here: a line of a
      // byte or two (an attack of dot lines is nothing else) cost two native searches, which held the event
      // loop for every other session. Beyond them, native searches (a JavaScript loop over every byte cost a
      // 100 KB message a fifth of the relay's speed); each position is searched again only once the scan has
      // passed it, so the pass over the chunk stays linear.
      const from = i;
      const near = i + SHORT_SCAN < n ? i + SHORT_SCAN : n;
      while (i < near && (c = chunk[i]) !== CR && c !== LF) i++;
      if (i === near && i < n) {
        if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
        if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
        i = nextCr === -1 ? (nextLf === -1 ? n : nextLf) : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      }
      this.lineLen += i - from;
    }
    this.emit(chunk, run, n);
    // A line that never ends is refused now, however long the client goes on.
    if (this.lineLen + 2 > this.maxLine) this.refuse('lineTooLong');
    if (this.inHeader && this.headerBytes + this.lineLen > this.opts.maxHeaderSize) this.refuse('headerTooBig');
    if (this.refusal) this.tail = this.stateAsTail();
    return undefined;
  }

  /**
   * The last bytes of the stream, as far as the terminator is concerned, in
   * the byte loop's state: what skip() must join to the next chunk.
   */
  private stateAsTail(): Buffer {
    if (this.dotOnly) return Buffer.from(this.cr ? '\r\n.\r' : '\0\r\n.', 'latin1');
    if (this.cr) return Buffer.from('\0\0\0\r', 'latin1');
    return Buffer.from(this.lineStart ? '\0\0\r\n' : '\0\0\0\0', 'latin1');
  }

  /**
   * A refused message is only read on to its end: the terminator is found by
   * a native search instead of the byte loop, so data a client goes on
   * sending after the refusal (an attack of dot lines, most often) costs
   * almost nothing. The few bytes kept from the previous chunk find a
   * terminator cut between chunks.
   */
  private skip(chunk: Buffer): DataResult | undefined {
    const joint = Buffer.concat([this.tail, chunk.subarray(0, TERMINATOR.length - 1)]);
    let end = joint.indexOf(TERMINATOR);
    if (end >= 0) end = end + TERMINATOR.length - this.tail.length;
    else {
      end = chunk.indexOf(TERMINATOR);
      if (end >= 0) end += TERMINATOR.length;
    }
    if (end >= 0) {
      // Content ends with the terminator's CRLF; its `.` CRLF is not content.
      this.size += Math.max(0, end - 3);
      return this.result(chunk.subarray(end));
    }
    this.size += chunk.length;
    // Only the last bytes are kept, copied: joining the whole chunk to the tail copied every chunk of a refused message.
    const keep = TERMINATOR.length - 1;
    this.tail = chunk.length >= keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.concat([this.tail, chunk]).subarray(-keep);
    return undefined;
  }
}

const TERMINATOR = Buffer.from('\r\n.\r\n', 'latin1');
