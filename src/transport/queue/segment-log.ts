import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DirectorySyncer } from './dir-sync.js';

/*
 * Append-only segment files with group commit. Every record appended in the
 * same turn of the event loop, and every one appended while the previous
 * flush ran, goes to disk in one writev and one fdatasync. Why a log and not a
 * file per message: creating, fsyncing and unlinking one file per message
 * costs several thread-pool round trips and a journal commit each, and on
 * this project's disks creating a file took from 20 µs to 650 µs depending on
 * where the folder landed; one fdatasync per batch makes durability cheap
 * whatever the concurrency.
 *
 * Segments are named seg-<8 digits>.log. Only the newest is appended to; a
 * new one is started when it is full and at every open (the tail of an old
 * one may be a write the crash cut short). A segment is deleted once nothing
 * live refers to it and every older segment is gone: its D records may be
 * what keeps a message of an older segment from coming back.
 */

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fdatasyncFd = promisify(fs.fdatasync);
const writevFd = (fd: number, bufs: Buffer[], pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.writev(fd, bufs, pos, (e, n) => (e ? reject(e) : resolve(n))));
const readFd = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));

export const SEGMENT_PATTERN = /^seg-(\d{8})\.log$/;

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(8, '0')}.log`;
}

export class Segment {
  /** Bytes appended, durable or not: where the next record goes. */
  size = 0;
  /** Live messages whose body or latest state is in this segment (each counted once per role). */
  refs = 0;
  /** Bytes of live message bodies in this segment: how much a compaction would copy. */
  liveBytes = 0;
  broken: Error | undefined;
  fd: number | undefined;
  private opening: Promise<number> | undefined;

  constructor(
    readonly number: number,
    readonly file: string,
    /** Created by this process (appendable), or found at open (read-only). */
    readonly fresh: boolean,
  ) {}

  /** The descriptor; a fresh segment's file is created (and its name made durable) on first use. */
  open(syncer: DirectorySyncer): Promise<number> {
    if (this.fd !== undefined) return Promise.resolve(this.fd);
    this.opening ??= (async () => {
      const fd = await openFd(this.file, this.fresh ? 'wx+' : 'r');
      if (this.fresh) await syncer.sync();
      this.fd = fd;
      return fd;
    })();
    return this.opening;
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    this.opening = undefined;
    if (fd !== undefined) await closeFd(fd);
  }
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

interface Batch {
  segment: Segment;
  position: number;
  buffers: Buffer[];
  waiters: Waiter[];
}

export interface Appended {
  segment: Segment;
  /** Offset of the record in its segment. */
  offset: number;
  /** Resolves when the record is on disk. */
  durable: Promise<void>;
}

export class SegmentLog {
  private readonly segments = new Map<number, Segment>();
  private current: Segment;
  private batches: Batch[] = [];
  private flushing: Promise<void> | undefined;
  private collecting = false;

  constructor(
    private readonly dir: string,
    private readonly syncer: DirectorySyncer,
    existing: number[],
    private readonly segmentBytes: number,
    /** Told how long each fdatasync took (seconds). */
    private readonly onSynced?: (seconds: number) => void,
  ) {
    for (const n of existing) this.segments.set(n, new Segment(n, path.join(dir, segmentName(n)), false));
    this.current = this.startSegment(Math.max(0, ...existing) + 1);
  }

  private startSegment(n: number): Segment {
    const s = new Segment(n, path.join(this.dir, segmentName(n)), true);
    this.segments.set(n, s);
    this.current = s;
    return s;
  }

  get(n: number): Segment | undefined {
    return this.segments.get(n);
  }

  /** Segments, oldest first. */
  list(): Segment[] {
    return [...this.segments.values()].sort((a, b) => a.number - b.number);
  }

  isCurrent(s: Segment): boolean {
    return s === this.current;
  }

  /** Queues a record for the next group commit; its place in the file is fixed now. */
  append(buffers: Buffer[]): Appended {
    const length = buffers.reduce((n, b) => n + b.length, 0);
    let segment = this.current;
    if (segment.broken || (segment.size > 0 && segment.size + length > this.segmentBytes)) segment = this.startSegment(segment.number + 1);
    const offset = segment.size;
    segment.size += length;
    let batch = this.batches.at(-1);
    if (!batch || batch.segment !== segment) {
      batch = { segment, position: offset, buffers: [], waiters: [] };
      this.batches.push(batch);
    }
    batch.buffers.push(...buffers);
    const target = batch;
    const durable = new Promise<void>((resolve, reject) => target.waiters.push({ resolve, reject }));
    if (!this.collecting && !this.flushing) {
      // One turn of the event loop lets every session that is ready now join this commit.
      this.collecting = true;
      setImmediate(() => {
        this.collecting = false;
        this.flushing = this.flushLoop().finally(() => (this.flushing = undefined));
      });
    }
    return { segment, offset, durable };
  }

  private async flushLoop(): Promise<void> {
    while (this.batches.length > 0) {
      const batches = this.batches;
      this.batches = [];
      for (const b of batches) {
        try {
          if (b.segment.broken) throw b.segment.broken;
          const fd = await b.segment.open(this.syncer);
          await writevAll(fd, b.buffers, b.position);
          const started = performance.now();
          await fdatasyncFd(fd);
          this.onSynced?.((performance.now() - started) / 1000);
          for (const w of b.waiters) w.resolve();
        } catch (e) {
          // The file may now hold part of this batch: nothing may be appended after it,
          // or replay would stop at the damage and miss what follows.
          b.segment.broken ??= e instanceof Error ? e : new Error(String(e));
          for (const w of b.waiters) w.reject(e);
        }
      }
    }
  }

  /** Reads `length` bytes of a segment, into a buffer from `alloc` (every byte of it is overwritten). */
  async read(segment: Segment, offset: number, length: number, alloc: (length: number) => Buffer = Buffer.alloc): Promise<Buffer> {
    const fd = await segment.open(this.syncer);
    const buf = alloc(length);
    let pos = 0;
    while (pos < length) {
      const n = await readFd(fd, buf, pos, length - pos, offset + pos);
      if (n === 0) throw new Error(`${segment.file} ends before offset ${offset + length}`);
      pos += n;
    }
    return buf;
  }

  /**
   * Deletes the oldest segments that nothing refers to any more, in order,
   * and makes the deletions durable. Returns how many went.
   */
  async deleteUnreferenced(): Promise<number> {
    let deleted = 0;
    for (const s of this.list()) {
      if (s === this.current || s.refs > 0) break;
      // A batch still being written to it (a D record) must land first.
      if (this.batches.some((b) => b.segment === s)) break;
      await this.flushing;
      await s.close();
      await fsp.rm(s.file, { force: true });
      this.segments.delete(s.number);
      deleted++;
    }
    if (deleted > 0) await this.syncer.sync();
    return deleted;
  }

  /** Waits until everything appended so far is on disk (or failed). */
  async drain(): Promise<void> {
    while (this.collecting || this.flushing) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    for (const s of this.segments.values()) await s.close();
    // A segment this process never wrote to leaves no file behind.
  }
}

async function writevAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers and may write less than asked.
  let bufs = buffers;
  let pos = position;
  while (bufs.length > 0) {
    const chunk = bufs.slice(0, 1024);
    let written = await writevFd(fd, chunk, pos);
    if (written === 0) throw new Error('writev wrote nothing');
    pos += written;
    let i = 0;
    while (i < chunk.length && written >= chunk[i].length) {
      written -= chunk[i].length;
      i++;
    }
    const rest = bufs.slice(i);
    if (written > 0) rest[0] = rest[0].subarray(written);
    bufs = rest;
  }
}
