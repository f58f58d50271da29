// The transport service's budget for message data held in memory and not yet
// (or no longer only) on disk: blocks of messages being received, and bodies
// read from the spool for delivery. A client cannot make the process die of
// memory; past the budget a message is refused with 452 4.3.1 and the sender
// tries again later.
//
// Part of the budget is kept for small messages: however many large messages
// arrive at once (an attack, or a burst of big attachments), ordinary mail
// still finds room and keeps flowing.

export interface MessageMemoryBudgetOptions {
  /** Bytes in all. */
  limit: number;
  /** Of those, bytes only messages still at most `smallMessage` may use. */
  reserve: number;
  smallMessage: number;
}

/** 64 MiB in all, 16 MiB of it kept for messages up to 1 MiB. */
export const DEFAULT_MESSAGE_MEMORY: MessageMemoryBudgetOptions = { limit: 64 * 1024 * 1024, reserve: 16 * 1024 * 1024, smallMessage: 1024 * 1024 };

export class MessageMemoryBudget {
  private taken = 0;
  private readonly waiters: Array<{ bytes: number; wake: () => void }> = [];

  constructor(private readonly opts: MessageMemoryBudgetOptions = DEFAULT_MESSAGE_MEMORY) {}

  get used(): number {
    return this.taken;
  }

  private ceiling(messageBytes: number): number {
    return messageBytes <= this.opts.smallMessage ? this.opts.limit : this.opts.limit - this.opts.reserve;
  }

  /** Takes `bytes` more for a message that holds `held` already, or says no. */
  tryTake(bytes: number, held: number): boolean {
    const large = held + bytes > this.opts.smallMessage;
    // A large message yields to bodies waiting for delivery, or those could wait for ever.
    if (this.taken + bytes > this.ceiling(held + bytes) || (large && this.waiters.length > 0)) return false;
    this.taken += bytes;
    return true;
  }

  /**
   * For bodies read from the spool: waits until `bytes` fit beside what is
   * held, outside the small messages' reserve. A body larger than that whole
   * share is counted as the share and waits until only small messages are
   * held. Returns what was taken (give that back).
   */
  async take(bytes: number): Promise<number> {
    const charge = Math.min(bytes, this.opts.limit - this.opts.reserve);
    if (this.waiters.length === 0 && this.fits(charge)) {
      this.taken += charge;
      return charge;
    }
    await new Promise<void>((wake) => this.waiters.push({ bytes: charge, wake }));
    return charge;
  }

  private fits(charge: number): boolean {
    return this.taken + charge <= this.opts.limit - this.opts.reserve || (charge === this.opts.limit - this.opts.reserve && this.taken <= this.opts.reserve);
  }

  give(bytes: number): void {
    this.taken -= bytes;
    // First come, first served: the head waits until it fits, the others behind it.
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const w = this.waiters.shift()!;
      this.taken += w.bytes;
      w.wake();
    }
  }
}
