// Everything one benchmark run needs, started in order and stopped in reverse: a Temporal CLI dev
// server, a fresh PostgreSQL database (test/support/database.ts) with the bench's measurement hooks,
// the vendor simulators, the API listening on a loopback port (real HTTP), and the worker in a child
// process (bench/worker-process.ts) so its memory is measured alone. API and worker are wired as in
// production (main/services.ts), configured by the same environment variables.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { connectTemporalClient, createApi, createServices, type Api } from '../main/services';
import { createApiKey } from '../platform/api-keys';
import { loadConfig } from '../platform/config';
import type { Db } from '../platform/db';
import { createLogger } from '../platform/logger';
import { FAILURE_CONVERTER_PATH, type EncryptionCodec } from '../platform/payload-codec';
import type { SecretStore } from '../platform/secret-store';
import {
  ensureTemporalCli,
  startTemporalDevServer,
  type TemporalDevServer,
} from '../dev/temporal-dev-server';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import type { SimulatorOptions } from '../simulators/simulator-options';
import { createTestDatabase } from '../test/support/database';
import { serviceEnvironment } from '../test/support/environment';
import type { WorkerTuning } from '../worker/create-worker';
import type { MaintenancePolicy } from '../domain/policy';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';
import { CpuMonitor } from './cpu';
import { installInstrumentation, StatusListener } from './instrument';
import type { ApiToParent, MemorySample, ToParent, WorkerSettings } from './protocol';

export const TENANT = 'bench';
/** The API's per-key limit and the tenant's quota are lifted: the benchmark measures the service, not its limits. */
const RATE_LIMIT_PER_MINUTE = 1_000_000_000;
const CONNECTIONS_QUOTA = 1_000_000_000;

export interface WorkerHandle {
  pid: number;
  settings: WorkerSettings;
  samples: MemorySample[];
  stop(): Promise<void>;
}

export interface ApiProcessHandle {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export interface Harness {
  cliPath: string;
  server: TemporalDevServer;
  databaseUrl: string;
  db: Db;
  secrets: SecretStore;
  codec: EncryptionCodec;
  client: Client;
  sim: RunningSimulators;
  /** The API as customers reach it: listening on 127.0.0.1, production policy. */
  api: Api;
  apiUrl: string;
  /** A tenant API key for `bench` (kept in memory and passed to children in their environment only). */
  apiKey: string;
  listener: StatusListener;
  cpu: CpuMonitor;
  /** Child processes of the benchmark (pid → role), counted as its own CPU use. */
  childPids: Map<number, string>;
  taskQueue: string;
  bareTaskQueue: string;
  /** An API (not listening, driven with inject) whose new lifecycles get this policy. */
  apiWithPolicy(policy: Partial<MaintenancePolicy>): Promise<Api>;
  /**
   * A worker process; several may run at once on the task queue. `env` overrides the run's service settings
   * for this process alone (the herd phase's per-host token cap).
   */
  startWorker(options: {
    tuning?: WorkerTuning;
    dbPool?: number;
    withBare?: boolean;
    env?: Record<string, string>;
  }): Promise<WorkerHandle>;
  /** Another API replica in its own process (bench/api-process.ts), same settings, listening on 127.0.0.1. */
  startApiProcess(): Promise<ApiProcessHandle>;
  instanceUrl(vendor: string): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** The simulators' limits (the jobs phase sets Slack's SCIM limits). */
  simulators?: SimulatorOptions;
  /** Service settings for every process of the run (the jobs phase sets the matching budgets). */
  env?: Record<string, string>;
}

