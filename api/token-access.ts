// How provisioning work (SCIM create/deactivate user, ...) gets a token it can use right now.
// The token is read from the encrypted store, never from Temporal; if it would expire within
// `minValidityMs`, the connection's workflow refreshes it first (joining a refresh that waits in its
// queue), so two callers never race a refresh.
import type { Client } from '@temporalio/client';
import { getVendor } from '../catalog';
import { connectionWorkflowId } from '../workflows/ids';
import { ensureFreshTokenUpdate } from '../workflows/messages';
import type { ConnectionStatus } from '../domain/connection';
import type { Db } from '../platform/db';
import type { SecretStore } from '../platform/secret-store';

/** Statuses in which the stored token can be used. */
const USABLE: ConnectionStatus[] = ['active', 'expiring', 'degraded'];

export class ConnectionUnusableError extends Error {
  constructor(
    readonly connectionId: string,
    readonly status: ConnectionStatus | 'missing',
  ) {
    super(`connection ${connectionId} cannot be used now (status ${status})`);
  }
}

export async function getValidAccessToken(
  deps: { db: Db; secrets: SecretStore; temporal: Client },
  connectionId: string,
  { minValidityMs = 60_000 }: { minValidityMs?: number } = {},
): Promise<{ accessToken: string; expiresAt: Date | null }> {
  let connection = await deps.db.connection.findUnique({ where: { id: connectionId } });
  if (!connection) throw new ConnectionUnusableError(connectionId, 'missing');
  if (connection.tokenExpiresAt && connection.tokenExpiresAt.getTime() - Date.now() < minValidityMs) {
    await deps.temporal.workflow
      .getHandle(connectionWorkflowId(connectionId))
      .executeUpdate(ensureFreshTokenUpdate, { args: [{ minValidityMs }] });
    connection = await deps.db.connection.findUniqueOrThrow({ where: { id: connectionId } });
  }
  if (!USABLE.includes(connection.status)) throw new ConnectionUnusableError(connectionId, connection.status);
  const accessToken =
    getVendor(connection.vendor).auth.kind === 'static_bearer'
      ? (await deps.secrets.readCredentials(connectionId))?.token
      : await deps.secrets.readAccessToken(connectionId);
  if (!accessToken) throw new ConnectionUnusableError(connectionId, connection.status);
  return { accessToken, expiresAt: connection.tokenExpiresAt };
}
