// How the connection workflow calls its activities: vendor calls fail fast into the machine's backoff,
// bookkeeping in our own database is retried until it succeeds.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ConnectionActivities } from '../activities';
import { PERMANENT_FAILURES } from '../domain/failures';

// Calls to the vendor: a few quick retries inside the activity for blips; longer outages are the
// machine's business (degraded + backoff), so a command such as revoke never waits behind them.
// Every activity heartbeats while it runs (worker/heartbeat.ts): a crashed worker's attempt is retried
// after heartbeatTimeout rather than after the whole start-to-close timeout.
export const vendor = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '45s',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '20s',
    maximumAttempts: 4,
    nonRetryableErrorTypes: PERMANENT_FAILURES,
  },
});

// Bookkeeping in our own database must eventually succeed: never drop a transition.
export const store = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '20s',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

// A refresh or establish at the floor: its token request and its transition run as local activities,
// inside the workflow task that began the step (one marker each: no task-queue round trips, no activity
// events). One attempt each, kept well inside the workflow task's 10 s timeout; anything that fails or
// runs long goes to the regular activities (token-step.ts, persist-transition.ts).
const LOCAL_ONE_ATTEMPT = { startToCloseTimeout: '5s', retry: { maximumAttempts: 1 } } as const;
export const vendorLocal = proxyLocalActivities<ConnectionActivities>(LOCAL_ONE_ATTEMPT);
export const storeLocal = proxyLocalActivities<ConnectionActivities>(LOCAL_ONE_ATTEMPT);

// The regular token activity a local attempt falls back to, scheduled as soon as that attempt failed: the
// vendor activity's policy with its first attempt already spent, so a failing step still makes 4 calls
// (the failure policy's call counts per hour), then waits out the same 2 s and 4 s between the last three.
export const vendorAfterLocalAttempt = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '45s',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '20s',
    maximumAttempts: 3,
    nonRetryableErrorTypes: PERMANENT_FAILURES,
  },
});
