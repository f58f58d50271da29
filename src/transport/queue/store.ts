import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import { InterchangeError } from '../../errors/interchange-error.js';
import { DirectorySyncer } from './dir-sync.js';
import { readLegacySpool } from './legacy-spool.js';
import { cloneMessage, fromMetadataDoc, toMetadataDoc } from './metadata.js';
import { doneRecord, messageRecord, parseSegment, type SegmentDamage, updateRecord } from './records.js';
import { SEGMENT_PATTERN, type Segment, SegmentLog, segmentName } from './segment-log.js';
import {
  DEFAULT_EXPIRATION_MS,
  type EnqueueRequest,
  type QueuedMessage,
  type QueuedMessagePatch,
} from './types.js';

/*
 * Spool layout (one flat folder):
 *   seg-<n>.log    append-only segments of records (records.ts): a message with
 *                  its initial state, a new state, the end of a message
 *   next-id        high-water mark of reserved message ids (so ids never repeat)
 *   corrupt/       copies of segments that replay found damaged, kept for a human
 *
 * The guarantee: once enqueue() resolves, the message is on disk and survives
 * a crash; a message whose enqueue did not resolve is either whole on disk
 * (and delivered after a restart) or not there at all. The same holds for
 * update() and complete(): the state a caller was told about is the state a
 * restart finds.
 */

const ID_BLOCK = 4096;
const NEXT_ID = 'next-id';
const TMP = '.tmp';
const DEFAULT_SEGMENT_BYTES = 32 * 1024 * 1024;
/** More segments than this behind the newest, and the oldest one's live messages are copied forward so it can go. */
const MAX_OLD_SEGMENTS = 3;

export interface MailQueueStoreOptions {
  /** A segment is closed for appends once it reaches this size (tests use small ones). */
  segmentBytes?: number;
  /** Told of each segment replay found damaged (its copy is in corrupt/): disk trouble a human should look at. */
  onDamage?: (segment: string, damaged: SegmentDamage[]) => void;
  /** Told how long each fdatasync of a batch took (seconds): the metrics' spool fsync latency. */
  onSynced?: (seconds: number) => void;
}

interface Entry {
  msg: QueuedMessage;
  /** Where the message bytes are. */
  body: Segment;
  bodyOffset: number;
  /** Where its latest state is. */
  meta: Segment;
}

export class MailQueueStore {
  private readonly entries = new Map<number, Entry>();
  /** Per-message chain so state changes, relocation and removal of one message never interleave. */
  private readonly chains = new Map<number, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  private reservedUpTo = 1;
  private reserving: Promise<void> | undefined;
  private closed = false;
  private collecting: Promise<void> | undefined;
  private log!: SegmentLog;
  /** File sizes of the segments found at start (read-only: their Segment objects count no bytes). */
  private readonly replayedBytes = new Map<number, number>();

  private constructor(
    readonly dir: string,
    private readonly syncer: DirectorySyncer,
    private readonly segmentBytes: number,
    private readonly onDamage: MailQueueStoreOptions['onDamage'],
    private readonly onSynced?: MailQueueStoreOptions['onSynced'],
  ) {}

  /** Opens (creating if needed) a spool folder and replays what is on disk. */
  static async open(dir: string, options: MailQueueStoreOptions = {}): Promise<MailQueueStore> {
    await fsp.mkdir(dir, { recursive: true });
    const syncer = await DirectorySyncer.open(dir);
    const store = new MailQueueStore(dir, syncer, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, options.onDamage, options.onSynced);
    await store.replay();
    return store;
  }

