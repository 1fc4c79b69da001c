// The one way tests wait for something asynchronous: read, check, sleep, until a deadline. On timeout
// the error says what was awaited and shows the last value read, so a failure explains itself.

export interface EventuallyOptions {
  /** What is awaited, for the failure message. */
  what?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `read` until `until` holds for its value, and returns that value. Without `until`, waits for
 * a truthy value. An error thrown by `read` ends the wait at once: it is a failure, not a "not yet".
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  until: (value: T) => boolean = Boolean,
  { what = 'condition', timeoutMs = 20_000, intervalMs = 100 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not met within ${timeoutMs} ms; last value: ${describe(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
