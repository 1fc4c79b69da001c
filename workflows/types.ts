// Types shared by the workflow, its activities and the API. Nothing here may hold a secret:
// everything below travels through Temporal history in clear.

export const CONNECTION_STATUSES = [
  'linking',
  'active',
  'expiring',
  'insufficient_scopes',
  'invalid_credentials',
  'degraded',
  'needs_reauth',
  'paused',
  'revoking',
  'revoked',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

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
  maxStepsPerRun: 500,
  // 10 s doubling to 1 h, 20 attempts: about 11.4 hours of trying (5,110 s growing, then 10 × 1 h).
  webhookRetry: { initialIntervalMs: 10_000, maximumIntervalMs: 3_600_000, maximumAttempts: 20 },
};

export interface ConnectionLifecycleInput {
  connectionId: string;
  tenantId: string;
  vendor: string;
  policy?: Partial<MaintenancePolicy>;
  /** Linked through the vendor's consent page: wait for the install instead of establishing at once. */
  awaitInstall?: boolean;
  /** Set only by continueAsNew: the machine's state carried over to the new run. */
  carriedState?: MachineSnapshot;
}

export interface ConnectionLifecycleResult {
  connectionId: string;
  status: ConnectionStatus;
  vendorRevocation?: VendorRevocation;
}

export type VendorRevocation = 'revoked' | 'unsupported' | 'failed';

/** A scope the vendor did not grant, with what the product needs it for. */
export interface MissingScope {
  scope: string;
  purpose: string;
}

/** What a token grant tells the workflow: timing and granted scopes, never the token itself. */
export interface TokenInfo {
  obtainedAt: number;
  /** null: the token never expires (static bearer tokens, Slack without rotation). */
  expiresAt: number | null;
  /** Scopes the vendor says it granted; null when the vendor does not say. */
  grantedScopes: string[] | null;
  /** Known expiry of the customer's own credential (Promapp: one year), null if none. */
  credentialExpiresAt: number | null;
}

export interface ScopeVerification {
  granted: string[];
  missing: MissingScope[];
  probes: { probe: string; ok: boolean }[];
}

/** Which stored credentials an activity works on: the live ones or a rotation's candidate. */
export type CredentialSlot = 'live' | 'candidate';

export interface MachineSnapshot {
  status: ConnectionStatus;
  statusBeforePause: ConnectionStatus | null;
  tokenObtainedAt: number | null;
  tokenExpiresAt: number | null;
  credentialExpiresAt: number | null;
  lastCheckAt: number | null;
  nextCheckAt: number | null;
  failures: number;
  rejections: number;
  eventSeq: number;
  expiryWarned: boolean;
  /** Linking waits, without a timer, for the customer to install the OAuth app. */
  awaitingInstall: boolean;
}

/**
 * How the customer came back from the vendor's consent page. The authorization code itself never enters
 * workflow history: the API stores it encrypted under `installId`, and the activity redeeming it reads it there.
 */
export type InstallResult = { installId: string } | { denied: string };

/** The status query's answer: what an operator sees in the Temporal UI. */
export interface ConnectionView extends MachineSnapshot {
  connectionId: string;
  vendor: string;
  pendingCommands: string[];
  busyWith: string | null;
}

export type RotationOutcome =
  | { outcome: 'accepted'; grantedScopes: string[] }
  | {
      outcome: 'rejected';
      reason: 'invalid_credentials' | 'insufficient_scopes' | 'vendor_unavailable' | 'superseded';
      message: string;
      missingScopes: MissingScope[];
    };

/**
 * Failure types activities raise (as ApplicationFailure.type) and the workflow classifies.
 * Permanent ones are non-retryable: retrying a wrong secret only hammers the vendor.
 */
export const FailureType = {
  /** The vendor refused the credentials (invalid_client, bad static token). Permanent. */
  InvalidCredentials: 'InvalidCredentials',
  /** The vendor refused a token we hold (401 on an API call: revoked or expired). Permanent. */
  TokenRejected: 'TokenRejected',
  /** The input cannot work (unknown host, URL not allowed). Permanent. */
  InvalidConfiguration: 'InvalidConfiguration',
  /** 429 with a Retry-After too long to wait inside activity retries. Permanent for this attempt. */
  RateLimited: 'RateLimited',
  /** 5xx, timeout, network error, malformed answer. Retried with backoff. */
  VendorUnavailable: 'VendorUnavailable',
  /** The staged credentials belong to another rotation (or the code to another install). Permanent. */
  RotationSuperseded: 'RotationSuperseded',
  /** The vendor refused our refresh token (already used, or its install revoked): only a new install helps. Permanent. */
  ReauthRequired: 'ReauthRequired',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const PERMANENT_FAILURES: FailureType[] = [
  FailureType.InvalidCredentials,
  FailureType.TokenRejected,
  FailureType.InvalidConfiguration,
  FailureType.RateLimited,
  FailureType.RotationSuperseded,
  FailureType.ReauthRequired,
];
