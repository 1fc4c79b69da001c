// Webhooks on the real stack: signed (verified with the Standard Webhooks reference library),
// delivered at least once with a stable event id, retried durably, filtered per endpoint and tenant.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createApiKey } from '../platform/api-keys';
import { wipeExpiredWebhookSecrets } from '../platform/webhook-secrets';
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

const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, key?: string) =>
  (key ? stack.rawApp : stack.app).inject({
    method,
    url,
    payload,
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
  });
const ping = async (endpointId: string) => {
  const res = await api('POST', `/v1/webhooks/${endpointId}/test`);
  expect(res.statusCode).toBe(202);
  return res.json() as { id: string; status: string; type: string };
};
const pingAt = async (path: string, deliveryId: string) =>
  (await eventsAt(path, (e) => e.id === deliveryId))[0]._raw as Received;
const verifies = (secret: string, r: Received) => {
  try {
    new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

test('a test ping is a signed webhook.ping event, recorded as a delivery', async () => {
  const { id, secret } = await register('/ping', ['connection.revoked']);
  const sent = await ping(id);
  expect(sent).toMatchObject({ type: 'webhook.ping', status: 'pending' });
  const raw = await pingAt('/ping', sent.id);
  expect(verifies(secret, raw)).toBe(true);
  expect(JSON.parse(raw.body)).toMatchObject({ type: 'webhook.ping', data: { endpointId: id } });
  await eventually(
    async () => (await api('GET', `/v1/webhooks/${id}/deliveries/${sent.id}`)).json(),
    (d) => d.status === 'delivered' && d.attempts === 1,
    { what: 'ping delivered' },
  );
});

test('rotating the secret signs with both secrets during the overlap, then with the new one only', async () => {
  const { id, secret: first } = await register('/rotate');
  const rotated = await api('POST', `/v1/webhooks/${id}/rotate-secret`);
  expect(rotated.statusCode).toBe(200);
  const second = rotated.json().secret as string;
  expect(second).toMatch(/^whsec_/);
  expect(second).not.toBe(first);
  const overlapEnds = Date.parse(rotated.json().previousSecretExpiresAt);
  expect(overlapEnds - Date.now()).toBeGreaterThan(86_400_000 - 60_000);

  const during = await pingAt('/rotate', (await ping(id)).id);
  expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
  expect(String(during.headers['webhook-signature'])).toMatch(/^v1,\S+ v1,\S+$/);
  expect(verifies(first, during)).toBe(true);
  expect(verifies(second, during)).toBe(true);

  // No overlap (a leaked secret): the replaced one is wiped at once.
  const third = (await api('POST', `/v1/webhooks/${id}/rotate-secret`, { overlapSeconds: 0 })).json();
  expect(third.previousSecretExpiresAt).toBeNull();
  const row = await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  expect([row.previousSecretSealed, row.previousSecretKeyId, row.previousSecretExpiresAt]).toEqual([
    null,
    null,
    null,
  ]);
  const after = await pingAt('/rotate', (await ping(id)).id);
  expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verifies(third.secret, after)).toBe(true);
  expect(verifies(second, after)).toBe(false);

  // The secret is in no other answer.
  for (const url of ['/v1/webhooks', `/v1/webhooks/${id}`, `/v1/webhooks/${id}/deliveries`]) {
    const body = (await api('GET', url)).body;
    for (const s of [first, second, third.secret]) expect(body).not.toContain(s.slice(6));
  }

  const bad = await api('POST', `/v1/webhooks/${id}/rotate-secret`, { overlapSeconds: -1 });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().issues[0].field).toBe('body.overlapSeconds');
});