export async function startHarness(
  log: (line: string) => void,
  options: HarnessOptions = {},
): Promise<Harness> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const step of cleanups.reverse())
      await step().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
    cleanups.length = 0;
  };
  try {
    const cliPath = await ensureTemporalCli();
    const workDir = mkdtempSync(path.join(tmpdir(), 'tether-bench-'));
    cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));
    const bundlePath = path.join(workDir, 'workflows.js');
    const bareBundlePath = path.join(workDir, 'bare-workflow.js');
    log('starting the Temporal dev server and bundling workflows');
    const quiet = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: console.warn,
      error: console.error,
      log: () => {},
    };
    const [server, bundle, bareBundle] = await Promise.all([
      startTemporalDevServer({ headless: true, cliPath, searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES } }),
      bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
        logger: quiet,
      }),
      bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflow'), logger: quiet }),
    ]);
    cleanups.push(() => server.stop());
    writeFileSync(bundlePath, bundle.code);
    writeFileSync(bareBundlePath, bareBundle.code);

    log('creating a fresh database');
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    await installInstrumentation(database.url);
    const listener = new StatusListener(database.url);
    await listener.start();
    cleanups.push(() => listener.stop());

    const sim = await startSimulators(options.simulators);
    cleanups.push(() => sim.close());
    const taskQueue = `bench-${randomUUID()}`;
    const bareTaskQueue = `bench-bare-${randomUUID()}`;
    // The service's configuration, shared with the worker process; a throw-away key for this run.
    const serviceEnv = {
      ...serviceEnvironment({
        databaseUrl: database.url,
        temporalAddress: server.address,
        taskQueue,
        encryptionKeys: `bench:${randomBytes(32).toString('base64')}`,
        simulatorsUrl: sim.baseUrl,
        rateLimitPerMinute: RATE_LIMIT_PER_MINUTE,
        quotas: { connections: CONNECTIONS_QUOTA },
      }),
      // Every simulated tenant's instance is this one loopback host: the per-host token cap, meant for one
      // vendor's host, would measure itself instead of tether.
      TETHER_TOKEN_REQUESTS_PER_HOST: '1000000/1/1000',
      ...options.env,
    };
    const config = loadConfig(serviceEnv);
    const services = createServices(config, { logger: createLogger('error', 'bench') });
    cleanups.push(() => services.close());
    const { db, secrets, codec } = services;
    const temporal = await connectTemporalClient(config, services);
    cleanups.push(() => temporal.close());
    const client = temporal.client;

    // Without a logger, as the API's request log is not what is measured.
    const apiWithPolicy = async (policy: Partial<MaintenancePolicy>) => {
      const app = await createApi({ ...config, policy }, services, client);
      cleanups.push(() => app.close());
      return app;
    };
    const api = await apiWithPolicy(config.policy);
    await api.listen({ host: '127.0.0.1', port: 0 });
    const address = api.server.address();
    const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const apiKey = (await createApiKey(db, { name: 'bench', tenantId: TENANT })).key;

    const children = new Set<ChildProcess>();
    cleanups.push(async () => {
      for (const child of children) child.kill('SIGKILL');
    });
    const childPids = new Map<number, string>();
    const cpu = new CpuMonitor(async () => [
      { pid: process.pid, role: 'bench' },
      { pid: server.pid, role: 'temporal' },
      ...[...childPids].map(([pid, role]) => ({ pid, role })),
      ...(await listener.backendPids()).map((pid) => ({ pid, role: 'postgres' })),
    ]);
    cpu.start();
    cleanups.push(async () => cpu.stop());

    const startWorker: Harness['startWorker'] = (options) =>
      new Promise((resolve, reject) => {
        const child = fork(path.join(__dirname, 'worker-process.ts'), [], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          env: {
            ...process.env,
            ...serviceEnv,
            BENCH_BUNDLE: bundlePath,
            BENCH_TUNING: JSON.stringify(options.tuning ?? {}),
            ...(options.dbPool ? { BENCH_DB_POOL: String(options.dbPool) } : {}),
            ...(options.withBare
              ? { BENCH_BARE_BUNDLE: bareBundlePath, BENCH_BARE_TASK_QUEUE: bareTaskQueue }
              : {}),
            ...options.env,
          },
        });
        children.add(child);
        childPids.set(child.pid!, 'worker');
        const samples: MemorySample[] = [];
        let stopped: Promise<void> | undefined;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.once('exit', (code) => {
          children.delete(child);
          reject(new Error(`bench worker exited early (code ${code})`));
        });
        let settings: WorkerSettings | undefined;
        child.on('message', (message: ToParent) => {
          if (message.type === 'ready') settings = message.settings;
          if (message.type !== 'memory') return;
          const { type: _type, ...sample } = message;
          samples.push(sample);
          // Ready once running and measured once, so a phase always has a baseline sample.
          if (samples.length === 1 && settings) {
            resolve({
              pid: child.pid!,
              settings,
              samples,
              stop() {
                stopped ??= (async () => {
                  if (child.connected) child.send({ type: 'stop' });
                  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
                  await exited;
                  clearTimeout(timer);
                })();
                return stopped;
              },
            });
          }
        });
      });

    const startApiProcess: Harness['startApiProcess'] = () =>
      new Promise((resolve, reject) => {
        const child = fork(path.join(__dirname, 'api-process.ts'), [], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          env: { ...process.env, ...serviceEnv },
        });
        children.add(child);
        childPids.set(child.pid!, 'api');
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.once('exit', (code) => {
          children.delete(child);
          reject(new Error(`bench API process exited early (code ${code})`));
        });
        let stopped: Promise<void> | undefined;
        child.on('message', (message: ApiToParent) => {
          if (message.type !== 'listening') return;
          resolve({
            pid: child.pid!,
            url: `http://127.0.0.1:${message.port}`,
            stop() {
              stopped ??= (async () => {
                child.kill('SIGTERM');
                const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
                await exited;
                clearTimeout(timer);
              })();
              return stopped;
            },
          });
        });
      });

    return {
      cliPath,
      server,
      databaseUrl: database.url,
      db,
      secrets,
      codec,
      client,
      sim,
      api,
      apiUrl,
      apiKey,
      listener,
      cpu,
      childPids,
      taskQueue,
      bareTaskQueue,
      apiWithPolicy,
      startWorker,
      startApiProcess,
      instanceUrl: (vendor) => `${sim.baseUrl}/${vendor}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
