import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BOM } from './exchange-log-text.js';

export interface RotatingLogSettings {
  directory: string;
  /** Bytes; a new file (-2, -3, …) starts when the next line would pass it. 0 or Infinity: unlimited. */
  maxFileSize: number;
  /** Bytes; oldest files are deleted beyond it. 0 or Infinity: unlimited. */
  maxDirectorySize: number;
  /** Milliseconds; files last written longer ago are deleted. 0: never. */
  maxAge: number;
}

/** How one kind of log names its files and starts them. */
export interface LogFileNaming {
  /** The part of a file name that changes with time (`yyyyMMddHH`): a new file starts when it changes; at most hourly, the writer relies on it. */
  datePart(at: Date): string;
  fileName(at: Date, instance: number): string;
  /** A file of this log, or undefined; sortKey orders the files oldest first. */
  parse(name: string): { datePart: string; instance: number; sortKey: string } | undefined;
  /** The `#` lines that start every file (without the BOM). */
  header(at: Date): string;
}

export interface RotatingLogWriterOptions extends RotatingLogSettings {
  naming: LogFileNaming;
  /** For error messages: "protocol log", "message tracking log". */
  name: string;
  clock?: () => Date;
  /**
   * Bytes of lines that may wait for the disk (default 32 MiB). Beyond it lines
   * are dropped and reported through onError: a stalled disk must not grow
   * the transport's memory without bound.
   */
  maxBufferedBytes?: number;
  /** Called when the log cannot be written; lines are then dropped, mail flow goes on. */
  onError?: (e: unknown) => void;
}

/** Where a row is encoded: the chunk, and the offset the row starts at. */
export interface LogRowSpace {
  readonly buf: Buffer;
  readonly used: number;
}

/** Rows of one hour, encoded one after another into a chunk as they are written. */
interface Rows {
  t: 'rows';
  /** The first row's time: the hour, and the header of a file these rows start. */
  at: Date;
  hour: number;
  buf: Buffer;
  used: number;
  /** Where each row ends in buf: a file that fills up mid-chunk is cut between rows. */
  ends: number[];
}

type Op = Rows | { t: 'settings'; settings: Partial<RotatingLogSettings> };

/**
 * Rows are encoded straight into chunks of this size, reused once written. A Buffer, an
 * object and a Date per row, kept until the batch went out, made the 16 rows of a receive
 * session cost 32.6 µs of CPU; this way they cost 7.5 µs (docs/benchmarks.md).
 */
const CHUNK_BYTES = 64 * 1024;
const SPARE_CHUNKS = 8;
const HOUR_MS = 3_600_000;

interface OpenFile {
  name: string;
  datePart: string;
  instance: number;
  size: number;
  handle: fsp.FileHandle;
}

const unlimited = (n: number): boolean => !n || !Number.isFinite(n);

/**
 * Rows wait up to this long, or until this many bytes are queued, before one
 * append takes them all: a write per event-loop turn cost the relay over a
 * quarter of its rate with message tracking on (docs/benchmarks.md). Readers
 * that need every row so far call flush().
 */
const BATCH_DELAY_MS = 50;
const BATCH_BYTES = 256 * 1024;

/**
 * Appends lines to Exchange-format log files (protocol logs, message tracking
 * logs). Writing a row only encodes it into a chunk (reserve(), endRow()): the
 * SMTP session and the delivery never wait on the disk. A single drain loop
 * appends buffered lines in order, starting
 * files, rotating and deleting old ones as it goes. Settings changes are queued
 * with the lines, so lines written before setDirectory() land in the old folder
 * and lines after it in the new.
 */
export class RotatingLogWriter {
  private settings: RotatingLogSettings;
  protected readonly clock: () => Date;
  private readonly clockMs: () => number;
  private readonly naming: LogFileNaming;
  private readonly name: string;
  private readonly onError: (e: unknown) => void;
  private queue: Op[] = [];
  /** The chunk rows are being encoded into: the last op of the queue. */
  private open: Rows | undefined;
  private spare: Buffer[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private readonly maxBufferedBytes: number;
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private current: OpenFile | undefined;
  /**
   * Rows a drain appended to the current file and not yet written: one gathered write takes them all. A write
   * per 64 KB chunk was a thread-pool round trip each, about 0.01 ms of the relay's time per message with
   * every log on (docs/benchmarks.md).
   */
  private pending: Buffer[] = [];
  private closed = false;

  constructor(opts: RotatingLogWriterOptions) {
    this.naming = opts.naming;
    this.name = opts.name;
    this.settings = {
      directory: opts.directory,
      maxFileSize: opts.maxFileSize,
      maxDirectorySize: opts.maxDirectorySize,
      maxAge: opts.maxAge,
    };
    const clock = opts.clock;
    this.clock = clock ?? (() => new Date());
    this.clockMs = clock ? () => clock().getTime() : Date.now;
    this.onError = opts.onError ?? (() => undefined);
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
  }

  get directory(): string {
    return this.settings.directory;
  }

  /** The time a line written now carries (the writer's clock). */
  now(): Date {
    return this.clock();
  }

  /** now() in milliseconds, without a Date when the clock is the system's (a row's hot path). */
  nowMs(): number {
    return this.clockMs();
  }

  /**
   * Room for one row of at most `most` bytes (its line ending not counted) stamped `atMs`: the caller
   * encodes the row at `buf[used…]` (row-bytes.ts) and hands its end to endRow(). Undefined when the
   * row is dropped (the writer is closed, or the disk is too slow).
   */
  reserve(atMs: number, most: number): LogRowSpace | undefined {
    if (this.closed) return undefined;
    most += 2;
    if (this.queuedBytes + most > this.maxBufferedBytes) {
      if (this.dropped++ === 0) this.onError(new Error(`${this.name} ${this.settings.directory}: disk too slow, dropping rows`));
      return undefined;
    }
    const hour = Math.floor(atMs / HOUR_MS);
    let rows = this.open;
    if (!rows || rows.hour !== hour || rows.buf.length - rows.used < most) {
      const buf = most > CHUNK_BYTES ? Buffer.allocUnsafe(most) : (this.spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES));
      rows = { t: 'rows', at: new Date(atMs), hour, buf, used: 0, ends: [] };
      this.queue.push(rows);
      this.open = rows;
    }
    return rows;
  }

