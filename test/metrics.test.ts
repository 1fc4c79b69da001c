// Prometheus metrics: the API's (HTTP, connections by vendor and status) and the worker's
// (Temporal SDK runtime metrics plus vendor calls by vendor, call and outcome).
import { freePort } from '../dev/temporal-dev-server';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let workerMetrics: string;
beforeAll(async () => {
  workerMetrics = `127.0.0.1:${await freePort()}`;
  stack = await startStack({ workerMetricsAddress: workerMetrics });
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

  const api = await stack.rawApp.inject({ method: 'GET', url: '/metrics' });
  expect(api.statusCode).toBe(200);
  expect(api.body).toMatch(/tether_connections\{vendor="invgate",status="active"\} 1/);
  expect(api.body).toMatch(/tether_connections\{vendor="invgate",status="invalid_credentials"\} 1/);
  expect(api.body).toMatch(
    /tether_http_requests_total\{method="POST",route="\/v1\/connections",status="202"\} 2/,
  );
  expect(api.body).toMatch(/tether_http_request_duration_seconds_bucket/);

  const worker = await (await fetch(`http://${workerMetrics}/metrics`)).text();
  expect(worker).toMatch(
    /tether_vendor_calls\{activityType="obtainToken",[^}]*outcome="ok",[^}]*vendor="invgate"\} [1-9]/,
  );
  expect(worker).toMatch(
    /tether_vendor_calls\{activityType="obtainToken",[^}]*outcome="InvalidCredentials",[^}]*vendor="invgate"\} 1/,
  );
  expect(worker).toMatch(/tether_vendor_call_latency/);
  // The SDK's own runtime metrics come through the same exporter.
  expect(worker).toMatch(/temporal_activity_execution_latency/);
  expect(worker).toMatch(/temporal_workflow_completed|temporal_workflow_task_execution_latency/);
});
