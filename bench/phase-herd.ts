// Figure 8: no thundering herd. Many connections of one vendor host (InvGate simulator) linked and active;
// then the vendor's token endpoint answers 503 to everyone for longer than a token's lifetime, so every
// connection's refresh falls in the outage (it fails and backs off, or waits for a budget slot); then the
// outage ends at once. The simulator's request log (each request numbered,
// its arrival time) gives the token requests per second the vendor received, against the per-host token
// cap (TETHER_TOKEN_REQUESTS_PER_HOST, a budget in PostgreSQL every worker and API replica shares), set for
// this phase's worker alone. A second round with the cap lifted shows what it prevents. The backoff is
// time-scaled (as the failure phase does it) so the herd forms in seconds instead of hours.
import type { Harness } from './harness';
import { injectLink } from './phase-link';
import { pool, round, sleep } from './stats';
import { SLOT_LATENESS_MS, type RateLimit } from '../vendor-kit/rate-limits';
import type { MaintenancePolicy } from '../domain/policy';
import { DEFAULT_POLICY } from '../domain/policy';
import { gcraOf } from '../platform/rate-budget';

export interface HerdOptions {
  connections: number;
  cap: RateLimit;
  ttlSeconds: number;
  /** Backoff base and cap are divided by this. */
  backoffScale: number;
  /** How long the outage lasts: longer than a token's lifetime, so every connection's refresh falls in it. */
  outageSeconds: number;
  /** Also run the outage with the cap lifted. */
  uncappedRound: boolean;
  concurrency: number;
}

export interface HerdRound {
  name: string;
  /** TETHER_TOKEN_REQUESTS_PER_HOST of the round's worker. */
  tokenRequestsPerHost: string;
  outage: {
    seconds: number;
    /** Statuses when the outage ended. */
    statuses: Record<string, number>;
    /** Of those `active`: their token had expired (their refresh waited for a budget slot, not failed). */
    activeWithExpiredToken: number;
    tokenRequests: number;
    peakPerSecond: number;
    peakPer10Seconds: number;
  };
  recovery: {
    /** From the end of the outage until every connection was active again (null: not within the limit). */
    allActiveSeconds: number | null;
    activeAtEnd: number;
    tokenRequests: number;
    peakPerSecond: number;
    peakPer10Seconds: number;
    /** Token requests the vendor received in each second after the outage ended. */
    perSecond: number[];
  };
}

export interface HerdResult {
  options: HerdOptions;
  policy: Partial<MaintenancePolicy>;
  linking: {
    seconds: number;
    tokenRequests: number;
    peakPerSecond: number;
    outcomes: Record<string, number>;
  };
  rounds: HerdRound[];
  /** Requests the simulator's log ring dropped before they were read (0: every arrival was seen). */
  missedArrivals: number;
  /**
   * Longest gap between two reads of the log (ms): the benchmark process (the simulator's too) stalled this
   * long at most, and arrivals timestamped by it may bunch within such a gap.
   */
  maxReadGapMs: number;
  /**
   * The most a GCRA budget of the cap lets out in any 10 s: its sustained rate × 10 s + the burst, requests
   * that leave up to SLOT_LATENESS_MS after their slot included.
   */
  capPer10Seconds: number;
}

const TOKEN_PATH = '/oauth/v2/0/access_token';
/** The harness's default for every other phase: a cap that never binds. */
const UNCAPPED = '1000000/1/1000';

/** Arrival times of InvGate token requests, read from the simulator's numbered request log. */
class TokenArrivals {
  readonly times: number[] = [];
  missed = 0;
  maxGapMs = 0;
  private lastSeq = 0;
  private lastReadAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly h: Harness) {}

  start(): void {
    this.lastSeq = this.h.sim.control.requests('invgate').at(-1)?.seq ?? 0;
    this.timer = setInterval(() => this.read(), 50);
  }

  read(): void {
    const now = Date.now();
    if (this.lastReadAt) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastReadAt);
    this.lastReadAt = now;
    const fresh = this.h.sim.control.requests('invgate').filter((r) => r.seq > this.lastSeq);
    if (!fresh.length) return;
    this.missed += fresh[0]!.seq - this.lastSeq - 1;
    this.lastSeq = fresh.at(-1)!.seq;
    for (const r of fresh) if (r.url.includes(TOKEN_PATH)) this.times.push(r.receivedAt);
  }

  stop(): void {
    clearInterval(this.timer);
    this.read();
  }

  between(from: number, to: number): number[] {
    return this.times.filter((t) => t >= from && t < to).sort((a, b) => a - b);
  }
}

