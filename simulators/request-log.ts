// The last requests a vendor received, as they arrived (method, URL, headers, when the headers came): what
// tests of a proxy in front of the vendor check, e.g. which headers got through. A bounded ring.

export interface LoggedRequest {
  method: string;
  /** Path and query as received, under the vendor prefix. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** When the request's headers arrived (ms since epoch), before its body was read. */
  receivedAt: number;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];

  constructor(private readonly capacity: number) {}

  record(entry: LoggedRequest): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** Oldest first; copies. */
  list(): LoggedRequest[] {
    return this.entries.map((e) => ({ ...e, headers: { ...e.headers } }));
  }

  clear(): void {
    this.entries = [];
  }
}
