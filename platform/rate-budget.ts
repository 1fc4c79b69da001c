// The shared budget store of vendor rate limits (vendor-kit/rate-limits.ts): one row per budget key in
// PostgreSQL, which every worker and API replica sees. Each take is one call of the SQL function
// take_rate_budget (its migration explains it): a GCRA update under row locks, on the database's clock, so
// no two processes can both spend the last slot and no process's clock skew matters.
import type { BudgetAnswer, BudgetRequest, RateBudget, RateLimit } from '../vendor-kit/rate-limits';
import type { Db } from './db';

/**
 * GCRA parameters that keep every window of the limit's length at or under its count: one request per
 * interval, `burst` of them at once, the interval widened so the burst fits inside the window's count.
 */
export function gcraOf(limit: RateLimit): { intervalMs: number; toleranceMs: number } {
  const intervalMs = (limit.windowSeconds * 1000) / (limit.requests - limit.burst);
  return { intervalMs, toleranceMs: (limit.burst - 1) * intervalMs };
}

export function createRateBudget(db: Db): RateBudget {
  return {
    async take({ slots, reserveWithinMs, owner }: BudgetRequest): Promise<BudgetAnswer> {
      const params = slots.map((slot) => gcraOf(slot.limit));
      const rows = await db.$queryRaw<{ granted: boolean; wait_ms: number }[]>`
        SELECT granted, wait_ms FROM take_rate_budget(
          ${slots.map((s) => s.key)}::text[],
          ${params.map((p) => p.intervalMs)}::float8[],
          ${params.map((p) => p.toleranceMs)}::float8[],
          ${reserveWithinMs}::float8,
          ${owner?.id ?? null}::text,
          ${owner?.holdAfterMs ?? 0}::float8)`;
      const row = rows[0]!;
      return { granted: row.granted, waitMs: Math.max(0, Math.ceil(row.wait_ms)) };
    },
  };
}
