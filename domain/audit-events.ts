// The audit trail's vocabulary: what an event's `type` can be, and who wrote it.
import { FINISHED_JOB_STATUSES } from './jobs';
import { CONNECTION_EVENTS } from './transition';

/** What the API records itself, in the request that caused it. */
export const API_EVENTS = [
  'link_requested',
  'install_started',
  /** The workflow accepted a command (detail.command: refresh, pause, resume, rotate, revoke, install). */
  'command_accepted',
  /** The workflow did not confirm a command in time: it may still run (a retry attaches to it). */
  'command_unconfirmed',
  /** POST …/access-token handed a token to the key (never the token itself). */
  'access_token_issued',
  /** The end user corrected a connection's fields on the connect page (names of the fields only). */
  'connect_corrected',
  /** PATCH renamed or re-tagged the connection, or changed its (verified) settings. */
  'connection_updated',
  /** A provisioning job was started on the connection (detail: job id and operation). */
  'job_requested',
] as const;

/** What operator scripts record. */
export const OPERATOR_EVENTS = [
  /** keys:reencrypt re-sealed the connection's secrets under the active key. */
  'secrets_reencrypted',
] as const;

/** What the worker's webhook outbox records on a connection. */
export const WEBHOOK_EVENTS = [
  /**
   * Its event was stored unsent (failed, redeliverable) for some endpoints: the tenant was at its pending
   * deliveries quota (detail: eventType, deliveryIds, pendingLimit).
   */
  'webhook_deliveries_refused',
] as const;

/** What a provisioning job records on its connection when it ends: job_succeeded, job_failed, job_cancelled. */
export const JOB_EVENTS = FINISHED_JOB_STATUSES.map((status) => `job_${status}` as const);

export type AuditEventType =
  | (typeof CONNECTION_EVENTS)[number]
  | (typeof API_EVENTS)[number]
  | (typeof JOB_EVENTS)[number]
  | (typeof OPERATOR_EVENTS)[number]
  | (typeof WEBHOOK_EVENTS)[number];

/** The connection workflow's transitions (CONNECTION_EVENTS), the jobs' ends, what the API and operators record. */
export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  ...CONNECTION_EVENTS,
  ...API_EVENTS,
  ...JOB_EVENTS,
  ...OPERATOR_EVENTS,
  ...WEBHOOK_EVENTS,
];

/** The commands a caller sends a connection's workflow. */
export const COMMANDS = ['refresh', 'pause', 'resume', 'rotate', 'revoke', 'install'] as const;
export type CommandName = (typeof COMMANDS)[number];

/**
 * Who wrote an event. `api`: a request authenticated by an API key. `connect_session`: the end user on
 * the connect page, through a connect session. `workflow`: the connection's own maintenance.
 * `operator`: a command run by an operator.
 */
export type Actor =
  | { kind: 'api'; keyId: string; label: string }
  | { kind: 'connect_session'; sessionId: string }
  | { kind: 'workflow' }
  | { kind: 'operator'; command: string };

/** The AuditEvent.actor value of the connect page's events. */
export const CONNECT_SESSION_ACTOR = 'connect-session';

/** The AuditEvent columns that name the actor. */
export function actorColumns(actor: Actor): {
  actor: string;
  actorId: string | null;
  actorLabel: string | null;
} {
  switch (actor.kind) {
    case 'api':
      return { actor: 'api', actorId: actor.keyId, actorLabel: actor.label };
    case 'connect_session':
      return { actor: CONNECT_SESSION_ACTOR, actorId: actor.sessionId, actorLabel: null };
    case 'operator':
      return { actor: 'operator', actorId: actor.command, actorLabel: null };
    default:
      return { actor: actor.kind, actorId: null, actorLabel: null };
  }
}
