// Webhooks on the real stack: signed (verified with the Standard Webhooks reference library),
// delivered at least once with a stable event id, retried durably, filtered per endpoint and tenant.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createApiKey } from '../platform/api-keys';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Per path: how many more requests to answer 500. */
const failures = new Map<string, number>();

beforeAll(async () => {
  stack = await startStack();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body, path: req.url ?? '' });
      const left = failures.get(req.url ?? '') ?? 0;
      if (left > 0) {
        failures.set(req.url ?? '', left - 1);
        res.writeHead(500).end();
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

async function register(path: string, eventTypes?: string[], key = stack.tenantKey) {
  const res = await stack.rawApp.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: `${receiverUrl}${path}`, ...(eventTypes ? { eventTypes } : {}) },
    headers: { authorization: `Bearer ${key}` },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; secret: string };
}
const link = (clientId: string) => stack.link(demoLink(stack, 'invgate', clientId));
const eventsAt = (path: string, predicate: (e: any) => boolean, count = 1, timeoutMs = 20_000) =>
  eventually(
    () =>
      received
        .filter((r) => r.path === path)
        .map((r) => ({ ...JSON.parse(r.body), _raw: r }))
        .filter(predicate),
    (matching) => matching.length >= count,
    { what: `${count} matching events at ${path}`, timeoutMs },
  );
const deliveries = (endpointId: string) => async () =>
  (await stack.app.inject({ method: 'GET', url: `/v1/webhooks/${endpointId}/deliveries` })).json().items;

test('events are signed, carry the connection and are verifiable with the Standard Webhooks library', async () => {
  const { secret } = await register('/all');
  expect(secret).toMatch(/^whsec_/);
  const list = await stack.app.inject({ method: 'GET', url: '/v1/webhooks' });
  expect(list.body).not.toContain(secret.slice(6));

  const ok = await link('demo-all-scopes.wh');
  const [linked] = await eventsAt(
    '/all',
    (e) => e.type === 'connection.linked' && e.data.connectionId === ok.id,
  );
  const verified = new Webhook(secret).verify(
    linked._raw.body,
    linked._raw.headers as Record<string, string>,
  );
  expect(verified).toMatchObject({
    type: 'connection.linked',
    data: { vendor: 'invgate', status: 'active' },
  });
  expect(linked._raw.headers['webhook-id']).toBe(linked.id);
  expect(() =>
    new Webhook(secret).verify(linked._raw.body.replace('active', 'revoked'), linked._raw.headers as any),
  ).toThrow();

  const missing = await link('demo-missing-scopes');
  const [event] = await eventsAt(
    '/all',
    (e) => e.type === 'connection.insufficient_scopes' && e.data.connectionId === missing.id,
  );
  expect(event.data.missingScopes.map((m: any) => m.scope)).toContain('api.v1.locations:get');
});

test("events carry the connection's name and tags", async () => {
  await register('/named', ['connection.linked']);
  const { id } = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    name: 'Jane at Acme',
    tags: { endUser: 'jane@acme.example', organisation: 'Acme' },
    credentials: { clientId: 'demo-all-scopes.wh-named', clientSecret: 'demo-secret' },
  });
  const [linked] = await eventsAt('/named', (e) => e.data.connectionId === id);
  expect(linked.data).toMatchObject({
    name: 'Jane at Acme',
    tags: { endUser: 'jane@acme.example', organisation: 'Acme' },
  });
});

test('a failing endpoint gets the same event again until it accepts it (at least once, same id)', async () => {
  await register('/flaky');
  failures.set('/flaky', 2);
  const { id } = await link('demo-all-scopes.flaky');
  const attempts = await eventsAt(
    '/flaky',
    (e) => e.type === 'connection.linked' && e.data.connectionId === id,
    3,
  );
  expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
  const webhooks = (await stack.app.inject({ method: 'GET', url: '/v1/webhooks' })).json().items;
  const flaky = webhooks.find((w: any) => w.url.endsWith('/flaky'));
  await eventually(
    deliveries(flaky.id),
    (items) =>
      items.some((d: any) => d.id === attempts[0].id && d.status === 'delivered' && d.attempts === 3),
    { what: 'delivered on the third attempt' },
  );
});

test('degraded, recovered, needs_reauth and revoked are told; filters and tenants are respected', async () => {
  await register('/lifecycle', [
    'connection.degraded',
    'connection.recovered',
    'connection.needs_reauth',
    'connection.revoked',
  ]);
  const otherKey = (await createApiKey(stack.db, { name: 'other', tenantId: 'other-tenant' })).key;
  await register('/other-tenant', undefined, otherKey);

  const client = 'demo-ttl-2.wh-life';
  const { id } = await link(client);
  await stack.waitForStatus(id, 'active');
  const down = stack.sim.control.addFault({
    vendor: 'invgate',
    match: client,
    fault: { kind: 'status', status: 503 },
    scope: 'token',
  });
  await eventsAt(
    '/lifecycle',
    (e) => e.type === 'connection.degraded' && e.data.connectionId === id,
    1,
    40_000,
  );
  stack.sim.control.removeFault(down);
  await eventsAt(
    '/lifecycle',
    (e) => e.type === 'connection.recovered' && e.data.connectionId === id,
    1,
    40_000,
  );
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: client,
    fault: { kind: 'status', status: 401, body: { error: 'invalid_client' } },
    scope: 'token',
  });
  const [reauth] = await eventsAt(
    '/lifecycle',
    (e) => e.type === 'connection.needs_reauth' && e.data.connectionId === id,
    1,
    40_000,
  );
  expect(reauth.data.reason).toBe('credentials_rejected');
  await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` });
  await eventsAt('/lifecycle', (e) => e.type === 'connection.revoked' && e.data.connectionId === id);

  const lifecycleTypes = received.filter((r) => r.path === '/lifecycle').map((r) => JSON.parse(r.body).type);
  expect(lifecycleTypes).not.toContain('connection.linked');
  expect(received.filter((r) => r.path === '/other-tenant')).toEqual([]);
});

test('an endpoint that never accepts is marked failed after the retries, and the event kept', async () => {
  const { id: endpointId } = await register('/dead', ['connection.linked']);
  failures.set('/dead', 1_000);
  await link('demo-all-scopes.dead');
  await eventually(
    deliveries(endpointId),
    (items) =>
      items.some((d: any) => d.status === 'failed' && d.attempts === 4 && d.lastError === 'HTTP 500'),
    { what: 'failed after four attempts', timeoutMs: 30_000 },
  );
});

test('webhook URLs must pass the outbound policy', async () => {
  const res = await stack.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: 'http://example.com/hook' },
  });
  expect(res.statusCode).toBe(400);
  expect(res.json().issues[0].field).toBe('body.url');
  const bad = await stack.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: 'https://example.com', eventTypes: ['nope'] },
  });
  expect(bad.statusCode).toBe(400);
});
