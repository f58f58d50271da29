// Memory for the bodies the transport holds whole (received messages up to 1 MiB, joined from
// their blocks), used again once a body is done with.
//
// Why not leave them to the collector: a body waits in the delivery's cache long enough to be
// promoted to V8's old generation, and promoted Buffers are freed only by a full collection,
// which V8 starts after 64 MiB more of them. glibc keeps the high-water mark of that garbage
// resident: 100 sessions of 100 KB mail to a STARTTLS next hop peaked at 234-240 MiB PSS, and at
// 202-204 MiB with a full collection forced every half second. With this pool, 223-229 MiB against
// 235-251 in alternated pairs, at the same rate (docs/benchmarks.md).
//
// A body goes back only where the transport knows nothing reads it any more: not cached after it
// was spooled, or delivered and acknowledged by the next hop (every byte written). Anywhere else
// it is left to the collector, which is always safe.

/** Buffers kept for the next bodies, in all (bytes of capacity). */
const DEFAULT_KEPT_BYTES = 8 * 1024 * 1024;
/** Larger bodies are not pooled (they are not held whole anyway). */
const LARGEST = 2 * 1024 * 1024;
const SMALLEST = 4096;

/**
 * The capacity a body of `length` bytes gets: four sizes per power of two, so a buffer is at
 * most a quarter larger than its body and bodies of similar size share buffers.
 */
export function bodyCapacity(length: number): number {
  if (length <= SMALLEST) return SMALLEST;
  const step = 2 ** Math.floor(Math.log2(length - 1)) / 4;
  return Math.ceil(length / step) * step;
}

export class BodyBuffers {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers this pool made: only those come back. */
  private readonly ours = new WeakSet<ArrayBuffer>();
  /** Buffers in the free lists now: a second give() of the same body is ignored, never handed out twice. */
  private readonly idle = new WeakSet<ArrayBuffer>();
  private keptBytes = 0;

  constructor(private readonly maxKeptBytes = DEFAULT_KEPT_BYTES) {}

  /** Bytes of capacity waiting for the next bodies. */
  get kept(): number {
    return this.keptBytes;
  }

  /** A buffer of `length` bytes; its content is whatever an earlier body left (the caller fills all of it). */
  take(length: number): Buffer {
    if (length > LARGEST) return Buffer.allocUnsafeSlow(length);
    const capacity = bodyCapacity(length);
    const ab = this.free.get(capacity)?.pop();
    if (ab) {
      this.idle.delete(ab);
      this.keptBytes -= capacity;
      return Buffer.from(ab, 0, length);
    }
    const fresh = new ArrayBuffer(capacity);
    this.ours.add(fresh);
    return Buffer.from(fresh, 0, length);
  }

  /** The memory `body` holds: its buffer's capacity when it came from take(), else its length. */
  footprint(body: Buffer): number {
    return this.ours.has(body.buffer as ArrayBuffer) ? body.buffer.byteLength : body.length;
  }

  /** `body` (from take()) is no longer read by anyone: its memory serves a later body. */
  give(body: Buffer): void {
    const ab = body.buffer as ArrayBuffer;
    if (!this.ours.has(ab) || this.idle.has(ab) || body.byteOffset !== 0) return;
    if (this.keptBytes + ab.byteLength > this.maxKeptBytes) return;
    let list = this.free.get(ab.byteLength);
    if (!list) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.idle.add(ab);
    this.keptBytes += ab.byteLength;
  }
}
