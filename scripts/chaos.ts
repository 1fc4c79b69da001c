// `npm run chaos`: crash and restart testing on real parts. Everything runs here and is thrown away:
// its own PostgreSQL (initdb in a temporary folder, a free port), its own persisted Temporal dev
// server (SQLite file), the vendor simulators and the API in this process, the worker as a separate
// child process. While many connections are linked, revoked and rotated, the worker is killed with
// SIGKILL and restarted many times, the Temporal server is stopped and started on the same database
// file, and PostgreSQL is restarted in immediate mode (a crash) and taken down for a few seconds.
// After a settle period every connection must be in its right final state, with no duplicate rows, a
// complete audit trail and no stuck workflow. Prints a summary; exits 1 on any violation.
//
//   npm run chaos -- --connections 200 --duration 120 --seed 7
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { createApiKey } from '../platform/api-keys';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { migrateDatabase } from '../dev/migrate';
import { connectTemporalClient, createServices, startApi, type Services } from '../main/services';
import {
  ensureTemporalCli,
  freePort,
  startTemporalDevServer,
  type TemporalDevServer,
  type TemporalDevServerOptions,
} from '../dev/temporal-dev-server';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';
import { ChaosApiClient, type ApiAnswer } from './chaos/api-client';
import { checkAll, type CheckReport, type LinkedConnection } from './chaos/checks';
import { checkOrphan, storeOrphan } from './chaos/orphan-check';
import { makeFaults, makePlan, prng, type Fault } from './chaos/plan';
import { startLocalPostgres, type LocalPostgres } from './chaos/postgres';
import { WorkerProcess } from './chaos/worker-process';

