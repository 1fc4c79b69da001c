// `npm run bench [-- --fleet 10000 ...]`: measures tether on this machine and writes
// bench/results/<timestamp>.json (raw figures) and bench/REPORT.md (regenerated from them).
// Every figure comes from this run; see bench/README.md for the method and the flags.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CpuWindow } from './cpu';
import { startHarness } from './harness';
import { machineInfo, versions, type MachineInfo, type Versions } from './machine';
import { apiPhase, type ApiResult } from './phase-api';
import { failurePhase, type FailureResult } from './phase-failure';
import { fleetPhase, type FleetResult } from './phase-fleet';
import { linkPhase, measureIdle, type LinkResult } from './phase-link';
import { jobsLimits, jobsPhase, limitText, type JobsResult } from './phase-jobs';
import { proxyPhase, type ProxyResult } from './phase-proxy';
import { scaleoutPhase, type ScaleoutResult } from './phase-scaleout';
import { herdPhase, type HerdResult } from './phase-herd';
import { retireWorkflows, runningWorkflows } from './isolation';
import type { WorkerSettings } from './protocol';
import { renderReport } from './report';
import { parseRateLimit } from '../vendor-kit/rate-limits';

export interface BenchResults {
  schema: 1;
  label: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  argv: string[];
  machine: MachineInfo;
  versions: Versions;
  workerSettings: { link?: WorkerSettings; fleet?: WorkerSettings };
  /** Wall-clock window of each phase and who used the CPU meanwhile. */
  phases: Record<string, { from: string; to: string; cpu: CpuWindow | null }>;
  /**
   * Per phase (bench/isolation.ts): workflows of earlier phases still running when it began (0: it ran
   * alone), and the workflows terminated once it ended. Older runs lack it.
   */
  isolation?: Record<string, { runningAtStart?: number; retiredAfter?: number }>;
  link?: LinkResult;
  failure?: FailureResult;
  fleet?: FleetResult;
  api?: ApiResult;
  proxy?: ProxyResult;
  jobs?: JobsResult;
  scaleout?: ScaleoutResult;
  herd?: HerdResult;
}

const BENCH_DIR = __dirname;
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: '' },
    only: { type: 'string', default: 'link,failure,fleet,api,proxy,jobs,scaleout,herd' },
    links: { type: 'string', default: process.env.BENCH_LINKS ?? '200' },
    'link-concurrency': { type: 'string', default: '4' },
    warmup: { type: 'string', default: '10' },
    'profile-sample': { type: 'string', default: '50' },
    fleet: { type: 'string', default: process.env.BENCH_FLEET ?? '1000' },
    ttl: { type: 'string' },
    cycles: { type: 'string', default: '3' },
    'fleet-concurrency': { type: 'string', default: '16' },
    'history-sample': { type: 'string', default: '20' },
    'api-duration': { type: 'string', default: '10' },
    'api-connections': { type: 'string', default: '10' },
    'api-warmup': { type: 'string', default: '2' },
    'proxy-requests': { type: 'string', default: '2000' },
    'proxy-warmup': { type: 'string', default: '100' },
    jobs: { type: 'string', default: '1000' },
    'jobs-concurrency': { type: 'string', default: '8' },
    'jobs-user-writes': { type: 'string', default: '90/10/10' },
    'scaleout-workers': { type: 'string', default: '3' },
    'scaleout-fleet': { type: 'string', default: '1200' },
    'scaleout-ttl': { type: 'string', default: '90' },
    'scaleout-window': { type: 'string', default: '20' },
    'herd-connections': { type: 'string', default: '1000' },
    'herd-cap': { type: 'string', default: '50/1/10' },
    'herd-ttl': { type: 'string', default: '60' },
    'herd-backoff-scale': { type: 'string', default: '30' },
    'herd-outage': { type: 'string', default: '90' },
    'herd-capped-only': { type: 'boolean', default: false },
    'failure-scale': { type: 'string', default: '600' },
    'failure-hours': { type: 'string', default: '3' },
    'failure-max-seconds': { type: 'string', default: '300' },
    'max-cached-workflows': { type: 'string' },
    'max-wft': { type: 'string' },
    'max-activities': { type: 'string' },
    'db-pool': { type: 'string' },
    baseline: { type: 'string' },
    'no-report': { type: 'boolean', default: false },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(readFileSync(path.join(BENCH_DIR, 'README.md'), 'utf8'));
  process.exit(0);
}