  /** The row reserved in `rows` ends at `end`: its line ending is added and it is queued. */
  endRow(rows: LogRowSpace, end: number): void {
    const r = rows as Rows;
    const start = r.used;
    r.buf[end++] = 0x0d;
    r.buf[end++] = 0x0a;
    r.used = end;
    r.ends.push(end);
    this.queuedBytes += end - start;
    this.kick();
  }

  setDirectory(directory: string): void {
    this.updateSettings({ directory });
  }

  /** Set-TransportService changes: take effect for rows written after the call. */
  updateSettings(settings: Partial<RotatingLogSettings>): void {
    this.queue.push({ t: 'settings', settings });
    this.open = undefined;
    this.kick();
  }

  /** Resolves when every row written before the call is in its file. */
  async flush(): Promise<void> {
    while (this.draining || this.timer || this.immediate) {
      if (!this.draining) this.startDrain();
      await this.draining;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.closeCurrent();
  }

  /** Deletes files by age and directory size now (also done whenever a file is started). */
  async enforceRetention(): Promise<void> {
    await this.flush();
    await this.retention().catch(this.onError);
  }

  private kick(): void {
    if (this.draining || this.immediate) return;
    if (this.queuedBytes >= BATCH_BYTES) {
      // Never in the writer's own turn: writing a row stays a buffer append.
      this.immediate = setImmediate(() => this.startDrain());
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.startDrain(), BATCH_DELAY_MS);
      this.timer.unref();
    }
  }

  // File sets start at most hourly (LogFileNaming.datePart): rows of the same hour share the text.
  private hourMemo = NaN;
  private datePartMemo = '';

  private datePartOf(at: Date): string {
    const hour = Math.floor(at.getTime() / 3_600_000);
    if (hour !== this.hourMemo) {
      this.hourMemo = hour;
      this.datePartMemo = this.naming.datePart(at);
    }
    return this.datePartMemo;
  }

  private startDrain(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.draining) return;
    // drain() reports its own I/O failures; anything else is reported too, never left as an unhandled rejection of a timer.
    this.draining = this.drain().catch((e) => this.onError(e)).finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /**
   * Writes what is queued now, and only that: rows written meanwhile wait for the next batch
   * (startDrain kicks again). Looping until the queue was empty made a write of the few rows
   * of each millisecond while the previous write ran, a thread-pool round trip each, and cost
   * a verbose receive log half of what it cost the relay (docs/benchmarks.md).
   */
  private async drain(): Promise<void> {
    {
      const ops = this.queue;
      /** Chunks to reuse once their rows are written. */
      const written: Buffer[] = [];
      this.queue = [];
      this.open = undefined;
      this.queuedBytes = 0;
      this.dropped = 0;
      for (const op of ops) {
        if (op.t === 'settings') {
          const dirChanged = op.settings.directory !== undefined && op.settings.directory !== this.settings.directory;
          this.settings = { ...this.settings, ...stripUndefined(op.settings) };
          if (dirChanged) await this.closeCurrent();
          continue;
        }
        // One write for the chunk, unless the file fills up first: then it is cut between rows.
        let from = 0;
        while (from < op.used) {
          let to = op.used;
          if (!unlimited(this.settings.maxFileSize)) {
            const datePart = this.datePartOf(op.at);
            const base = this.current?.datePart === datePart ? this.current.size : this.headerBytes(op.at);
            if (base + (to - from) > this.settings.maxFileSize) {
              // As many rows as fit, at least one (a row larger than any file still goes into a fresh one).
              const first = op.ends.findIndex((e) => e > from);
              to = op.ends[first];
              for (let i = first + 1; i < op.ends.length && base + (op.ends[i] - from) <= this.settings.maxFileSize; i++) to = op.ends[i];
            }
          }
          try {
            await this.append(op.at, op.buf.subarray(from, to));
          } catch (e) {
            this.onError(e);
            await this.closeCurrent();
          }
          from = to;
        }
        if (op.buf.length === CHUNK_BYTES) written.push(op.buf);
      }
      try {
        await this.writePending();
      } catch (e) {
        this.onError(e);
        await this.closeCurrent();
      }
      for (const buf of written) if (this.spare.length < SPARE_CHUNKS) this.spare.push(buf);
    }
  }

