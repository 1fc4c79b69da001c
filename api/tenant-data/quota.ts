// Per-tenant quotas (platform/config.ts QUOTAS), checked inside the transaction that creates the row.
import { Prisma } from '../../platform/db';
import { QUOTAS, type QuotaName } from '../../platform/config';
import { ApiError } from '../errors';

/**
 * Refuse the create when the tenant already has `limit` rows counted by `count`. Creates of one tenant
 * wait for each other here (a transaction-scoped advisory lock per tenant and quota), so two requests
 * racing for the last slot cannot both get it; other tenants never wait on this lock.
 */
export async function enforceQuota(
  tx: Prisma.TransactionClient,
  quota: QuotaName,
  limit: number,
  tenantId: string,
  count: () => Promise<number>,
): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`quota:${quota}:${tenantId}`}, 0))`;
  if ((await count()) < limit) return;
  const { noun, variable } = QUOTAS[quota];
  throw new ApiError(
    409,
    'quota_exceeded',
    `the tenant has used its quota of ${limit} ${noun}; ask the operator to raise ${variable} if it needs more`,
  );
}
