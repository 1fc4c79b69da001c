// What the connect page tells the end user, from the session and its connection's row. The row changes
// only when the connection's workflow records a step (with an audit event), so right after the user acted
// (submitted, checked again, came back from an install) the older status is not an answer yet: the page
// shows "checking" until the workflow has recorded an event newer than that action. Audit event ids come
// from one database sequence, so this needs no agreement between the clocks of API and worker hosts.
// A newer event is not enough: a step its timer began before the action (a recheck under way when the user
// checked again) records its older answer after it, so the page also waits until the workflow has no
// command queued or running (command-under-way.ts).
import type { ConnectSession, Connection } from '../../platform/db';
import type { MissingScope } from '../../domain/connection';
import type { VendorDefinition } from '../../vendor-kit/definition';

export const CONNECT_OUTCOMES = [
  'not_started',
  'checking',
  'active',
  'insufficient_scopes',
  'invalid_credentials',
  'invalid_configuration',
  'vendor_unavailable',
  'install_required',
  'install_denied',
  'rotation_rejected',
  'paused',
  'revoked',
] as const;
export type ConnectOutcome = (typeof CONNECT_OUTCOMES)[number];

export interface ConnectProgress {
  outcome: ConnectOutcome;
  message: string | null;
  missingScopes: MissingScope[];
  /** When tether tries again by itself (vendor unavailable). */
  nextCheckAt: string | null;
}

/** A rotation's answer, kept on the session: the connection itself stays as it was when one is rejected. */
export interface AttemptResult {
  outcome: 'accepted' | 'rejected';
  reason?: string;
  message?: string;
  missingScopes?: MissingScope[];
  /** The connection's newest audit event id when the answer came (a string: JSON has no bigint). */
  mark: string;
}

/** After this long without a recorded step, the page shows the status as it is, stale or not. */
export const PENDING_LIMIT_MS = 120_000;

/** What the connection's workflow has done since the user's latest action. */
export interface WorkflowProgress {
  /** The newest audit event the connection's workflow recorded. */
  latestEvent: bigint | null;
  /** A command is queued at the workflow or the step one began is running (asked only if actionPending). */
  commandUnderWay: boolean;
}

/** The user acted recently enough for the page to wait on the workflow's answer to it. */
export function actionPending(session: Pick<ConnectSession, 'actedAt' | 'actedMark'>, now: Date): boolean {
  const { actedAt, actedMark } = session;
  return actedAt !== null && actedMark !== null && now.getTime() - actedAt.getTime() < PENDING_LIMIT_MS;
}

export function connectProgress(
  session: Pick<ConnectSession, 'reconnect' | 'actedAt' | 'actedMark' | 'attemptResult'>,
  connection: Connection | null,
  vendor: VendorDefinition | undefined,
  workflow: WorkflowProgress,
  now: Date,
): ConnectProgress {
  const progress = (
    outcome: ConnectOutcome,
    message: string | null = null,
    missingScopes: MissingScope[] = [],
  ): ConnectProgress => ({
    outcome,
    message,
    missingScopes,
    nextCheckAt: outcome === 'vendor_unavailable' ? (connection?.nextCheckAt?.toISOString() ?? null) : null,
  });
  if (!connection || !vendor) return progress('not_started');
  const status = connection.status;
  if (status === 'revoked' || status === 'revoking') return progress('revoked');
  if (status === 'paused') return progress('paused');

  const { latestEvent } = workflow;
  const newerThan = (mark: bigint) => latestEvent !== null && latestEvent > mark;
  const { actedAt, actedMark } = session;
  if (actionPending(session, now) && (!newerThan(actedMark!) || workflow.commandUnderWay)) {
    return progress('checking');
  }
  const attempt = session.attemptResult as AttemptResult | null;
  if (attempt?.outcome === 'rejected' && !newerThan(BigInt(attempt.mark))) {
    return progress(
      'rotation_rejected',
      attempt.message ?? attempt.reason ?? null,
      attempt.missingScopes ?? [],
    );
  }
  const missing = (connection.missingScopes ?? []) as unknown as MissingScope[];
  const acted = actedAt !== null || attempt !== null;
  // Reconnecting: nothing the user did yet, so the connection's state is context for the form, not an answer.
  if (session.reconnect && !acted) {
    return status === 'insufficient_scopes'
      ? progress('insufficient_scopes', connection.statusMessage, missing)
      : progress('not_started', connection.statusMessage);
  }
  const message = connection.statusMessage;
  switch (status) {
    case 'active':
    case 'expiring':
      return progress('active');
    case 'insufficient_scopes':
      return progress('insufficient_scopes', message, missing);
    case 'invalid_credentials':
    case 'needs_reauth':
      return connection.statusReason === 'invalid_configuration'
        ? progress('invalid_configuration', message)
        : progress('invalid_credentials', message);
    case 'invalid_configuration':
      return progress('invalid_configuration', message);
    case 'degraded':
    case 'link_failed':
      return progress('vendor_unavailable', message);
    case 'linking':
      if (vendor.auth.kind === 'oauth2_install') {
        if (connection.statusReason === 'install_denied') return progress('install_denied', message);
        return progress('install_required', connection.statusReason ? message : null);
      }
      return connection.statusReason === 'vendor_unavailable'
        ? progress('vendor_unavailable', message)
        : progress('checking');
    default:
      // A status this page does not know yet: say what the connection says.
      return progress(
        connection.statusReason === 'invalid_configuration' ? 'invalid_configuration' : 'checking',
        message,
      );
  }
}
