// Operator-wide reads, across every tenant: what /metrics and /readyz need. Nothing here is scoped to a
// tenant, so nothing here may answer a tenant: only routes behind an admin key, or answers that carry
// no tenant's data (readiness), use it.
import type { Db } from '../../platform/db';

export interface FleetCounts {
  connections: { vendor: string; status: string; count: number }[];
  webhookDeliveries: { status: string; count: number }[];
}

export function operatorData(db: Db) {
  return {
    /** Connections by vendor and status, webhook deliveries by status, over all tenants. */
    async fleetCounts(): Promise<FleetCounts> {
      const [connections, deliveries] = await Promise.all([
        db.connection.groupBy({ by: ['vendor', 'status'], _count: { _all: true } }),
        db.webhookDelivery.groupBy({ by: ['status'], _count: { _all: true } }),
      ]);
      return {
        connections: connections.map((g) => ({ vendor: g.vendor, status: g.status, count: g._count._all })),
        webhookDeliveries: deliveries.map((g) => ({ status: g.status, count: g._count._all })),
      };
    },

    /** Resolves when PostgreSQL answers a query. */
    async ping(): Promise<void> {
      await db.$queryRaw`SELECT 1`;
    },
  };
}
