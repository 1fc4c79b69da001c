// Lifecycle events: a person joins, moves or leaves, and each of the person's target connections gets one
// provisioning job (its own workflow), all run by one parent workflow (`lifecycle:<id>`). The person's
// attributes stay in the database rows; only ids, statuses and policies travel through Temporal.
import type { JobPolicy, JobStatus } from './jobs';

export const LIFECYCLE_KINDS = ['joiner', 'mover', 'leaver'] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/** The operation a target runs when the event names none for it (SCIM vendors offer all three). */
export const DEFAULT_OPERATION: Record<LifecycleKind, string> = {
  joiner: 'create_user',
  mover: 'update_user',
  leaver: 'deactivate_user',
};

export const LIFECYCLE_EVENT_STATUSES = [
  /** Some target's job has not ended yet. */
  'running',
  /** Every target's job succeeded. */
  'completed',
  /** Every target's job ended, and at least one failed or was cancelled (see each target). */
  'completed_with_failures',
] as const;
export type LifecycleEventStatus = (typeof LIFECYCLE_EVENT_STATUSES)[number];

/** How an event ends, from its targets' job statuses once all have ended. */
export function lifecycleOutcome(jobStatuses: readonly JobStatus[]): LifecycleEventStatus {
  return jobStatuses.every((s) => s === 'succeeded') ? 'completed' : 'completed_with_failures';
}

/** Tuning of lifecycle events; the jobs' own policy applies otherwise. */
export interface LifecyclePolicy {
  /**
   * How long a leaver's job waits for its connection or vendor to come back: a person who left must be
   * deactivated everywhere, even after an outage of hours.
   */
  leaverWaitMs: number;
}

export const DEFAULT_LIFECYCLE_POLICY: LifecyclePolicy = { leaverWaitMs: 86_400_000 };

/**
 * The policy of one target's job: a leaver's waits through vendor outages (not only an unusable
 * connection) up to the leaver deadline; joiners and movers keep the jobs' policy.
 */
export function targetJobPolicy(kind: LifecycleKind, jobs: JobPolicy, lifecycle: LifecyclePolicy): JobPolicy {
  if (kind !== 'leaver') return jobs;
  return {
    ...jobs,
    connectionWaitMs: Math.max(jobs.connectionWaitMs, lifecycle.leaverWaitMs),
    waitThroughOutages: true,
  };
}
