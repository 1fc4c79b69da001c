// One provisioning job (workflow id `provision:<jobId>`): run one operation at the vendor through the
// connection, wait while the connection is temporarily unusable (up to a deadline), retry transient
// failures with backoff and the vendor's Retry-After, wait for the shared rate budget on a timer, and
// record how it ended (row, audit event, webhooks). Only ids, statuses and reasons travel through
// history: the token is read inside the activity, the person's attributes stay in the Job row.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
  startChild,
} from '@temporalio/workflow';
import type { JobActivities, JobOutcome } from '../activities/provisioning-job';
import { FailureType } from '../domain/failures';
import {
  JOB_FAILURE_TYPES,
  LONG_WAIT_POLL_CAP_MS,
  type JobFailureReason,
  type JobPolicy,
} from '../domain/jobs';
import { unexplainedFailure } from './classify-failure';
import { afterBudgetWaits } from './rate-budget-wait';
import { webhookDelivery } from './webhook-delivery';
import { webhookDeliveryWorkflowId } from './ids';

/** Failures whose message the vendor toolkit wrote for the customer. */
const VENDOR_TEXTS: string[] = [FailureType.VendorUnavailable, FailureType.RateLimited];

export interface ProvisioningJobInput {
  jobId: string;
  policy: JobPolicy;
}

export async function provisioningJob({ jobId, policy }: ProvisioningJobInput): Promise<JobOutcome> {
  const vendor = proxyActivities<JobActivities>({
    startToCloseTimeout: '60s',
    // worker/heartbeat.ts heartbeats: a crashed worker's attempt is retried after 10 s.
    heartbeatTimeout: '10s',
    // A cancel waits for an attempt in flight to end, so a user created meanwhile is never unreported.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: {
      initialInterval: policy.retry.initialIntervalMs,
      maximumInterval: policy.retry.maximumIntervalMs,
      backoffCoefficient: 2,
      maximumAttempts: policy.retry.maximumAttempts,
      nonRetryableErrorTypes: [JOB_FAILURE_TYPES.refused, JOB_FAILURE_TYPES.connectionNotReady],
    },
  });
  const store = proxyActivities<JobActivities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });

  let outcome: JobOutcome;
  try {
    outcome = await run();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    outcome = { status: 'cancelled' };
  }
  await CancellationScope.nonCancellable(async () => {
    const { deliveries } = await store.finishJob({ jobId, outcome });
    for (const deliveryId of deliveries) {
      await startChild(webhookDelivery, {
        workflowId: webhookDeliveryWorkflowId(deliveryId),
        args: [{ deliveryId, retry: policy.webhookRetry }],
        parentClosePolicy: 'ABANDON',
      });
    }
  });
  return outcome;

  async function run(): Promise<JobOutcome> {
    const deadline = Date.now() + policy.connectionWaitMs;
    let waiting = false;
    let pollMs = policy.connectionPollMs;
    for (;;) {
      try {
        const result = await afterBudgetWaits(() => vendor.runJobOperation({ jobId }));
        return { status: 'succeeded', result };
      } catch (err) {
        if (isCancellation(err)) throw err;
        if (!(err instanceof ActivityFailure)) throw err;
        const failure = err.cause;
        // Retries used up on a vendor that stayed unavailable, kept throttling or never answered.
        const outage =
          !(failure instanceof ApplicationFailure) ||
          (failure.type !== JOB_FAILURE_TYPES.refused &&
            failure.type !== JOB_FAILURE_TYPES.connectionNotReady);
        // Only the vendor toolkit's own texts reach the customer; timeouts and unclassified errors get a fixed one.
        const message =
          failure instanceof ApplicationFailure && VENDOR_TEXTS.includes(failure.type ?? '')
            ? failure.message
            : failure instanceof ApplicationFailure && !outage
              ? failure.message
              : unexplainedFailure(failure);
        // Without waitThroughOutages the commands are the ones this workflow always emitted.
        if (outage && !policy.waitThroughOutages) {
          return { status: 'failed', reason: 'vendor_unavailable', message };
        }
        if (failure instanceof ApplicationFailure && failure.type === JOB_FAILURE_TYPES.refused) {
          const reason = (failure.details?.[0] as { reason: JobFailureReason }).reason;
          return { status: 'failed', reason, message: failure.message };
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          const waited = `for longer than ${Math.round(policy.connectionWaitMs / 1000)} s`;
          return outage
            ? { status: 'failed', reason: 'vendor_unavailable', message: `${message} ${waited}` }
            : { status: 'failed', reason: 'connection_wait_expired', message: `${message} ${waited}` };
        }
        // An outage's last attempt marked the job running again: it waits once more.
        if (!waiting || outage) await store.markJobWaiting({ jobId });
        waiting = true;
        await sleep(Math.min(pollMs, left));
        if (policy.waitThroughOutages) pollMs = Math.min(pollMs * 2, LONG_WAIT_POLL_CAP_MS);
      }
    }
  }
}
