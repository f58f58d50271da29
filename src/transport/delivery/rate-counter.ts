/**
 * Events per second over the last minute (Get-Queue's IncomingRate and
 * OutgoingRate), in 60 one-second buckets: constant memory and O(1) per event
 * however fast mail flows.
 */
export class RateCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private second = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private advance(): void {
    const s = Math.floor(this.now() / 1000);
    if (s === this.second) return;
    const gap = Math.min(60, s - this.second);
    for (let i = 1; i <= gap; i++) this.buckets[(this.second + i) % 60] = 0;
    this.second = s;
  }

  add(n = 1): void {
    this.advance();
    this.buckets[this.second % 60] += n;
  }

  /** Average per second over the last 60 seconds. */
  perSecond(): number {
    this.advance();
    return this.buckets.reduce((a, b) => a + b, 0) / 60;
  }
}
