// Tenants and API keys, rate limiting, what unauthenticated routes tell, and security headers on the real API.
import { buildApp } from '../api/app';
import { createApiKey, revokeApiKey } from '../platform/api-keys';
import { createPrismaClient } from '../platform/db';
import { createLogger } from '../platform/logger';
import { eventually } from './support/eventually';
import { startStack, TEST_UI_CODEC_TOKEN, type Stack } from './support/stack';

const ADDRESS_LIMIT = 30;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ rateLimitPerMinute: 40, addressRateLimitPerMinute: ADDRESS_LIMIT });
});
afterAll(async () => {
  await stack?.close();
});

const as = (
  key: string | null,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: object,
  headers = {},
  remoteAddress = '127.0.0.1',
) =>
  stack.rawApp.inject({
    method,
    url,
    payload,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    remoteAddress,
  });
const linkBody = () => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId: 'demo-all-scopes.sec', clientSecret: 'demo-secret' },
});

test('every /v1 route needs a valid, unrevoked key', async () => {
  for (const key of [null, 'nonsense', 'tk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
    for (const [method, url] of [
      ['GET', '/v1/connections'],
      ['GET', '/v1/connectors'],
      ['POST', '/v1/connections'],
    ] as const) {
      const res = await as(key, method, url, method === 'POST' ? linkBody() : undefined);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('unauthorized');
    }
  }
  const { key, prefix } = await createApiKey(stack.db, { name: 'short-lived', tenantId: 'acme' });
  expect((await as(key, 'GET', '/v1/connections')).statusCode).toBe(200);
  // Revoked by another process (the CLI): this API hears of it by NOTIFY within moments.
  expect(await revokeApiKey(stack.db, prefix)).toBe(true);
  await eventually(
    async () => (await as(key, 'GET', '/v1/connections')).statusCode,
    (code) => code === 401,
    {
      what: 'the revoked key refused',
      timeoutMs: 2_000,
      intervalMs: 10,
    },
  );
  // Health endpoints stay open for probes.
  expect((await as(null, 'GET', '/healthz')).statusCode).toBe(200);
});

test('keys are stored hashed, never in clear', async () => {
  const { key, prefix } = await createApiKey(stack.db, { name: 'hashed', tenantId: 'acme' });
  const row = await stack.db.apiKey.findUniqueOrThrow({ where: { prefix } });
  // The part after tk_<prefix>_ (itself base64url, so it may hold more underscores).
  const secret = key.slice(`tk_${prefix}_`.length);
  expect(JSON.stringify(row)).not.toContain(secret);
  expect(Buffer.from(row.hash).toString('base64url')).not.toContain(secret);
});

test("another tenant's connection answers 404; admins see across tenants", async () => {
  const acme = (await createApiKey(stack.db, { name: 'acme', tenantId: 'acme' })).key;
  const globex = (await createApiKey(stack.db, { name: 'globex', tenantId: 'globex' })).key;
  const created = await as(acme, 'POST', '/v1/connections', linkBody());
  expect(created.statusCode).toBe(202);
  const id = created.json().id;
  expect(created.json().tenantId).toBe('acme');

  for (const [method, url] of [
    ['GET', `/v1/connections/${id}`],
    ['GET', `/v1/connections/${id}/events`],
    ['POST', `/v1/connections/${id}/refresh`],
    ['POST', `/v1/connections/${id}/pause`],
    ['DELETE', `/v1/connections/${id}`],
  ] as const) {
    const res = await as(globex, method, url);
    expect(res.statusCode).toBe(404);
  }
  expect((await as(globex, 'GET', '/v1/connections')).json().items).toEqual([]);
  expect((await as(acme, 'GET', `/v1/connections/${id}`)).statusCode).toBe(200);

  const admin = stack.adminKey;
  expect((await as(admin, 'GET', `/v1/connections/${id}`)).statusCode).toBe(200);
  const all = (await as(admin, 'GET', '/v1/connections')).json().items.map((c: any) => c.tenantId);
  expect(all).toContain('acme');
  const onlyGlobex = await as(admin, 'GET', '/v1/connections', undefined, { 'x-tenant-id': 'globex' });
  expect(onlyGlobex.json().items).toEqual([]);

  const noTenant = await as(admin, 'POST', '/v1/connections', linkBody());
  expect(noTenant.statusCode).toBe(400);
  expect(noTenant.json().issues[0].field).toBe('headers.x-tenant-id');
  const forGlobex = await as(admin, 'POST', '/v1/connections', linkBody(), { 'x-tenant-id': 'globex' });
  expect(forGlobex.statusCode).toBe(202);
  expect(forGlobex.json().tenantId).toBe('globex');
});

test('rate limit per key answers 429 with Retry-After, without touching other keys', async () => {
  const noisy = (await createApiKey(stack.db, { name: 'noisy', tenantId: 'noisy' })).key;
  let limited;
  for (let i = 0; i < 45 && !limited; i++) {
    const res = await as(noisy, 'GET', '/v1/connectors');
    if (res.statusCode === 429) limited = res;
  }
  expect(limited).toBeDefined();
  expect(limited!.json().error).toBe('rate_limited');
  expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
  const other = (await createApiKey(stack.db, { name: 'quiet', tenantId: 'quiet' })).key;
  expect((await as(other, 'GET', '/v1/connectors')).statusCode).toBe(200);
});

test('security headers are set', async () => {
  const res = await as(stack.tenantKey, 'GET', '/v1/connectors');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(res.headers['strict-transport-security']).toMatch(/max-age/);
  expect(res.headers['x-powered-by']).toBeUndefined();
});

test('admin keys list and revoke API keys, scoped by X-Tenant-Id; never the key or its hash; tenant keys get 403', async () => {
  const acme = await createApiKey(stack.db, { name: 'acme-listed', tenantId: 'acme-keys' });
  const globex = await createApiKey(stack.db, { name: 'globex-listed', tenantId: 'globex-keys' });
  const admin = (url: string, method: 'GET' | 'DELETE' = 'GET', tenant?: string) =>
    as(stack.adminKey, method, url, undefined, tenant ? { 'x-tenant-id': tenant } : {});

  const listed = await admin('/v1/api-keys?limit=200', 'GET', 'acme-keys');
  expect(listed.statusCode).toBe(200);
  expect(listed.json().items).toEqual([
    expect.objectContaining({
      id: acme.id,
      prefix: acme.prefix,
      name: 'acme-listed',
      tenantId: 'acme-keys',
      role: 'tenant',
      scopes: acme.scopes,
      revokedAt: null,
    }),
  ]);
  const everything = (await admin('/v1/api-keys?limit=200')).body;
  for (const key of [acme.key, globex.key, stack.adminKey])
    expect(everything).not.toContain(key.split('_').pop());
  expect(everything).not.toMatch(/"hash"|"salt"/);
  expect(JSON.parse(everything).items.map((k: any) => k.role)).toContain('admin');

  // Pages newest first with a cursor of their own.
  const first = (await admin('/v1/api-keys?limit=1')).json();
  const second = (await admin(`/v1/api-keys?limit=1&cursor=${first.nextCursor}`)).json();
  expect(second.items[0].id).not.toBe(first.items[0].id);
  expect((await admin(`/v1/api-keys?cursor=${first.nextCursor}`, 'GET', 'acme-keys')).statusCode).toBe(400);

  // Another tenant's key is absent; the tenant's own is revoked and then answers 401.
  expect((await admin(`/v1/api-keys/${globex.id}`, 'DELETE', 'acme-keys')).statusCode).toBe(404);
  expect((await as(globex.key, 'GET', '/v1/connections')).statusCode).toBe(200);
  const revoked = await admin(`/v1/api-keys/${acme.id}`, 'DELETE', 'acme-keys');
  expect(revoked.statusCode).toBe(200);
  expect(revoked.json().revokedAt).not.toBeNull();
  expect((await as(acme.key, 'GET', '/v1/connections')).statusCode).toBe(401);
  const again = await admin(`/v1/api-keys/${acme.id}`, 'DELETE');
  expect(again.json().revokedAt).toBe(revoked.json().revokedAt);

  const bad = await admin('/v1/api-keys/not-a-key', 'DELETE');
  expect(bad.statusCode).toBe(400);
  expect(bad.json().issues[0].field).toBe('params.id');
  for (const [method, url] of [
    ['GET', '/v1/api-keys'],
    ['DELETE', `/v1/api-keys/${globex.id}`],
  ] as const) {
    const res = await as(globex.key, method, url);
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('admin_only');
  }
  expect((await as(globex.key, 'GET', '/v1/connections')).statusCode).toBe(200);
});

test('the OpenAPI document declares the bearer scheme and every keyed route asks for it, so /docs sends the key', async () => {
  const doc = (await as(null, 'GET', '/openapi.json')).json();
  expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  // Reached without an API key: the OAuth callback (its state authenticates it) and the connect page's API.
  const unkeyed = (path: string) => path === '/v1/oauth/callback' || path.startsWith('/v1/connect/');
  const keyed = Object.entries(doc.paths as Record<string, Record<string, any>>).filter(
    ([path]) => path.startsWith('/v1/') && !unkeyed(path),
  );
  expect(keyed.map(([path]) => path)).toEqual(
    expect.arrayContaining(['/v1/connections', '/v1/webhooks/{id}/rotate-secret', '/v1/api-keys/{id}']),
  );
  for (const [path, operations] of keyed) {
    for (const [method, operation] of Object.entries(operations)) {
      expect(`${method} ${path} ${JSON.stringify(operation.security)}`).toBe(
        `${method} ${path} ${JSON.stringify([{ apiKey: [] }])}`,
      );
    }
  }
  // /docs is Swagger UI over the same document: its Authorize button offers the scheme declared there.
  const docs = await as(null, 'GET', '/docs/json');
  expect(docs.statusCode).toBe(200);
  expect(docs.json().components.securitySchemes).toEqual(doc.components.securitySchemes);
  expect((await as(null, 'GET', '/docs/')).statusCode).toBe(200);
});

test('an address past its budget of keyless requests is refused before authentication, others are not', async () => {
  const guesser = '203.0.113.7';
  // Failed authentications, OAuth callbacks, wrong codec and session tokens draw on one budget per address.
  const attempts = [
    () => as('tk_000000000000_' + 'A'.repeat(43), 'GET', '/v1/connections', undefined, {}, guesser),
    () => as(null, 'GET', '/v1/connectors', undefined, {}, guesser),
    () =>
      as(
        null,
        'GET',
        '/v1/oauth/callback?state=guess&code=guess',
        undefined,
        { accept: 'application/json' },
        guesser,
      ),
    () => as(null, 'POST', '/codec/t/wrong-token-guess/decode', { payloads: [] }, {}, guesser),
    () => as(stack.tenantKey, 'GET', '/metrics', undefined, {}, guesser),
    // A guessed connect session token (the connect page's API takes no API key).
    () => as('cst_' + 'C'.repeat(43), 'GET', '/connect/api/session', undefined, {}, guesser),
  ];
  for (let i = 0; i < ADDRESS_LIMIT; i++) {
    const res = await attempts[i % attempts.length]!();
    expect([400, 401]).toContain(res.statusCode);
  }
  for (const attempt of attempts) {
    const refused = await attempt();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  }
  // Refused before the key is looked at: a valid key from that address waits out the minute too.
  expect((await as(stack.tenantKey, 'GET', '/v1/connectors', undefined, {}, guesser)).statusCode).toBe(429);
  // Requests with a valid key do not spend the budget, and other addresses keep theirs.
  const neighbour = '203.0.113.8';
  for (let i = 0; i < ADDRESS_LIMIT + 5; i++) {
    expect(
      (await as(stack.tenantKey, 'GET', '/v1/connectors', undefined, {}, neighbour)).statusCode,
    ).not.toBe(429);
  }
  expect((await as(null, 'GET', '/v1/connectors', undefined, {}, neighbour)).statusCode).toBe(401);
  const codec = await as(
    null,
    'POST',
    `/codec/t/${TEST_UI_CODEC_TOKEN}/decode`,
    { payloads: [] },
    {},
    neighbour,
  );
  expect(codec.statusCode).toBe(200);
});

test('/metrics shows the fleet to admin keys only', async () => {
  for (const key of [null, stack.tenantKey, 'tk_000000000000_' + 'B'.repeat(43)]) {
    const res = await as(key, 'GET', '/metrics');
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toMatch(/tether_connections|tether_http_requests_total/);
  }
  const admin = await as(stack.adminKey, 'GET', '/metrics');
  expect(admin.statusCode).toBe(200);
  expect(admin.body).toMatch(/tether_http_requests_total/);
});

test('/readyz says which dependency is unavailable, never why; the log says why', async () => {
  const lines: string[] = [];
  // PostgreSQL where nothing listens: the driver's error names the address it tried.
  const db = createPrismaClient('postgresql://tether@127.0.0.1:1/nowhere?connect_timeout=1');
  const app = await buildApp({
    db,
    temporal: stack.client,
    secrets: stack.secrets,
    taskQueue: stack.taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: {},
    logger: createLogger('info', 'api', { write: (line: string) => lines.push(line) }),
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'unavailable', temporal: 'ok' },
    });
    expect(lines.find((line) => line.includes('readiness check failed'))).toMatch(/127\.0\.0\.1:1/);
  } finally {
    await app.close();
    await db.$disconnect();
  }
});
