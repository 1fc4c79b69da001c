// Provisioning jobs as the workflow, its activities and the API all see them. A job's input (the user's
// attributes) is personal data, not a secret; it stays in the Job row and never enters Temporal history.

export const JOB_STATUSES = [
  'queued',
  /** The connection is temporarily unusable (linking, degraded, paused): the job waits, up to its deadline. */
  'waiting_for_connection',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Why a job failed, for a person to act on. */
export const JOB_FAILURE_REASONS = [
  /** The vendor already has a user with this userName/email (SCIM 409 uniqueness). */
  'uniqueness',
  /** The vendor refused an attribute's value or the request's shape (SCIM 400). */
  'invalid_attribute',
  /** The token lacks a permission the operation needs (403). */
  'missing_permission',
  /** The user (or other target) does not exist at the vendor (404, or no match). */
  'not_found',
  /** The vendor rejected the connection's token (401), or the connection needs a new install or credentials. */
  'connection_needs_reauth',
  /** The connection was revoked, lacks the scopes provisioning needs, or its configuration or link failed. */
  'connection_unusable',
  /** The connection stayed unusable (linking, degraded, paused) past the job's deadline. */
  'connection_wait_expired',
  /** The vendor stayed unavailable (5xx, timeouts, rate limits) through every retry. */
  'vendor_unavailable',
  /**
   * An earlier attempt sent a create whose answer was lost, and the vendor offers no way to look it up with
   * the connection's permissions: the job does not send it again; the message names the reference to search for.
   */
  'vendor_outcome_unknown',
] as const;
export type JobFailureReason = (typeof JOB_FAILURE_REASONS)[number];

/** What an operation made or changed at the vendor. */
export interface OperationResult {
  /** The vendor's id of the user (or other resource) made or changed; null for a find that matched none. */
  vendorId: string | null;
  /** A create that found its user already there (an earlier attempt's, matched by externalId) and took it. */
  adopted?: boolean;
  /** Non-secret details of the answer (the user's userName, active flag; a find's matches). */
  detail?: Record<string, unknown>;
}

/** Connection statuses in which a job waits rather than fails. */
export const WAITING_CONNECTION_STATUSES = ['linking', 'degraded', 'paused'] as const;

/** ApplicationFailure types of the job's operation activity that the workflow tells apart. */
export const JOB_FAILURE_TYPES = {
  /** A permanent refusal; details[0].reason is a JobFailureReason. */
  refused: 'OperationRefused',
  /** The connection is temporarily unusable; details[0].status says how. */
  connectionNotReady: 'ConnectionNotReady',
} as const;

/** Tuning of a provisioning job; defaults suit production, tests shorten them. */
export interface JobPolicy {
  /** How long a job waits for a connection that is linking, degraded or paused. */
  connectionWaitMs: number;
  /** How often it looks again meanwhile. */
  connectionPollMs: number;
  /** Retries of transient vendor failures: exponential from the initial interval, capped, then failed. */
  retry: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
  /**
   * Also wait (up to connectionWaitMs) when the vendor stays unavailable through every retry, looking
   * again less and less often (up to every LONG_WAIT_POLL_CAP_MS), instead of failing vendor_unavailable.
   * Set for leavers of a lifecycle event; unset, a job keeps the behaviour it had before the flag existed.
   */
  waitThroughOutages?: boolean;
  webhookRetry: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
}

/** The longest pause between two looks of a job that waits through an outage (hours-long waits stay short in history). */
export const LONG_WAIT_POLL_CAP_MS = 300_000;

export const DEFAULT_JOB_POLICY: Omit<JobPolicy, 'webhookRetry'> = {
  connectionWaitMs: 3_600_000,
  connectionPollMs: 30_000,
  // 1 s doubling to 1 min, 8 attempts: about 3 minutes of trying, longer when the vendor says Retry-After.
  retry: { initialIntervalMs: 1_000, maximumIntervalMs: 60_000, maximumAttempts: 8 },
};