test('after the overlap the replaced secret no longer signs and is wiped from the row', async () => {
  const { id, secret: old } = await register('/overlap-ends');
  const { secret } = (await api('POST', `/v1/webhooks/${id}/rotate-secret`, { overlapSeconds: 1 })).json();
  const { id: swept } = await register('/swept');
  await api('POST', `/v1/webhooks/${swept}/rotate-secret`, { overlapSeconds: 1 });
  await new Promise((r) => setTimeout(r, 1_200));

  // The delivery that finds it expired signs without it, and wipes it.
  const raw = await pingAt('/overlap-ends', (await ping(id)).id);
  expect(String(raw.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verifies(secret, raw)).toBe(true);
  expect(verifies(old, raw)).toBe(false);
  const row = await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  expect(row.previousSecretSealed).toBeNull();

  // The workers' periodic pass wipes the others.
  expect(
    (await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id: swept } })).previousSecretSealed,
  ).not.toBeNull();
  expect(await wipeExpiredWebhookSecrets(stack.db, new Date())).toBeGreaterThanOrEqual(1);
  expect(
    (await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id: swept } })).previousSecretSealed,
  ).toBeNull();
});

test('PATCH changes the URL, event types, description and enabled; bad input names the field', async () => {
  const { id, secret } = await register('/before-patch');
  const patched = await api('PATCH', `/v1/webhooks/${id}`, {
    url: `${receiverUrl}/after-patch`,
    eventTypes: ['connection.revoked'],
    description: 'owned by the platform team',
  });
  expect(patched.statusCode).toBe(200);
  expect(patched.json()).toMatchObject({
    url: `${receiverUrl}/after-patch`,
    eventTypes: ['connection.revoked'],
    description: 'owned by the platform team',
    enabled: true,
  });
  expect(patched.body).not.toContain(secret.slice(6));
  // Same secret after the move.
  expect(verifies(secret, await pingAt('/after-patch', (await ping(id)).id))).toBe(true);

  const disabled = await api('PATCH', `/v1/webhooks/${id}`, { enabled: false, description: null });
  expect(disabled.json()).toMatchObject({ enabled: false, description: null });
  expect(disabled.json().disabledAt).not.toBeNull();
  const refused = await api('POST', `/v1/webhooks/${id}/test`);
  expect(refused.statusCode).toBe(409);
  expect((await api('PATCH', `/v1/webhooks/${id}`, { enabled: true })).json().enabled).toBe(true);

  for (const [payload, field] of [
    [{ url: 'http://example.com/hook' }, 'body.url'],
    [{ eventTypes: ['nope'] }, 'body.eventTypes.0'],
    [{ enabled: 'yes' }, 'body.enabled'],
    [{ secret: 'whsec_mine' }, 'body.secret'],
  ] as const) {
    const res = await api('PATCH', `/v1/webhooks/${id}`, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].field).toBe(field);
  }
});

test('a failed delivery is redelivered with the same event id; only failed ones are', async () => {
  const { id: endpointId, secret } = await register('/redeliver', ['connection.linked']);
  failures.set('/redeliver', 1_000);
  const { id: connectionId } = await link('demo-all-scopes.redeliver');
  const [failed] = await eventually(
    async () => (await deliveries(endpointId)()).filter((d: any) => d.connectionId === connectionId),
    (items) => items[0]?.status === 'failed',
    { what: 'failed after the retries', timeoutMs: 30_000 },
  );
  failures.set('/redeliver', 0);
  const redelivered = await api('POST', `/v1/webhooks/${endpointId}/deliveries/${failed.id}/redeliver`);
  expect(redelivered.statusCode).toBe(202);
  expect(redelivered.json()).toMatchObject({ id: failed.id, status: 'pending' });
  const got = await eventsAt('/redeliver', (e) => e.id === failed.id, 5);
  expect(verifies(secret, got[4]._raw)).toBe(true);
  await eventually(
    async () => (await api('GET', `/v1/webhooks/${endpointId}/deliveries/${failed.id}`)).json(),
    (d) => d.status === 'delivered' && d.lastError === null,
    { what: 'redelivered' },
  );
  const again = await api('POST', `/v1/webhooks/${endpointId}/deliveries/${failed.id}/redeliver`);
  expect(again.statusCode).toBe(409);
  expect((await api('POST', `/v1/webhooks/${endpointId}/deliveries/evt_unknown/redeliver`)).statusCode).toBe(
    404,
  );
  const bad = await api('POST', `/v1/webhooks/${endpointId}/deliveries/not-an-event/redeliver`);
  expect(bad.statusCode).toBe(400);
  expect(bad.json().issues[0].field).toBe('params.deliveryId');
});

