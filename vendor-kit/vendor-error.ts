import { FailureType } from '../domain/failures';
import type { MissingScope } from '../domain/connection';

/** A classified failure talking to a vendor. Messages never contain secrets or request bodies. */
export class VendorError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly retryAfterMs?: number,
    readonly httpStatus?: number,
    /** ScopesRefused: the required scopes the vendor refused, with what each is for. */
    readonly missingScopes?: MissingScope[],
  ) {
    super(message);
    this.name = 'VendorError';
  }
}

/** Parse Retry-After (delta-seconds or HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
