// A per-key rolling-window rate limit in O(1) memory per key: the sliding-window-counter approximation
// (the previous fixed window's count, weighted by how much of it still overlaps, plus the current count)
// instead of one timestamp per request.

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts a request; returns the seconds to wait when it is over the limit (and then does not count it). */
  hit(key: string, now = Date.now()): number | undefined {
    const start = now - (now % this.windowMs);
    let window = this.windows.get(key);
    if (!window) {
      window = { start, current: 0, previous: 0 };
      this.windows.set(key, window);
    } else if (window.start !== start) {
      window.previous = start - window.start === this.windowMs ? window.current : 0;
      window.current = 0;
      window.start = start;
    }
    const overlap = 1 - (now - start) / this.windowMs;
    if (window.previous * overlap + window.current >= this.limit) {
      return Math.max(1, Math.ceil((start + this.windowMs - now) / 1000));
    }
    window.current += 1;
    return undefined;
  }

  clear(): void {
    this.windows.clear();
  }
}
