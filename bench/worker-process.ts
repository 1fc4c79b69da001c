// The benchmark's worker: a child process of bench/run.ts, so its memory is the worker's alone (the
// API, the simulators and the load drivers live in the parent). It runs the real worker
// (worker/create-worker.ts) on the tether task queue and, when asked, the bare worker (bench/bare-*)
// on its own queue, and reports process memory to the parent once per BENCH_SAMPLE_MS.
// Configuration comes in environment variables (keys too: never on the command line, never logged).
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createPrismaClient } from '../platform/db';
import { EncryptionCodec, encryptedDataConverter } from '../platform/payload-codec';
import { createSecretBox } from '../platform/secret-box';
import { createSecretStore } from '../platform/secret-store';
import { createVendorHttp } from '../vendor-kit/vendor-http';
import { slackEndpointsAt } from '../catalog/slack';
import { createWorker, type WorkerTuning } from '../worker/create-worker';
import { bareActivities } from './bare-activities';
import type { ToParent, ToWorker, WorkerSettings } from './protocol';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const send = (message: ToParent) => process.send?.(message);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const tuning = JSON.parse(process.env.BENCH_TUNING ?? '{}') as WorkerTuning;
  const poolSize = Number(process.env.BENCH_DB_POOL) || undefined;
  const db = createPrismaClient(env('BENCH_DATABASE_URL'), { maxConnections: poolSize });
  const keys = new Map([['bench', Buffer.from(env('BENCH_SECRET_KEY'), 'hex')]]);
  const codec = new EncryptionCodec(
    new Map([['bench', Buffer.from(env('BENCH_CODEC_KEY'), 'hex')]]),
    'bench',
  );
  const http = createVendorHttp({
    timeoutMs: 5_000,
    maxResponseBytes: 1_048_576,
    allowInsecureLoopback: true,
  });
  const connection = await NativeConnection.connect({ address: env('BENCH_TEMPORAL_ADDRESS') });

  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: env('BENCH_TASK_QUEUE'),
    db,
    secrets: createSecretStore(db, createSecretBox(keys, 'bench')),
    http,
    endpoints: slackEndpointsAt(env('BENCH_SLACK_BASE_URL')),
    codec,
    workflowBundle: { code: readFileSync(env('BENCH_BUNDLE'), 'utf8') },
    tuning,
  });
  const workers: Worker[] = [worker];
  if (process.env.BENCH_BARE_BUNDLE) {
    workers.push(
      await Worker.create({
        connection,
        namespace: 'default',
        taskQueue: env('BENCH_BARE_TASK_QUEUE'),
        dataConverter: encryptedDataConverter(codec),
        workflowBundle: { code: readFileSync(process.env.BENCH_BARE_BUNDLE, 'utf8') },
        activities: bareActivities,
        ...tuning,
      }),
    );
  }
  const running = workers.map((w) => w.run());

  const o = worker.options;
  const slots = (s: unknown) => (s as { type?: string; numSlots?: number } | undefined)?.numSlots ?? null;
  const settings: WorkerSettings = {
    maxCachedWorkflows: o.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: slots(o.tuner.workflowTaskSlotSupplier),
    maxConcurrentActivityTaskExecutions: slots(o.tuner.activityTaskSlotSupplier),
    maxConcurrentLocalActivityExecutions: slots(o.tuner.localActivityTaskSlotSupplier),
    workflowTaskPollers: describePoller(o.workflowTaskPollerBehavior),
    activityTaskPollers: describePoller(o.activityTaskPollerBehavior),
    reuseV8Context: o.reuseV8Context,
    workflowThreadPoolSize: o.workflowThreadPoolSize,
    v8HeapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 1_048_576),
    dbPoolSize: poolSize ?? 10,
    tuningRequested: tuning,
  };
  send({ type: 'ready', settings });

  const sampleMs = Number(process.env.BENCH_SAMPLE_MS) || 1000;
  const sample = () => {
    const m = process.memoryUsage();
    send({
      type: 'memory',
      at: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    });
  };
  sample();
  const timer = setInterval(sample, sampleMs);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await connection.close().catch(() => undefined);
    await http.close().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    send({ type: 'stopped' });
    process.exit(0);
  };
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') void stop();
  });
  // The parent died without saying so: never outlive it.
  process.on('disconnect', () => void stop());
  for (const r of running)
    r.catch((err: unknown) => {
      console.error('worker failed:', err instanceof Error ? err.message : err);
      void stop();
    });
}

function describePoller(p: unknown): string {
  const b = p as { type: string; maximum?: number; minimum?: number; initial?: number };
  return b.type === 'simple-maximum' ? `max ${b.maximum}` : `autoscaling ${b.minimum}..${b.maximum}`;
}

main().catch((err: unknown) => {
  console.error('bench worker could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