test('deliveries page newest first with a cursor of their own, filtered by status', async () => {
  const { id } = await register('/paged');
  const sent = [];
  for (let i = 0; i < 3; i++) sent.push((await ping(id)).id);
  await eventually(
    deliveries(id),
    (items) => items.filter((d: any) => d.status === 'delivered').length === 3,
    {
      what: 'three pings delivered',
    },
  );
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await api('GET', `/v1/webhooks/${id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...res.json().items.map((d: any) => d.id));
    cursor = res.json().nextCursor;
  } while (cursor);
  expect(seen).toEqual([...sent].reverse());
  expect((await api('GET', `/v1/webhooks/${id}/deliveries?status=failed`)).json().items).toEqual([]);
  expect((await api('GET', `/v1/webhooks/${id}/deliveries?status=delivered`)).json().items).toHaveLength(3);

  const { id: other } = await register('/paged-other');
  const first = (await api('GET', `/v1/webhooks/${id}/deliveries?limit=1`)).json().nextCursor;
  const foreign = await api('GET', `/v1/webhooks/${other}/deliveries?cursor=${first}`);
  expect(foreign.statusCode).toBe(400);
  expect(foreign.json().issues[0].field).toBe('querystring.cursor');
  const bad = await api('GET', `/v1/webhooks/${id}/deliveries?status=lost`);
  expect(bad.json().issues[0].field).toBe('querystring.status');
});

test('deleting an endpoint wipes its secrets; it is gone from the API, its history kept', async () => {
  const { id } = await register('/deleted');
  await ping(id);
  await api('POST', `/v1/webhooks/${id}/rotate-secret`);
  expect((await api('DELETE', `/v1/webhooks/${id}`)).statusCode).toBe(204);
  const row = await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  expect(row).toMatchObject({
    secretKeyId: null,
    secretSealed: null,
    previousSecretKeyId: null,
    previousSecretSealed: null,
  });
  expect(row.deletedAt).not.toBeNull();
  expect(() => stack.secrets.openWebhookSecret(row)).toThrow(/no secret/);
  expect(await stack.db.webhookDelivery.count({ where: { endpointId: id } })).toBe(1);
  for (const [method, url] of [
    ['GET', `/v1/webhooks/${id}`],
    ['PATCH', `/v1/webhooks/${id}`],
    ['DELETE', `/v1/webhooks/${id}`],
    ['POST', `/v1/webhooks/${id}/test`],
    ['GET', `/v1/webhooks/${id}/deliveries`],
  ] as const) {
    expect((await api(method, url, method === 'PATCH' ? {} : undefined)).statusCode).toBe(404);
  }
  expect((await api('GET', '/v1/webhooks')).json().items.map((w: any) => w.id)).not.toContain(id);
});

test("another tenant's endpoint and deliveries answer 404 to every route", async () => {
  const { id } = await register('/isolated');
  const delivery = await ping(id);
  const otherKey = (await createApiKey(stack.db, { name: 'isolation', tenantId: 'isolation-tenant' })).key;
  for (const [method, url, payload] of [
    ['GET', `/v1/webhooks/${id}`],
    ['PATCH', `/v1/webhooks/${id}`, { description: 'mine now' }],
    ['POST', `/v1/webhooks/${id}/rotate-secret`],
    ['POST', `/v1/webhooks/${id}/test`],
    ['GET', `/v1/webhooks/${id}/deliveries`],
    ['GET', `/v1/webhooks/${id}/deliveries/${delivery.id}`],
    ['POST', `/v1/webhooks/${id}/deliveries/${delivery.id}/redeliver`],
    ['DELETE', `/v1/webhooks/${id}`],
  ] as const) {
    const res = await api(method, url, payload, otherKey);
    expect(`${method} ${url} ${res.statusCode}`).toBe(`${method} ${url} 404`);
  }
  expect((await api('GET', '/v1/webhooks', undefined, otherKey)).json().items).toEqual([]);
  const row = await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  expect([row.description, row.deletedAt, row.previousSecretSealed]).toEqual([null, null, null]);
});
