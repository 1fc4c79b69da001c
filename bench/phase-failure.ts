// Figure 4: vendor calls a permanently failing connection makes per hour, with the code's own
// failure policy (DEFAULT_POLICY, read at run time) time-scaled so an hour passes in seconds.
//
// What is scaled: every `…Ms` field of the maintenance policy is divided by `scale` (backoff base and
// cap among them). What is not: the activities' own retry intervals (fixed in the workflow), call
// and database latencies, timer and task latencies. So the scaled run is not simply "an hour / scale":
// the production timeline is rebuilt from the measured sequence instead. Each attempt's calls keep
// their measured spacing; each wait the machine scheduled (nextCheckAt − lastCheckedAt, written by
// the workflow in the connection row, logged by bench/instrument.ts) is multiplied back by `scale`;
// the lateness of the next call after its scheduled time is kept as measured.
import type { AddFaultInput } from '../simulators/server';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../domain/policy';
import type { Harness } from './harness';
import { injectLink } from './phase-link';
import { round, sleep } from './stats';

export interface FailureOptions {
  scale: number;
  /** Rebuild this many production hours (or until the connection stops trying). */
  hours: number;
  /** Give up after this much wall time per scenario. */
  maxSeconds: number;
}

export interface AttemptRow {
  /** Production time of the attempt's first call since the first failing call (s). */
  prodStartS: number;
  calls: number;
  /** Wall time between the attempt's first and last call (s), as measured (not scaled). */
  spanS: number;
  status: string;
  /** The wait the machine scheduled after this attempt: measured (s) and production (s). */
  waitMeasuredS: number | null;
  waitProdS: number | null;
}

export interface FailureScenarioResult {
  name: string;
  fault: AddFaultInput['fault'];
  faultScope: string;
  measured: {
    wallSeconds: number;
    calls: number;
    attempts: number;
    finalStatus: string;
    stoppedBecause: string;
  };
  /** Calls per production hour if the whole run had scaled (wall × scale): what a naive reading gives. */
  naiveCallsPerHour: number;
  /** Rebuilt production timeline. */
  coveredHours: number | 'unbounded';
  callsPerHour: { hour: number; calls: number }[];
  /** Calls after the covered window: none, when the connection waits for a human. */
  thenPerHour: number | null;
  attempts: AttemptRow[];
}

export interface FailureResult {
  options: FailureOptions;
  scaledPolicy: Partial<MaintenancePolicy>;
  productionPolicy: Record<string, unknown>;
  scenarios: FailureScenarioResult[];
}

/** DEFAULT_POLICY with every millisecond field divided by scale. */
export function scaledPolicy(scale: number): Partial<MaintenancePolicy> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(DEFAULT_POLICY)) {
    if (typeof value === 'number' && key.endsWith('Ms')) out[key] = Math.max(1, Math.round(value / scale));
  }
  return out as Partial<MaintenancePolicy>;
}

interface LogRow {
  at: number;
  status: string;
  checkedAt: number | null;
  nextAt: number | null;
}

export async function failurePhase(
  h: Harness,
  options: FailureOptions,
  log: (line: string) => void,
): Promise<FailureResult> {
  const policy = scaledPolicy(options.scale);
  const api = await h.apiWithPolicy(policy);
  const run = Date.now().toString(36);
  const scenarios: { name: string; client: string; fault: AddFaultInput['fault']; scope: 'all' | 'token' }[] =
    [
      {
        name: 'vendor down: HTTP 503 on every request',
        client: `demo-ttl-5.down-${run}`,
        fault: { kind: 'status', status: 503 },
        scope: 'all',
      },
      {
        name: 'credentials rejected: HTTP 401 invalid_client at the token endpoint',
        client: `demo-ttl-5.reject-${run}`,
        fault: {
          kind: 'status',
          status: 401,
          body: { error: 'invalid_client', error_description: 'client authentication failed' },
        },
        scope: 'token',
      },
    ];
  const results = await Promise.all(
    scenarios.map(async (s) => {
      const id = await injectLink(h, api, s.client);
      await h.listener.when(id, 'active');
      const faultAt = Date.now();
      const faultId = h.sim.control.addFault({
        vendor: 'invgate',
        match: s.client,
        scope: s.scope,
        fault: s.fault,
      });
      log(`failure: "${s.name}" started`);
      try {
        return await observe(h, id, s.client, faultAt, options, s.name, s.fault, s.scope);
      } finally {
        h.sim.control.removeFault(faultId);
        // Stop the connection so it does not call the vendor during the later phases.
        await api.inject({
          method: 'DELETE',
          url: `/v1/connections/${id}`,
          headers: { authorization: `Bearer ${h.apiKey}` },
        });
      }
    }),
  );
  return {
    options,
    scaledPolicy: policy,
    productionPolicy: { ...DEFAULT_POLICY },
    scenarios: results,
  };
}

