// The floor the link latency is compared with: a workflow that runs N no-op activities one after
// another (as a link runs its activities), bundled on its own (bench/run.ts) and served by its own
// worker on its own task queue against the same Temporal server. N is counted from a real link's
// history by the benchmark, never assumed.
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

// The same timeouts as the lifecycle's vendor activities, so the server does the same bookkeeping.
const { noop } = proxyActivities<BareActivities>({
  startToCloseTimeout: '45s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 4 },
});

export async function bareWorkflow(input: { activities: number }): Promise<number> {
  for (let i = 0; i < input.activities; i++) await noop(i);
  return input.activities;
}
