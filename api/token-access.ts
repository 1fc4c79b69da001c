// How a caller (the access-token route, the proxy, provisioning work) gets a token it can use right now.
// The token is read from the encrypted store, never from Temporal; if it would expire within
// `minValidityMs`, the connection's workflow refreshes it first. Callers in this process that need a
// refresh while one they asked for is under way wait for that one instead of asking again (one update per
// process, not one per caller); callers in other processes reach the workflow, which waits out a token
// request already queued or running and refreshes again only if the token it left is still too short. A
// burst of callers, across API replicas, costs the vendor one token request.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { getVendor } from '../catalog';
import { connectionWorkflowId } from '../workflows/ids';
import { ensureFreshTokenUpdate } from '../workflows/messages';
import type { ConnectionStatus } from '../domain/connection';
import type { Connection } from '../platform/db';
import type { SecretStore } from '../platform/secret-store';
import type { TenantData } from './tenant-data';

/** Statuses in which the stored token can be used. */
const USABLE: ConnectionStatus[] = ['active', 'expiring', 'degraded'];

/**
 * Slack between the API's clock and the worker's when asking the workflow to replace a refused token:
 * a token that expires more than this after the refused one is already its replacement.
 */
const CLOCK_TOLERANCE_MS = 5_000;

export interface TokenAccessDeps {
  /** Reads the connection again, in its own tenant, after a refresh or before replacing a token. */
  connections: Pick<TenantData['connections'], 'find'>;
  secrets: SecretStore;
  temporal: Client;
}

export interface UsableToken {
  accessToken: string;
  /** When the token stops working: its expiry, or a static token's known end (Promapp's year); null: never. */
  expiresAt: Date | null;
  /** The connection as it is after any refresh. */
  connection: Connection;
  /** The workflow refreshed the token for this call. */
  refreshed: boolean;
}

export class ConnectionUnusableError extends Error {
  constructor(
    readonly connectionId: string,
    readonly status: ConnectionStatus | 'missing',
    readonly reason: string | null = null,
    message = `connection ${connectionId} cannot be used now (status ${status}${reason ? `, ${reason}` : ''})`,
  ) {
    super(message);
  }
}

/** A token for `connection`, which the caller loaded within its tenant. */
export async function getValidAccessToken(
  deps: TokenAccessDeps,
  connection: Connection,
  { minValidityMs = 60_000 }: { minValidityMs?: number } = {},
): Promise<UsableToken> {
  let current = connection;
  // Checked before asking for a refresh: one waiting for a human must not send its refused credentials again.
  assertUsable(current);
  let refreshed = false;
  if (current.tokenExpiresAt && current.tokenExpiresAt.getTime() - Date.now() < minValidityMs) {
    current = await ensureFreshOnce(deps, current, minValidityMs);
    refreshed = true;
  }
  return usableToken(deps, current, refreshed);
}

/**
 * The vendor refused `used` (401): have the workflow replace it, once, and answer the replacement; null
 * when a replacement cannot help. A token that never expires has none; one obtained less than
 * `minTokenAgeMs` ago was not refused for its age (Halo answers 401 for a missing permission), and
 * replacing it on every such answer would hammer the vendor's token endpoint. When another caller
 * already replaced it, that replacement is answered without a second refresh.
 */
export async function replaceRefusedToken(
  deps: TokenAccessDeps,
  used: UsableToken,
  { minTokenAgeMs }: { minTokenAgeMs: number },
): Promise<UsableToken | null> {
  if (!used.expiresAt || !used.connection.tokenExpiresAt) return null;
  const current = await reread(deps, used.connection);
  assertUsable(current);
  if ((await storedToken(deps, current)) !== used.accessToken) return usableToken(deps, current, false);
  const obtainedAt = current.tokenObtainedAt?.getTime() ?? 0;
  if (Date.now() - obtainedAt < minTokenAgeMs) return null;
  // A window just past the refused token's expiry: the workflow refreshes unless it already holds a later one.
  const refreshed = await ensureFreshOnce(
    deps,
    current,
    used.connection.tokenExpiresAt.getTime() - Date.now() + CLOCK_TOLERANCE_MS,
  );
  const replacement = await usableToken(deps, refreshed, true);
  return replacement.accessToken === used.accessToken ? null : replacement;
}

