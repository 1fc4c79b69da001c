// Failure types vendor calls raise (as ApplicationFailure.type) and the workflow classifies: the one
// vocabulary the vendor toolkit, the activities and the workflow share.
/**
 * Failure types activities raise (as ApplicationFailure.type) and the workflow classifies.
 * Permanent ones are non-retryable: retrying a wrong secret only hammers the vendor.
 */
export const FailureType = {
  /** The vendor refused the credentials (invalid_client, bad static token). Permanent. */
  InvalidCredentials: 'InvalidCredentials',
  /** The vendor refused a token we hold (401 on an API call: revoked or expired). Permanent. */
  TokenRejected: 'TokenRejected',
  /**
   * The vendor answered as if the input were wrong (unknown host, 404, an HTML page instead of JSON, a 400
   * from the token endpoint, a URL not allowed). Permanent for this attempt: at link it names what to fix;
   * on a connection that worked it is read as an outage (a DNS blip or a vendor's bad deploy looks the same).
   */
  InvalidConfiguration: 'InvalidConfiguration',
  /**
   * The token endpoint refused required scopes by name (`invalid_scope` naming them): details carry them as
   * { missingScopes: MissingScope[] }. Permanent.
   */
  ScopesRefused: 'ScopesRefused',
  /** 429 with a Retry-After too long to wait inside activity retries. Permanent for this attempt. */
  RateLimited: 'RateLimited',
  /** 5xx, timeout, network error, malformed answer. Retried with backoff. */
  VendorUnavailable: 'VendorUnavailable',
  /** The staged credentials belong to another rotation (or the code to another install). Permanent. */
  RotationSuperseded: 'RotationSuperseded',
  /** The vendor refused our refresh token (already used, or its install revoked): only a new install helps. Permanent. */
  ReauthRequired: 'ReauthRequired',
  /**
   * tether's own shared rate budget for the vendor is out (vendor-kit/rate-limits.ts): details carry
   * { retryAfterMs }. Not a vendor failure: the workflow waits that long on a timer and calls again.
   */
  RateBudgetWait: 'RateBudgetWait',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * The type of a failure nothing classified (a Prisma error, a TypeError): retried, read as an outage. Its
 * message is tether's own, "internal error (error id …)", so it may reach the tenant as it is.
 */
export const INTERNAL_FAILURE_TYPE = 'InternalError';

export const PERMANENT_FAILURES: FailureType[] = [
  FailureType.InvalidCredentials,
  FailureType.TokenRejected,
  FailureType.InvalidConfiguration,
  FailureType.ScopesRefused,
  FailureType.RateLimited,
  FailureType.RotationSuperseded,
  FailureType.ReauthRequired,
];
