// Prometheus metrics of the API process at GET /metrics: HTTP traffic, and the fleet as PostgreSQL
// sees it (connections by vendor and status, webhook deliveries by status). The fleet spans every tenant,
// so /metrics needs an admin API key; its counts are read at most once per cacheMs however often it is
// scraped. The worker's metrics (Temporal SDK runtime + vendor calls) come from its own exporter.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AddressLimit } from './address-limit';
import { requireAdminKey } from './auth';
import type { TenantData } from './tenant-data';
import type { FleetCounts } from './tenant-data/operator';

export interface MetricsOptions {
  /** For the admin key /metrics needs. */
  apiKeys: TenantData['apiKeys'];
  operator: TenantData['operator'];
  addressLimit: AddressLimit;
  /** How long the fleet counts are served before they are read again. */
  cacheMs: number;
}

// Registered on the root instance (not as an encapsulated plugin) so the hook sees every route.
export function registerMetrics(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  app: FastifyInstance<any, any, any, any, any>,
  options: MetricsOptions,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tether_api_' });
  const fleetCounts = cached(() => options.operator.fleetCounts(), options.cacheMs);

  const requests = new Counter({
    name: 'tether_http_requests_total',
    help: 'API requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'tether_http_request_duration_seconds',
    help: 'API request latency',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'tether_connections',
    help: 'Connections by vendor and status',
    labelNames: ['vendor', 'status'],
    registers: [registry],
    async collect() {
      const { connections } = await fleetCounts();
      this.reset();
      for (const g of connections) this.set({ vendor: g.vendor, status: g.status }, g.count);
    },
  });
  new Gauge({
    name: 'tether_webhook_deliveries',
    help: 'Webhook deliveries by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { webhookDeliveries } = await fleetCounts();
      this.reset();
      for (const g of webhookDeliveries) this.set({ status: g.status }, g.count);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids must not explode the label space.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      schema: { hide: true },
      onRequest: (request) =>
        requireAdminKey(options.apiKeys, options.addressLimit, request, 'metrics need an admin API key'),
    },
    async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
  return registry;
}

/**
 * The last read while it is younger than maxAgeMs, else a new one; scrapes during a read share it. A failed
 * read is not kept, so the next scrape tries again.
 */
function cached(read: () => Promise<FleetCounts>, maxAgeMs: number): () => Promise<FleetCounts> {
  let last: { at: number; counts: Promise<FleetCounts> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= maxAgeMs) {
      const counts = read();
      const entry = { at: Date.now(), counts };
      last = entry;
      counts.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return last.counts;
  };
}
