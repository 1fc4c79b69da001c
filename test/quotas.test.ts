// Per-tenant quotas: a tenant at a quota (connections, webhook endpoints, pending deliveries, unfinished
// jobs) is refused more, without touching other tenants; an event past the pending deliveries quota is
// stored failed, audited and counted, never lost.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../dev/temporal-dev-server';
import { API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey } from '../platform/api-keys';
import { loadConfig } from '../platform/config';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

const QUOTA = 2;
let stack: Stack;
let receiver: Server;
let receiverUrl: string;
let workerMetrics: string;
beforeAll(async () => {
  workerMetrics = `127.0.0.1:${await freePort()}`;
  stack = await startStack({
    quotas: { connections: QUOTA, webhookEndpoints: QUOTA, pendingDeliveries: 1, jobs: 1 },
    workerMetricsAddress: workerMetrics,
  });
  receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

/** A key of its own tenant holding every scope, so each test starts below every quota. */
const tenantKey = async (tenantId: string) =>
  (await createApiKey(stack.db, { name: tenantId, tenantId, scopes: API_KEY_SCOPES })).key;
const as = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  stack.rawApp.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });

const body = (clientId = 'demo-all-scopes.quota') => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId, clientSecret: 'demo-secret' },
});
const linkAs = (key: string, payload: object, headers: Record<string, string> = {}) =>
  stack.rawApp.inject({
    method: 'POST',
    url: '/v1/connections',
    payload,
    headers: { authorization: `Bearer ${key}`, ...headers },
  });

test('the connections quota comes from TETHER_QUOTA_CONNECTIONS, generous by default', () => {
  expect(loadConfig({}).quotas.connections).toBe(10_000);
  expect(loadConfig({ TETHER_QUOTA_CONNECTIONS: '25' }).quotas.connections).toBe(25);
  expect(() => loadConfig({ TETHER_QUOTA_CONNECTIONS: '0' })).toThrow(/TETHER_QUOTA_CONNECTIONS/);
});

