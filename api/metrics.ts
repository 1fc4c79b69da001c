// Prometheus metrics of the API process at GET /metrics: HTTP traffic, and the fleet as PostgreSQL
// sees it (connections by vendor and status, webhook deliveries by status), read at scrape time.
// The worker's metrics (Temporal SDK runtime + vendor calls) come from its own exporter.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../platform/db';

// Registered on the root instance (not as an encapsulated plugin) so the hook sees every route.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerMetrics(app: FastifyInstance<any, any, any, any, any>, db: Db): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tether_api_' });

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
      this.reset();
      const groups = await db.connection.groupBy({ by: ['vendor', 'status'], _count: { _all: true } });
      for (const g of groups) this.set({ vendor: g.vendor, status: g.status }, g._count._all);
    },
  });
  new Gauge({
    name: 'tether_webhook_deliveries',
    help: 'Webhook deliveries by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      const groups = await db.webhookDelivery.groupBy({ by: ['status'], _count: { _all: true } });
      for (const g of groups) this.set({ status: g.status }, g._count._all);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids must not explode the label space.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return registry;
}
