// Tuning of a connection's maintain loop, shared by the workflow (which runs it) and the configuration.
/** Tuning of the maintain loop. Defaults suit production; tests and the demo shorten them. */
export interface MaintenancePolicy {
  /** Fraction of a token's lifetime to refresh ahead of expiry (before jitter). */
  refreshLeadFraction: number;
  /** Upper bound of the refresh lead, so hour-long tokens are not refreshed at minute 40. */
  maxRefreshLeadMs: number;
  /** How often a token that never expires is checked with a cheap probe. */
  healthCheckIntervalMs: number;
  /** How long before a known credential expiry (Promapp's one-year token) the connection warns. */
  expiryWarningMs: number;
  /** Backoff after a failed maintenance attempt: base * 2^(n-1), capped, with jitter. */
  failureBackoffBaseMs: number;
  failureBackoffCapMs: number;
  /** Consecutive credential rejections (401/invalid_client) before a human is asked to re-authenticate. */
  rejectionLimit: number;
  /**
   * How long configuration faults (unknown host, 404, an HTML page) may persist on a connection that worked
   * before they are no longer read as an outage: it becomes invalid_configuration, saying what to check.
   */
  configurationFaultLimitMs: number;
  /** A link failing (vendor down) this long announces `connection.link_delayed`; it keeps trying. */
  linkDelayedAfterMs: number;
  /** A link failing this long stops trying: link_failed, until a refresh starts it again. */
  linkDeadlineMs: number;
  /**
   * Steps one run may take before it continues as new (a refresh cycle is about ten history events),
   * so history stays small and replays stay fast even before Temporal suggests it.
   */
  maxStepsPerRun: number;
  /** Webhook delivery retries: exponential from the initial interval, capped, then marked failed. */
  webhookRetry: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
}

export const DEFAULT_POLICY: MaintenancePolicy = {
  refreshLeadFraction: 0.15,
  maxRefreshLeadMs: 10 * 60_000,
  healthCheckIntervalMs: 6 * 3_600_000,
  expiryWarningMs: 30 * 86_400_000,
  failureBackoffBaseMs: 30_000,
  failureBackoffCapMs: 3_600_000,
  rejectionLimit: 3,
  configurationFaultLimitMs: 3 * 86_400_000,
  linkDelayedAfterMs: 15 * 60_000,
  linkDeadlineMs: 86_400_000,
  maxStepsPerRun: 500,
  // 10 s doubling to 1 h, 20 attempts: about 11.4 hours of trying (5,110 s growing, then 10 × 1 h).
  webhookRetry: { initialIntervalMs: 10_000, maximumIntervalMs: 3_600_000, maximumAttempts: 20 },
};
