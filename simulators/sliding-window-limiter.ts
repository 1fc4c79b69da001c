// A per-key rolling-window rate limit in O(1) memory per key: the sliding-window-counter approximation
// (the previous fixed window's count, weighted by how much of it still overlaps, plus the current count)
// instead of one timestamp per request. It also observes, exactly, the most requests it let through in any
// window of its length (tests assert a client never went above the limit), and how many it refused.

/** What a limiter saw since start or reset, for the control API. */
export interface ObservedRate {
  requests: number;
  windowSeconds: number;
  /** The most admitted requests of one key in any window of windowSeconds (exact, not approximated). */
  peak: number;
  /** Requests answered 429. */
  refused: number;
}

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();
  /** Admitted requests of each key within the last window, oldest first: at most `limit` of them. */
  private readonly admitted = new Map<string, number[]>();
  private peak = 0;
  private refused = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  observed(): ObservedRate {
    return {
      requests: this.limit,
      windowSeconds: this.windowMs / 1000,
      peak: this.peak,
      refused: this.refused,
    };
  }

  /** Counts a request; returns the seconds to wait when it is over the limit (and then does not count it). */
  hit(key: string, now = Date.now()): number | undefined {
    const wait = this.wait(key, now);
    if (wait !== undefined) {
      this.refused += 1;
      return wait;
    }
    this.window(key, now).current += 1;
    this.observe(key, now);
    return undefined;
  }

  /** The seconds a request now would have to wait, or undefined when it would pass; counts nothing. */
  wait(key: string, now = Date.now()): number | undefined {
    const window = this.window(key, now);
    const overlap = 1 - (now - window.start) / this.windowMs;
    if (window.previous * overlap + window.current < this.limit) return undefined;
    return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
  }

  private window(key: string, now: number) {
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
    return window;
  }

  private observe(key: string, now: number): void {
    let times = this.admitted.get(key);
    if (!times) {
      times = [];
      this.admitted.set(key, times);
    }
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    times.push(now);
    this.peak = Math.max(this.peak, times.length);
  }

  clear(): void {
    this.windows.clear();
    this.admitted.clear();
    this.peak = 0;
    this.refused = 0;
  }
}
