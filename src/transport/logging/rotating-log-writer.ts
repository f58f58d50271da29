import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BOM, CRLF } from './exchange-log-text.js';

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

type Op =
  | { t: 'row'; at: Date; data: Buffer }
  | { t: 'settings'; settings: Partial<RotatingLogSettings> };

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
 * logs). writeLine() only buffers (the SMTP session and the delivery never wait
 * on the disk); a single drain loop appends buffered lines in order, starting
 * files, rotating and deleting old ones as it goes. Settings changes are queued
 * with the lines, so lines written before setDirectory() land in the old folder
 * and lines after it in the new.
 */
export class RotatingLogWriter {
  private settings: RotatingLogSettings;
  protected readonly clock: () => Date;
  private readonly naming: LogFileNaming;
  private readonly name: string;
  private readonly onError: (e: unknown) => void;
  private queue: Op[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private readonly maxBufferedBytes: number;
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private current: OpenFile | undefined;
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
    this.clock = opts.clock ?? (() => new Date());
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

  /** Appends one line (without its line ending) stamped `at`, soon. Never throws for I/O. */
  writeLine(at: Date, line: string): void {
    if (this.closed) return;
    // Encoded now, not at the drain: a row built by concatenation is a tree of string pieces that would otherwise
    // stay alive until the batch is written, long enough for the garbage collector to copy it into the old heap.
    const data = Buffer.from(line + CRLF, 'utf8');
    if (this.queuedBytes + data.length > this.maxBufferedBytes) {
      if (this.dropped++ === 0) this.onError(new Error(`${this.name} ${this.settings.directory}: disk too slow, dropping rows`));
      return;
    }
    this.queuedBytes += data.length;
    this.queue.push({ t: 'row', at, data });
    this.kick();
  }

  setDirectory(directory: string): void {
    this.updateSettings({ directory });
  }

  /** Set-TransportService changes: take effect for rows written after the call. */
  updateSettings(settings: Partial<RotatingLogSettings>): void {
    this.queue.push({ t: 'settings', settings });
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
      // Never in the writer's own turn: writeLine() stays a buffer append.
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

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const ops = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      this.dropped = 0;
      // Rows bound for the same file go out in one write.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let batchAt: Date | undefined;
      const flushBatch = async (): Promise<void> => {
        if (batch.length === 0 || !batchAt) return;
        const text = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes);
        const at = batchAt;
        batch = [];
        batchBytes = 0;
        batchAt = undefined;
        try {
          await this.append(at, text);
        } catch (e) {
          this.onError(e);
          await this.closeCurrent();
        }
      };
      for (const op of ops) {
        if (op.t === 'settings') {
          await flushBatch();
          const dirChanged = op.settings.directory !== undefined && op.settings.directory !== this.settings.directory;
          this.settings = { ...this.settings, ...stripUndefined(op.settings) };
          if (dirChanged) await this.closeCurrent();
          continue;
        }
        const rowBytes = op.data.length;
        if (batchAt !== undefined) {
          const datePart = this.datePartOf(op.at);
          const base = this.current?.datePart === datePart ? this.current.size : this.headerBytes(op.at);
          const fits = unlimited(this.settings.maxFileSize) || base + batchBytes + rowBytes <= this.settings.maxFileSize;
          if (this.datePartOf(batchAt) !== datePart || !fits) await flushBatch();
        }
        batch.push(op.data);
        batchBytes += rowBytes;
        batchAt ??= op.at;
      }
      await flushBatch();
    }
  }

  /** Appends rows of one hour, starting a new file when the hour changed or the size limit is reached. */
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
    const file = this.current!;
    await file.handle.write(text);
    file.size += bytes;
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
    this.current = undefined;
    if (cur) await cur.handle.close().catch(this.onError);
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
