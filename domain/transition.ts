// A change of a connection's state: what the workflow's state machine decides, the activity persists
// (connection row + one audit event), webhooks announce and search attributes mirror.
import type { ConnectionStatus, MissingScope } from './connection';

/** What happened, as the audit trail names it (its `type`) and webhooks read it. */
export const CONNECTION_EVENTS = [
  /** The first token was obtained and verified. */
  'linked',
  /** A check succeeded after failures, refusals, or a state only a human could leave. */
  'recovered',
  /** The connection left `paused`: re-established and verified (or the failure that came instead). */
  'resumed',
  'refresh_succeeded',
  'probe_succeeded',
  /** A new OAuth install on a connection that was already linked. */
  'install_succeeded',
  'scopes_missing',
  'credentials_rejected',
  /** At link (or after configuration faults persisted past their limit): the URL or settings look wrong. */
  'invalid_configuration',
  /** A configuration fault on a connection that worked: read as an outage, retried with backoff. */
  'configuration_fault',
  'vendor_unavailable',
  /** The link has been failing for `linkDelayedAfterMs`; it keeps trying. */
  'link_delayed',
  /** The link failed for `linkDeadlineMs` and stopped trying. */
  'link_failed',
  'credentials_rotated',
  'rotation_rejected',
  'install_failed',
  'install_denied',
  'paused',
  'credential_expiring',
  'credential_expired',
  'revoke_requested',
  'revoked',
] as const;
export type ConnectionEvent = (typeof CONNECTION_EVENTS)[number];

/** A change to persist (connection row + one audit event) and mirror into search attributes. */
export interface Transition {
  seq: number;
  event: ConnectionEvent;
  from: ConnectionStatus;
  to: ConnectionStatus;
  /** Machine-readable reason for the status; undefined keeps the stored one. */
  reason: string | null | undefined;
  message: string | null | undefined;
  patch: {
    tokenObtainedAt?: number | null;
    tokenExpiresAt?: number | null;
    credentialExpiresAt?: number | null;
    grantedScopes?: string[];
    missingScopes?: MissingScope[];
    missingOptionalScopes?: MissingScope[];
    /** When the current run of failed checks began; null once a check succeeds. */
    failingSince: number | null;
    lastCheckAt?: number;
    lastSuccessAt?: number;
    nextCheckAt: number | null;
    /** Checks failed since the last success: outages and refusals alike. */
    consecutiveFailures: number;
  };
  detail: Record<string, unknown>;
}
