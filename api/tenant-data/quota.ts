// Per-tenant quotas (platform/config.ts QUOTAS), checked inside the transaction that creates the row.
import type { Prisma } from '../../platform/db';
import { QUOTAS, type QuotaName } from '../../platform/config';
import { lockTenantQuota } from '../../platform/quota-lock';
import { ApiError } from '../errors';

/**
 * Refuse the create when the tenant already has `limit` rows counted by `count`. Creates of one tenant
 * wait for each other here (platform/quota-lock.ts), so two requests racing for the last slot cannot both
 * get it; other tenants never wait on this lock.
 */
export async function enforceQuota(
  tx: Prisma.TransactionClient,
  quota: QuotaName,
  limit: number,
  tenantId: string,
  count: () => Promise<number>,
): Promise<void> {
  await lockTenantQuota(tx, quota, tenantId);
  if ((await count()) < limit) return;
  throw quotaExceeded(quota, limit);
}

function quotaExceeded(quota: QuotaName, limit: number): ApiError {
  const { noun, variable } = QUOTAS[quota];
  return new ApiError(
    409,
    'quota_exceeded',
    `the tenant has used its quota of ${limit} ${noun}; ask the operator to raise ${variable} if it needs more`,
  );
}