const int = (name: keyof typeof args): number | undefined => {
  const v = args[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};

async function main(): Promise<void> {
  const started = new Date();
  const t0 = Date.now();
  const log = (line: string) =>
    console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  // Render the report again from a saved run (after naming it in AFTER, say), measuring nothing.
  if (args.render) {
    const jsonPath = path.resolve(args.render);
    writeReport(JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults, jsonPath, log);
    return;
  }
  const only = new Set(args.only!.split(',').map((s) => s.trim()));
  const fleet = int('fleet')!;
  // Lifetime grows with the fleet so the refresh rate it asks for (fleet / lifetime) stays near
  // 1,000 / 60 s, which one worker on 2 shared cores keeps up with; --ttl sets it (30 s at 1,000 overloads it).
  const ttlSeconds = int('ttl') ?? Math.max(60, Math.round((60 * fleet) / 1000));
  const tuning = {
    ...(int('max-cached-workflows') ? { maxCachedWorkflows: int('max-cached-workflows') } : {}),
    ...(int('max-wft') ? { maxConcurrentWorkflowTaskExecutions: int('max-wft') } : {}),
    ...(int('max-activities') ? { maxConcurrentActivityTaskExecutions: int('max-activities') } : {}),
  };
  const dbPool = int('db-pool');

  const userWrites = parseRateLimit(args['jobs-user-writes']!);
  if ('error' in userWrites) throw new Error(`--jobs-user-writes: ${userWrites.error}`);
  const limits = jobsLimits(userWrites);
  const herdCap = parseRateLimit(args['herd-cap']!);
  if ('error' in herdCap) throw new Error(`--herd-cap: ${herdCap.error}`);
  const simulatorLimit = (l: typeof userWrites) => ({ requests: l.requests, windowSeconds: l.windowSeconds });

  const machine = machineInfo();
  const h = await startHarness(
    log,
    only.has('jobs')
      ? {
          simulators: {
            slackScimUserWriteLimit: simulatorLimit(limits.userWrites),
            slackScimWriteLimit: simulatorLimit(limits.writes),
          },
          env: {
            TETHER_VENDOR_RATE_LIMITS: `slack.scim_user_writes=${limitText(limits.userWrites)},slack.scim_writes=${limitText(limits.writes)}`,
          },
        }
      : {},
  );
  // Ctrl-C or a timeout's SIGTERM: stop what was started (server, worker, database) before exiting.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void h.close().finally(() => process.exit(130));
    });
  }
  const results: BenchResults = {
    schema: 1,
    label: args.label ?? '',
    startedAt: started.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    argv: process.argv.slice(2),
    machine,
    versions: await versions(h.cliPath, ADMIN_URL),
    workerSettings: {},
    phases: {},
    isolation: {},
  };
  const isolation = results.isolation!;
  // Before a phase starts its worker: nothing of an earlier phase may still be running for it to pick up.
  const alone = async (...names: string[]) => {
    const running = await runningWorkflows(h.client);
    for (const name of names) (isolation[name] ??= {}).runningAtStart = running;
    log(`${names.join(', ')}: ${running} workflows of earlier phases running at the start (0: alone)`);
  };
  // After a phase: its connections' workflows end (their rows stay, for the api phase), and the server has
  // done its part of that before the next phase starts.
  const retire = async (name: string) => {
    const retired = await retireWorkflows(h.client);
    (isolation[name] ??= {}).retiredAfter = retired;
    const waited = await h.cpu.quiet(['temporal']);
    log(`${name}: ${retired} workflows terminated; the server quiet ${(waited / 1000).toFixed(0)} s later`);
  };
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const from = Date.now();
    try {
      return await work();
    } finally {
      const to = Date.now();
      results.phases[name] = {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        cpu: h.cpu.window(from, to),
      };
    }
  };
  try {
    if (only.has('link') || only.has('failure')) {
      await alone(...['link', 'failure'].filter((name) => only.has(name)));
      const worker = await h.startWorker({ tuning, dbPool, withBare: true });
      results.workerSettings.link = worker.settings;
      try {
        // Idle CPU first, before the failure scenarios start beside the link measurement.
        const idle = only.has('link') ? await measureIdle(h) : undefined;
        // The failure scenarios mostly wait (scaled backoff); they run beside the link measurement.
        const failure = only.has('failure')
          ? timed('failure', () =>
              failurePhase(
                h,
                {
                  scale: int('failure-scale')!,
                  hours: int('failure-hours')!,
                  maxSeconds: int('failure-max-seconds')!,
                },
                log,
              ),
            )
          : undefined;
        failure?.catch(() => undefined);
        if (only.has('link')) {
          results.link = await timed('link', () =>
            linkPhase(
              h,
              {
                links: int('links')!,
                concurrency: int('link-concurrency')!,
                warmup: int('warmup')!,
                profileSample: int('profile-sample')!,
              },
              log,
              idle,
            ),
          );
          log(
            `link: p50 ${results.link.link.p50.toFixed(1)} ms vs bare ${results.link.bare.p50.toFixed(1)} ms`,
          );
        }
        if (failure) {
          log('failure: waiting for the scenarios to finish');
          results.failure = await failure;
        }
      } finally {
        await worker.stop();
      }
      // The two ran side by side: retired together.
      await retire(only.has('link') ? 'link' : 'failure');
    }

    if (only.has('fleet')) {
      await alone('fleet');
      // A fresh worker process, so its memory figures are the fleet's alone.
      const worker = await h.startWorker({ tuning, dbPool });
      results.workerSettings.fleet = worker.settings;
      try {
        results.fleet = await timed('fleet', () =>
          fleetPhase(
            h,
            worker,
            {
              fleet,
              ttlSeconds,
              cycles: int('cycles')!,
              concurrency: int('fleet-concurrency')!,
              historySample: int('history-sample')!,
            },
            log,
          ),
        );
      } finally {
        await worker.stop();
      }
      await retire('fleet');
    }

    if (only.has('api')) {
      await alone('api');
      // The most recent connection: a fleet one when the fleet ran.
      const connectionId = (await h.db.connection.findFirst({ orderBy: { createdAt: 'desc' } }))?.id;
      if (!connectionId)
        throw new Error('the api phase needs connections: run it with the link or fleet phase');
      results.api = await timed('api', () =>
        apiPhase(
          h,
          connectionId,
          {
            connections: int('api-connections')!,
            durationSeconds: int('api-duration')!,
            warmupSeconds: Number(args['api-warmup'] ?? 0),
          },
          log,
        ),
      );
    }

    if (only.has('proxy')) {
      await alone('proxy');
      // A worker links the connection (and would refresh its token); the calls themselves never reach it.
      const worker = await h.startWorker({ tuning, dbPool });
      try {
        results.proxy = await timed('proxy', () =>
          proxyPhase(h, { requests: int('proxy-requests')!, warmup: int('proxy-warmup')! }, log),
        );
        const p = results.proxy;
        log(
          `proxy: p50 ${p.proxied.p50.toFixed(2)} ms vs direct ${p.direct.p50.toFixed(2)} ms (×${p.ratio.p50}), p99 ×${p.ratio.p99}`,
        );
      } finally {
        await worker.stop();
      }
      await retire('proxy');
    }

    if (only.has('jobs')) {
      await alone('jobs');
      const worker = await h.startWorker({ tuning, dbPool });
      try {
        results.jobs = await timed('jobs', () =>
          jobsPhase(h, limits, { jobs: int('jobs')!, concurrency: int('jobs-concurrency')! }, log),
        );
        const j = results.jobs;
        log(
          `jobs: ${j.jobsPerSecond} jobs/s against a ceiling of ${j.ceilingJobsPerSecond} (×${j.ofCeiling}), 429s ${Object.values(j.vendorRates).reduce((n, r) => n + r.refused, 0)}, duplicates ${j.duplicateUsers}, missing ${j.missingUsers}`,
        );
      } finally {
        await worker.stop();
      }
      await retire('jobs');
    }

    if (only.has('scaleout')) {
      await alone('scaleout');
      results.scaleout = await timed('scaleout', () =>
        scaleoutPhase(
          h,
          {
            workers: int('scaleout-workers')!,
            fleet: int('scaleout-fleet')!,
            ttlSeconds: int('scaleout-ttl')!,
            windowSeconds: int('scaleout-window')!,
            concurrency: 8,
          },
          { tuning, dbPool },
          log,
        ),
      );
      const k = results.scaleout.kill;
      log(
        `scaleout: late refreshes ${results.scaleout.lateness.afterExpiry} of ${results.scaleout.lateness.total}; killed worker ran ${k.connectionsOnKilled}, ${k.refreshedAfterKill} refreshed after by ${JSON.stringify(k.takenOverBy)}`,
      );
      await retire('scaleout');
    }

    if (only.has('herd')) {
      await alone('herd');
      results.herd = await timed('herd', () =>
        herdPhase(
          h,
          {
            connections: int('herd-connections')!,
            cap: herdCap,
            ttlSeconds: int('herd-ttl')!,
            backoffScale: int('herd-backoff-scale')!,
            outageSeconds: int('herd-outage')!,
            uncappedRound: !args['herd-capped-only'],
            concurrency: 16,
          },
          log,
        ),
      );
      // Not retired: it runs last, and its connections end with the server.
    }
  } finally {
    log('stopping');
    await h.close();
  }

  const finished = new Date();
  results.finishedAt = finished.toISOString();
  results.durationSeconds = Math.round((finished.getTime() - started.getTime()) / 1000);
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  mkdirSync(path.join(BENCH_DIR, 'results'), { recursive: true });
  const jsonPath = path.join(BENCH_DIR, 'results', `${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`raw results: ${path.relative(process.cwd(), jsonPath)}`);
  if (!args['no-report']) writeReport(results, jsonPath, log);
}

/** bench/REPORT.md from one run's results, compared with BASELINE / AFTER (or --baseline) when named. */
function writeReport(results: BenchResults, jsonPath: string, log: (line: string) => void): void {
  const before = args.baseline ? [args.baseline] : named('BASELINE');
  const after = args.baseline ? [] : named('AFTER');
  const load = (file: string) => ({
    results: JSON.parse(readFileSync(file, 'utf8')) as BenchResults,
    file: path.relative(BENCH_DIR, file),
  });
  writeFileSync(
    path.join(BENCH_DIR, 'REPORT.md'),
    renderReport(
      results,
      path.relative(BENCH_DIR, jsonPath),
      before.length ? { before: before.map(load), after: after.map(load) } : undefined,
    ),
  );
  log('report: bench/REPORT.md');
}

/**
 * bench/results/BASELINE and AFTER name (one per line) the results files measured before and after the
 * last optimisation: same machine, taken in turn, the code differing only by that change. The first of
 * each is a full run; any others repeat some phases.
 */
function named(pointer: string): string[] {
  try {
    return readFileSync(path.join(BENCH_DIR, 'results', pointer), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((name) => path.join(BENCH_DIR, 'results', name));
  } catch {
    return [];
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
