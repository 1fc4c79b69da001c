// Connections as the API reads and writes them. Reads are scoped to the caller's tenant: another
// tenant's connection is exactly as absent as one that does not exist.
import { isDeepStrictEqual } from 'node:util';
import { Prisma, type Connection, type Db } from '../../platform/db';
import type { Quotas } from '../../platform/config';
import type { SecretStore } from '../../platform/secret-store';
import type { ConnectionStatus } from '../../domain/connection';
import { getVendor } from '../../catalog';
import { AUTH_KIND_LABELS } from '../../vendor-kit/definition';
import { actorColumns, type Actor } from '../../domain/audit-events';
import { ApiError } from '../errors';
import { tagsWhere } from '../tags';
import { newestFirstPage } from './page-cursor';
import { enforceQuota } from './quota';
import { inScope, type TenantScope } from './tenant-scope';

export interface NewConnection {
  id: string;
  tenantId: string;
  vendor: string;
  instanceUrl: string;
  /** null: the default name, `<vendor>-<auth kind>-<n>` with the tenant's next number for that prefix. */
  name: string | null;
  tags: Record<string, string>;
  settings: Record<string, unknown>;
  sealedCredentials: ReturnType<SecretStore['sealCredentials']>;
  /** The Idempotency-Key it was created with, and the fingerprint of the request body. */
  idempotency?: { key: string; requestHash: string };
  /** Linked on the connect page: the session claims it in the same transaction (one link per session). */
  connectSessionId?: string;
  /** Who asked for the link (an API key, or the end user on the connect page), for its audit event. */
  actor: Actor;
}

