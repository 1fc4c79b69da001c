// The benchmark's worker: a child process of bench/run.ts, so its memory is the worker's alone (the
// API, the simulators and the load drivers live in the parent). It runs the real worker, wired as
// main/worker.ts wires it (main/services.ts), on the tether task queue and, when asked, the bare worker
// (bench/bare-*) on its own queue, and reports process memory to the parent once per BENCH_SAMPLE_MS.
// Configuration comes in environment variables (keys too: never on the command line, never logged).
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createServices, startWorker } from '../main/services';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { encryptedDataConverter } from '../platform/payload-codec';
import type { WorkerTuning } from '../worker/create-worker';
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
  // The service's own variables (DATABASE_URL, TEMPORAL_ADDRESS, TETHER_*), read as main/worker.ts reads them.
  const config = loadConfig(process.env);
  const services = createServices(config, {
    logger: createLogger('error', 'bench-worker'),
    maxConnections: poolSize,
  });
  const tether = await startWorker(config, services, {
    workflowBundle: { code: readFileSync(env('BENCH_BUNDLE'), 'utf8') },
    tuning,
  });
  const running: Promise<void>[] = [tether.done];
  let bare: { worker: Worker; connection: NativeConnection } | undefined;
  if (process.env.BENCH_BARE_BUNDLE) {
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    bare = {
      connection,
      worker: await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: env('BENCH_BARE_TASK_QUEUE'),
        dataConverter: encryptedDataConverter(services.codec),
        workflowBundle: { code: readFileSync(process.env.BENCH_BARE_BUNDLE, 'utf8') },
        activities: bareActivities,
        ...tuning,
      }),
    };
    running.push(bare.worker.run());
  }

  const o = tether.worker.options;
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
    if (bare?.worker.getState() === 'RUNNING') bare.worker.shutdown();
    await tether.stop();
    await Promise.allSettled(running);
    await bare?.connection.close().catch(() => undefined);
    await services.close().catch(() => undefined);
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