  /**
   * Startup replay: every segment, oldest first, record by record. The latest
   * M or U of an id is its state, a D removes it. A segment whose end was cut
   * off by a crash simply ends there; one damaged in the middle is copied to
   * corrupt/ and read around the damage (records.ts). Then: a spool left by an older
   * version (a file per message) is taken over, segments nothing refers to
   * are deleted, and ids continue after the highest ever used.
   */
  private async replay(): Promise<void> {
    const names = await fsp.readdir(this.dir);
    let maxSeen = 0;
    const numbers: number[] = [];
    for (const name of names) {
      if (name.endsWith(TMP)) await fsp.rm(path.join(this.dir, name), { force: true });
      const m = SEGMENT_PATTERN.exec(name);
      if (m) numbers.push(Number(m[1]));
    }
    numbers.sort((a, b) => a - b);
    const found = new Map<number, { msg: QueuedMessage; body: number; bodyOffset: number; meta: number }>();
    for (const n of numbers) {
      const file = path.join(this.dir, segmentName(n));
      const data = await fsp.readFile(file);
      this.replayedBytes.set(n, data.length);
      const { damaged } = parseSegment(data, (r) => {
        if (r.type === 'D') {
          found.delete(r.id);
          maxSeen = Math.max(maxSeen, r.id);
          return;
        }
        let msg: QueuedMessage;
        try {
          msg = fromMetadataDoc(r.metadata);
        } catch {
          return;
        }
        maxSeen = Math.max(maxSeen, msg.id);
        if (r.type === 'M') {
          if (msg.size !== r.bodyLength) return;
          found.set(msg.id, { msg, body: n, bodyOffset: r.bodyOffset, meta: n });
        } else {
          const e = found.get(msg.id);
          if (e) found.set(msg.id, { ...e, msg, meta: n });
        }
      });
      if (damaged.length > 0) {
        const dest = path.join(this.dir, 'corrupt');
        await fsp.mkdir(dest, { recursive: true });
        await fsp.copyFile(file, path.join(dest, `${path.basename(file)}.at-${damaged[0].offset}`));
        this.onDamage?.(path.basename(file), damaged);
      }
    }

    this.log = new SegmentLog(this.dir, this.syncer, numbers, this.segmentBytes, this.onSynced);
    for (const [id, f] of found) {
      // Nothing is being delivered right after a start; a message that was
      // Active when the process died is simply ready again.
      if (f.msg.status === 'Active') f.msg.status = 'Ready';
      const entry: Entry = { msg: f.msg, body: this.log.get(f.body)!, bodyOffset: f.bodyOffset, meta: this.log.get(f.meta)! };
      this.reference(entry);
      this.entries.set(id, entry);
    }

    const legacy = await readLegacySpool(this.dir);
    for (const { msg, body } of legacy.messages) {
      maxSeen = Math.max(maxSeen, msg.id);
      if (this.entries.has(msg.id)) continue;
      await this.appendMessage(msg, body);
    }
    if (legacy.maxId > 0) {
      await legacy.discard();
      await this.syncer.sync();
    }
    maxSeen = Math.max(maxSeen, legacy.maxId);

    await this.log.deleteUnreferenced();

    let stored = 0;
    try {
      stored = Number((await fsp.readFile(path.join(this.dir, NEXT_ID), 'utf8')).trim()) || 0;
    } catch {
      stored = 0;
    }
    this.nextId = Math.max(stored, maxSeen + 1, 1);
    this.reservedUpTo = this.nextId;
  }

  private reference(e: Entry): void {
    e.body.refs++;
    e.body.liveBytes += e.msg.size;
    e.meta.refs++;
  }

  private release(e: Entry): void {
    e.body.refs--;
    e.body.liveBytes -= e.msg.size;
    e.meta.refs--;
  }

  /**
   * Appends an M record and waits until it is durable; then the message's entry
   * is the new one (a relocated message's old entry is the caller's to release).
   */
  private async appendMessage(msg: QueuedMessage, body: Buffer | readonly Buffer[]): Promise<Entry> {
    const rec = messageRecord(toMetadataDoc(msg), body);
    const a = this.log.append(rec.buffers);
    // Counted before it is durable, so the segment cannot be collected while the write is under way.
    const entry: Entry = { msg, body: a.segment, bodyOffset: a.offset + rec.bodyStart, meta: a.segment };
    this.reference(entry);
    try {
      await a.durable;
    } catch (e) {
      this.release(entry);
      throw e;
    }
    this.entries.set(msg.id, entry);
    return entry;
  }

  /** Appends a U record with the message's new state; once it is durable, the entry points to it. */
  private async appendState(e: Entry, next: QueuedMessage): Promise<void> {
    const a = this.log.append(updateRecord(toMetadataDoc(next)));
    a.segment.refs++;
    try {
      await a.durable;
    } catch (err) {
      a.segment.refs--;
      throw err;
    }
    e.meta.refs--;
    e.meta = a.segment;
    e.msg = next;
  }

