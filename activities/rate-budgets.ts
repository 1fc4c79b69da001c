// The connection's vendor context for an activity, its requests taking slots in the shared rate budgets
// (vendor-kit/rate-limits.ts), each wait counted in the worker's metrics by vendor, class and outcome.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { VendorDefinition } from '../catalog';
import { vendorContext, type ConnectionTarget } from '../vendor-kit/context';
import type { VendorContext, VendorEndpoints } from '../vendor-kit/definition';
import { BudgetExhausted, budgetedHttp, type SharedRateLimits } from '../vendor-kit/rate-limits';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import { FailureType } from '../domain/failures';

export type { SharedRateLimits };

export function budgetedContext(
  connection: ConnectionTarget & { id: string },
  vendor: VendorDefinition,
  deps: { http: VendorHttp; endpoints?: VendorEndpoints; rateLimits?: SharedRateLimits },
  /** Holds a slot for the next attempt when the wait is long (`job:<id>`, `connection:<id>`). */
  owner: string,
): VendorContext {
  const ctx = vendorContext(connection, deps.http, deps.endpoints);
  if (!deps.rateLimits) return ctx;
  const { budget, limits, inlineWaitMs, horizonMs } = deps.rateLimits;
  const http = budgetedHttp(deps.http, {
    budget,
    limits,
    vendor,
    connectionId: connection.id,
    ctx,
    inlineWaitMs,
    horizonMs,
    owner,
    onWait: (budgetClass, outcome) =>
      Context.current()
        .metricMeter.createCounter(
          'tether_rate_budget_waits',
          'waits',
          'Vendor requests that waited for a slot of a shared rate budget: inline (in place) or deferred (a workflow timer)',
        )
        .add(1, { vendor: vendor.id, class: budgetClass, outcome }),
  });
  return { ...ctx, http };
}

/**
 * The failure that tells the workflow to call again after retryAfterMs: never retried by the server, never
 * read as the vendor failing (the workflow sleeps, then calls again with fresh attempts).
 */
export function budgetWaitFailure(err: BudgetExhausted): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.RateBudgetWait,
    message: err.message,
    details: [{ retryAfterMs: err.retryAfterMs }],
    nonRetryable: true,
  });
}
