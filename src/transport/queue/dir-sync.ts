import { promises as fsp } from 'node:fs';

/**
 * Group commit for directory entries. Creating, renaming or unlinking a file
 * is only durable once the directory itself is fsynced; doing that once per
 * message would serialize every enqueue behind one fsync. Instead every caller
 * that needs its entries durable asks for a sync, and one fsync covers every
 * request made before it started. A request that arrives while a sync runs
 * waits for the next one (the running fsync may have started before the
 * caller's rename, so it does not cover it).
 */
export class DirectorySyncer {
  private running = false;
  private waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private handle: fsp.FileHandle | undefined;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<DirectorySyncer> {
    const s = new DirectorySyncer(dir);
    s.handle = await fsp.open(dir, 'r');
    return s;
  }

  /** Resolves once an fsync of the directory that started after this call has completed. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.kick();
    });
  }

  private kick(): void {
    this.running = true;
    // Wait one turn of the event loop so concurrent enqueues that finish their
    // renames in the same tick share this fsync.
    setImmediate(() => void this.runBatch());
  }

  private async runBatch(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      if (!this.handle) throw new Error(`directory ${this.dir} is closed`);
      await this.handle.sync();
      for (const w of batch) w.resolve();
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
    if (this.waiting.length > 0) this.kick();
    else this.running = false;
  }

  async close(): Promise<void> {
    while (this.running) await new Promise((r) => setImmediate(r));
    await this.handle?.close();
    this.handle = undefined;
  }
}
