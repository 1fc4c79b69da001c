// Webhook endpoints and their deliveries as the API reads and writes them, scoped to the caller's tenant:
// another tenant's endpoint (or a deleted one) is exactly as absent as one that does not exist, and a
// delivery is reached only through its endpoint.
import { z } from 'zod';
import type { Db, Prisma, WebhookDelivery, WebhookEndpoint } from '../../platform/db';
import type { Quotas } from '../../platform/config';
import type { SecretStore } from '../../platform/secret-store';
import { ApiError } from '../errors';
import { newestFirstPage } from './page-cursor';
import { enforceQuota } from './quota';
import { inScope, type TenantScope } from './tenant-scope';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** An endpoint's secret sealed for its row. */
export type SealedSecret = ReturnType<SecretStore['sealWebhookSecret']>;

export interface NewWebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  secret: SealedSecret;
}

export interface WebhookEndpointChange {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  enabled?: boolean;
}

export interface Page {
  limit: number;
  cursor?: string;
}

/** Event ids: what a delivery cursor may hold. */
export const DELIVERY_ID = z.string().regex(/^evt_[A-Za-z0-9_-]{1,200}$/);

export function webhookData(db: Db, quotas: Quotas) {
  const pendingQuota = (tx: Prisma.TransactionClient, tenantId: string) =>
    enforceQuota(tx, 'pendingDeliveries', quotas.pendingDeliveries, tenantId, () =>
      tx.webhookDelivery.count({ where: { tenantId, status: 'pending' } }),
    );

  return {
    /** The endpoint, or 404 (another tenant's, or deleted). */
    async get(scope: TenantScope, id: string): Promise<WebhookEndpoint> {
      const endpoint = await db.webhookEndpoint.findFirst({
        where: { id, deletedAt: null, ...inScope(scope) },
      });
      if (!endpoint) throw new ApiError(404, 'not_found', `no webhook ${id}`);
      return endpoint;
    },

    /** Newest first; each page continues strictly after the previous page's last row. */
    async list(scope: TenantScope, { limit, cursor }: Page) {
      return newestFirstPage(scope, { limit, cursor }, (page) =>
        db.webhookEndpoint.findMany({
          where: { ...inScope(scope), deletedAt: null, ...page.after },
          orderBy: page.orderBy,
          take: page.take,
        }),
      );
    },

    /** A new endpoint with its sealed secret, within the tenant's endpoint quota (deleted ones do not count). */
    async create(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint> {
      const { tenantId, secret, ...fields } = endpoint;
      return db.$transaction(async (tx) => {
        await tx.tenant.upsert({
          where: { id: tenantId },
          create: { id: tenantId, name: tenantId },
          update: {},
        });
        await enforceQuota(tx, 'webhookEndpoints', quotas.webhookEndpoints, tenantId, () =>
          tx.webhookEndpoint.count({ where: { tenantId, deletedAt: null } }),
        );
        return tx.webhookEndpoint.create({ data: { ...fields, tenantId, ...secret } });
      });
    },

    /** Change an endpoint loaded through `get`: address, event types, description, enabled. */
    async update(endpoint: WebhookEndpoint, change: WebhookEndpointChange): Promise<WebhookEndpoint> {
      const { enabled, ...fields } = change;
      const disabledAt =
        enabled === undefined ? undefined : enabled ? null : (endpoint.disabledAt ?? new Date());
      const { count } = await db.webhookEndpoint.updateMany({
        where: { id: endpoint.id, deletedAt: null },
        data: { ...fields, ...(disabledAt !== undefined ? { disabledAt } : {}) },
      });
      if (count === 0) throw new ApiError(404, 'not_found', `no webhook ${endpoint.id}`);
      return db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    },

    /**
     * Replace the signing secret. With an overlap the replaced one keeps signing (next to the new one) until
     * `previousUntil`, then is wiped; without, it is wiped now (a leaked secret). A rotation that raced
     * another is refused, so no caller holds a secret that never signs.
     */
    async rotateSecret(
      endpoint: WebhookEndpoint,
      secret: SealedSecret,
      previousUntil: Date | null,
    ): Promise<WebhookEndpoint> {
      const { count } = await db.webhookEndpoint.updateMany({
        where: { id: endpoint.id, deletedAt: null, secretSealed: endpoint.secretSealed },
        data: {
          ...secret,
          previousSecretKeyId: previousUntil ? endpoint.secretKeyId : null,
          previousSecretSealed: previousUntil ? endpoint.secretSealed : null,
          previousSecretExpiresAt: previousUntil,
        },
      });
      if (count === 0) {
        throw new ApiError(
          409,
          'conflict',
          'the secret was rotated or the endpoint deleted meanwhile; retry',
        );
      }
      return db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    },

    /** Delete: nothing is delivered or signed any more (its secrets are wiped); deliveries stay as history. */
    async remove(endpoint: WebhookEndpoint): Promise<void> {
      const now = new Date();
      await db.webhookEndpoint.updateMany({
        where: { id: endpoint.id, deletedAt: null },
        data: {
          deletedAt: now,
          disabledAt: endpoint.disabledAt ?? now,
          secretKeyId: null,
          secretSealed: null,
          previousSecretKeyId: null,
          previousSecretSealed: null,
          previousSecretExpiresAt: null,
        },
      });
    },

    deliveries: {
      /** Newest first, optionally of one status; a cursor continues only this endpoint's list. */
      async list(endpoint: WebhookEndpoint, filter: Page & { status?: DeliveryStatus }) {
        const { limit, cursor, status } = filter;
        return newestFirstPage(
          endpoint.id,
          { limit, cursor },
          (page) =>
            db.webhookDelivery.findMany({
              where: {
                endpointId: endpoint.id,
                ...(status ? { status } : {}),
                ...page.after,
              },
              orderBy: page.orderBy,
              take: page.take,
            }),
          DELIVERY_ID,
        );
      },

      async get(endpoint: WebhookEndpoint, id: string): Promise<WebhookDelivery> {
        const delivery = await db.webhookDelivery.findFirst({ where: { id, endpointId: endpoint.id } });
        if (!delivery) throw new ApiError(404, 'not_found', `no delivery ${id} of webhook ${endpoint.id}`);
        return delivery;
      },

      /** A new pending delivery (the test ping), within the tenant's pending deliveries quota. */
      async create(
        endpoint: WebhookEndpoint,
        delivery: { id: string; type: string; payload: Prisma.InputJsonObject },
      ): Promise<WebhookDelivery> {
        return db.$transaction(async (tx) => {
          await pendingQuota(tx, endpoint.tenantId);
          return tx.webhookDelivery.create({
            data: { ...delivery, endpointId: endpoint.id, tenantId: endpoint.tenantId },
          });
        });
      },

      /** A failed delivery pending again, same event id, within the pending quota; 409 unless it failed. */
      async requeue(delivery: WebhookDelivery): Promise<WebhookDelivery> {
        return db.$transaction(async (tx) => {
          await pendingQuota(tx, delivery.tenantId);
          const { count } = await tx.webhookDelivery.updateMany({
            where: { id: delivery.id, status: 'failed' },
            data: { status: 'pending', lastError: null },
          });
          if (count === 0) {
            throw new ApiError(
              409,
              'conflict',
              `delivery ${delivery.id} is ${delivery.status}: only a failed one is sent again`,
            );
          }
          return tx.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
        });
      },

      /** Its workflow could not be started: failed, saying so, for a later redelivery. */
      async notStarted(id: string, error: string): Promise<void> {
        await db.webhookDelivery.updateMany({
          where: { id, status: 'pending' },
          data: { status: 'failed', lastError: error },
        });
      },
    },
  };
}