/** Most arrivals in any window of `windowMs` (sorted times). */
function peak(sorted: number[], windowMs = 1000): number {
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

export async function herdPhase(
  h: Harness,
  options: HerdOptions,
  log: (line: string) => void,
): Promise<HerdResult> {
  const policy: Partial<MaintenancePolicy> = {
    failureBackoffBaseMs: Math.round(DEFAULT_POLICY.failureBackoffBaseMs / options.backoffScale),
    failureBackoffCapMs: Math.round(DEFAULT_POLICY.failureBackoffCapMs / options.backoffScale),
  };
  const cap = `${options.cap.requests}/${options.cap.windowSeconds}/${options.cap.burst}`;
  const api = await h.apiWithPolicy(policy);
  const arrivals = new TokenArrivals(h);
  arrivals.start();
  let worker = await h.startWorker({ env: { TETHER_TOKEN_REQUESTS_PER_HOST: cap } });
  try {
    const run = Date.now().toString(36);
    const clients = [...Array(options.connections).keys()].map(
      (i) => `demo-ttl-${options.ttlSeconds}.herd-${run}-${i}`,
    );
    log(`herd: linking ${clients.length} connections, token requests capped at ${cap} per host`);
    const linkStart = Date.now();
    const ids = await pool(clients, options.concurrency, (clientId) => injectLink(h, api, clientId));
    const outcomes: Record<string, number> = {};
    await Promise.all(
      ids.map(async (id) => {
        const status = await h.listener
          .settled(id, 300_000)
          .then((s) => s.status)
          .catch(() => 'not settled in time');
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }),
    );
    const linked = Date.now();
    const linkArrivals = arrivals.between(linkStart, linked);
    log(`herd: linked in ${((linked - linkStart) / 1000).toFixed(1)} s: ${JSON.stringify(outcomes)}`);

    const statusCounts = async () => {
      const rows = await h.db.$queryRawUnsafe<{ status: string; n: bigint }[]>(
        `SELECT status::text AS status, count(*) AS n FROM "Connection" WHERE id = ANY($1::uuid[]) GROUP BY 1`,
        ids,
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
    };

    const outageRound = async (name: string, perHost: string): Promise<HerdRound> => {
      const start = Date.now();
      const fault = h.sim.control.addFault({
        vendor: 'invgate',
        match: '*',
        scope: 'token',
        fault: { kind: 'status', status: 503 },
      });
      log(`herd (${name}): outage started: 503 on the token endpoint for every client`);
      await sleep(options.outageSeconds * 1000);
      const statuses = await statusCounts();
      const activeWithExpiredToken = Number(
        (
          await h.db.$queryRawUnsafe<{ n: bigint }[]>(
            `SELECT count(*) AS n FROM "Connection" WHERE id = ANY($1::uuid[]) AND status = 'active'
             AND "tokenExpiresAt" < now()`,
            ids,
          )
        )[0]!.n,
      );
      const end = Date.now();
      h.sim.control.removeFault(fault);
      log(
        `herd (${name}): outage over after ${((end - start) / 1000).toFixed(0)} s: ${JSON.stringify(statuses)}, ${activeWithExpiredToken} active with an expired token`,
      );
      let allActive: number | null = null;
      let active = 0;
      const recoveryLimit = end + 300_000;
      for (;;) {
        await sleep(500);
        active = (await statusCounts()).active ?? 0;
        if (active >= ids.length) {
          allActive = Date.now();
          break;
        }
        if (Date.now() > recoveryLimit) break;
      }
      // A few seconds more, so the tail of the recovery's requests is in the count.
      await sleep(3_000);
      arrivals.read();
      const during = arrivals.between(start, end);
      const after = arrivals.between(end, allActive ?? Date.now());
      const perSecond: number[] = [];
      for (const t of after)
        perSecond[Math.floor((t - end) / 1000)] = (perSecond[Math.floor((t - end) / 1000)] ?? 0) + 1;
      const r: HerdRound = {
        name,
        tokenRequestsPerHost: perHost,
        outage: {
          seconds: round((end - start) / 1000, 1),
          statuses,
          activeWithExpiredToken,
          tokenRequests: during.length,
          peakPerSecond: peak(during),
          peakPer10Seconds: peak(during, 10_000),
        },
        recovery: {
          allActiveSeconds: allActive === null ? null : round((allActive - end) / 1000, 1),
          activeAtEnd: active,
          tokenRequests: after.length,
          peakPerSecond: peak(after),
          peakPer10Seconds: peak(after, 10_000),
          perSecond: Array.from(perSecond, (n) => n ?? 0),
        },
      };
      log(
        `herd (${name}): all active ${r.recovery.allActiveSeconds ?? '–'} s after; peak ${r.recovery.peakPerSecond} token requests/s (outage: ${r.outage.peakPerSecond}/s)`,
      );
      return r;
    };

    const rounds = [await outageRound('capped', cap)];
    if (options.uncappedRound) {
      // The same connections, a worker without the cap (the harness's setting for every other phase).
      await worker.stop();
      worker = await h.startWorker({ env: { TETHER_TOKEN_REQUESTS_PER_HOST: UNCAPPED } });
      rounds.push(await outageRound('uncapped', UNCAPPED));
    }
    arrivals.stop();
    return {
      options,
      policy,
      linking: {
        seconds: round((linked - linkStart) / 1000, 1),
        tokenRequests: linkArrivals.length,
        peakPerSecond: peak(linkArrivals),
        outcomes,
      },
      rounds,
      missedArrivals: arrivals.missed,
      maxReadGapMs: arrivals.maxGapMs,
      capPer10Seconds:
        Math.floor((10_000 + SLOT_LATENESS_MS) / gcraOf(options.cap).intervalMs) + options.cap.burst,
    };
  } finally {
    arrivals.stop();
    await worker.stop();
  }
}