  /** Queues rows of one hour for the current file, starting a new file when the hour changed or the size limit is reached. */
  private async append(at: Date, text: Buffer): Promise<void> {
    const bytes = text.length;
    const datePart = this.naming.datePart(at);
    const cur = this.current;
    if (!cur || cur.datePart !== datePart) await this.startFile(at, undefined);
    // A file that already has rows and no room for these starts the next instance;
    // rows too large for any file still go into a fresh one rather than looping.
    while (!unlimited(this.settings.maxFileSize) && this.current!.size + bytes > this.settings.maxFileSize && this.current!.size > this.headerBytes(at)) {
      await this.startFile(at, this.current!.instance + 1);
    }
    this.pending.push(text);
    this.current!.size += bytes;
  }

  /** Writes the rows appended since the last write (libuv writes all of a gathered write, or fails). */
  private async writePending(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    if (rows.length > 0 && this.current) await this.current.handle.writev(rows);
  }

  private headerBytes(at: Date): number {
    return Buffer.byteLength(BOM + this.naming.header(at));
  }

  /**
   * Opens the file for `at`. After a restart the newest file of this hour is
   * continued if it still has room (a file has one header), otherwise the next
   * instance number is started with a fresh BOM and header.
   */
  private async startFile(at: Date, instance: number | undefined): Promise<void> {
    await this.closeCurrent();
    const dir = this.settings.directory;
    await fsp.mkdir(dir, { recursive: true });
    const datePart = this.naming.datePart(at);
    if (instance === undefined) {
      let newest = 0;
      let newestSize = 0;
      for (const name of await fsp.readdir(dir)) {
        const m = this.naming.parse(name);
        if (!m || m.datePart !== datePart) continue;
        const n = m.instance;
        if (n > newest) {
          newest = n;
          newestSize = (await fsp.stat(path.join(dir, name))).size;
        }
      }
      if (newest > 0 && (unlimited(this.settings.maxFileSize) || newestSize < this.settings.maxFileSize)) {
        const name = this.naming.fileName(at, newest);
        const handle = await fsp.open(path.join(dir, name), 'a');
        this.current = { name, datePart, instance: newest, size: newestSize, handle };
        return;
      }
      instance = newest + 1;
    }
    // Never put a second header into a file someone else already started.
    while (await fsp.stat(path.join(dir, this.naming.fileName(at, instance))).then(() => true, () => false)) instance++;
    const name = this.naming.fileName(at, instance);
    const handle = await fsp.open(path.join(dir, name), 'a');
    const header = BOM + this.naming.header(at);
    await handle.write(header);
    this.current = { name, datePart, instance, size: Buffer.byteLength(header), handle };
    await this.retention().catch(this.onError);
  }

  private async closeCurrent(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    // A file is left only once its rows are in it: a new hour's file or the next instance follows them.
    await this.writePending().catch(this.onError);
    this.current = undefined;
    await cur.handle.close().catch(this.onError);
  }

  /**
   * Circular deletion, as Exchange does it: first every file (but the one being
   * written) last modified more than maxAge ago, then the oldest files until
   * the folder is within maxDirectorySize.
   */
  private async retention(): Promise<void> {
    const { directory, maxAge, maxDirectorySize } = this.settings;
    if (!maxAge && unlimited(maxDirectorySize)) return;
    const now = this.clock().getTime();
    const files: Array<{ name: string; size: number; mtime: number; key: string }> = [];
    for (const name of await fsp.readdir(directory)) {
      const m = this.naming.parse(name);
      if (!m) continue;
      const st = await fsp.stat(path.join(directory, name)).catch(() => undefined);
      if (!st) continue;
      files.push({ name, size: st.size, mtime: st.mtimeMs, key: m.sortKey });
    }
    files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const currentName = this.current?.name;
    const kept: typeof files = [];
    for (const f of files) {
      if (f.name !== currentName && maxAge > 0 && now - f.mtime > maxAge) {
        await fsp.rm(path.join(directory, f.name), { force: true });
      } else {
        kept.push(f);
      }
    }
    if (unlimited(maxDirectorySize)) return;
    let total = kept.reduce((s, f) => s + f.size, 0);
    for (const f of kept) {
      if (total <= maxDirectorySize) break;
      if (f.name === currentName) continue;
      await fsp.rm(path.join(directory, f.name), { force: true });
      total -= f.size;
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