  private assertOpen(): void {
    if (this.closed) throw new InterchangeError('ICX_TRANSPORT_STOPPED', 'The mail queue is closed.');
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = (): void => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Ids are reserved in blocks: next-id is durably raised before any id of a new
   * block is acknowledged, so after a restart no id is handed out twice even if
   * every message carrying it was already delivered and deleted.
   */
  private allocateId(): { id: number; reserved: Promise<void> } {
    const id = this.nextId++;
    if (id >= this.reservedUpTo) {
      const upTo = id + ID_BLOCK;
      this.reservedUpTo = upTo;
      const prev = this.reserving ?? Promise.resolve();
      this.reserving = prev
        .catch(() => undefined)
        .then(() => this.writeNextId(upTo))
        .catch((e: unknown) => {
          // Disk trouble: fail the enqueues of this block and reserve again next time.
          if (this.reservedUpTo === upTo) this.reservedUpTo = this.nextId;
          throw e;
        });
      // Enqueues that fail earlier never await it; that must not be an unhandled rejection.
      this.reserving.catch(() => undefined);
    }
    return { id, reserved: this.reserving ?? Promise.resolve() };
  }

  private async writeNextId(upTo: number): Promise<void> {
    const tmp = path.join(this.dir, NEXT_ID + TMP);
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(`${upTo}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path.join(this.dir, NEXT_ID));
    await this.syncer.sync();
  }

  /**
   * Stores a message. Resolves only when it is durable: the caller may reply
   * 250 after this, and not before. One M record (metadata and message bytes,
   * checksummed together) joins the next group commit.
   */
  async enqueue(req: EnqueueRequest): Promise<QueuedMessage> {
    this.assertOpen();
    if (req.recipients.length === 0) {
      throw new InterchangeError('ICX_PARAM_INVALID', 'A message needs at least one recipient.');
    }
    const { id, reserved } = this.allocateId();
    return this.track(this.enqueueWithId(id, reserved, req));
  }

  private async enqueueWithId(id: number, reserved: Promise<void>, req: EnqueueRequest): Promise<QueuedMessage> {
    const body = Buffer.isBuffer(req.body) || Array.isArray(req.body) ? (req.body as Buffer | readonly Buffer[]) : await collect(req.body as AsyncIterable<Buffer>);
    const receivedAt = req.receivedAt ?? new Date();
    const msg: QueuedMessage = {
      id,
      from: req.from,
      recipients: [...req.recipients],
      pendingRecipients: [...req.recipients],
      deliveredRecipients: [],
      failedRecipients: [],
      size: Buffer.isBuffer(body) ? body.length : body.reduce((n, b) => n + b.length, 0),
      receivedAt,
      expiresAt: req.expiresAt ?? new Date(receivedAt.getTime() + DEFAULT_EXPIRATION_MS),
      status: 'Ready',
      attempts: 0,
      nextAttemptAt: undefined,
      lastError: undefined,
      queueIdentity: undefined,
      sourceConnector: req.sourceConnector,
      sourceIp: req.sourceIp,
      internetMessageId: req.internetMessageId,
      subject: req.subject,
      ...(req.smtpUtf8 ? { smtpUtf8: true } : {}),
      ...(req.originating ? { originating: true } : {}),
    };
    // The id's reservation must be durable too before anyone hears of the id.
    await Promise.all([this.appendMessage(msg, body), reserved]);
    return cloneMessage(msg);
  }

  get(id: number): QueuedMessage | undefined {
    const e = this.entries.get(id);
    return e && cloneMessage(e.msg);
  }

  /** Every stored message as it is, in no order and not copied: for counting them (the metrics), never for changing them. */
  *peek(): IterableIterator<Readonly<QueuedMessage>> {
    for (const e of this.entries.values()) yield e.msg;
  }

  /** Every message in the spool, by id. */
  list(): QueuedMessage[] {
    return [...this.entries.values()].map((e) => e.msg).sort((a, b) => a.id - b.id).map(cloneMessage);
  }

  private mustGet(id: number): Entry {
    const e = this.entries.get(id);
    if (!e) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message ${id} is not in the queue.`);
    return e;
  }

  private serialize<T>(id: number, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return this.track(next);
  }

  /**
   * Changes a message's state durably: a U record with the whole new state.
   * The in-memory copy changes only once it is on disk, so readers never see
   * a state a restart might not find.
   */
  async update(id: number, patch: QueuedMessagePatch): Promise<QueuedMessage> {
    this.assertOpen();
    this.mustGet(id);
    return this.serialize(id, async () => {
      const e = this.mustGet(id);
      const next: QueuedMessage = cloneMessage({ ...e.msg, ...patch });
      // Replay turns Active into Ready anyway, so marking a message Active (once
      // per delivery attempt, on the hot path) is not worth a write.
      if (Object.keys(patch).every((k) => k === 'status') && patch.status === 'Active') {
        e.msg = next;
        return cloneMessage(next);
      }
      await this.appendState(e, next);
      this.collectSoon();
      return cloneMessage(next);
    });
  }

  /** The stored message (headers and body). */
  openBody(id: number): NodeJS.ReadableStream {
    this.assertOpen();
    this.mustGet(id);
    return Readable.from(
      (async function* (store: MailQueueStore) {
        yield await store.readBody(id);
      })(this),
    );
  }

  /** The whole body, into a buffer from `alloc` when given (delivery's pool of body buffers). */
  async readBody(id: number, alloc?: (length: number) => Buffer): Promise<Buffer> {
    this.assertOpen();
    const e = this.mustGet(id);
    if (e.msg.size === 0) return Buffer.alloc(0);
    return this.log.read(e.body, e.bodyOffset, e.msg.size, alloc);
  }

  /** `length` bytes of the body from `offset` (fewer at its end). */
  async readBodyRange(id: number, offset: number, length: number): Promise<Buffer> {
    this.assertOpen();
    const e = this.mustGet(id);
    const n = Math.max(0, Math.min(length, e.msg.size - offset));
    if (n === 0) return Buffer.alloc(0);
    return this.log.read(e.body, e.bodyOffset + offset, n);
  }

  /**
   * The body as chunks read one after another, for a message too large to
   * hold whole. The message's place is looked up for every chunk: if it is
   * copied forward to another segment meanwhile, reading goes on there.
   */
  async *bodyChunks(id: number, chunkBytes: number): AsyncGenerator<Buffer> {
    const size = this.mustGet(id).msg.size;
    for (let offset = 0; offset < size; offset += chunkBytes) yield await this.readBodyRange(id, offset, chunkBytes);
  }

  /**
   * Removes a message that needs no further delivery (delivered, or bounced
   * with its NDR already queued): a D record. Once it is durable the message
   * is gone for good, and its segments may be collected.
   */
  async complete(id: number): Promise<void> {
    this.assertOpen();
    this.mustGet(id);
    return this.serialize(id, async () => {
      const e = this.entries.get(id);
      if (!e) return;
      await this.log.append(doneRecord(id)).durable;
      this.entries.delete(id);
      this.release(e);
      this.collectSoon();
    });
  }

  /**
   * Deletes segments nothing refers to. When old segments pile up behind a
   * few long-lived messages (suspended, or retried for days), those messages
   * are copied forward so the old files can go.
   */
  private collectSoon(): void {
    if (this.collecting || this.closed) return;
    const segments = this.log.list();
    const oldest = segments[0];
    if (!oldest || this.log.isCurrent(oldest)) return;
    if (oldest.refs > 0 && !worthRelocating(segments.filter((s) => !this.log.isCurrent(s)))) return;
    this.collecting = this.track(
      (async () => {
        if (oldest.refs > 0) await this.relocate(oldest);
        await this.log.deleteUnreferenced();
      })()
        // A failed collection leaves files behind, never loses mail; the next one tries again.
        .catch(() => undefined)
        .finally(() => (this.collecting = undefined)),
    );
  }

  private async relocate(segment: Segment): Promise<void> {
    const ids = [...this.entries].filter(([, e]) => e.body === segment || e.meta === segment).map(([id]) => id);
    await Promise.all(
      ids.map((id) =>
        this.serialize(id, async () => {
          const e = this.entries.get(id);
          if (!e || this.closed) return;
          if (e.body === segment) {
            await this.appendMessage(e.msg, await this.log.read(e.body, e.bodyOffset, e.msg.size));
            this.release(e);
          } else {
            await this.appendState(e, e.msg);
          }
        }),
      ),
    );
  }

  /** Bytes of every segment, durable or being written (the metrics' spool size). */
  spoolBytes(): number {
    let n = 0;
    for (const s of this.log.list()) n += s.fresh ? s.size : (this.replayedBytes.get(s.number) ?? 0);
    return n;
  }

  /** How many segments there are, the newest included even before its file exists (tests and diagnostics). */
  segmentCount(): number {
    return this.log.list().length;
  }

  /** Waits for every operation in progress, then releases the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.reserving) await this.reserving.catch(() => undefined);
    await this.log.close();
    await this.syncer.close();
  }
}

/**
 * Copying the oldest segment's live messages forward is worth it only when
 * the files it lets go hold much more than it copies: a few suspended
 * messages behind many delivered ones, yes; a queue of large messages in
 * Retry, no (each copy would free about what it writes, and the next
 * delivery would start the next copy, for as long as they wait).
 */
export function worthRelocating(old: ReadonlyArray<{ size: number; liveBytes: number }>): boolean {
  if (old.length <= MAX_OLD_SEGMENTS) return false;
  const live = old.reduce((n, s) => n + s.liveBytes, 0);
  const total = old.reduce((n, s) => n + s.size, 0);
  return total - live >= 2 * live;
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
