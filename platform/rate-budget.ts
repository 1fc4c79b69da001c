// The shared budget store of vendor rate limits (vendor-kit/rate-limits.ts): one row per budget key in
// PostgreSQL, which every worker and API replica sees. Each take is one call of the SQL function
// take_rate_budget (its migrations explain it): a GCRA update under row locks, on the database's clock, so
// no two processes can both spend the last slot and no process's clock skew matters.
import {
  SLOT_LATENESS_MS,
  type BudgetAnswer,
  type BudgetRequest,
  type RateBudget,
  type RateLimit,
} from '../vendor-kit/rate-limits';
import type { Db } from './db';

/**
 * GCRA parameters that keep every window of the limit's length at or under its count: one request per
 * interval, `burst` of them at once, the interval widened so the burst fits inside the window's count, and
 * so that it still does when each request leaves up to SLOT_LATENESS_MS after its slot (a window then
 * holds the slots of its length plus that lateness).
 */
export function gcraOf(limit: RateLimit): { intervalMs: number; toleranceMs: number } {
  const windowMs = limit.windowSeconds * 1000;
  const intervalMs = Math.max(
    windowMs / (limit.requests - limit.burst),
    (windowMs + SLOT_LATENESS_MS) / (limit.requests - limit.burst + 1),
  );
  return { intervalMs, toleranceMs: (limit.burst - 1) * intervalMs };
}

/**
 * This process's clock minus the database's, as the quickest answer of the last minute shows it (plus that
 * answer's own transit, the least there is): how much longer another answer took is its transit.
 */
class ClockGap {
  private readonly slices: { from: number; min: number }[] = [];

  /** The transit of an answer decided at dbNowMs on the database's clock and received at receivedAt. */
  transitOf(dbNowMs: number, receivedAt: number): number {
    const gap = receivedAt - dbNowMs;
    const slice = Math.floor(receivedAt / 10_000) * 10_000;
    const last = this.slices.at(-1);
    if (last?.from === slice) last.min = Math.min(last.min, gap);
    else this.slices.push({ from: slice, min: gap });
    while (this.slices[0]!.from < slice - 50_000) this.slices.shift();
    return gap - Math.min(...this.slices.map((s) => s.min));
  }
}

export function createRateBudget(db: Db): RateBudget {
  const clock = new ClockGap();
  return {
    async take({ slots, reserveWithinMs, owner }: BudgetRequest): Promise<BudgetAnswer> {
      const params = slots.map((slot) => gcraOf(slot.limit));
      const rows = await db.$queryRaw<
        { granted: boolean; wait_ms: number; missed: boolean; now_ms: number }[]
      >`
        SELECT granted, wait_ms, missed, now_ms FROM take_rate_budget(
          ${slots.map((s) => s.key)}::text[],
          ${params.map((p) => p.intervalMs)}::float8[],
          ${params.map((p) => p.toleranceMs)}::float8[],
          ${reserveWithinMs}::float8,
          ${owner?.id ?? null}::text,
          ${owner?.holdAfterMs ?? 0}::float8,
          ${SLOT_LATENESS_MS}::float8)`;
      const row = rows[0]!;
      // An answer slow to arrive (a busy event loop, a slow network) finds its slot nearer, or past.
      const waitMs = Math.ceil(row.wait_ms) - clock.transitOf(row.now_ms, Date.now());
      return { granted: row.granted, waitMs, missed: row.missed };
    },
  };
}
