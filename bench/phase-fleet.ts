// Figure 2: a fleet of N connections with short-lived simulator tokens (demo-ttl-<s>.<i>, each its own
// client) in one worker, run until every connection refreshed at least `cycles` times.
import type { CallCounters } from '../simulators/server';
import { cpuPerUnit, type CpuCost } from './cpu';
import type { Harness, WorkerHandle } from './harness';
import { readHistory } from './history';
import { invgateLink, linkRetries, postLink } from './phase-link';
import { latenessOf, recordedRefreshes } from './refreshes';
import { median, pool, round, sleep, summarize, type Summary } from './stats';

export interface FleetOptions {
  fleet: number;
  ttlSeconds: number;
  cycles: number;
  concurrency: number;
  historySample: number;
}

export interface FleetResult {
  options: FleetOptions;
  linking: {
    seconds: number;
    postsPerSecond: number;
    activePerSecond: number;
    /** Link outcomes: status after the first transition. */
    outcomes: Record<string, number>;
    /** For links that did not become active: the workflow's audit events and messages. */
    failures: { type: string; message: string | null; count: number }[];
    /** POSTs answered 503 (database or Temporal busy) and sent again with the same Idempotency-Key. */
    retried503?: number;
  };
  window: {
    seconds: number;
    refreshes: number;
    refreshesPerSecond: number;
    reachedCycles: number;
    timedOut: boolean;
    /** ms between a connection's consecutive refreshes. */
    cycle: Summary;
    /** Active connections / median cycle: the refresh rate the fleet asks for. */
    demandPerSecond: number;
    /** CPU of the benchmark's processes per refresh in the window (other work on the machine excluded). */
    cpuPerRefresh?: CpuCost | null;
  };
  /** ms relative to the replaced token's expiry: negative = before it expired. */
  lateness: Summary & { afterExpiry: number; total: number };
  /** ms between the new token's request and the old token's expiry (negative = before). */
  grantLateness: Summary & { afterExpiry: number };
  /** Token lifetime left when refreshed, as a fraction of the lifetime. */
  leadFraction: Summary;
  eventsByType: Record<string, number>;
  memory: {
    samples: number;
    baselineRssMiB: number;
    baselineHeapUsedMiB?: number;
    peakRssMiB: number;
    steadyRssMiB: number;
    peakHeapUsedMiB: number;
    steadyHeapUsedMiB: number;
    rssPerConnectionKiB: number;
    /**
     * Whether RSS stays flat while the fleet refreshes: the maintenance window's highest sample, and the
     * medians of its first and last fifths.
     */
    window?: { peakRssMiB: number; firstFifthRssMiB: number; lastFifthRssMiB: number };
  };
  historyEventsPerCycle: Summary & {
    sampledWorkflows: number;
    cycles: number;
    composition: Record<string, number>;
    /** Every distinct cycle length seen, with what such a cycle consisted of. */
    compositions?: Record<string, Record<string, number>>;
  };
  vendorCalls: { calls: number; refreshes: number; perRefresh: number; byEndpoint: Record<string, number> };
}

const MiB = 1_048_576;

