// The chaos run's HTTP client of the API: counts every answer by route and status, and retries the
// way a careful client would (5xx and network errors, with backoff, until a deadline).

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export interface ServerError {
  at: number;
  method: string;
  route: string;
  status: number;
  body: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ChaosApiClient {
  /** "GET /v1/connections/:id 200" → count. */
  readonly counts = new Map<string, number>();
  /** Answers >= 500 other than 503, and 503s: kept apart, the first are bugs. */
  readonly serverErrors: ServerError[] = [];
  unavailable = 0;
  /** 503s by route and error code, e.g. "PUT /v1/connections/:id/credentials temporal_unavailable". */
  readonly unavailableReasons = new Map<string, number>();
  /** The first message of each 503 reason, to see what was down. */
  readonly unavailableSamples = new Map<string, string>();
  networkErrors = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async request(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<ApiAnswer | null> {
    const route = `${method} ${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id').replace(/\?.*$/, '')}`;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch {
      this.networkErrors += 1;
      this.count(`${route} network-error`);
      return null;
    }
    const text = await res.text().catch(() => '');
    this.count(`${route} ${res.status}`);
    if (res.status === 503) {
      this.unavailable += 1;
      const code = /"error":"([^"]+)"/.exec(text)?.[1] ?? 'unknown';
      const key = `${route} ${code}`;
      this.unavailableReasons.set(key, (this.unavailableReasons.get(key) ?? 0) + 1);
      if (!this.unavailableSamples.has(code)) this.unavailableSamples.set(code, text.slice(0, 300));
    } else if (res.status >= 500) {
      this.serverErrors.push({ at: Date.now(), method, route, status: res.status, body: text.slice(0, 300) });
    }
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }

  /**
   * Sends until `done(answer)` says the answer is final, retrying 5xx and network errors (and answers
   * `retry` accepts) with backoff until the deadline. Returns the last answer (null: never answered).
   */
  async until(
    method: string,
    path: string,
    options: {
      body?: unknown;
      headers?: Record<string, string>;
      deadline: number;
      retry?: (answer: ApiAnswer) => boolean;
      timeoutMs?: number;
      aborted?: () => boolean;
    },
  ): Promise<{ answer: ApiAnswer | null; attempts: number }> {
    let delay = 500;
    let answer: ApiAnswer | null = null;
    for (let attempts = 1; ; attempts++) {
      answer = await this.request(method, path, options);
      const again = !answer || answer.status >= 500 || (options.retry?.(answer) ?? false);
      if (!again || Date.now() + delay > options.deadline || options.aborted?.()) return { answer, attempts };
      await sleep(delay);
      delay = Math.min(delay * 2, 4_000);
    }
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