export interface ConnectionFilter {
  vendor?: string;
  status?: ConnectionStatus;
  /** Exact name. */
  name?: string;
  /** Names starting with this, ignoring case. */
  namePrefix?: string;
  /** Every tag given must match. */
  tag?: { key: string; value: string }[];
  limit: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

/** "InvGate-Client Credentials": the vendor's short name and how it authenticates. */
const defaultNamePrefix = (vendorId: string) => {
  const vendor = getVendor(vendorId);
  return `${vendor.shortName ?? vendor.name}-${AUTH_KIND_LABELS[vendor.auth.kind]}`;
};

/**
 * The tenant's next default name for this prefix: numbers are never reused, even after a rename. Runs inside
 * the create's transaction, after the tenant's quota lock, so concurrent links of a tenant take turns.
 */
async function nextDefaultName(
  tx: Prisma.TransactionClient,
  tenantId: string,
  prefix: string,
): Promise<string> {
  const counter = await tx.connectionNameCounter.upsert({
    where: { tenantId_prefix: { tenantId, prefix } },
    create: { tenantId, prefix, last: 1 },
    update: { last: { increment: 1 } },
  });
  return `${prefix}-${counter.last}`;
}

export function connectionData(db: Db, quotas: Quotas) {
  // findUnique, not findFirst: the primary-key read Prisma batches and plans cheaply (a findFirst cost
  // several times its CPU per request); the tenant is an extra filter on the same row.
  const find = (scope: TenantScope, id: string): Promise<Connection | null> =>
    db.connection.findUnique({ where: { id, ...inScope(scope) } });

  return {
    find,

    /** The connection, or 404. */
    async get(scope: TenantScope, id: string): Promise<Connection> {
      const connection = await find(scope, id);
      if (!connection) throw new ApiError(404, 'not_found', `no connection ${id}`);
      return connection;
    },

    /** Newest first; each page continues strictly after the previous page's last row. */
    async list(scope: TenantScope, filter: ConnectionFilter) {
      const { vendor, status, name, namePrefix, limit, cursor } = filter;
      return newestFirstPage(scope, { limit, cursor }, (page) =>
        db.connection.findMany({
          where: {
            ...inScope(scope),
            ...(vendor ? { vendor } : {}),
            ...(status ? { status } : {}),
            ...(name !== undefined ? { name } : {}),
            AND: [
              ...(namePrefix !== undefined
                ? [{ name: { startsWith: namePrefix, mode: 'insensitive' as const } }]
                : []),
              tagsWhere(filter.tag),
            ],
            ...page.after,
          },
          orderBy: page.orderBy,
          take: page.take,
        }),
      );
    },

    /**
     * Store a new connection with its sealed credentials, its Idempotency-Key and the audit event of the
     * link request, within the tenant's connection quota. Null when a concurrent request with the same
     * Idempotency-Key stored its connection first.
     */
    async create(link: NewConnection): Promise<Connection | null> {
      const { id, tenantId, idempotency } = link;
      try {
        return await db.$transaction(async (tx) => {
          await enforceQuota(tx, 'connections', quotas.connections, tenantId, () =>
            tx.connection.count({ where: { tenantId, status: { not: 'revoked' } } }),
          );
          const created = await tx.connection.create({
            data: {
              id,
              tenantId,
              vendor: link.vendor,
              instanceUrl: link.instanceUrl,
              name: link.name ?? (await nextDefaultName(tx, tenantId, defaultNamePrefix(link.vendor))),
              tags: link.tags,
              settings: link.settings as Prisma.InputJsonObject,
              secrets: { create: [link.sealedCredentials] },
            },
          });
          if (idempotency) {
            await tx.idempotencyKey.create({ data: { tenantId, ...idempotency, connectionId: id } });
          }
          const { connectSessionId } = link;
          const event = await tx.auditEvent.create({
            data: {
              connectionId: id,
              tenantId,
              type: 'link_requested',
              ...actorColumns(link.actor),
              toStatus: 'linking',
              ...(connectSessionId ? { detail: { connectSessionId } } : {}),
            },
          });
          if (connectSessionId) {
            // Of two submits racing, one links; the other is told the session already did.
            const claimed = await tx.connectSession.updateMany({
              where: { id: connectSessionId, connectionId: null, completedAt: null },
              data: {
                connectionId: id,
                actedAt: new Date(),
                actedMark: event.id,
                attemptResult: Prisma.DbNull,
              },
            });
            if (claimed.count === 0) {
              throw new ApiError(409, 'conflict', 'this connect link already linked a connection');
            }
          }
          return created;
        });
      } catch (err) {
        if (idempotency && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          return null;
        }
        throw err;
      }
    },

    /**
     * Rename and re-tag a connection already loaded through `get`, with an audit event naming what changed;
     * settings changes reach the row through their verification (the rotation path), not here.
     */
    async update(
      connection: Connection,
      change: { name?: string; tags?: Record<string, string>; settingsChanged?: boolean },
      actor: Actor,
    ): Promise<Connection> {
      const { id, tenantId } = connection;
      const renamed = change.name !== undefined && change.name !== connection.name;
      const retagged = change.tags !== undefined && !isDeepStrictEqual(change.tags, connection.tags);
      if (!renamed && !retagged && !change.settingsChanged) return connection;
      return db.$transaction(async (tx) => {
        const updated = await tx.connection.update({
          where: { id },
          data: { ...(renamed ? { name: change.name } : {}), ...(retagged ? { tags: change.tags } : {}) },
        });
        await tx.auditEvent.create({
          data: {
            connectionId: id,
            tenantId,
            type: 'connection_updated',
            ...actorColumns(actor),
            detail: {
              ...(renamed ? { name: { from: connection.name, to: change.name } } : {}),
              ...(retagged ? { tags: change.tags } : {}),
              ...(change.settingsChanged ? { settings: updated.settings } : {}),
            } as Prisma.InputJsonObject,
          },
        });
        return updated;
      });
    },

    /** What an Idempotency-Key of the tenant was first used for, if it was. */
    idempotencyKey(tenantId: string, key: string) {
      return db.idempotencyKey.findUnique({ where: { tenantId_key: { tenantId, key } } });
    },
  };
}
