// Everything one benchmark run needs, started in order and stopped in reverse: a Temporal CLI dev
// server, a fresh PostgreSQL database (test/support/database.ts) with the bench's measurement hooks,
// the vendor simulators, the API listening on a loopback port (real HTTP), and the worker in a child
// process (bench/worker-process.ts) so its memory is measured alone.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { slackEndpointsAt } from '../catalog/slack';
import { createApiKey } from '../platform/api-keys';
import { createPrismaClient, type Db } from '../platform/db';
import { EncryptionCodec, encryptedDataConverter } from '../platform/payload-codec';
import { createSecretBox } from '../platform/secret-box';
import { createSecretStore, type SecretStore } from '../platform/secret-store';
import {
  ensureTemporalCli,
  startTemporalDevServer,
  type TemporalDevServer,
} from '../dev/temporal-dev-server';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import { createTestDatabase } from '../test/support/database';
import type { WorkerTuning } from '../worker/create-worker';
import type { MaintenancePolicy } from '../domain/policy';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';
import { CpuMonitor } from './cpu';
import { installInstrumentation, StatusListener } from './instrument';
import type { MemorySample, ToParent, WorkerSettings } from './protocol';

export const TENANT = 'bench';
/** The API's per-key limit is lifted: the benchmark measures the service, not the limiter. */
const RATE_LIMIT_PER_MINUTE = 1_000_000_000;

export type Api = Awaited<ReturnType<typeof buildApp>>;

export interface WorkerHandle {
  pid: number;
  settings: WorkerSettings;
  samples: MemorySample[];
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
  startWorker(options: { tuning?: WorkerTuning; dbPool?: number; withBare?: boolean }): Promise<WorkerHandle>;
  instanceUrl(vendor: string): string;
  close(): Promise<void>;
}

export async function startHarness(log: (line: string) => void): Promise<Harness> {
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
      bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quiet }),
      bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflow'), logger: quiet }),
    ]);
    cleanups.push(() => server.stop());
    writeFileSync(bundlePath, bundle.code);
    writeFileSync(bareBundlePath, bareBundle.code);

    log('creating a fresh database');
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    await installInstrumentation(database.url);
    const db = createPrismaClient(database.url);
    cleanups.push(() => db.$disconnect());
    const listener = new StatusListener(database.url);
    await listener.start();
    cleanups.push(() => listener.stop());

    // Throw-away keys for this run's database and payloads.
    const secretKey = randomBytes(32);
    const codecKey = randomBytes(32);
    const secrets = createSecretStore(db, createSecretBox(new Map([['bench', secretKey]]), 'bench'));
    const codec = new EncryptionCodec(new Map([['bench', codecKey]]), 'bench');

    const sim = await startSimulators();
    cleanups.push(() => sim.close());
    const endpoints = slackEndpointsAt(`${sim.baseUrl}/slack`);

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, dataConverter: encryptedDataConverter(codec) });
    const taskQueue = `bench-${randomUUID()}`;
    const bareTaskQueue = `bench-bare-${randomUUID()}`;

    const apiWithPolicy = async (policy: Partial<MaintenancePolicy>) => {
      const app = await buildApp({
        db,
        temporal: client,
        secrets,
        taskQueue,
        urlPolicy: { allowInsecureLoopback: true },
        policy,
        vendorEndpoints: endpoints,
        rateLimitPerMinute: RATE_LIMIT_PER_MINUTE,
      });
      cleanups.push(() => app.close());
      return app;
    };
    const api = await apiWithPolicy({});
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
            BENCH_DATABASE_URL: database.url,
            BENCH_TEMPORAL_ADDRESS: server.address,
            BENCH_TASK_QUEUE: taskQueue,
            BENCH_BUNDLE: bundlePath,
            BENCH_SLACK_BASE_URL: `${sim.baseUrl}/slack`,
            BENCH_SECRET_KEY: secretKey.toString('hex'),
            BENCH_CODEC_KEY: codecKey.toString('hex'),
            BENCH_TUNING: JSON.stringify(options.tuning ?? {}),
            ...(options.dbPool ? { BENCH_DB_POOL: String(options.dbPool) } : {}),
            ...(options.withBare
              ? { BENCH_BARE_BUNDLE: bareBundlePath, BENCH_BARE_TASK_QUEUE: bareTaskQueue }
              : {}),
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
      instanceUrl: (vendor) => `${sim.baseUrl}/${vendor}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
