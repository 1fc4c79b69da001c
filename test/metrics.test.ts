// Prometheus metrics: the API's (HTTP, connections by vendor and status; admin key, cached fleet counts) and
// the worker's (Temporal SDK runtime metrics plus vendor calls by vendor, call and outcome).
import { freePort } from '../dev/temporal-dev-server';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let workerMetrics: string;
beforeAll(async () => {
  workerMetrics = `127.0.0.1:${await freePort()}`;
  // Longer than the suite: the fleet counts are read once, at the first scrape.
  stack = await startStack({ workerMetricsAddress: workerMetrics, metricsCacheMs: 600_000 });
});
afterAll(async () => {
  await stack?.close();
});

test('API and worker expose what to alert on', async () => {
  const good = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.metrics', clientSecret: 'demo-secret' },
  });
  const bad = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.metrics', clientSecret: 'wrong' },
  });
  await stack.waitForStatus(good.id, 'active');
  await stack.waitForStatus(bad.id, 'invalid_credentials');

  const scrape = () =>
    stack.rawApp.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${stack.adminKey}` },
    });
  const api = await scrape();
  expect(api.statusCode).toBe(200);
  expect(api.body).toMatch(/tether_connections\{vendor="invgate",status="active"\} 1/);
  expect(api.body).toMatch(/tether_connections\{vendor="invgate",status="invalid_credentials"\} 1/);
  expect(api.body).toMatch(
    /tether_http_requests_total\{method="POST",route="\/v1\/connections",status="202"\} 2/,
  );
  expect(api.body).toMatch(/tether_http_request_duration_seconds_bucket/);

  // Scrapes within the cache's age do not read PostgreSQL again: a third connection is not counted yet,
  // while the request counters (in memory) are current.
  const third = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.metrics', clientSecret: 'demo-secret' },
  });
  await stack.waitForStatus(third.id, 'active');
  const again = await scrape();
  expect(again.body).toMatch(/tether_connections\{vendor="invgate",status="active"\} 1/);
  expect(again.body).toMatch(
    /tether_http_requests_total\{method="POST",route="\/v1\/connections",status="202"\} 3/,
  );

  const worker = await (await fetch(`http://${workerMetrics}/metrics`)).text();
  expect(worker).toMatch(
    /tether_vendor_calls\{activityType="obtainToken",[^}]*outcome="ok",[^}]*vendor="invgate"\} [1-9]/,
  );
  expect(worker).toMatch(
    /tether_vendor_calls\{activityType="obtainToken",[^}]*outcome="InvalidCredentials",[^}]*vendor="invgate"\} 1/,
  );
  expect(worker).toMatch(/tether_vendor_call_latency/);
  // The SDK's own runtime metrics come through the same exporter (links at the floor run their token
  // request and transition as local activities).
  expect(worker).toMatch(/temporal_local_activity_execution_latency_count\{activity_type="obtainToken"/);
  expect(worker).toMatch(/temporal_workflow_completed|temporal_workflow_task_execution_latency/);
});
