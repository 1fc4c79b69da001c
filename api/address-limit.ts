// Requests that carry no valid API key are limited per client address, before any authentication
// runs: the OAuth callback and the codec endpoint (every request), and failed authentications on
// /v1 and /metrics. Guessing states, codec tokens or keys is then slow, and a flood of them cannot
// load PostgreSQL with key lookups. An address past its budget is refused until its minute ends.
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors';

const WINDOW_MS = 60_000;

export type AddressLimit = ReturnType<typeof createAddressLimit>;

export function createAddressLimit(perMinute: number, now: () => number = Date.now) {
  const windows = new Map<string, { startedAt: number; count: number }>();
  let sweptAt = now();

  const current = (address: string) => {
    const at = now();
    // Ended windows are dropped once a window, so addresses seen once do not pile up.
    if (at - sweptAt >= WINDOW_MS) {
      for (const [key, window] of windows) if (at - window.startedAt >= WINDOW_MS) windows.delete(key);
      sweptAt = at;
    }
    let window = windows.get(address);
    if (!window || at - window.startedAt >= WINDOW_MS) {
      window = { startedAt: at, count: 0 };
      windows.set(address, window);
    }
    return { window, at };
  };

  return {
    /** Refuses (429) a request from an address that used up its budget; counts nothing. */
    check(request: FastifyRequest): void {
      const { window, at } = current(request.ip);
      if (window.count < perMinute) return;
      const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - at) / 1000));
      throw new ApiError(
        429,
        'rate_limited',
        `too many requests without a valid API key from this address (limit ${perMinute} per minute); retry in ${retryAfterSeconds} s`,
        undefined,
        undefined,
        retryAfterSeconds,
      );
    },
    /** Counts one request of the address against its budget. */
    count(request: FastifyRequest): void {
      current(request.ip).window.count += 1;
    },
  };
}
