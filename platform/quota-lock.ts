// The lock a per-tenant quota is checked under (platform/config.ts QUOTAS), shared by the API and the
// worker's webhook outbox: a transaction-scoped advisory lock per tenant and quota, so two creates racing
// for the last slot take turns, and other tenants never wait on it.
import type { Prisma } from './db';
import type { QuotaName } from './config';

export async function lockTenantQuota(
  tx: Prisma.TransactionClient,
  quota: QuotaName,
  tenantId: string,
): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`quota:${quota}:${tenantId}`}, 0))`;
}
