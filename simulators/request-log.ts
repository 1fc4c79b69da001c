// The last requests a vendor received, as they arrived (method, URL, headers, when the headers came): what
// tests of a proxy in front of the vendor check, e.g. which headers got through. A bounded ring; each entry
// numbered in arrival order, so a poller reads each request once and knows if the ring dropped some.

export interface LoggedRequest {
  /** 1, 2, 3… in arrival order since the simulator started (or was reset). */
  seq: number;
  method: string;
  /** Path and query as received, under the vendor prefix. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** When the request's headers arrived (ms since epoch), before its body was read. */
  receivedAt: number;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];
  private recorded = 0;

  constructor(private readonly capacity: number) {}

  record(entry: Omit<LoggedRequest, 'seq'>): void {
    this.entries.push({ seq: ++this.recorded, ...entry });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** Oldest first; copies. */
  list(): LoggedRequest[] {
    return this.entries.map((e) => ({ ...e, headers: { ...e.headers } }));
  }

  clear(): void {
    this.entries = [];
    this.recorded = 0;
  }
}
