// Which messages the transport is processing right now, kept on disk so that
// after a crash the next start knows which messages were in the hands of the
// process that died: Exchange's poison message detection (reference §8) counts
// those crashes per message.
//
// The file is a log of lines `begin <id>` and `end <id>`. Why no fsync: the
// crashes that matter are the process's own (kill -9, abort, an uncaught
// exception, the OOM killer), and they leave the kernel's page cache intact,
// so a write(2) that returned is in the file the next process reads. A power
// loss may lose the tail of the file; then a message that was being processed
// is not counted, which costs one more crash before it is quarantined, never a
// message. A flush per delivery would cost more than the whole delivery.
import fs from 'node:fs';
import path from 'node:path';

export const JOURNAL_FILE = 'processing.journal';
/** Past this size the file is rewritten with only the ids still open. */
const DEFAULT_COMPACT_AT_BYTES = 64 * 1024;
/** How long `end` lines may wait in memory before they are written. */
const END_FLUSH_MS = 20;

export interface ProcessingJournalOptions {
  compactAtBytes?: number;
}

/** What the delivery engine needs of the journal (tests may pass a stand-in). */
export interface ProcessingTracker {
  /** Ids the previous process began and never ended: it died while processing them. */
  readonly interrupted: readonly number[];
  /** Their crash counts are durable now: the journal may forget them. */
  acknowledgeInterrupted(): void;
  begin(id: number): void;
  end(id: number): void;
}

/** The ids a journal's text leaves open (begun, not ended); a torn last line is ignored. */
export function openIds(text: string): number[] {
  const open = new Set<number>();
  for (const line of text.split('\n')) {
    const m = /^(begin|end) (\d+)$/.exec(line);
    if (!m) continue;
    const id = Number(m[2]);
    if (m[1] === 'begin') open.add(id);
    else open.delete(id);
  }
  return [...open].sort((a, b) => a - b);
}

export class ProcessingJournal implements ProcessingTracker {
  /** Nesting depth per id (delivery → categorization → NDR): only the outermost begin/end reach the file. */
  private readonly depth = new Map<number, number>();
  private readonly unacknowledged: Set<number>;
  private pendingEnds: number[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private size: number;
  private closed = false;

  private constructor(
    private readonly file: string,
    private fd: number,
    readonly interrupted: readonly number[],
    private readonly compactAt: number,
  ) {
    this.unacknowledged = new Set(interrupted);
    this.size = fs.fstatSync(fd).size;
  }

  /**
   * Opens the journal of a spool folder. The ids the previous process left
   * open are in `interrupted`; they stay in the file until
   * acknowledgeInterrupted(), so a crash before their crash counts are durable
   * counts that crash again next time rather than forgetting it.
   */
  static async open(dir: string, options: ProcessingJournalOptions = {}): Promise<ProcessingJournal> {
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, JOURNAL_FILE);
    let text = '';
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const interrupted = openIds(text);
    // Start afresh: the old lines are summed up by the interrupted ids.
    writeAtomically(file, interrupted.map((id) => `begin ${id}\n`).join(''));
    const fd = fs.openSync(file, 'a');
    return new ProcessingJournal(file, fd, interrupted, options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES);
  }

  acknowledgeInterrupted(): void {
    if (this.unacknowledged.size === 0 || this.closed) return;
    for (const id of this.unacknowledged) if (!this.depth.has(id)) this.pendingEnds.push(id);
    this.unacknowledged.clear();
    this.flush();
  }

  /**
   * Processing of a message starts. Written at once, synchronously, on an
   * O_APPEND descriptor (a few microseconds): when this returns, a crash can
   * no longer lose the line. Ends waiting in memory go out in the same write.
   */
  begin(id: number): void {
    if (this.closed) return;
    const d = this.depth.get(id) ?? 0;
    this.depth.set(id, d + 1);
    if (d > 0) return;
    // A previous process's entry for this id is superseded by this one.
    this.unacknowledged.delete(id);
    this.append(this.takePendingEnds() + `begin ${id}\n`);
  }

  /**
   * Processing of a message ended. Batched: a crash within the next few
   * milliseconds may still count this message as interrupted, which only
   * brings it nearer to the Poison queue by one; it never loses a message.
   */
  end(id: number): void {
    if (this.closed) return;
    const d = this.depth.get(id);
    if (d === undefined) return;
    if (d > 1) {
      this.depth.set(id, d - 1);
      return;
    }
    this.depth.delete(id);
    this.pendingEnds.push(id);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, END_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Ids being processed now (begun in this process and not ended). */
  openNow(): number[] {
    return [...this.depth.keys()].sort((a, b) => a - b);
  }

  /** Writes the ends waiting in memory. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    const ends = this.takePendingEnds();
    if (ends) this.append(ends);
  }

  /**
   * A stop of the service (which may be followed by process exit without
   * close()): batched ends are written and the file is rewritten with only the
   * ids still open, none after a clean stop, so a clean restart counts no
   * crash for anything.
   */
  checkpoint(): void {
    if (this.closed) return;
    this.flush();
    this.compact();
  }

  /**
   * Clean shutdown: nothing is being processed any more, so nothing will count
   * as interrupted; the file goes away. Ids still open (an unclean stop) and
   * unacknowledged ones stay in the file, as a crash would have left them.
   */
  close(): void {
    if (this.closed) return;
    this.flush();
    const keep = this.stillOpen();
    this.closed = true;
    fs.closeSync(this.fd);
    if (keep.length === 0) fs.rmSync(this.file, { force: true });
    else writeAtomically(this.file, keep.map((id) => `begin ${id}\n`).join(''));
  }

  private stillOpen(): number[] {
    return [...new Set([...this.depth.keys(), ...this.unacknowledged])].sort((a, b) => a - b);
  }

  private takePendingEnds(): string {
    if (this.pendingEnds.length === 0) return '';
    const s = this.pendingEnds.map((id) => `end ${id}\n`).join('');
    this.pendingEnds = [];
    return s;
  }

  private append(text: string): void {
    const buf = Buffer.from(text, 'ascii');
    fs.writeSync(this.fd, buf);
    this.size += buf.length;
    if (this.size > this.compactAt) this.compact();
  }

  /**
   * Rewrites the file with only the open ids: written to a new file, then
   * renamed over the old one, so a crash in between leaves one whole file
   * (the old one still says the same about every open id).
   */
  private compact(): void {
    const text = this.stillOpen().map((id) => `begin ${id}\n`).join('');
    writeAtomically(this.file, text);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a');
    this.size = Buffer.byteLength(text);
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
