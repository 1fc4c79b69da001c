// What a connection is, as the workflow, its activities and the API all see it. Nothing here may hold a
// secret: everything below travels through Temporal history in clear.

export const CONNECTION_STATUSES = [
  'linking',
  'active',
  'expiring',
  'insufficient_scopes',
  'invalid_credentials',
  /** At link, the vendor answered as if the URL or settings were wrong (unknown host, 404, an HTML page). */
  'invalid_configuration',
  /** The link kept failing (vendor down) past its deadline; a refresh starts it again. */
  'link_failed',
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
  /** Required scopes not granted: the connection cannot work without them. */
  missing: MissingScope[];
  /**
   * Optional scopes asked for but not granted: the connection works, without the feature each one's
   * purpose names. Absent in results recorded before optional scopes stopped blocking.
   */
  missingOptional?: MissingScope[];
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
  /**
   * The instance URL and settings worked once (the vendor issued a token or judged its scopes): from then
   * on a configuration fault (unknown host, 404, an HTML page) is read as an outage, not as a wrong setting.
   */
  configurationProven: boolean;
  /** When the current run of failed checks began (null while checks succeed). */
  failingSince: number | null;
  /** When the current run of configuration faults began, for their escalation (null when none). */
  misconfiguredSince: number | null;
  /** The link has been failing long enough for `link_delayed` to have been announced. */
  linkDelayAnnounced: boolean;
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
  /** The step running was begun by a command (a caller may wait on what it finds), not by a timer. */
  busyWithCommand: boolean;
}

/** Why a rotation's new credentials were not taken (the old ones stay in use). */
export const ROTATION_REJECTION_REASONS = [
  'invalid_credentials',
  'invalid_configuration',
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
