// What a remote party can make a server remember (the certificate chains
// clients show, the next hops a connector resumes TLS with) is kept in a map
// of bounded size: past its limit the entry set longest ago is forgotten, so
// an attacker that churns keys costs a cache miss, never memory.

export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a BoundedMap holds at least one entry, not ${limit}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Sets `key` as the newest entry, forgetting the oldest one past the limit. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
