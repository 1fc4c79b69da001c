// Prometheus metrics of the token access route and the proxy, on the API's registry (api/metrics.ts).
import { Counter, Histogram, type Registry } from 'prom-client';

export type AccessMetrics = ReturnType<typeof createAccessMetrics>;

export function createAccessMetrics(registry: Registry) {
  return {
    tokens: new Counter({
      name: 'tether_access_tokens_total',
      help: 'Access-token requests by vendor and outcome: issued, issued_after_refresh, refused (connection unusable)',
      labelNames: ['vendor', 'outcome'],
      registers: [registry],
    }),
    proxied: new Counter({
      name: 'tether_proxy_requests_total',
      help: 'Proxied calls by vendor, answer status and who answered: vendor (passed through) or tether (its own error)',
      labelNames: ['vendor', 'status', 'answered_by'],
      registers: [registry],
    }),
    vendorLatency: new Histogram({
      name: 'tether_proxy_vendor_latency_seconds',
      help: "Time from a proxied call's arrival to the vendor's answer headers (token lookup and any refresh included)",
      labelNames: ['vendor'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    budgetWaits: new Counter({
      name: 'tether_proxy_rate_budget_waits_total',
      help: 'Proxied calls that met a used-up shared rate budget, by vendor, budget class and outcome: inline (waited in place), missed (the wait overran, another slot taken) or refused (429)',
      labelNames: ['vendor', 'class', 'outcome'],
      registers: [registry],
    }),
    tokenReplacements: new Counter({
      name: 'tether_proxy_token_replacements_total',
      help: 'Vendor 401s on proxied calls by vendor and what followed: replaced (refreshed and retried) or passed (answered as is)',
      labelNames: ['vendor', 'outcome'],
      registers: [registry],
    }),
  };
}
