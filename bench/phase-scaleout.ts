// Figure 7: scale-out. Several worker processes on one task queue and two API processes (the harness's and
// bench/api-process.ts), one Temporal server, one PostgreSQL. A fleet of short-lived-token connections is
// linked through both APIs alternately; CPU per refresh is measured with N workers alive, one worker is
// killed with SIGKILL and its connections must be refreshed by the others before their tokens expire, then
// CPU per refresh again with fewer workers. Which worker ran which workflow comes from the histories
// (WorkflowTaskStarted's identity, `<pid>@<host>`).
//
// A window measures steady cost, not re-homing: after the set of workers changes, the workflows whose worker
// is gone are replayed from their histories by the others (its sticky cache is lost), so a window begins only
// once every connection has refreshed on the new set.
import { cpuPerUnit, type CpuCost, type CpuWindow } from './cpu';
import type { ApiProcessHandle, Harness, WorkerHandle } from './harness';
import { readHistory } from './history';
import { invgateLink, measureIdle, postLink } from './phase-link';
import { latenessOf, recordedRefreshes } from './refreshes';
import { pool, round, sleep, summarize, type Summary } from './stats';
import type { WorkerTuning } from '../worker/create-worker';

export interface ScaleoutOptions {
  workers: number;
  fleet: number;
  ttlSeconds: number;
  windowSeconds: number;
  concurrency: number;
}

export interface ScaleoutWindow {
  workers: number;
  seconds: number;
  refreshes: number;
  refreshesPerSecond: number;
  /**
   * From the change of the set of workers (the kill, a stop) until the window began: seconds, and the
   * connections that had refreshed on the new set by then (all of them, unless the limit came first). Absent
   * for the first set, on which the fleet was linked. Older runs lack it.
   */
  rehomed?: { seconds: number; connections: number };
  /** CPU of the benchmark's processes per refresh (all workers, both APIs, Temporal, PostgreSQL), other work excluded. */
  cpuPerRefresh: CpuCost | null;
  cpu: CpuWindow | null;
  /**
   * The same processes with as many workers and nothing due (before the fleet was linked): pollers, timers,
   * the server's housekeeping. Not subtracted from cpuPerRefresh. Older runs lack it.
   */
  idleCpu?: CpuWindow | null;
  /**
   * Rows written (inserted, updated, deleted) per refresh, by table, from PostgreSQL's statistics; the
   * benchmark's own trigger tables left out.
   */
  rowWritesPerRefresh: Record<string, number>;
}

export interface ScaleoutResult {
  options: ScaleoutOptions;
  linking: {
    seconds: number;
    /** Links answered 202 by each API process. */
    byApi: Record<string, number>;
    outcomes: Record<string, number>;
  };
  windows: ScaleoutWindow[];
  kill: {
    /** Seconds after the last link settled. */
    atSeconds: number;
    workersBefore: number;
    /** Connections whose last workflow task before the kill ran on the killed worker. */
    connectionsOnKilled: number;
    /** Of those: refreshed after the kill, and by which surviving worker (pid). */
    refreshedAfterKill: number;
    refreshedByKilled: number;
    takenOverBy: Record<string, number>;
    /** Seconds from the kill until every connection of the fleet had refreshed after it. */
    recoverySeconds: number;
    recoveryTimedOut: boolean;
    /** The killed worker's connections' first refresh after the kill, against their old token's expiry. */
    lateness: Summary & { afterExpiry: number };
  };
  /** Every refresh after the last link settled, against the expiry of the token it replaced. */
  lateness: Summary & { afterExpiry: number; total: number };
  settings: { tuning: WorkerTuning; dbPool?: number };
}