async function observe(
  h: Harness,
  id: string,
  client: string,
  faultAt: number,
  options: FailureOptions,
  name: string,
  fault: AddFaultInput['fault'],
  faultScope: string,
): Promise<FailureScenarioResult> {
  const callTimes: number[] = [];
  const total = () => {
    const s = h.sim.control.stats('invgate', client);
    return s.tokenRequests + s.authRequests + s.apiRequests;
  };
  let seen = total();
  // The simulator counts calls; polling its counters every few ms gives each call's time.
  const poller = setInterval(() => {
    const now = Date.now();
    const n = total();
    for (; seen < n; seen++) callTimes.push(now);
  }, 5);

  let rows: LogRow[] = [];
  let stoppedBecause = 'time limit';
  let rebuilt: ReturnType<typeof rebuild> | undefined;
  const deadline = Date.now() + options.maxSeconds * 1000;
  try {
    while (Date.now() < deadline) {
      await sleep(250);
      rows = await logRows(h, id, faultAt);
      rebuilt = rebuild(callTimes, rows, options.scale);
      if (rebuilt.covered === 'unbounded' && Date.now() - (callTimes[callTimes.length - 1] ?? 0) > 2_000) {
        stoppedBecause = 'the connection stopped trying (waits for a human)';
        break;
      }
      if (rebuilt.covered !== 'unbounded' && rebuilt.covered >= options.hours * 3600) {
        stoppedBecause = `${options.hours} production hours rebuilt`;
        break;
      }
    }
  } finally {
    clearInterval(poller);
  }
  rebuilt = rebuild(callTimes, rows, options.scale);
  const first = rebuilt.firstCall ?? faultAt;
  const wallSeconds =
    ((rows.length ? Math.max(rows[rows.length - 1]!.at, callTimes[callTimes.length - 1] ?? 0) : Date.now()) -
      first) /
    1000;
  const hours = rebuilt.covered === 'unbounded' ? options.hours : Math.floor(rebuilt.covered / 3600);
  const callsPerHour = [...Array(hours).keys()].map((hour) => ({
    hour: hour + 1,
    calls: rebuilt!.prodCalls.filter((t) => t >= hour * 3600 && t < (hour + 1) * 3600).length,
  }));
  return {
    name,
    fault,
    faultScope,
    measured: {
      wallSeconds: round(wallSeconds, 1),
      calls: rebuilt.prodCalls.length,
      attempts: rows.length,
      finalStatus: rows[rows.length - 1]?.status ?? 'unknown',
      stoppedBecause,
    },
    naiveCallsPerHour: round(rebuilt.prodCalls.length / ((wallSeconds * options.scale) / 3600), 1),
    coveredHours: rebuilt.covered === 'unbounded' ? 'unbounded' : round(rebuilt.covered / 3600, 2),
    callsPerHour,
    thenPerHour: rebuilt.covered === 'unbounded' ? 0 : null,
    attempts: rebuilt.attempts,
  };
}

async function logRows(h: Harness, id: string, after: number): Promise<LogRow[]> {
  const rows = await h.db.$queryRawUnsafe<
    { at: Date; new_status: string; last_checked_at: Date | null; next_check_at: Date | null }[]
  >(
    `SELECT at, new_status, last_checked_at, next_check_at FROM bench_connection_log
     WHERE connection_id = $1::uuid AND at > $2 ORDER BY id`,
    id,
    new Date(after),
  );
  return rows.map((r) => ({
    at: r.at.getTime(),
    status: r.new_status,
    checkedAt: r.last_checked_at?.getTime() ?? null,
    nextAt: r.next_check_at?.getTime() ?? null,
  }));
}

/**
 * Production timeline from the measured one. Attempt k+1 cannot call before the time decision k
 * scheduled it for (nextCheckAt), so calls before that belong to attempt k: a call the counter poll
 * saw a few ms late, after the workflow had already judged the attempt, still counts where it belongs.
 */
function rebuild(callTimes: number[], rows: LogRow[], scale: number) {
  const attempts: AttemptRow[] = [];
  const prodCalls: number[] = [];
  const firstCall = callTimes[0];
  if (firstCall === undefined) return { attempts, prodCalls, covered: 0 as number | 'unbounded', firstCall };
  let offset = -firstCall; // production ms = wall ms + offset, within an attempt
  let i = 0;
  let covered: number | 'unbounded' = 0;
  for (const row of rows) {
    const decidedAt = row.checkedAt ?? row.at;
    const calls: number[] = [];
    const boundary = row.nextAt ?? Infinity;
    while (i < callTimes.length && callTimes[i]! < boundary) calls.push(callTimes[i++]!);
    const prodStart = calls.length ? calls[0]! + offset : decidedAt + offset;
    for (const c of calls) prodCalls.push((c + offset) / 1000);
    const wait = row.nextAt !== null ? row.nextAt - decidedAt : null;
    attempts.push({
      prodStartS: round(prodStart / 1000, 1),
      calls: calls.length,
      spanS: calls.length ? round((calls[calls.length - 1]! - calls[0]!) / 1000, 2) : 0,
      status: row.status,
      waitMeasuredS: wait === null ? null : round(wait / 1000, 3),
      waitProdS: wait === null ? null : round((wait * scale) / 1000, 1),
    });
    if (row.nextAt === null) {
      covered = 'unbounded';
      break;
    }
    // The wait is stretched back to production length; the next call's lateness after nextAt is not.
    const prodNext = decidedAt + offset + wait! * scale;
    offset = prodNext - row.nextAt;
    covered = prodNext / 1000;
  }
  // Calls of an attempt still running when the run ended.
  if (covered !== 'unbounded')
    for (; i < callTimes.length; i++) prodCalls.push((callTimes[i]! + offset) / 1000);
  return { attempts, prodCalls, covered, firstCall };
}
