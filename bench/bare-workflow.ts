// The floor the link latency is compared with: a workflow that runs one no-op activity, the least a
// link can cost on Temporal (a start, a workflow task, one activity, the task that completes it). It is
// bundled on its own (bench/run.ts) and served by its own worker on its own task queue against the same
// Temporal server, so the link's excess over it is tether's own work.
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

// The same timeouts as the lifecycle's vendor activities, so the server does the same bookkeeping.
const { noop } = proxyActivities<BareActivities>({
  startToCloseTimeout: '45s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 4 },
});

export async function bareWorkflow(): Promise<number> {
  return noop(0);
}
