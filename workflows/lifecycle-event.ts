// One person's lifecycle event (workflow id `lifecycle:<eventId>`): one provisioning job per target, each
// its own child workflow `provision:<jobId>` (the job workflow the API starts, with its exactly-once
// guarantees), all running at once; a target whose connection or vendor is down waits without holding
// up the others. Once every job has ended the event records its outcome and announces it. Only ids,
// vendors and policies travel through history: the person's attributes stay in the rows.
import { ChildWorkflowFailure, executeChild, proxyActivities, startChild } from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle-event';
import type { JobPolicy } from '../domain/jobs';
import type { LifecycleEventStatus } from '../domain/lifecycle-events';
import { jobWorkflowId } from './ids';
import { provisioningJob } from './provisioning-job';
import { TENANT, VENDOR } from './search-attributes';
import { webhookDelivery } from './webhook-delivery';

export interface LifecycleEventInput {
  eventId: string;
  tenantId: string;
  /** The targets' jobs, already stored with their inputs. */
  targets: { jobId: string; vendor: string }[];
  /** The jobs' policy (a leaver's waits longer, and through vendor outages). */
  policy: JobPolicy;
}

export interface LifecycleEventResult {
  eventId: string;
  status: LifecycleEventStatus;
}

export async function lifecycleEvent({
  eventId,
  tenantId,
  targets,
  policy,
}: LifecycleEventInput): Promise<LifecycleEventResult> {
  const store = proxyActivities<LifecycleActivities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });

  await Promise.all(
    targets.map(async ({ jobId, vendor }) => {
      try {
        await executeChild(provisioningJob, {
          workflowId: jobWorkflowId(jobId),
          args: [{ jobId, policy }],
          // A job runs to its end even if this workflow is terminated: it may be acting at the vendor.
          parentClosePolicy: 'ABANDON',
          typedSearchAttributes: [
            { key: VENDOR, value: vendor },
            { key: TENANT, value: tenantId },
          ],
        });
      } catch (err) {
        // A job that ended without recording an outcome (terminated by an operator) leaves its row
        // unfinished: the event then ends with failures.
        if (!(err instanceof ChildWorkflowFailure)) throw err;
      }
    }),
  );

  const { status, deliveries } = await store.finishLifecycleEvent({ eventId });
  for (const deliveryId of deliveries) {
    await startChild(webhookDelivery, {
      workflowId: `webhook:${deliveryId}`,
      args: [{ deliveryId, retry: policy.webhookRetry }],
      parentClosePolicy: 'ABANDON',
    });
  }
  return { eventId, status };
}
