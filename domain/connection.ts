// What a connection is, as the workflow, its activities and the API all see it. Nothing here may hold a
// secret: everything below travels through Temporal history in clear.

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

/** What happened at the vendor on revoke. */
export const VENDOR_REVOCATIONS = ['revoked', 'unsupported', 'failed'] as const;
export type VendorRevocation = (typeof VENDOR_REVOCATIONS)[number];

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

/** Why a rotation's new credentials were not taken (the old ones stay in use). */
export const ROTATION_REJECTION_REASONS = [
  'invalid_credentials',
  'insufficient_scopes',
  'vendor_unavailable',
  'superseded',
] as const;

export type RotationOutcome =
  | { outcome: 'accepted'; grantedScopes: string[] }
  | {
      outcome: 'rejected';
      reason: (typeof ROTATION_REJECTION_REASONS)[number];
      message: string;
      missingScopes: MissingScope[];
    };
