// How the connection workflow calls its activities: vendor calls fail fast into the machine's backoff,
// bookkeeping in our own database is retried until it succeeds.
import { proxyActivities } from '@temporalio/workflow';
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