export async function scaleoutPhase(
  h: Harness,
  options: ScaleoutOptions,
  settings: { tuning: WorkerTuning; dbPool?: number },
  log: (line: string) => void,
): Promise<ScaleoutResult> {
  const workers: WorkerHandle[] = [];
  let second: ApiProcessHandle | undefined;
  // Idle CPU by number of workers alive, measured as each starts (nothing linked yet, so nothing due).
  const idleCpu = new Map<number, CpuWindow | null>();
  try {
    second = await h.startApiProcess();
    for (let i = 0; i < options.workers; i++) {
      workers.push(await h.startWorker(settings));
      // Past its start-up (and the server's part in it).
      await h.cpu.quiet(['worker', 'temporal']);
      // Long enough to average over a worker's periodic blips (a few hundredths of a core for a second or two).
      idleCpu.set(workers.length, await measureIdle(h, 8_000));
    }
    log(
      `scaleout: ${workers.length} workers (pids ${workers.map((w) => w.pid).join(', ')}), APIs ${h.apiUrl} and ${second.url}`,
    );
    const apis = [h.apiUrl, second.url];

    const run = Date.now().toString(36);
    const clients = [...Array(options.fleet).keys()].map(
      (i) => `demo-ttl-${options.ttlSeconds}.scale-${run}-${i}`,
    );
    // Links paced over one token lifetime, so the refreshes that follow arrive as an even stream (links in a
    // burst would refresh in a burst, and a short window could catch none).
    const linkStart = Date.now();
    const paceMs = (options.ttlSeconds * 1000) / options.fleet;
    log(`scaleout: linking ${options.fleet} connections over ${options.ttlSeconds} s (token lifetime)`);
    const byApi: Record<string, number> = {};
    const ids = await pool(clients, options.concurrency, async (clientId, i) => {
      await sleep(linkStart + i * paceMs - Date.now());
      const api = apis[i % apis.length]!;
      const { id } = await postLink(h, invgateLink(h, clientId), api);
      const name = i % apis.length === 0 ? 'api 1 (bench process)' : 'api 2 (child process)';
      byApi[name] = (byApi[name] ?? 0) + 1;
      return id;
    });
    const outcomes: Record<string, number> = {};
    const settleMs = Math.max(120_000, 2 * options.ttlSeconds * 1000);
    await Promise.all(
      ids.map(async (id) => {
        const status = await h.listener
          .settled(id, settleMs)
          .then((s) => s.status)
          .catch(() => 'not settled in time');
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }),
    );
    const allActive = Date.now();
    log(
      `scaleout: ${ids.length} linked in ${((allActive - linkStart) / 1000).toFixed(1)} s: ${JSON.stringify(outcomes)}`,
    );

    const refreshesBetween = async (from: number, to: number) =>
      Number(
        (
          await h.db.$queryRawUnsafe<{ n: bigint }[]>(
            `SELECT count(*) AS n FROM "AuditEvent" WHERE type = 'refresh_succeeded'
             AND "connectionId" = ANY($1::uuid[]) AND "createdAt" > $2 AND "createdAt" <= $3`,
            ids,
            new Date(from),
            new Date(to),
          )
        )[0]!.n,
      );
    /** Waits until every connection has refreshed after `since` (or the limit); how many had. */
    const everyRefreshedAfter = async (since: number) => {
      const limit = since + 2 * options.ttlSeconds * 1000 + 30_000;
      for (;;) {
        await sleep(2_000);
        const n = Number(
          (
            await h.db.$queryRawUnsafe<{ n: bigint }[]>(
              `SELECT count(DISTINCT "connectionId") AS n FROM "AuditEvent" WHERE type = 'refresh_succeeded'
               AND "connectionId" = ANY($1::uuid[]) AND "createdAt" > $2`,
              ids,
              new Date(since),
            )
          )[0]!.n,
        );
        if (n >= ids.length || Date.now() > limit) return n;
      }
    };
    const windows: ScaleoutWindow[] = [];
    const measure = async (change?: { at: number; rehomed: number }) => {
      // PostgreSQL publishes a backend's counts up to a second after its commit: both readings lag alike, so
      // over a steady stream of refreshes their difference is the window's (reading only the second one later
      // would count that much more of the stream).
      const from = Date.now();
      const writesBefore = await rowWrites(h);
      await sleep(options.windowSeconds * 1000);
      const to = Date.now();
      const writesAfter = await rowWrites(h);
      const refreshes = await refreshesBetween(from, to);
      const cpu = h.cpu.window(from, to);
      const rowWritesPerRefresh: Record<string, number> = {};
      for (const [table, n] of Object.entries(writesAfter)) {
        const d = n - (writesBefore[table] ?? 0);
        if (d > 0 && refreshes > 0) rowWritesPerRefresh[table] = round(d / refreshes, 2);
      }
      const w: ScaleoutWindow = {
        workers: workers.length,
        seconds: round((to - from) / 1000, 1),
        ...(change && {
          rehomed: { seconds: round((from - change.at) / 1000, 1), connections: change.rehomed },
        }),
        refreshes,
        refreshesPerSecond: round(refreshes / ((to - from) / 1000), 2),
        cpuPerRefresh: cpuPerUnit(cpu, refreshes),
        cpu,
        idleCpu: idleCpu.get(workers.length) ?? null,
        rowWritesPerRefresh,
      };
      windows.push(w);
      log(
        `scaleout: ${w.workers} workers: ${w.refreshes} refreshes in ${w.seconds} s, CPU per refresh ${w.cpuPerRefresh?.totalMs ?? '–'} ms (idle ${w.idleCpu?.benchCores ?? '–'} cores), rows ${JSON.stringify(rowWritesPerRefresh)}`,
      );
    };

    // Every workflow ran its link on one of these workers and is in its cache: nothing to re-home.
    await measure();

    // kill -9 one worker mid-run; the others must take its connections over before their tokens expire.
    const workersBefore = workers.length;
    const victim = workers.shift()!;
    const killAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    log(`scaleout: killed worker ${victim.pid} (SIGKILL); waiting until every connection refreshed after it`);
    const recovered = await everyRefreshedAfter(killAt);
    const recoveredAt = Date.now();
    log(
      `scaleout: ${recovered}/${ids.length} refreshed after the kill, ${((recoveredAt - killAt) / 1000).toFixed(1)} s`,
    );

    // Fewer workers: N−1 (after the kill, re-homed by the recovery), then stopped gracefully one by one down
    // to 2 and 1, each window once the stopped worker's connections have moved.
    const counts = [...new Set([workers.length, 2, 1])].filter((n) => n <= workers.length && n >= 1);
    for (const n of counts) {
      let change = { at: killAt, rehomed: recovered };
      if (workers.length > n) {
        while (workers.length > n) await workers.pop()!.stop();
        const at = Date.now();
        change = { at, rehomed: await everyRefreshedAfter(at) };
        log(
          `scaleout: ${change.rehomed}/${ids.length} refreshed on ${n} workers, ${((Date.now() - at) / 1000).toFixed(1)} s`,
        );
      }
      await measure(change);
    }

    // Who ran what: each connection's workflow tasks, by worker identity.
    log('scaleout: reading the histories');
    const victimIdentity = `${victim.pid}@`;
    let onKilled = 0;
    let refreshedAfter = 0;
    let refreshedByKilled = 0;
    const takenOverBy: Record<string, number> = {};
    const victimConnections = new Set<string>();
    await pool(ids, 4, async (id) => {
      const history = await readHistory(h.client, `connection:${id}`, h.codec);
      let lastTaker: string | undefined;
      let taker: string | undefined;
      for (const e of history) {
        if (e.name === 'WorkflowTaskStarted') {
          taker = e.identity;
          if (e.at <= killAt) lastTaker = e.identity;
        }
        if (
          e.at > killAt &&
          (e.localActivity === 'recordTransition' || e.transitionEvent === 'refresh_succeeded')
        ) {
          if (!lastTaker?.startsWith(victimIdentity)) return;
          onKilled++;
          victimConnections.add(id);
          refreshedAfter++;
          if (taker?.startsWith(victimIdentity)) refreshedByKilled++;
          const pid = taker?.split('@')[0] ?? '?';
          takenOverBy[pid] = (takenOverBy[pid] ?? 0) + 1;
          return;
        }
      }
      if (lastTaker?.startsWith(victimIdentity)) {
        onKilled++;
        victimConnections.add(id);
      }
    });

    const refreshes = (await recordedRefreshes(h, ids)).filter((r) => r.created.getTime() > allActive);
    const lateness = refreshes.map(latenessOf).filter((l): l is number => l !== null);
    const firstAfterKill = new Map<string, number>();
    for (const r of refreshes.sort((a, b) => a.created.getTime() - b.created.getTime())) {
      const l = latenessOf(r);
      if (l === null || r.created.getTime() <= killAt || !victimConnections.has(r.connectionId)) continue;
      if (!firstAfterKill.has(r.connectionId)) firstAfterKill.set(r.connectionId, l);
    }
    const killLateness = [...firstAfterKill.values()];
    return {
      options,
      linking: { seconds: round((allActive - linkStart) / 1000, 1), byApi, outcomes },
      windows,
      kill: {
        atSeconds: round((killAt - allActive) / 1000, 1),
        workersBefore,
        connectionsOnKilled: onKilled,
        refreshedAfterKill: refreshedAfter,
        refreshedByKilled,
        takenOverBy,
        recoverySeconds: round((recoveredAt - killAt) / 1000, 1),
        recoveryTimedOut: recovered < ids.length,
        lateness: { ...summarize(killLateness), afterExpiry: killLateness.filter((l) => l > 0).length },
      },
      lateness: {
        ...summarize(lateness),
        afterExpiry: lateness.filter((l) => l > 0).length,
        total: lateness.length,
      },
      settings,
    };
  } finally {
    for (const w of workers) await w.stop();
    await second?.stop();
  }
}

/** Rows inserted, updated and deleted so far per table of the run's database (the bench's own excluded). */
async function rowWrites(h: Harness): Promise<Record<string, number>> {
  const rows = await h.db.$queryRawUnsafe<{ relname: string; n: bigint }[]>(
    `SELECT relname::text AS relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables WHERE relname NOT LIKE 'bench\\_%'`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)]));
}
