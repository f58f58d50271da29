import { createReadStream, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import { InterchangeError } from '../../errors/interchange-error.js';
import { DirectorySyncer } from './dir-sync.js';
import { readBodyTrailer, verifyBody, writeBodyFile } from './body-file.js';
import { cloneMessage, fromMetadataDoc, parseMetadata, serializeMetadata, toMetadataDoc } from './metadata.js';
import {
  DEFAULT_EXPIRATION_MS,
  type EnqueueRequest,
  type QueuedMessage,
  type QueuedMessagePatch,
} from './types.js';

/*
 * Spool layout (one flat folder):
 *   <id>.body      the message as received (headers and body, CRLF, dot-unstuffed),
 *                  then a trailer with its initial metadata and checksum (body-file.ts);
 *                  its presence is what makes a message exist
 *   <id>.meta      JSON metadata, the message's current state
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
   * 2. For every <id>.body:
   *    - with a readable <id>.meta: that is the message's state. The .meta of a new
   *      message is written only after its body was fdatasynced, so the body is
   *      complete; its trailer must still agree on the size, otherwise both files
   *      go to corrupt/ (disk trouble, manual edits).
   *    - without one (a crash right after the body's fsync, before the .meta reached
   *      the disk): the trailer's checksum decides. Intact: the message is restored
   *      from the trailer (it may have been acknowledged). Not intact: an enqueue
   *      that died while writing, never acknowledged; deleted.
   * 3. Delete every <id>.meta without a body: complete() removes the body first,
   *    so this is a delivered message whose .meta unlink did not happen.
   * 4. fsync the directory so the cleanup itself is durable.
   * 5. Continue ids after the highest of next-id and every id seen.
   */
  private async replay(): Promise<void> {
    const names = await fsp.readdir(this.dir);
    let maxSeen = 0;
    const bodies: number[] = [];
    const metas = new Set<number>();
    for (const name of names) {
      if (name.endsWith(TMP)) {
        await fsp.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      const m = /^(\d+)\.(body|meta)$/.exec(name);
      if (!m) continue;
      const id = Number(m[1]);
      maxSeen = Math.max(maxSeen, id);
      if (m[2] === 'body') bodies.push(id);
      else metas.add(id);
    }
    for (const id of bodies) {
      const trailer = await readBodyTrailer(this.bodyPath(id));
      let meta: QueuedMessage | undefined;
      if (metas.has(id)) {
        try {
          meta = parseMetadata(await fsp.readFile(this.metaPath(id), 'utf8'));
        } catch {
          meta = undefined;
        }
      }
      metas.delete(id);
      try {
        let msg: QueuedMessage;
        if (meta) {
          if (meta.id !== id) throw new Error(`metadata names id ${meta.id}`);
          if (!trailer || trailer.size !== meta.size) throw new Error('body does not match its metadata');
          msg = meta;
        } else {
          if (!trailer || !(await verifyBody(this.bodyPath(id), trailer))) {
            await fsp.rm(this.bodyPath(id), { force: true });
            await fsp.rm(this.metaPath(id), { force: true });
            continue;
          }
          msg = fromMetadataDoc(trailer.metadata);
          if (msg.id !== id || msg.size !== trailer.size) throw new Error('trailer does not match its file');
          // Bring the .meta back, durably, so the next start need not read the whole body again.
          await this.writeFileDurably(this.metaPath(id) + TMP, serializeMetadata(msg));
          await fsp.rename(this.metaPath(id) + TMP, this.metaPath(id));
        }
        // Nothing is being delivered right after a start; a message that was
        // Active when the process died is simply ready again.
        if (msg.status === 'Active') msg.status = 'Ready';
        this.messages.set(id, msg);
      } catch {
        await this.quarantine(id);
      }
    }
    for (const id of metas) await fsp.rm(this.metaPath(id), { force: true });
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
      // Enqueues that fail earlier never await it; that must not be an unhandled rejection.
      this.reserving.catch(() => undefined);
    }
    return { id, reserved: this.reserving ?? Promise.resolve() };
  }

  private async writeNextId(upTo: number): Promise<void> {
    await this.writeFileDurably(path.join(this.dir, NEXT_ID + TMP), Buffer.from(`${upTo}\n`));
    await fsp.rename(path.join(this.dir, NEXT_ID + TMP), path.join(this.dir, NEXT_ID));
    await this.syncer.sync();
  }

  /** Write and fdatasync one file (`flag` 'wx' to insist that it is new). */
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
   * 1. Write <id>.body (message, then the trailer holding the metadata and a
   *    checksum) and fdatasync it: message and envelope are now on disk,
   *    with one flush.
   * 2. Write <id>.meta, only after step 1 completed (a readable .meta thus
   *    always has a complete body; see replay). No fsync of its own: until the
   *    first update it repeats the trailer, which is already durable.
   * 3. fsync the directory (group commit, shared with every other enqueue,
   *    update and completion that reached this point in the same turn of the
   *    event loop), making the names durable.
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
      // Step 1.
      let msg: QueuedMessage | undefined;
      await writeBodyFile(bodyFile, req.body, (size) => toMetadataDoc((msg = build(size))));
      if (!msg) throw new Error('body written without metadata');
      // Step 2.
      const fh = await fsp.open(this.metaPath(id), 'wx');
      try {
        await fh.writeFile(serializeMetadata(msg));
      } finally {
        await fh.close();
      }
      // Step 3, plus the id reservation that covers this id.
      await Promise.all([this.syncer.sync(), reserved]);
      this.messages.set(id, msg);
      return cloneMessage(msg);
    } catch (e) {
      await fsp.rm(bodyFile, { force: true }).catch(() => undefined);
      await fsp.rm(this.metaPath(id), { force: true }).catch(() => undefined);
      throw e;
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
      // Replay turns Active into Ready anyway, so marking a message Active (once
      // per delivery attempt, on the hot path) is not worth a flush.
      if (Object.keys(patch).every((k) => k === 'status') && patch.status === 'Active') {
        this.messages.set(id, next);
        return cloneMessage(next);
      }
      const tmp = this.metaPath(id) + TMP;
      await this.writeFileDurably(tmp, serializeMetadata(next));
      await fsp.rename(tmp, this.metaPath(id));
      await this.syncer.sync();
      this.messages.set(id, next);
      return cloneMessage(next);
    });
  }

  /** The stored message (headers and body) as a stream, without the trailer. */
  openBody(id: number): NodeJS.ReadableStream {
    this.assertOpen();
    const m = this.mustGet(id);
    if (m.size === 0) return Readable.from([]);
    return createReadStream(this.bodyPath(id), { start: 0, end: m.size - 1 });
  }

  async readBody(id: number): Promise<Buffer> {
    this.assertOpen();
    const m = this.mustGet(id);
    const fh = await fsp.open(this.bodyPath(id), 'r');
    try {
      const buf = Buffer.alloc(m.size);
      let pos = 0;
      while (pos < m.size) {
        const { bytesRead } = await fh.read(buf, pos, m.size - pos, pos);
        if (bytesRead === 0) throw new InterchangeError('ICX_INTERNAL', `The body of message ${id} is shorter than recorded.`);
        pos += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /**
   * Removes a message that needs no further delivery (delivered, or bounced with
   * its NDR already queued). Order: unlink <id>.body first, since the body is what
   * makes a message exist for replay; then <id>.meta (an orphan .meta left by a
   * crash here is removed by replay); then fsync the directory.
   */
  async complete(id: number): Promise<void> {
    this.assertOpen();
    this.mustGet(id);
    return this.serialize(id, async () => {
      if (!this.messages.has(id)) return;
      await unlinkIfPresent(this.bodyPath(id));
      this.messages.delete(id);
      await unlinkIfPresent(this.metaPath(id));
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

/** One unlink per delivered file: fsp.rm({ force }) adds an lstat (rimraf) on this hot path. A file already gone is fine. */
async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
