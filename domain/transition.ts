// A change of a connection's state: what the workflow's state machine decides, the activity persists
// (connection row + one audit event), webhooks announce and search attributes mirror.
import type { ConnectionStatus, MissingScope } from './connection';

/** A change to persist (connection row + one audit event) and mirror into search attributes. */
export interface Transition {
  seq: number;
  event: string;
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
    lastCheckAt?: number;
    lastSuccessAt?: number;
    nextCheckAt: number | null;
    consecutiveFailures: number;
  };
  detail: Record<string, unknown>;
}
