// Request counters per vendor and per caller, so tests can assert "exactly one token request" or count the
// calls a failing connection made.
import type { RouteKind } from './route-kind';

export interface CallCounters {
  tokenRequests: number;
  authRequests: number;
  apiRequests: number;
  /** Keyed "METHOD /route/pattern" (as registered, without the vendor prefix). */
  byEndpoint: Record<string, number>;
  /** Keyed by HTTP status code. */
  byStatus: Record<string, number>;
}

export interface VendorStats extends CallCounters {
  vendor: string;
  /** Set when the counters are those of one caller. */
  match?: string;
  /** Counters per client_id / static token; only in vendor-wide answers. */
  byMatch?: Record<string, CallCounters>;
}

/**
 * Live counters use Maps: status codes as keys of a plain object would be array indices, and V8 would
 * back each object with an elements array hundreds of slots long (kilobytes per client in a 10,000-client
 * benchmark).
 */
interface LiveCounters {
  tokenRequests: number;
  authRequests: number;
  apiRequests: number;
  byEndpoint: Map<string, number>;
  byStatus: Map<number, number>;
}

function emptyCounters(): LiveCounters {
  return { tokenRequests: 0, authRequests: 0, apiRequests: 0, byEndpoint: new Map(), byStatus: new Map() };
}

function count(counters: LiveCounters, kind: RouteKind, endpoint: string, status: number): void {
  if (kind === 'token') counters.tokenRequests += 1;
  else if (kind === 'auth') counters.authRequests += 1;
  else counters.apiRequests += 1;
  counters.byEndpoint.set(endpoint, (counters.byEndpoint.get(endpoint) ?? 0) + 1);
  counters.byStatus.set(status, (counters.byStatus.get(status) ?? 0) + 1);
}

function toPlain(counters: LiveCounters): CallCounters {
  return {
    tokenRequests: counters.tokenRequests,
    authRequests: counters.authRequests,
    apiRequests: counters.apiRequests,
    byEndpoint: Object.fromEntries(counters.byEndpoint),
    byStatus: Object.fromEntries(counters.byStatus),
  };
}

export class CallStats {
  private totals = emptyCounters();
  private readonly bySubject = new Map<string, LiveCounters>();

  constructor(private readonly vendor: string) {}

  record(subject: string | undefined, kind: RouteKind, endpoint: string, status: number): void {
    count(this.totals, kind, endpoint, status);
    if (subject === undefined) return;
    let counters = this.bySubject.get(subject);
    if (!counters) {
      counters = emptyCounters();
      this.bySubject.set(subject, counters);
    }
    count(counters, kind, endpoint, status);
  }

  /** A copy: callers may keep or mutate it. */
  snapshot(match?: string): VendorStats {
    if (match !== undefined && match !== '*') {
      return { vendor: this.vendor, match, ...toPlain(this.bySubject.get(match) ?? emptyCounters()) };
    }
    return {
      vendor: this.vendor,
      ...toPlain(this.totals),
      byMatch: Object.fromEntries([...this.bySubject].map(([subject, c]) => [subject, toPlain(c)])),
    };
  }

  clear(): void {
    this.totals = emptyCounters();
    this.bySubject.clear();
  }
}
