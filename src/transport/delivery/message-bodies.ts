// Where a message's body comes from when it is sent, and when its memory is
// given back: kept from its receipt for the first attempt while there is room,
// read whole from the spool otherwise, or streamed from the spool a chunk at a
// time when it is large. The delivery engine decides when a message is sent;
// this decides what the send holds in memory and for how long.
import type { MailQueueStore } from '../queue/index.js';
import type { SpooledBody } from '../outbound/smtp-client.js';
import type { BodyBuffers } from '../service/body-buffers.js';
import type { MessageMemoryBudget } from '../service/message-memory-budget.js';

/**
 * Bodies kept from their receipt for their first delivery attempt. Only a lead over the deliveries is worth
 * keeping: once the next hop falls behind, later bodies come from the spool anyway, and every cached byte is
 * freed memory the process keeps (glibc keeps the high-water mark). In four alternated pairs of 100 sessions of
 * 100 KB mail to a STARTTLS next hop, 64 MiB peaked at 273-297 MiB PSS and 16 MiB at 234-267, at the same rate
 * (docs/benchmarks.md). Counted in memory held (BodyBuffers.footprint), not in bytes of mail.
 */
const BODY_CACHE_BYTES = 16 * 1024 * 1024;
/** Bodies larger than this are sent from the spool a chunk at a time; the first this many bytes hold the header section. */
const STREAMED_BODY_MIN = 1024 * 1024;
const STREAM_CHUNK = 256 * 1024;

export interface MessageBodiesDeps {
  store: MailQueueStore;
  /** Bodies read from the spool for delivery count here: however many connections, only so many large bodies are held at once. */
  messageMemory?: MessageMemoryBudget;
  /** Where received bodies go back once nothing reads them (body-buffers.ts). */
  bodyBuffers?: BodyBuffers;
}

/** One send's hold on a body. */
export interface BodyLease {
  readonly body: Buffer | SpooledBody;
  /** The send is over, whatever its outcome: the memory budget and the send count go back. */
  end(): void;
  /**
   * The next hop took the data, so every byte was written: a buffer read for this send, or a kept one that is
   * no longer kept and that no other send is writing, serves the next message. Call after forget() when the
   * message is done.
   */
  sent(): void;
}

export class MessageBodies {
  private readonly kept = new Map<number, Buffer>();
  /** Sends under way of each kept body: it goes back to bodyBuffers only when none is. */
  private readonly sends = new Map<number, number>();
  private keptBytes = 0;

  constructor(private readonly deps: MessageBodiesDeps) {}

  /** A message just made durable: its body is kept for the first attempt if there is room, else given back. */
  keep(id: number, body: Buffer): void {
    if (this.keptBytes + this.footprint(body) <= BODY_CACHE_BYTES) {
      this.kept.set(id, body);
      this.keptBytes += this.footprint(body);
    } else {
      // Spooled (the 250 waited for it) and not kept: nothing reads it any more.
      this.deps.bodyBuffers?.give(body);
    }
  }

  /** The message waits (a retry minutes away, suspended) or is done: its body is read from the spool if it is sent again. */
  forget(id: number): void {
    const body = this.kept.get(id);
    if (!body) return;
    this.keptBytes -= this.footprint(body);
    this.kept.delete(id);
  }

  /** The body for one send of a message of `size` bytes; waits for the memory budget when it is read from the spool. */
  async lease(id: number, size: number): Promise<BodyLease> {
    const kept = this.kept.get(id);
    if (kept) {
      this.sends.set(id, (this.sends.get(id) ?? 0) + 1);
      let ended = false;
      return {
        body: kept,
        end: () => {
          if (ended) return;
          ended = true;
          const sends = this.sends.get(id)! - 1;
          if (sends > 0) this.sends.set(id, sends);
          else this.sends.delete(id);
        },
        sent: () => {
          if (!this.sends.has(id) && !this.kept.has(id)) this.deps.bodyBuffers?.give(kept);
        },
      };
    }
    const streamed = size > STREAMED_BODY_MIN;
    const taken = (await this.deps.messageMemory?.take(streamed ? STREAMED_BODY_MIN + STREAM_CHUNK : size)) ?? 0;
    const giveBack = (): void => {
      if (taken > 0) this.deps.messageMemory?.give(taken);
    };
    let body: Buffer | SpooledBody;
    try {
      const pool = this.deps.bodyBuffers;
      body = streamed ? await this.spooled(id, size) : await this.deps.store.readBody(id, pool ? (n) => pool.take(n) : undefined);
    } catch (e) {
      giveBack();
      throw e;
    }
    let ended = false;
    return {
      body,
      end: () => {
        if (ended) return;
        ended = true;
        giveBack();
      },
      sent: () => {
        if (Buffer.isBuffer(body)) this.deps.bodyBuffers?.give(body);
      },
    };
  }

  /** The first bytes of the body, enough for its header section (a report quotes it). */
  async head(id: number): Promise<Buffer> {
    return this.kept.get(id) ?? (await this.deps.store.readBodyRange(id, 0, STREAMED_BODY_MIN).catch(() => Buffer.alloc(0)));
  }

  /** What a kept body counts against BODY_CACHE_BYTES: the memory it holds, a pooled buffer's capacity. */
  private footprint(body: Buffer): number {
    return this.deps.bodyBuffers?.footprint(body) ?? body.length;
  }

  /** A large body as its head (for the header section) and chunks read as the peer takes them: never held whole. */
  private async spooled(id: number, size: number): Promise<SpooledBody> {
    const store = this.deps.store;
    const head = await store.readBodyRange(id, 0, STREAMED_BODY_MIN);
    return { length: size, head, chunks: () => store.bodyChunks(id, STREAM_CHUNK) };
  }
}