const HELP = `npm run chaos -- [options]

  --connections N        connections to link (default 200)
  --duration S           seconds of faults and traffic (default 120)
  --seed N               seed of the plan and the fault schedule (default: random, printed)
  --settle S             longest wait for everything to converge afterwards (default 150)
  --worker-kills N       kill -9 of the worker (default: one per 12 s of duration)
  --temporal-restarts N  stop + start of the Temporal dev server (default 2)
  --postgres-restarts N  pg_ctl restart -m immediate (default 1)
  --postgres-outages N   PostgreSQL stopped (immediate) for 3-8 s, then started (default 1)
  --short-ttl S          token lifetime of the short-lived links, seconds (default 3)
  --pg-bin DIR           folder with initdb and pg_ctl (default: PG_BIN, /usr/lib/postgresql/<newest>/bin, PATH)
  --keep                 keep the run folder (logs, databases) even when the run passes
`;

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '200' },
    duration: { type: 'string', default: '120' },
    seed: { type: 'string' },
    settle: { type: 'string', default: '150' },
    'worker-kills': { type: 'string' },
    'temporal-restarts': { type: 'string', default: '2' },
    'postgres-restarts': { type: 'string', default: '1' },
    'postgres-outages': { type: 'string', default: '1' },
    'short-ttl': { type: 'string', default: '3' },
    'pg-bin': { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

function count(name: string, raw: string | undefined, min = 0): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
  return n;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const REPO_ROOT = path.resolve(__dirname, '..');
const TENANT = 'chaos';

const runStarted = Date.now();
const say = (line: string) =>
  process.stderr.write(`[chaos ${seconds(Date.now() - runStarted).padStart(6)}] ${line}\n`);

/** Longest wait for one clean-up step before moving on to the next (each part is killed at exit anyway). */
const CLEANUP_STEP_LIMIT_MS = 20_000;
/** After a signal, longest wait for the whole clean-up before everything is killed outright. */
const SIGNAL_EXIT_LIMIT_MS = 60_000;

/** Steps to undo, last first; run once on success, failure or a signal. */
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), CLEANUP_STEP_LIMIT_MS);
      });
      try {
        const outcome = await Promise.race([step.run(), limit]);
        if (outcome === 'timeout')
          say(`cleanup: ${step.name} did not stop within ${seconds(CLEANUP_STEP_LIMIT_MS)}; moving on`);
        else if (Date.now() - started > 2_000)
          say(`cleanup: ${step.name} took ${seconds(Date.now() - started)}`);
      } catch (err) {
        say(`cleanup: ${step.name} failed: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
  })();
  return cleaning;
}

let worker: WorkerProcess | undefined;
let postgres: LocalPostgres | undefined;
let runDir: string | undefined;
// Whatever happens, nothing we started outlives us (the dev server has its own exit hook).
process.on('exit', () => {
  worker?.killGroup('SIGKILL');
  postgres?.stopSync();
});
let aborted = false;
let abortedAt = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (aborted) {
      // Ctrl-C reaches us from the terminal and may be relayed once more: only a later one forces.
      if (Date.now() - abortedAt < 2_000) return;
      say(`second ${signal}: killing what is left`);
      process.exit(130);
    }
    aborted = true;
    abortedAt = Date.now();
    say(`${signal}: stopping everything`);
    // A step that hangs must not keep us (and what we started) alive: the exit hooks kill the rest.
    setTimeout(() => {
      say(`clean-up not finished after ${seconds(SIGNAL_EXIT_LIMIT_MS)}: killing what is left`);
      process.exit(130);
    }, SIGNAL_EXIT_LIMIT_MS).unref();
    void cleanup().finally(() => {
      if (runDir && !args.keep) rmSync(runDir, { recursive: true, force: true });
      else if (runDir) say(`run folder kept: ${runDir}`);
      say(`stopped in ${seconds(Date.now() - abortedAt)}`);
      process.exit(130);
    });
  });
}

interface FaultRecord {
  fault: Fault;
  startedAt: number;
  tookMs: number;
  error?: string;
}

async function main(): Promise<number> {
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const connections = count('connections', args.connections, 1);
  const durationMs = count('duration', args.duration, 10) * 1000;
  const settleMs = count('settle', args.settle, 0) * 1000;
  const seed = args.seed === undefined ? Math.floor(Math.random() * 1_000_000) : count('seed', args.seed);
  const shortTtlSeconds = count('short-ttl', args['short-ttl'], 2);
  const workerKills =
    args['worker-kills'] === undefined
      ? Math.max(3, Math.round(durationMs / 12_000))
      : count('worker-kills', args['worker-kills']);
  const faults = makeFaults({
    seed,
    durationMs,
    workerKills,
    temporalRestarts: count('temporal-restarts', args['temporal-restarts']),
    postgresRestarts: count('postgres-restarts', args['postgres-restarts']),
    postgresOutages: count('postgres-outages', args['postgres-outages']),
  });
  const plan = makePlan({ connections, seed, durationMs, shortTtlSeconds });
  runDir = mkdtempSync(path.join(tmpdir(), 'tether-chaos-'));
  let keep = args.keep;
  say(
    `seed ${seed} (rerun with --seed ${seed}); ${connections} connections; ${seconds(durationMs)} of faults; run folder ${runDir}`,
  );

  try {
    // ---- set-up: PostgreSQL, Temporal, simulators side by side ---------------------------------
    const setupStarted = Date.now();
    const [pgPort, temporalPort] = [await freePort(), await freePort()];
    const pgReady = (async () => {
      postgres = await startLocalPostgres({
        dir: path.join(runDir, 'pg'),
        port: pgPort,
        binDir: args['pg-bin'],
      });
      cleanups.push({ name: 'PostgreSQL', run: () => postgres!.stop() });
      await migrateDatabase(postgres.url);
      say(`PostgreSQL on 127.0.0.1:${pgPort} (data ${postgres.dataDir}), migrated`);
      return postgres;
    })();
    const temporalOptions: TemporalDevServerOptions = {
      port: temporalPort,
      headless: true,
      dbFile: path.join(runDir, 'temporal.db'),
      logFile: path.join(runDir, 'temporal.log'),
      searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
    };
    let temporalServer: TemporalDevServer | undefined;
    const temporalReady = (async () => {
      temporalOptions.cliPath = await ensureTemporalCli();
      temporalServer = await startTemporalDevServer(temporalOptions);
      cleanups.push({ name: 'Temporal dev server', run: () => temporalServer?.stop() ?? Promise.resolve() });
      say(`Temporal dev server on ${temporalServer.address} (persisted in ${temporalOptions.dbFile})`);
    })();
    const sim: RunningSimulators = await startSimulators();
    cleanups.push({ name: 'simulators', run: () => sim.close() });
    await Promise.all([pgReady, temporalReady]);
    const pg = postgres!;

    const env: Record<string, string> = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporalServer!.address,
      TETHER_TASK_QUEUE: `chaos-${seed}`,
      TETHER_ENCRYPTION_KEYS: `chaos:${randomBytes(32).toString('base64')}`,
      TETHER_ALLOW_INSECURE_LOOPBACK: 'true',
      // Short timings, so failures back off and recover within the run.
      TETHER_HEALTH_CHECK_INTERVAL_MS: '10000',
      TETHER_FAILURE_BACKOFF_BASE_MS: '500',
      TETHER_FAILURE_BACKOFF_CAP_MS: '4000',
      TETHER_REJECTION_LIMIT: '3',
      TETHER_RECONCILE_INTERVAL_MS: '5000',
      TETHER_VENDOR_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
    };
    // The worker gets our environment minus anything that would configure it differently.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(DATABASE_URL|TEMPORAL_|TETHER_|HOST$|PORT$|LOG_LEVEL$|NODE_OPTIONS$)/.test(k),
      ),
    );
    worker = new WorkerProcess({
      repoRoot: REPO_ROOT,
      env: { ...inherited, ...env },
      logFile: path.join(runDir, 'worker.log'),
    });
    cleanups.push({ name: 'worker', run: () => worker!.close() });
    const w = worker;

    // ---- the API, in this process ---------------------------------------------------------------
    const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
    const apiLog = createWriteStream(path.join(runDir, 'api.log'), { flags: 'a' });
    cleanups.push({ name: 'API log', run: () => new Promise<void>((r) => apiLog.end(() => r())) });
    const logger = createLogger('warn', 'chaos-api', apiLog);
    const services: Services = createServices(config, { logger });
    cleanups.push({ name: 'API database', run: () => services.close() });
    const temporalClient = await connectTemporalClient(config, services);
    cleanups.push({ name: 'API Temporal client', run: () => temporalClient.close() });
    const temporal: Client = temporalClient.client;
    const app = await startApi(config, services, temporal, logger);
    cleanups.push({ name: 'API', run: () => closeApi(app) });
    const address = app.server.address();
    const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const { key } = await createApiKey(services.db, { name: 'chaos', tenantId: TENANT });
    const api = new ChaosApiClient(apiUrl, key);
    const orphan = await storeOrphan(config, services, sim.baseUrl);

    await startWorkerWithRetries(w, Date.now() + 120_000);
    const setupMs = Date.now() - setupStarted;
    say(
      `set-up done in ${seconds(setupMs)}: API ${apiUrl}, worker pid ${w.pid} (ready in ${seconds(w.startDurationsMs[0]!)})`,
    );

    // ---- chaos phase ---------------------------------------------------------------------------
    const t0 = Date.now();
    const chaosEnd = t0 + durationMs;
    // Clients keep retrying their links and commands until then; faults may run late on a busy machine.
    let deadline = chaosEnd + settleMs;
    const links: LinkedConnection[] = plan.map((p) => ({ plan: p }));
    const commandStats = {
      revokes: 0,
      revokeAttempts: 0,
      rotations: 0,
      rotationAttempts: 0,
      linkAttempts: 0,
    };
    const rotationAnswers = new Map<string, number>();
    const unexpectedExits: string[] = [];
    let closing = false;

    // Worker operations one at a time: kills, restarts, and restarts after it died on its own.
    let workerChain: Promise<void> = Promise.resolve();
    const onWorker = (op: () => Promise<void>) => (workerChain = workerChain.then(op, op));
    w.onUnexpectedExit = (exit) => {
      unexpectedExits.push(`${seconds(exit.at - t0)}: ${exit.signal ?? `code ${exit.code}`}`);
      say(`worker exited on its own (${exit.signal ?? `code ${exit.code}`}): restarting it`);
      if (!closing) void onWorker(() => startWorkerWithRetries(w, deadline));
    };
    let temporalChain: Promise<void> = Promise.resolve();
    let postgresChain: Promise<void> = Promise.resolve();

    const faultRecords: FaultRecord[] = [];
    const runFault = async (fault: Fault): Promise<void> => {
      await sleep(Math.max(0, t0 + fault.atMs - Date.now()));
      if (aborted) return;
      const record = async (work: () => Promise<void>) => {
        const startedAt = Date.now();
        try {
          await work();
          faultRecords.push({ fault, startedAt, tookMs: Date.now() - startedAt });
        } catch (err) {
          faultRecords.push({
            fault,
            startedAt,
            tookMs: Date.now() - startedAt,
            error: (err as Error).message,
          });
          say(`fault ${fault.kind} failed: ${(err as Error).message.split('\n')[0]}`);
        }
      };
      switch (fault.kind) {
        case 'kill_worker':
          return onWorker(async () => {
            // Let each worker do some work before it dies.
            await sleep(Math.max(0, w.readyAt + 4_000 - Date.now()));
            await record(async () => {
              say(`kill -9 worker pid ${w.pid}; restarting in ${seconds(fault.downMs)}`);
              await w.kill9();
              await sleep(fault.downMs);
              await startWorkerWithRetries(w, deadline);
            });
          });
        case 'restart_temporal':
          return (temporalChain = temporalChain.then(() =>
            record(async () => {
              say('stopping the Temporal dev server');
              await temporalServer!.stop();
              temporalServer = undefined;
              temporalServer = await startWithRetries(() => startTemporalDevServer(temporalOptions), 3);
              say(`Temporal dev server back on ${temporalServer.address}`);
            }),
          ));
        case 'restart_postgres':
          return (postgresChain = postgresChain.then(() =>
            record(async () => {
              say('pg_ctl restart -m immediate');
              await pg.restartImmediate();
            }),
          ));
        case 'postgres_outage':
          return (postgresChain = postgresChain.then(() =>
            record(async () => {
              say(`PostgreSQL down (immediate stop) for ${seconds(fault.downMs)}`);
              await pg.crashAndStartAfter(fault.downMs);
              say('PostgreSQL started again');
            }),
          ));
      }
    };

    const linkTask = async (link: LinkedConnection): Promise<void> => {
      const p = link.plan;
      await sleep(Math.max(0, t0 + p.linkAtMs - Date.now()));
      const body = {
        vendor: p.vendor,
        instanceUrl:
          p.vendor === 'promapp' ? `${sim.baseUrl}/promapp/api/scim` : `${sim.baseUrl}/${p.vendor}`,
        credentials: p.credentials,
      };
      const { answer, attempts } = await api.until('POST', '/v1/connections', {
        body,
        headers: { 'idempotency-key': p.idempotencyKey },
        deadline,
        aborted: () => aborted,
      });
      commandStats.linkAttempts += attempts;
      if (answer?.status !== 202) {
        // Cut short by a signal: not a finding.
        if (aborted) return;
        const body = answer ? JSON.stringify(answer.body).slice(0, 200) : '';
        say(`link #${p.index} failed: ${answer?.status ?? 'no answer'} ${body}`);
        return;
      }
      link.id = (answer.body as { id: string }).id;
      if (p.commandAfterMs === undefined) return;
      await sleep(Math.min(p.commandAfterMs, Math.max(0, chaosEnd - Date.now())));
      if (p.kind === 'revoke') {
        const sent = await api.until('DELETE', `/v1/connections/${link.id}`, {
          deadline,
          aborted: () => aborted,
        });
        commandStats.revokes += 1;
        commandStats.revokeAttempts += sent.attempts;
      } else if (p.kind === 'rotate') {
        const retryRotation = (a: ApiAnswer) => {
          const reason = (a.body as { reason?: string } | null)?.reason;
          // The vendor or our database was unreachable, or an earlier attempt of ours superseded it.
          return a.status === 422 && (reason === 'vendor_unavailable' || reason === 'superseded');
        };
        const sent = await api.until('PUT', `/v1/connections/${link.id}/credentials`, {
          body: { credentials: p.rotateTo },
          deadline,
          retry: retryRotation,
          timeoutMs: 90_000,
          aborted: () => aborted,
        });
        commandStats.rotations += 1;
        commandStats.rotationAttempts += sent.attempts;
        const reason = (sent.answer?.body as { reason?: string } | null)?.reason;
        const label = `${sent.answer?.status ?? 'none'}${reason ? ` ${reason}` : ''}`;
        rotationAnswers.set(label, (rotationAnswers.get(label) ?? 0) + 1);
      }
    };

    // Reads and refreshes while all this goes on: the API must answer 503, never 500, when a part is down.
    const traffic = async () => {
      const random = prng(seed ^ 0x7aff1c);
      while (Date.now() < chaosEnd && !aborted) {
        const known = links.filter((l) => l.id);
        const target = known[Math.floor(random() * known.length)]?.id;
        const roll = random();
        if (!target || roll < 0.2) await api.request('GET', '/v1/connections?limit=50');
        else if (roll < 0.6) await api.request('GET', `/v1/connections/${target}`);
        else if (roll < 0.85) await api.request('GET', `/v1/connections/${target}/events`);
        else await api.request('POST', `/v1/connections/${target}/refresh`);
        await sleep(150 + random() * 200);
      }
    };

    const progress = setInterval(() => {
      void (async () => {
        const linked = links.filter((l) => l.id).length;
        const byStatus = await services.db.connection
          .groupBy({ by: ['status'], where: { tenantId: TENANT }, _count: true })
          .then((rows) => rows.map((r) => `${r.status} ${r._count}`).join(', '))
          .catch(() => 'database unavailable');
        say(
          `linked ${linked}/${connections}; ${byStatus}; worker starts ${w.starts}; API 503 ${api.unavailable}, other 5xx ${api.serverErrors.length}`,
        );
      })();
    }, 10_000);
    cleanups.push({ name: 'progress', run: async () => clearInterval(progress) });

    const linkTasks = links.map(linkTask);
    const faultTasks = faults.map(runFault);
    await Promise.all([traffic(), sleep(durationMs), ...faultTasks]);
    await Promise.all([workerChain, temporalChain, postgresChain]);
    const chaosMs = Date.now() - t0;
    say(`faults done after ${seconds(chaosMs)}; settling`);

    // ---- settle: everything up; wait for the links and commands, then for convergence ------------
    const settleStarted = Date.now();
    deadline = Math.max(deadline, settleStarted + settleMs);
    if (!w.running) await onWorker(() => startWorkerWithRetries(w, deadline));
    await Promise.all(linkTasks);
    let report: CheckReport;
    let rounds = 0;
    for (;;) {
      rounds += 1;
      report = await checkAll({
        db: services.db,
        temporal,
        secrets: services.secrets,
        tenantId: TENANT,
        links,
      });
      if (report.violations.length === 0 || Date.now() > deadline || aborted) break;
      if (rounds % 5 === 1)
        say(`not settled yet: ${report.violations.length} open (${summarizeViolations(report, 3)})`);
      await sleep(3_000);
    }
    const settledMs = Date.now() - settleStarted;
    // How well the short-lived tokens are kept up at the end: refreshes per connection in the last 30 s.
    const shortIds = links.filter((l) => l.plan.kind === 'short_ttl' && l.id).map((l) => l.id!);
    const recentRefreshes = await services.db.auditEvent.count({
      where: {
        connectionId: { in: shortIds },
        type: { in: ['refresh_succeeded', 'recovered'] },
        createdAt: { gte: new Date(Date.now() - 30_000) },
      },
    });
    clearInterval(progress);
    closing = true;

    // ---- graceful shutdown of the worker ---------------------------------------------------------
    await workerChain;
    const graceMs = 30_000;
    const violations = [...report.violations];
    let shutdownNote = 'not running';
    if (w.running) {
      const { exit, tookMs } = await w.terminate(graceMs);
      shutdownNote = `SIGTERM → ${exit.signal ?? `exit ${exit.code}`} in ${seconds(tookMs)}`;
      if (exit.code !== 0) violations.push({ check: 'graceful worker shutdown', detail: shutdownNote });
    }
    for (const e of api.serverErrors) {
      violations.push({
        check: 'no API 5xx but 503',
        detail: `${e.route} → ${e.status} at ${seconds(e.at - t0)}: ${e.body}`,
      });
    }
    for (const e of unexpectedExits)
      violations.push({ check: 'worker did not crash', detail: `exited on its own at ${e}` });
    violations.push(...(await checkOrphan(orphan, { services, temporal })));

    // ---- summary ---------------------------------------------------------------------------------
    const totalMs = Date.now() - runStarted;
    const byKind = (kind: Fault['kind']) => faultRecords.filter((r) => r.fault.kind === kind);
    const tookList = (records: FaultRecord[]) =>
      records.map((r) => seconds(r.tookMs) + (r.error ? ' (FAILED)' : '')).join(', ') || '-';
    const restarts = w.startDurationsMs.slice(1);
    const answers = [...api.counts.entries()].reduce<Record<string, number>>((acc, [k, n]) => {
      const status = k.split(' ').pop()!;
      const bucket = /^\d/.test(status) ? `${status[0]}xx` : status;
      acc[status === '503' ? '503' : bucket] = (acc[status === '503' ? '503' : bucket] ?? 0) + n;
      return acc;
    }, {});
    const lines = [
      '',
      `chaos run: seed ${seed}, ${connections} connections, ${seconds(durationMs)} of faults, ${new Date(runStarted).toISOString()}`,
      `  timings      set-up ${seconds(setupMs)}, chaos ${seconds(chaosMs)}, settle ${seconds(settledMs)} (${rounds} check rounds), total ${seconds(totalMs)}; ${cpus().length} cores, load average now ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `  faults       worker kill -9 ×${byKind('kill_worker').length} (kill → ready again: ${tookList(byKind('kill_worker'))})`,
      `               worker starts ${w.starts}, failed starts ${w.failedStarts.length}, start to ready median ${seconds(median(restarts))} max ${seconds(Math.max(0, ...restarts))}`,
      `               Temporal stop+start ×${byKind('restart_temporal').length} (${tookList(byKind('restart_temporal'))})`,
      `               PostgreSQL restart -m immediate ×${byKind('restart_postgres').length} (${tookList(byKind('restart_postgres'))}), outage ×${byKind('postgres_outage').length} (${tookList(byKind('postgres_outage'))})`,
      `  traffic      links ${links.filter((l) => l.id).length}/${connections} (${commandStats.linkAttempts} requests), revokes ${commandStats.revokes} (${commandStats.revokeAttempts} requests), rotations ${commandStats.rotations} (${commandStats.rotationAttempts} requests; final answers ${formatMap(rotationAnswers)})`,
      `  API answers  ${Object.entries(answers)
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
      `  503s         ${formatMap(api.unavailableReasons)}`,
      `  no answer    ${formatMap(new Map([...api.counts].filter(([k]) => k.endsWith('network-error'))))} (client timeout ${seconds(60_000)}, rotations ${seconds(90_000)})`,
      `  plan         ${formatMap(countBy(plan, (p) => `${p.kind}→${p.expected}`))}`,
      `  final        ${formatMap(new Map(Object.entries(report.statuses)))}`,
      `  audit        ${report.auditEvents} events, ${report.workflowEvents} written by workflows; eventSeq matched exactly ${report.auditExact}, with a transition in flight ${report.auditInFlight}`,
      `  workflows    running ${report.workflowsRunning}, completed ${report.workflowsCompleted}`,
      `  short tokens ${shortIds.length} with ${shortTtlSeconds} s lifetime: ${recentRefreshes} refreshes in the last 30 s (${(recentRefreshes / Math.max(shortIds.length, 1) / 30).toFixed(2)}/s each, ~${(1 / (shortTtlSeconds * 0.8)).toFixed(2)}/s keeps up); found expired with their refresh due or running ${report.lateRefreshes} (at most ${seconds(report.maxLateMs)} late)`,
      `  worker stop  ${shutdownNote}`,
    ];
    for (const [code, sample] of api.unavailableSamples) lines.push(`  503 sample   ${code}: ${sample}`);
    if (violations.length === 0) lines.push('  verdict      PASS: no violations');
    else {
      lines.push(`  verdict      FAIL: ${violations.length} violations`);
      for (const [check, list] of groupBy(violations, (v) => v.check)) {
        lines.push(`    ${check}: ${list.length}`);
        for (const v of list.slice(0, 5))
          lines.push(`      ${v.connection ? `${v.connection} ` : ''}${v.detail}`);
      }
      keep = true;
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    writeFileSync(
      path.join(runDir, 'summary.json'),
      JSON.stringify(
        {
          seed,
          connections,
          durationMs,
          setupMs,
          chaosMs,
          settledMs,
          totalMs,
          faults: faultRecords,
          violations,
          statuses: report.statuses,
        },
        null,
        2,
      ),
    );
    return violations.length === 0 ? 0 : 1;
  } catch (err) {
    // Stopped by a signal: the parts went away under the run; its handler exits.
    if (aborted) return 130;
    keep = true;
    say(`run failed: ${(err as Error).stack ?? String(err)}`);
    return 2;
  } finally {
    await cleanup();
    if (keep)
      say(
        `logs and data kept in ${runDir} (worker.log, api.log, temporal.log, pg/postgres.log, summary.json)`,
      );
    else rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * Closes the API. Fastify waits for requests in flight, and a command whose client gave up may still be
 * waiting on a Temporal update no worker will run any more: such connections are cut after a while.
 */
async function closeApi(app: Awaited<ReturnType<typeof startApi>>): Promise<void> {
  const closed = app.close();
  if (await Promise.race([closed.then(() => true), sleep(5_000).then(() => false)])) return;
  const open = await new Promise<number>((resolve) => app.server.getConnections((_err, n) => resolve(n)));
  say(`API: ${open} connections still open 5 s into close (requests still waiting); closing them`);
  app.server.closeAllConnections();
  await closed;
}

/** Starts the worker, trying again while it fails (Temporal or PostgreSQL may be down right now). */
async function startWorkerWithRetries(w: WorkerProcess, deadline: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (aborted) return;
    try {
      await w.start();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      say(`worker start #${attempt} failed (${(err as Error).message.split('\n')[0]}); retrying`);
      await sleep(1_000);
    }
  }
}

async function startWithRetries<T>(start: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts) throw err;
      say(`start failed (${(err as Error).message.split('\n')[0]}); retrying`);
      await sleep(1_000);
    }
  }
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const map = new Map<string, number>();
  for (const item of items) map.set(key(item), (map.get(key(item)) ?? 0) + 1);
  return map;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}

const formatMap = (map: Map<string, number>) =>
  [...map.entries()]
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

function summarizeViolations(report: CheckReport, n: number): string {
  return [...groupBy(report.violations, (v) => v.check).entries()]
    .map(
      ([check, list]) =>
        `${check} ${list.length}: ${list
          .slice(0, n)
          .map((v) => v.detail)
          .join('; ')}`,
    )
    .join(' | ');
}

void main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    void cleanup().finally(() => process.exit(2));
  },
);
