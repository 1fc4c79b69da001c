// Messages between bench/run.ts and its worker process (bench/worker-process.ts), over Node's IPC.
import type { WorkerTuning } from '../worker/create-worker';

/** The worker's effective settings, as the SDK compiled them (defaults filled in). */
export interface WorkerSettings {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number | null;
  maxConcurrentActivityTaskExecutions: number | null;
  maxConcurrentLocalActivityExecutions: number | null;
  workflowTaskPollers: string;
  activityTaskPollers: string;
  reuseV8Context: boolean;
  workflowThreadPoolSize: number;
  v8HeapLimitMiB: number;
  dbPoolSize: number;
  tuningRequested: WorkerTuning;
}

export interface MemorySample {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export type ToParent =
  { type: 'ready'; settings: WorkerSettings } | ({ type: 'memory' } & MemorySample) | { type: 'stopped' };

export type ToWorker = { type: 'stop' };

/** From the second API process (bench/api-process.ts): where it listens. */
export type ApiToParent = { type: 'listening'; port: number };
