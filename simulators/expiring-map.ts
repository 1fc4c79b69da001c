// Tokens and codes expire lazily: lookups compare timestamps, and expired entries are swept in bulk
// when the map has doubled since the last sweep. No timer per token, amortised O(1) per insert,
// memory proportional to live entries.

export interface Expiring {
  /** Epoch ms; Infinity for entries that never expire. */
  readonly expiresAt: number;
}

const MIN_SWEEP_SIZE = 1024;

export class ExpiringMap<V extends Expiring> {
  private readonly entries = new Map<string, V>();
  private sweepAt = MIN_SWEEP_SIZE;

  /** @param keepExpiredMs how long expired entries stay findable, so callers can say "expired" rather than "unknown". */
  constructor(private readonly keepExpiredMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.sweepAt) this.sweep(Date.now());
    this.entries.set(key, value);
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.sweepAt = MIN_SWEEP_SIZE;
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  private sweep(now: number): void {
    const cutoff = now - this.keepExpiredMs;
    for (const [key, value] of this.entries) {
      if (value.expiresAt < cutoff) this.entries.delete(key);
    }
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, this.entries.size * 2);
  }
}