test('past its quota a tenant gets 409 quota_exceeded naming the quota; replays, other tenants and revoked slots are unaffected', async () => {
  const first = await stack.link(body(), { 'idempotency-key': 'quota-first' });
  const second = await stack.link(body());
  expect([first.status, second.status]).toEqual([202, 202]);

  const refused = await stack.link(body());
  expect(refused.status).toBe(409);
  expect(refused.body.error).toBe('quota_exceeded');
  expect(refused.body.message).toContain(`quota of ${QUOTA} connections`);
  expect(refused.body.message).toContain('TETHER_QUOTA_CONNECTIONS');
  expect(await stack.db.connection.count({ where: { tenantId: 'test-tenant' } })).toBe(QUOTA);

  // Retrying a link that was accepted is not a new connection.
  const replay = await stack.link(body(), { 'idempotency-key': 'quota-first' });
  expect(replay.status).toBe(202);
  expect(replay.id).toBe(first.id);

  // Another tenant has a quota of its own, also when an admin key creates for it.
  const other = (await createApiKey(stack.db, { name: 'quota-other', tenantId: 'quota-other' })).key;
  expect((await linkAs(other, body())).statusCode).toBe(202);
  expect((await linkAs(stack.adminKey, body(), { 'x-tenant-id': 'quota-other' })).statusCode).toBe(202);
  expect((await linkAs(stack.adminKey, body(), { 'x-tenant-id': 'quota-other' })).statusCode).toBe(409);

  // A revoked connection no longer counts.
  expect((await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${second.id}` })).statusCode).toBe(
    202,
  );
  await stack.waitForStatus(second.id, 'revoked');
  expect((await stack.link(body())).status).toBe(202);
});

test('links racing for the last slot: exactly the quota is created', async () => {
  const key = (await createApiKey(stack.db, { name: 'quota-race', tenantId: 'quota-race' })).key;
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => linkAs(key, body(`demo-all-scopes.race${i}`))),
  );
  const statuses = answers.map((a) => a.statusCode).sort();
  expect(statuses).toEqual([202, 202, 409, 409, 409, 409]);
  expect(await stack.db.connection.count({ where: { tenantId: 'quota-race' } })).toBe(QUOTA);
});

test('the new quotas have variables and defaults', () => {
  expect(loadConfig({}).quotas).toMatchObject({
    webhookEndpoints: 50,
    pendingDeliveries: 10_000,
    jobs: 1_000,
  });
  const set = loadConfig({
    TETHER_QUOTA_WEBHOOK_ENDPOINTS: '3',
    TETHER_QUOTA_PENDING_DELIVERIES: '4',
    TETHER_QUOTA_JOBS: '5',
  }).quotas;
  expect(set).toMatchObject({ webhookEndpoints: 3, pendingDeliveries: 4, jobs: 5 });
  expect(() => loadConfig({ TETHER_QUOTA_JOBS: 'many' })).toThrow(/TETHER_QUOTA_JOBS/);
});

test('webhook endpoints past the quota answer 409 naming it; a deleted one frees its slot', async () => {
  const key = await tenantKey('quota-hooks');
  const create = () => as(key, 'POST', '/v1/webhooks', { url: `${receiverUrl}/hooks` });
  const first = await create();
  expect([first.statusCode, (await create()).statusCode]).toEqual([201, 201]);
  const refused = await create();
  expect(refused.statusCode).toBe(409);
  expect(refused.json()).toMatchObject({ error: 'quota_exceeded' });
  expect(refused.json().message).toContain('TETHER_QUOTA_WEBHOOK_ENDPOINTS');
  expect(
    (await as(await tenantKey('quota-hooks-other'), 'POST', '/v1/webhooks', { url: `${receiverUrl}/o` }))
      .statusCode,
  ).toBe(201);
  expect((await as(key, 'DELETE', `/v1/webhooks/${first.json().id}`)).statusCode).toBe(204);
  expect((await create()).statusCode).toBe(201);
});

test('past the pending deliveries quota an event is stored failed, audited and counted; ping and redelivery wait for room', async () => {
  const tenantId = 'quota-pending';
  const key = await tenantKey(tenantId);
  const endpoint = (await as(key, 'POST', '/v1/webhooks', { url: `${receiverUrl}/pending` })).json();
  // One delivery stuck pending fills the quota of 1.
  await stack.db.webhookDelivery.create({
    data: { id: 'evt_stuck_1', endpointId: endpoint.id, tenantId, type: 'connection.linked', payload: {} },
  });

  const linked = await as(
    key,
    'POST',
    '/v1/connections',
    demoLink(stack, 'invgate', 'demo-all-scopes.pending'),
  );
  expect(linked.statusCode).toBe(202);
  const connectionId = linked.json().id;
  const [refused] = await eventually(
    async () => (await as(key, 'GET', `/v1/webhooks/${endpoint.id}/deliveries?status=failed`)).json().items,
    (items) => items.some((d: any) => d.connectionId === connectionId),
    { what: 'the linked event stored failed' },
  );
  expect(refused).toMatchObject({ type: 'connection.linked', attempts: 0 });
  expect(refused.lastError).toContain('TETHER_QUOTA_PENDING_DELIVERIES');
  const trail = (await as(key, 'GET', `/v1/connections/${connectionId}/events`)).json().items;
  expect(trail.find((e: any) => e.type === 'webhook_deliveries_refused')?.detail).toEqual({
    eventType: 'connection.linked',
    deliveryIds: [refused.id],
    pendingLimit: 1,
  });
  const metrics = await eventually(
    async () => (await fetch(`http://${workerMetrics}/metrics`)).text(),
    (text) => /tether_webhook_deliveries_refused\{[^}]*type="connection.linked"[^}]*\} [1-9]/.test(text),
    { what: 'refusal counted' },
  );
  expect(metrics).toContain('tether_webhook_deliveries_refused');

  const ping = await as(key, 'POST', `/v1/webhooks/${endpoint.id}/test`);
  expect(ping.statusCode).toBe(409);
  expect(ping.json().error).toBe('quota_exceeded');
  const redeliver = `/v1/webhooks/${endpoint.id}/deliveries/${refused.id}/redeliver`;
  expect((await as(key, 'POST', redeliver)).statusCode).toBe(409);

  await stack.db.webhookDelivery.update({ where: { id: 'evt_stuck_1' }, data: { status: 'delivered' } });
  expect((await as(key, 'POST', redeliver)).statusCode).toBe(202);
  await eventually(
    async () => (await as(key, 'GET', `/v1/webhooks/${endpoint.id}/deliveries/${refused.id}`)).json(),
    (d) => d.status === 'delivered',
    { what: 'redelivered once there was room' },
  );
});

test('unfinished jobs past the quota answer 409; a finished one frees its slot', async () => {
  const key = await tenantKey('quota-jobs');
  const { id } = (
    await as(key, 'POST', '/v1/connections', demoLink(stack, 'promapp', 'demo-all-scopes.qjobs'))
  ).json();
  await eventually(
    async () => (await as(key, 'GET', `/v1/connections/${id}`)).json(),
    (c) => c.status === 'active',
    { what: 'linked' },
  );
  await as(key, 'POST', `/v1/connections/${id}/pause`);
  await eventually(
    async () => (await as(key, 'GET', `/v1/connections/${id}`)).json(),
    (c) => c.status === 'paused',
    { what: 'paused' },
  );
  const job = (u: string) =>
    as(key, 'POST', `/v1/connections/${id}/jobs`, { operation: 'create_user', input: { userName: u } });
  const waiting = await job('first');
  expect(waiting.statusCode).toBe(202);
  const refused = await job('second');
  expect(refused.statusCode).toBe(409);
  expect(refused.json().message).toContain('TETHER_QUOTA_JOBS');
  expect((await as(key, 'POST', `/v1/jobs/${waiting.json().id}/cancel`)).statusCode).toBe(202);
  await eventually(
    async () => (await as(key, 'GET', `/v1/jobs/${waiting.json().id}`)).json(),
    (j) => j.status === 'cancelled',
    { what: 'cancelled' },
  );
  expect((await job('third')).statusCode).toBe(202);
});