export async function fleetPhase(
  h: Harness,
  worker: WorkerHandle,
  options: FleetOptions,
  log: (line: string) => void,
): Promise<FleetResult> {
  const run = Date.now().toString(36);
  const clients = [...Array(options.fleet).keys()].map(
    (i) => `demo-ttl-${options.ttlSeconds}.fleet-${run}-${i}`,
  );
  const baseline = worker.samples[worker.samples.length - 1];

  log(
    `fleet: linking ${options.fleet} connections (token lifetime ${options.ttlSeconds} s), ${options.concurrency} at a time`,
  );
  const linkStart = Date.now();
  const retriesBefore = linkRetries.count;
  let posted = 0;
  // Each client's calls when its connection became active (read when PostgreSQL announces it): what
  // came later is maintenance.
  const atActive = new Map<string, CallCounters>();
  const settling = new Map<string, Promise<string>>();
  let cutoff = false;
  const ids = await pool(clients, options.concurrency, async (clientId) => {
    const { id } = await postLink(h, invgateLink(h, clientId));
    settling.set(
      id,
      h.listener.settled(id, 24 * 3_600_000).then(({ status }) => {
        if (cutoff) return 'late';
        if (status === 'active') atActive.set(clientId, h.sim.control.stats('invgate', clientId));
        return status;
      }),
    );
    if (++posted % 1000 === 0) log(`fleet: ${posted} posted`);
    return id;
  });
  const postsDone = Date.now();
  const outcomes: Record<string, number> = {};
  // A link still retrying (backoff) after this long is reported as such; the fleet goes on without it.
  const settleMs = Math.max(120_000, 4 * options.ttlSeconds * 1000);
  const notYet = 'linking (still retrying when the benchmark went on)';
  const deadline = sleep(settleMs).then(() => notYet);
  await Promise.all(
    ids.map(async (id) => {
      const status = await Promise.race([settling.get(id)!, deadline]);
      outcomes[status] = (outcomes[status] ?? 0) + 1;
    }),
  );
  cutoff = true;
  const allActive = Date.now();
  const activeIds = ids.filter((_, i) => atActive.has(clients[i]!));
  const failedIds = ids.filter((_, i) => !atActive.has(clients[i]!));
  log(
    `fleet: all settled after ${((allActive - linkStart) / 1000).toFixed(1)} s: ${JSON.stringify(outcomes)}`,
  );
  const linkFailures = failedIds.length
    ? await h.db.$queryRawUnsafe<{ type: string; message: string | null; n: bigint }[]>(
        `SELECT type, regexp_replace(detail->>'message', '[0-9.]+:[0-9]+', '<simulator>') AS message, count(*) AS n
         FROM "AuditEvent" WHERE "connectionId" = ANY($1::uuid[]) AND actor = 'workflow'
         GROUP BY 1, 2 ORDER BY 3 DESC`,
        failedIds,
      )
    : [];

  // Until every connection refreshed `cycles` times, or a generous limit.
  const limit = allActive + (options.cycles + 2) * options.ttlSeconds * 1000 + 60_000;
  let reached = 0;
  for (;;) {
    await sleep(5_000);
    const rows = await h.db.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM (
         SELECT "connectionId" FROM "AuditEvent"
         WHERE type = 'refresh_succeeded' AND "connectionId" = ANY($1::uuid[])
         GROUP BY 1 HAVING count(*) >= $2) x`,
      activeIds,
      options.cycles,
    );
    reached = Number(rows[0]!.n);
    const rss = worker.samples[worker.samples.length - 1]?.rss ?? 0;
    log(
      `fleet: ${reached}/${activeIds.length} refreshed ${options.cycles}×; worker RSS ${(rss / MiB).toFixed(0)} MiB`,
    );
    if (reached >= activeIds.length || Date.now() > limit) break;
  }
  const end = Date.now();
  // Stop the worker first, so no call is made after the counters are read.
  await worker.stop();
  const calls = maintenanceCalls(
    h,
    clients.filter((c) => atActive.has(c)),
    atActive,
  );
  const allRefreshes = Number(
    (
      await h.db.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM "AuditEvent" WHERE type = 'refresh_succeeded' AND "connectionId" = ANY($1::uuid[])`,
        activeIds,
      )
    )[0]!.n,
  );

  // Lateness: each refresh_succeeded event against the expiry of the token it replaced (the old
  // value the same transaction overwrote).
  const refreshes = await recordedRefreshes(h, ids);
  const lateness = refreshes.map(latenessOf).filter((l): l is number => l !== null);
  const ttlMs = options.ttlSeconds * 1000;
  // When the new token was requested (its expiry minus its lifetime) against the old one's expiry.
  const grantLateness = refreshes
    .filter((r) => r.oldExpiry && r.newExpiry)
    .map((r) => r.newExpiry!.getTime() - ttlMs - r.oldExpiry!.getTime());
  const leadFraction = refreshes
    .filter((r) => r.oldExpiry)
    .map((r) => (r.oldExpiry!.getTime() - r.created.getTime()) / ttlMs);
  const events = await h.db.$queryRawUnsafe<{ type: string; n: bigint }[]>(
    `SELECT type, count(*) AS n FROM "AuditEvent" WHERE "connectionId" = ANY($1::uuid[]) GROUP BY type ORDER BY type`,
    ids,
  );
  // How long a connection's refresh cycle is (between its consecutive refreshes), hence the rate the
  // fleet asks for: active connections / cycle.
  const cycleRows = await h.db.$queryRawUnsafe<{ d: number }[]>(
    `SELECT d FROM (
       SELECT extract(epoch FROM "createdAt" - lag("createdAt") OVER (PARTITION BY "connectionId" ORDER BY id)) * 1000 AS d
       FROM "AuditEvent" WHERE type = 'refresh_succeeded' AND "connectionId" = ANY($1::uuid[])) x
     WHERE d IS NOT NULL`,
    activeIds,
  );
  const cycle = summarize(cycleRows.map((r) => Number(r.d)));
  const inWindow = refreshes.filter(
    (r) => r.created.getTime() > allActive && r.created.getTime() <= end,
  ).length;

  // History events per refresh cycle, from a sample of histories: the events between the recording
  // of two consecutive `refresh_succeeded` transitions: a recordTransition activity whose input says so,
  // or a recordTransition local activity's marker (its input is not in the history; only refreshes record
  // through a local activity, and in this fleet they all succeed: other outcomes show as a regular
  // recordTransition activity, the fallback's, or in the audit events).
  log(`fleet: reading ${options.historySample} histories`);
  const step = Math.max(1, Math.floor(activeIds.length / options.historySample));
  const sample = activeIds.filter((_, i) => i % step === 0).slice(0, options.historySample);
  const perCycle: number[] = [];
  const compositions = new Map<number, Record<string, number>>();
  for (const id of sample) {
    const history = await readHistory(h.client, `connection:${id}`, h.codec);
    const marks = history
      .map((e, i) =>
        e.transitionEvent === 'refresh_succeeded' || e.localActivity === 'recordTransition' ? i : -1,
      )
      .filter((i) => i >= 0);
    for (let k = 1; k < marks.length; k++) {
      const count = marks[k]! - marks[k - 1]!;
      perCycle.push(count);
      if (compositions.has(count)) continue;
      const composition: Record<string, number> = {};
      for (const e of history.slice(marks[k - 1]! + 1, marks[k]! + 1)) {
        const of = e.activityType ?? e.ofActivity ?? e.localActivity;
        const key = of ? `${e.name} (${of})` : e.name;
        composition[key] = (composition[key] ?? 0) + 1;
      }
      compositions.set(count, composition);
    }
  }
  const perCycleSummary = summarize(perCycle);
  // What a typical (median) cycle consists of.
  const composition = compositions.get(perCycleSummary.p50) ?? {};

  const during = worker.samples.filter((s) => s.at >= linkStart && s.at <= end);
  const steady = worker.samples.filter((s) => s.at >= allActive && s.at <= end);
  const steadyRss = median(steady.map((s) => s.rss));
  return {
    options,
    linking: {
      seconds: round((allActive - linkStart) / 1000, 1),
      postsPerSecond: round(options.fleet / ((postsDone - linkStart) / 1000), 1),
      activePerSecond: round(activeIds.length / ((allActive - linkStart) / 1000), 1),
      outcomes,
      failures: linkFailures.map((f) => ({ type: f.type, message: f.message, count: Number(f.n) })),
      retried503: linkRetries.count - retriesBefore,
    },
    window: {
      seconds: round((end - allActive) / 1000, 1),
      refreshes: inWindow,
      refreshesPerSecond: round(inWindow / ((end - allActive) / 1000), 1),
      reachedCycles: reached,
      timedOut: reached < activeIds.length,
      cycle,
      demandPerSecond: round(activeIds.length / (cycle.p50 / 1000), 1),
      cpuPerRefresh: cpuPerUnit(h.cpu.window(allActive, end), inWindow),
    },
    lateness: {
      ...summarize(lateness),
      afterExpiry: lateness.filter((l) => l > 0).length,
      total: lateness.length,
    },
    grantLateness: { ...summarize(grantLateness), afterExpiry: grantLateness.filter((l) => l > 0).length },
    leadFraction: summarize(leadFraction),
    eventsByType: Object.fromEntries(events.map((e) => [e.type, Number(e.n)])),
    memory: {
      samples: during.length,
      baselineRssMiB: round((baseline?.rss ?? NaN) / MiB),
      baselineHeapUsedMiB: round((baseline?.heapUsed ?? NaN) / MiB),
      peakRssMiB: round(Math.max(...during.map((s) => s.rss)) / MiB),
      steadyRssMiB: round(steadyRss / MiB),
      peakHeapUsedMiB: round(Math.max(...during.map((s) => s.heapUsed)) / MiB),
      steadyHeapUsedMiB: round(median(steady.map((s) => s.heapUsed)) / MiB),
      rssPerConnectionKiB: round((steadyRss - (baseline?.rss ?? 0)) / 1024 / options.fleet, 1),
      window: {
        peakRssMiB: round(Math.max(...steady.map((s) => s.rss)) / MiB),
        firstFifthRssMiB: round(
          median(steady.slice(0, Math.ceil(steady.length / 5)).map((s) => s.rss)) / MiB,
        ),
        lastFifthRssMiB: round(median(steady.slice(-Math.ceil(steady.length / 5)).map((s) => s.rss)) / MiB),
      },
    },
    historyEventsPerCycle: {
      ...perCycleSummary,
      sampledWorkflows: sample.length,
      cycles: perCycle.length,
      composition,
      compositions: Object.fromEntries(compositions),
    },
    vendorCalls: {
      calls: calls.total,
      refreshes: allRefreshes,
      perRefresh: round(calls.total / allRefreshes, 3),
      byEndpoint: calls.byEndpoint,
    },
  };
}

/** Calls the fleet's clients made after their link, from the simulator's per-client counters. */
function maintenanceCalls(
  h: Harness,
  clients: string[],
  atActive: Map<string, CallCounters>,
): { total: number; byEndpoint: Record<string, number> } {
  const sum = (c: CallCounters) => c.tokenRequests + c.authRequests + c.apiRequests;
  let total = 0;
  const byEndpoint: Record<string, number> = {};
  for (const client of clients) {
    const now = h.sim.control.stats('invgate', client);
    const before = atActive.get(client)!;
    total += sum(now) - sum(before);
    for (const [k, v] of Object.entries(now.byEndpoint)) {
      const d = v - (before.byEndpoint[k] ?? 0);
      if (d) byEndpoint[k] = (byEndpoint[k] ?? 0) + d;
    }
  }
  return { total, byEndpoint };
}
