// The connection machine's state and its one way of changing status: the groups of statuses the rules
// read, the snapshot a run starts from, and `applyChange`, which turns a decided change into the
// transition to persist. Plain functions over the snapshot, so unit tests drive them without a server.
import type { ConnectionEvent, Transition } from '../domain/transition';
import type { ConnectionStatus, MachineSnapshot, ScopeVerification, TokenInfo } from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';
import { expiryWarningAt } from './schedule';

export const USABLE: ConnectionStatus[] = ['active', 'expiring', 'degraded'];
/**
 * States a human must act to leave: no timers run, commands still do. Insufficient scopes is one too, but
 * it is checked again with backoff, so permissions granted at the vendor are noticed without a command.
 */
export const WAITING_FOR_HUMAN: ConnectionStatus[] = [
  'insufficient_scopes',
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
  'needs_reauth',
];
/** The token held is not one to use: the stored row shows none (the machine keeps its own for its timers). */
const TOKEN_DEAD: ConnectionStatus[] = [
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
  'needs_reauth',
];
/** Statuses of a connection that never linked: its instance URL and settings are not proven. */
export const NEVER_LINKED: ConnectionStatus[] = [
  'linking',
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
];

/** A change of status the rules decided, before it is numbered and completed into a Transition. */
export type Change = {
  to: ConnectionStatus;
  event: ConnectionEvent;
  /** Default: the current status. */
  from?: ConnectionStatus;
  /** Omitted: the stored reason and message stay. */
  reason?: string | null;
  message?: string | null;
  patch?: Partial<Transition['patch']>;
  detail?: Record<string, unknown>;
};

/** Where a step's transition is reported from, when not the current status (a resume, a relink). */
export type Origin = Pick<Change, 'from' | 'detail'>;

/** A status that needs no explanation: the stored reason and message are cleared. */
export const CLEARED = { reason: null, message: null };
/** A status whose reason is the event that led to it. */
export const because = (event: ConnectionEvent) => ({ event, reason: event, message: null });

/** A new connection: due at once, as it starts by linking, unless it must be installed first. */
export function initialState(awaitInstall: boolean): MachineSnapshot {
  return {
    status: 'linking',
    statusBeforePause: null,
    tokenObtainedAt: null,
    tokenExpiresAt: null,
    credentialExpiresAt: null,
    lastCheckAt: null,
    nextCheckAt: awaitInstall ? null : 0,
    failures: 0,
    rejections: 0,
    eventSeq: 0,
    expiryWarned: false,
    awaitingInstall: awaitInstall,
    configurationProven: false,
    failingSince: null,
    misconfiguredSince: null,
    linkDelayAnnounced: false,
  };
}

/** A snapshot carried by continueAsNew, with the fields runs of older code did not carry yet. */
export function carriedOver(carried: MachineSnapshot): MachineSnapshot {
  const status = carried.status === 'paused' ? (carried.statusBeforePause ?? 'active') : carried.status;
  const added = {
    configurationProven: !NEVER_LINKED.includes(status),
    failingSince: null,
    misconfiguredSince: null,
    linkDelayAnnounced: false,
  };
  return { ...added, ...carried };
}

/** Move the state to `change.to` and return the numbered transition, with what every stored row shows. */
export function applyChange(
  s: MachineSnapshot,
  { to, event, from = s.status, reason, message, patch = {}, detail = {} }: Change,
): Transition {
  s.status = to;
  s.eventSeq += 1;
  return {
    seq: s.eventSeq,
    event,
    from,
    to,
    reason,
    message,
    patch: {
      ...patch,
      ...(TOKEN_DEAD.includes(to) ? { tokenObtainedAt: null, tokenExpiresAt: null } : {}),
      nextCheckAt: s.nextCheckAt,
      consecutiveFailures: s.failures + s.rejections,
      failingSince: s.failingSince,
    },
    detail,
  };
}

/**
 * The vendor answered well: adopt the token it gave, if any, and forget earlier failures. Its answer also
 * proves the instance URL and settings.
 */
export function succeeded(s: MachineSnapshot, token: TokenInfo | undefined, now: number): void {
  if (token) {
    s.tokenObtainedAt = token.obtainedAt;
    s.tokenExpiresAt = token.expiresAt;
    s.credentialExpiresAt = token.credentialExpiresAt;
  }
  s.failures = 0;
  s.rejections = 0;
  s.lastCheckAt = now;
  s.configurationProven = true;
  s.failingSince = null;
  s.misconfiguredSince = null;
  s.linkDelayAnnounced = false;
}

/** The status of a connection that works: expiring once its credential's warning time has come. */
export function healthyStatus(s: MachineSnapshot, policy: MaintenancePolicy, now: number): ConnectionStatus {
  if (s.credentialExpiresAt !== null && now >= expiryWarningAt(s, policy)) {
    s.expiryWarned = true;
    return 'expiring';
  }
  return 'active';
}

/** The token the state holds, for the stored row. */
export function tokenPatch(s: MachineSnapshot) {
  return {
    tokenObtainedAt: s.tokenObtainedAt,
    tokenExpiresAt: s.tokenExpiresAt,
    credentialExpiresAt: s.credentialExpiresAt,
  };
}

/** What a scope check found, for the stored row. */
export function scopesPatch(verification: ScopeVerification): Partial<Transition['patch']> {
  return {
    grantedScopes: verification.granted,
    missingScopes: verification.missing,
    missingOptionalScopes: verification.missingOptional ?? [],
  };
}
