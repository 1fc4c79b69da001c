// The worker: the lifecycle workflow plus activities built with their dependencies.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createJobActivities } from '../activities/provisioning-job';
import { createLifecycleActivities } from '../activities/lifecycle-event';
import type { VendorEndpoints } from '../vendor-kit/definition';
import type { Db } from '../platform/db';
import { encryptedDataConverter, type EncryptionCodec } from '../platform/payload-codec';
import type { SecretStore } from '../platform/secret-store';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import type { SharedRateLimits } from '../vendor-kit/rate-limits';
import { heartbeatWhileRunning } from './heartbeat';

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  secrets: SecretStore;
  http: VendorHttp;
  /** Overrides of fixed vendor URLs (Slack's): tests and the demo point them at the simulators. */
  endpoints?: VendorEndpoints;
  /** The vendor rate limits every process shares; unset, vendor requests take no budget. */
  rateLimits?: SharedRateLimits;
  /** Encrypts every payload the worker sends to Temporal. */
  codec: EncryptionCodec;
  /** The tenant's pending webhook deliveries quota (TETHER_QUOTA_PENDING_DELIVERIES). */
  pendingDeliveriesLimit?: number;
  /** A prebuilt workflow bundle (tests share one); otherwise the worker bundles workflows/ itself. */
  workflowBundle?: { code: string };
  /** Concurrency and workflow cache; unset fields keep the SDK's defaults (bench/ varies and reports them). */
  tuning?: WorkerTuning;
}

export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxCachedWorkflows'
>;

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const activityDeps = {
    db: deps.db,
    secrets: deps.secrets,
    http: deps.http,
    endpoints: deps.endpoints,
    pendingDeliveriesLimit: deps.pendingDeliveriesLimit,
    rateLimits: deps.rateLimits,
  };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    dataConverter: encryptedDataConverter(deps.codec),
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    ...deps.tuning,
    activities: {
      ...createActivities(activityDeps),
      ...createJobActivities(activityDeps),
      ...createLifecycleActivities({ db: deps.db }),
    },
    // A crashed worker's activities are retried after the heartbeat timeout, not the start-to-close one.
    interceptors: { activity: [heartbeatWhileRunning] },
    // On shutdown, activities in flight get this long to finish before they are asked to cancel
    // (within the 30 s after which main/worker.ts exits regardless).
    shutdownGraceTime: '20s',
  });
}
