import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { InterchangeError } from '../../errors/interchange-error.js';
import { DirectorySyncer } from './dir-sync.js';
import { cloneMessage, parseMetadata, serializeMetadata } from './metadata.js';
import {
  DEFAULT_EXPIRATION_MS,
  type EnqueueRequest,
  type QueuedMessage,
  type QueuedMessagePatch,
} from './types.js';

/*
 * Spool layout (one flat folder):
 *   <id>.body      the message as received (headers and body, CRLF, dot-unstuffed)
 *   <id>.meta      JSON metadata; its presence is what makes a message exist
 *   <id>.meta.tmp  a metadata file being written; never valid on its own
 *   next-id        high-water mark of reserved message ids (so ids never repeat)
 *   corrupt/       files that replay could not make sense of, kept for a human
 *
 * The guarantee: once enqueue() resolves, body and metadata are on disk and
 * survive a crash; a message whose enqueue did not resolve either is fully
 * there or leaves only files that replay removes.
 */

const ID_BLOCK = 4096;
const META = '.meta';
const BODY = '.body';
const TMP = '.tmp';
const NEXT_ID = 'next-id';

export class MailQueueStore {
  private readonly messages = new Map<number, QueuedMessage>();
  /** Per-message chain so metadata writes and removal of one message never interleave. */
  private readonly chains = new Map<number, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  private reservedUpTo = 1;
  private reserving: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly syncer: DirectorySyncer,
  ) {}

  /** Opens (creating if needed) a spool folder and replays what is on disk. */
  static async open(dir: string): Promise<MailQueueStore> {
    await fsp.mkdir(dir, { recursive: true });
    const syncer = await DirectorySyncer.open(dir);
    const store = new MailQueueStore(dir, syncer);
    await store.replay();
    return store;
  }

  /**
   * Startup replay. Order matters:
   * 1. Delete every *.tmp: a metadata write that never reached its rename; the
   *    previous <id>.meta (if any) is still the valid one, because rename is atomic.
   * 2. Load every <id>.meta. Each one was fsynced before its rename, and its
   *    body was fsynced before that, so a body of the recorded size must exist;
   *    if not (disk trouble, manual edits), both files go to corrupt/.
   * 3. Delete every <id>.body without a <id>.meta: an enqueue that crashed before
   *    its metadata rename (never acknowledged), or a complete() that crashed
   *    between its two unlinks (already delivered).
   * 4. fsync the directory so the cleanup itself is durable.
   * 5. Continue ids after the highest of next-id and every id seen.
   */
  private async replay(): Promise<void> {
    const names = await fsp.readdir(this.dir);
    let maxSeen = 0;
    const bodies = new Set<number>();
    const metas: number[] = [];
    for (const name of names) {
      if (name.endsWith(TMP)) {
        await fsp.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      const m = /^(\d+)\.(body|meta)$/.exec(name);
      if (!m) continue;
      const id = Number(m[1]);
      maxSeen = Math.max(maxSeen, id);
      if (m[2] === 'body') bodies.add(id);
      else metas.push(id);
    }
    for (const id of metas) {
      try {
        const msg = parseMetadata(await fsp.readFile(this.metaPath(id), 'utf8'));
        if (msg.id !== id) throw new Error(`metadata names id ${msg.id}`);
        const st = await fsp.stat(this.bodyPath(id));
        if (st.size !== msg.size) throw new Error(`body is ${st.size} bytes, metadata says ${msg.size}`);
        // Nothing is being delivered right after a start; a message that was
        // Active when the process died is simply ready again.
        if (msg.status === 'Active') msg.status = 'Ready';
        this.messages.set(id, msg);
      } catch {
        await this.quarantine(id);
      }
      bodies.delete(id);
    }
    for (const id of bodies) await fsp.rm(this.bodyPath(id), { force: true });
    await this.syncer.sync();

    let stored = 0;
    try {
      stored = Number((await fsp.readFile(path.join(this.dir, NEXT_ID), 'utf8')).trim()) || 0;
    } catch {
      stored = 0;
    }
    this.nextId = Math.max(stored, maxSeen + 1, 1);
    this.reservedUpTo = this.nextId;
  }

  private async quarantine(id: number): Promise<void> {
    const dest = path.join(this.dir, 'corrupt');
    await fsp.mkdir(dest, { recursive: true });
    for (const p of [this.metaPath(id), this.bodyPath(id)]) {
      await fsp.rename(p, path.join(dest, path.basename(p))).catch(() => undefined);
    }
  }

  private metaPath(id: number): string {
    return path.join(this.dir, `${id}${META}`);
  }

  private bodyPath(id: number): string {
    return path.join(this.dir, `${id}${BODY}`);
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
    }
    return { id, reserved: this.reserving ?? Promise.resolve() };
  }

  private async writeNextId(upTo: number): Promise<void> {
    await this.writeFileDurably(path.join(this.dir, NEXT_ID + TMP), Buffer.from(`${upTo}\n`));
    await fsp.rename(path.join(this.dir, NEXT_ID + TMP), path.join(this.dir, NEXT_ID));
    await this.syncer.sync();
  }

  /** Create (exclusively), write and fdatasync one file. */
  private async writeFileDurably(file: string, data: Buffer, flag = 'w'): Promise<void> {
    const fh = await fsp.open(file, flag);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Stores a message. Resolves only when body and metadata are durable: the
   * caller may reply 250 after this, and not before. Steps, in this order:
   * 1. Write <id>.body and fdatasync it (the file and its size are durable).
   * 2. Write <id>.meta.tmp and fdatasync it (done alongside step 1: it is not
   *    visible under its final name yet, so it may be durable first).
   * 3. Rename <id>.meta.tmp to <id>.meta, only after both fsyncs completed: a
   *    <id>.meta therefore never names a body that is not on disk.
   * 4. fsync the directory (group commit, shared with every other enqueue that
   *    reached step 3 in the same turn of the event loop), making both names durable.
   * If anything fails, the files are removed and the promise rejects: no 250.
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
    const bodyFile = this.bodyPath(id);
    const tmpMeta = this.metaPath(id) + TMP;
    try {
      const receivedAt = req.receivedAt ?? new Date();
      const build = (size: number): QueuedMessage => ({
        id,
        from: req.from,
        recipients: [...req.recipients],
        pendingRecipients: [...req.recipients],
        deliveredRecipients: [],
        failedRecipients: [],
        size,
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
      });
      let msg: QueuedMessage;
      if (Buffer.isBuffer(req.body)) {
        // Steps 1 and 2 together: the size is known up front.
        msg = build(req.body.length);
        await Promise.all([
          this.writeBody(bodyFile, req.body),
          this.writeFileDurably(tmpMeta, serializeMetadata(msg), 'wx'),
        ]);
      } else {
        // A streamed body's size is known only at its end: step 1, then step 2.
        msg = build(await this.writeBody(bodyFile, req.body));
        await this.writeFileDurably(tmpMeta, serializeMetadata(msg), 'wx');
      }
      // Step 3.
      await fsp.rename(tmpMeta, this.metaPath(id));
      // Step 4, plus the id reservation that covers this id.
      await Promise.all([this.syncer.sync(), reserved]);
      this.messages.set(id, msg);
      return cloneMessage(msg);
    } catch (e) {
      await fsp.rm(tmpMeta, { force: true }).catch(() => undefined);
      await fsp.rm(this.metaPath(id), { force: true }).catch(() => undefined);
      await fsp.rm(bodyFile, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** Step 1 of enqueue: writes the body, fdatasyncs it, returns its size. */
  private async writeBody(file: string, body: Buffer | AsyncIterable<Buffer>): Promise<number> {
    const fh = await fsp.open(file, 'wx');
    try {
      let size = 0;
      if (Buffer.isBuffer(body)) {
        await fh.writeFile(body);
        size = body.length;
      } else {
        for await (const chunk of body) {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          let off = 0;
          while (off < buf.length) {
            const { bytesWritten } = await fh.write(buf, off, buf.length - off, size + off);
            off += bytesWritten;
          }
          size += buf.length;
        }
      }
      await fh.datasync();
      return size;
    } finally {
      await fh.close();
    }
  }

  get(id: number): QueuedMessage | undefined {
    const m = this.messages.get(id);
    return m && cloneMessage(m);
  }

  /** Every message in the spool, by id. */
  list(): QueuedMessage[] {
    return [...this.messages.values()].sort((a, b) => a.id - b.id).map(cloneMessage);
  }

  private mustGet(id: number): QueuedMessage {
    const m = this.messages.get(id);
    if (!m) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message ${id} is not in the queue.`);
    return m;
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
   * Changes a message's state durably. Metadata is replaced, never edited:
   * 1. write <id>.meta.tmp and fdatasync it;
   * 2. rename it over <id>.meta (atomic: a crash leaves the old or the new file whole);
   * 3. fsync the directory (group commit) so the rename survives a crash.
   * The in-memory copy changes only after that, so readers never see a state
   * the disk might not have.
   */
  async update(id: number, patch: QueuedMessagePatch): Promise<QueuedMessage> {
    this.assertOpen();
    this.mustGet(id);
    return this.serialize(id, async () => {
      const current = this.mustGet(id);
      const next: QueuedMessage = cloneMessage({ ...current, ...patch });
      const tmp = this.metaPath(id) + TMP;
      await this.writeFileDurably(tmp, serializeMetadata(next));
      await fsp.rename(tmp, this.metaPath(id));
      await this.syncer.sync();
      this.messages.set(id, next);
      return cloneMessage(next);
    });
  }

  /** The stored message (headers and body) as a stream. */
  openBody(id: number): NodeJS.ReadableStream {
    this.assertOpen();
    this.mustGet(id);
    return createReadStream(this.bodyPath(id));
  }

  async readBody(id: number): Promise<Buffer> {
    this.assertOpen();
    this.mustGet(id);
    return fsp.readFile(this.bodyPath(id));
  }

  /**
   * Removes a message that needs no further delivery (delivered, or bounced with
   * its NDR already queued). Order: unlink <id>.meta first, so from that moment
   * replay no longer sees the message; then <id>.body (an orphan body left by a
   * crash here is removed by replay); then fsync the directory.
   */
  async complete(id: number): Promise<void> {
    this.assertOpen();
    this.mustGet(id);
    return this.serialize(id, async () => {
      if (!this.messages.has(id)) return;
      await fsp.rm(this.metaPath(id), { force: true });
      this.messages.delete(id);
      await fsp.rm(this.bodyPath(id), { force: true });
      await this.syncer.sync();
    });
  }

  /** Waits for every operation in progress, then releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.reserving) await this.reserving.catch(() => undefined);
    await this.syncer.close();
  }
}