/** Refreshes this process asked a workflow for and has not seen answered, by connection id. */
const refreshing = new Map<string, Promise<Connection>>();

/**
 * ensureFresh, once per connection at a time: a caller arriving while one runs takes its outcome (a token
 * just renewed is as fresh as the vendor gives), or its refusal.
 */
function ensureFreshOnce(deps: TokenAccessDeps, connection: Connection, minValidityMs: number) {
  const running = refreshing.get(connection.id);
  if (running) return running;
  const refresh = ensureFresh(deps, connection, minValidityMs).finally(() =>
    refreshing.delete(connection.id),
  );
  refreshing.set(connection.id, refresh);
  return refresh;
}

/** The connection's workflow could not be reached (Temporal down): the token needed it and cannot be had now. */
export class RefreshUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super('the connection’s workflow could not be reached to refresh the token');
  }
}

/** The workflow's ensureFreshToken update; a refusal (paused, revoked meanwhile) is the connection's status. */
async function ensureFresh(deps: TokenAccessDeps, connection: Connection, minValidityMs: number) {
  try {
    await deps.temporal.workflow
      .getHandle(connectionWorkflowId(connection.id))
      .executeUpdate(ensureFreshTokenUpdate, { args: [{ minValidityMs }] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError)) {
      throw new RefreshUnavailableError(err);
    }
    const now = await reread(deps, connection);
    const why = err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : null;
    throw new ConnectionUnusableError(
      connection.id,
      now.status,
      now.statusReason,
      why ?? `connection is ${now.status} and takes no more commands`,
    );
  }
  return reread(deps, connection);
}

/** The connection as stored now; gone (revoked and deleted meanwhile) is unusable. */
async function reread(deps: TokenAccessDeps, connection: Connection): Promise<Connection> {
  const now = await deps.connections.find(connection.tenantId, connection.id);
  if (!now) throw new ConnectionUnusableError(connection.id, 'missing');
  return now;
}

async function usableToken(
  deps: TokenAccessDeps,
  connection: Connection,
  refreshed: boolean,
): Promise<UsableToken> {
  assertUsable(connection);
  // A vendor that could not be reached to renew it leaves the expired token stored: never hand that out.
  if (connection.tokenExpiresAt && connection.tokenExpiresAt.getTime() <= Date.now()) {
    throw new ConnectionUnusableError(
      connection.id,
      connection.status,
      connection.statusReason,
      `the token expired and could not be renewed${connection.statusMessage ? `: ${connection.statusMessage}` : ''}`,
    );
  }
  const accessToken = await storedToken(deps, connection);
  if (!accessToken)
    throw new ConnectionUnusableError(connection.id, connection.status, connection.statusReason);
  return {
    accessToken,
    expiresAt: connection.tokenExpiresAt ?? connection.credentialExpiresAt,
    connection,
    refreshed,
  };
}

function assertUsable(connection: Connection): void {
  if (!USABLE.includes(connection.status)) {
    throw new ConnectionUnusableError(
      connection.id,
      connection.status,
      connection.statusReason,
      `connection is ${connection.status}${connection.statusMessage ? `: ${connection.statusMessage}` : ''}`,
    );
  }
}

async function storedToken(deps: TokenAccessDeps, connection: Connection): Promise<string | null> {
  return getVendor(connection.vendor).auth.kind === 'static_bearer'
    ? ((await deps.secrets.readCredentials(connection.id))?.token ?? null)
    : deps.secrets.readAccessToken(connection.id);
}
