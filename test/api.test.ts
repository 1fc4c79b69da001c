// The API's contract: validation errors name the field, idempotent links, reads, connectors, OpenAPI.
import { randomUUID } from 'node:crypto';
import { createApiKey } from '../platform/api-keys';
import type { ConnectionStatus } from '../domain/connection';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers = {}) =>
  stack.app.inject({ method, url, payload: payload as any, headers });
const valid = () => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId: 'demo-all-scopes.api', clientSecret: 'demo-secret' },
});

describe('bad input gets a 400 naming the field', () => {
  const cases: [string, (body: any) => unknown, string][] = [
    ['missing vendor', ({ vendor: _v, ...rest }) => rest, 'body.vendor'],
    ['unknown vendor', (b) => ({ ...b, vendor: 'nope' }), 'body.vendor'],
    [
      'missing client secret',
      (b) => ({ ...b, credentials: { clientId: 'x' } }),
      'body.credentials.clientSecret',
    ],
    [
      'empty client id',
      (b) => ({ ...b, credentials: { clientId: '', clientSecret: 'x' } }),
      'body.credentials.clientId',
    ],
    [
      'unknown credential field',
      (b) => ({ ...b, credentials: { ...b.credentials, extra: 'x' } }),
      'body.credentials.extra',
    ],
    ['unknown top-level field', (b) => ({ ...b, extra: 1 }), 'body.extra'],
    ['instance URL not a URL', (b) => ({ ...b, instanceUrl: 'not a url' }), 'body.instanceUrl'],
    [
      'instance URL over http to a remote host',
      (b) => ({ ...b, instanceUrl: 'http://acme.cloud.invgate.net' }),
      'body.instanceUrl',
    ],
    [
      'instance URL with credentials',
      (b) => ({ ...b, instanceUrl: 'https://u:p@acme.cloud.invgate.net' }),
      'body.instanceUrl',
    ],
    [
      "Promapp's sign-in host",
      () => ({
        vendor: 'promapp',
        instanceUrl: 'https://acme.promapp.com',
        credentials: { token: 'demo-all-scopes' },
      }),
      'body.instanceUrl',
    ],
    [
      'oversized secret',
      (b) => ({ ...b, credentials: { clientId: 'x', clientSecret: 'y'.repeat(5000) } }),
      'body.credentials.clientSecret',
    ],
    ['credentials of the wrong type', (b) => ({ ...b, credentials: 'x' }), 'body.credentials'],
  ];
  test.each(cases)('%s', async (_name, mutate, field) => {
    const res = await inject('POST', '/v1/connections', mutate(valid()));
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('validation_failed');
    expect(body.issues.map((i: any) => i.field)).toContainEqual(expect.stringContaining(field));
    expect(res.body).not.toContain('demo-secret');
  });

  test('malformed JSON', async () => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/v1/connections',
      payload: '{"vendor":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBeDefined();
  });

  test('a link with content-type: application/json and no body', async () => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_failed');
    expect(res.json().issues.map((i: any) => i.field)).toEqual(['body']);
  });

  test('a body over the size limit', async () => {
    const res = await inject('POST', '/v1/connections', { ...valid(), name: 'x'.repeat(70_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBeDefined();
  });

  test('a bad id, a bad query, a bad Idempotency-Key', async () => {
    const badId = await inject('GET', '/v1/connections/not-a-uuid');
    expect(badId.statusCode).toBe(400);
    expect(badId.json().issues[0].field).toBe('params.id');
    const badQuery = await inject('GET', '/v1/connections?status=bogus');
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().issues[0].field).toBe('querystring.status');
    const badKey = await inject('POST', '/v1/connections', valid(), { 'idempotency-key': 'has spaces' });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().issues[0].field).toBe('headers.idempotency-key');
  });

  test.each([
    ['vendor=%zz', 'querystring.vendor'],
    ['vendor=nope', 'querystring.vendor'],
    ['vendor=INVGATE', 'querystring.vendor'],
    ['status=%zz', 'querystring.status'],
    ['status=active&status=paused', 'querystring.status'],
    ['limit=0', 'querystring.limit'],
    ['limit=many', 'querystring.limit'],
    ['cursor=%zz', 'querystring.cursor'],
    [`cursor=${randomUUID()}`, 'querystring.cursor'],
    ['sort=id', 'querystring.sort'],
  ])('list query %s answers 400 naming %s', async (query, field) => {
    const res = await inject('GET', `/v1/connections?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_failed');
    expect(res.json().issues.map((i: any) => i.field)).toContain(field);
  });

  test('rotation with fields of another vendor', async () => {
    const { id } = await stack.link(valid());
    const res = await inject('PUT', `/v1/connections/${id}/credentials`, { credentials: { token: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: any) => i.field)).toEqual(
      expect.arrayContaining(['body.credentials.clientId', 'body.credentials.clientSecret']),
    );
  });

  test('unknown routes and connections answer JSON 404', async () => {
    expect((await inject('GET', '/v1/nope')).json().error).toBe('not_found');
    const missing = await inject('GET', '/v1/connections/00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toBe('not_found');
  });
});

test('instance URLs are normalised per vendor and shown back; clearly wrong ones say what to enter', async () => {
  const port = new URL(stack.sim.baseUrl).port;
  const pasted = await stack.link({
    ...valid(),
    instanceUrl: `http://LOCALHOST:${port}/invgate/?from=browser#top`,
  });
  expect(pasted.status).toBe(202);
  expect(pasted.body.instanceUrl).toBe(`http://localhost:${port}/invgate`);
  expect((await stack.waitForStatus(pasted.id, 'active')).instanceUrl).toBe(
    `http://localhost:${port}/invgate`,
  );

  const signIn = await inject('POST', '/v1/connections', {
    vendor: 'promapp',
    instanceUrl: 'https://acme.promapp.com/',
    credentials: { token: 'demo-all-scopes' },
  });
  expect(signIn.statusCode).toBe(400);
  expect(signIn.json().issues).toEqual([
    { field: 'body.instanceUrl', message: expect.stringContaining('enter https://api.promapp.com/api/scim') },
  ]);
  const withPassword = await inject('POST', '/v1/connections', {
    ...valid(),
    instanceUrl: 'https://user:pw@acme.cloud.invgate.net',
  });
  expect(withPassword.json().issues).toEqual([
    {
      field: 'body.instanceUrl',
      message: expect.stringContaining('enter the address only (e.g. https://acme.cloud.invgate.net)'),
    },
  ]);
  expect(withPassword.body).not.toContain(':pw@');
});

test('the same Idempotency-Key returns the same connection; a different body with it is a conflict', async () => {
  const headers = { 'idempotency-key': 'link-once-123' };
  const [a, b] = await Promise.all([stack.link(valid(), headers), stack.link(valid(), headers)]);
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.id).toBe(a.id);
  const again = await stack.link(valid(), headers);
  expect(again.id).toBe(a.id);
  expect(await stack.db.connection.count({ where: { id: a.id } })).toBe(1);
  const other = await stack.link({ ...valid(), name: 'different' }, headers);
  expect(other.status).toBe(409);
  expect(other.body.error).toBe('idempotency_key_reused');
  await stack.waitForStatus(a.id, 'active');
});

test('list filters by vendor and status and pages with a cursor', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await stack.link(valid())).id);
  for (const id of ids) await stack.waitForStatus(id, 'active');
  const page1 = (await inject('GET', '/v1/connections?vendor=invgate&status=active&limit=2')).json();
  expect(page1.items).toHaveLength(2);
  expect(page1.items.every((c: any) => c.vendor === 'invgate' && c.status === 'active')).toBe(true);
  const page2 = (
    await inject('GET', `/v1/connections?vendor=invgate&status=active&limit=2&cursor=${page1.nextCursor}`)
  ).json();
  const seen = [...page1.items, ...page2.items].map((c: any) => c.id);
  expect(new Set(seen).size).toBe(seen.length);
  for (const id of ids) expect(seen).toContain(id);
  expect((await inject('GET', '/v1/connections?vendor=promapp')).json().items).toEqual([]);
});

describe('list pagination: a cursor on (createdAt, id) inside the tenant and the filters', () => {
  // Rows written straight into PostgreSQL (as the workflows do), with chosen creation times: two share a
  // millisecond, so their order comes from the id.
  const tenant = 'pager';
  let key: string;
  let newestFirst: string[];
  const list = (query: string, apiKey = key, headers: Record<string, string> = {}) =>
    stack.rawApp.inject({
      method: 'GET',
      url: `/v1/connections?${query}`,
      headers: { authorization: `Bearer ${apiKey}`, ...headers },
    });
  const setStatus = (id: string, status: ConnectionStatus) =>
    stack.db.connection.update({ where: { id }, data: { status } });

  beforeAll(async () => {
    key = (await createApiKey(stack.db, { name: 'pager', tenantId: tenant })).key;
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const createdAt = [0, 1_000, 2_000, 3_000, 3_000, 4_000].map((ms) => new Date(base + ms));
    const rows = createdAt.map((at, i) => ({
      id: randomUUID(),
      name: `pager-${i}`,
      tenantId: tenant,
      vendor: 'invgate',
      instanceUrl: 'https://pager.cloud.invgate.net',
      status: 'active' as const,
      createdAt: at,
    }));
    await stack.db.connection.createMany({ data: rows });
    newestFirst = rows
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);
  });

  test('pages through every row exactly once, newest first, ties ordered by id', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((c: any) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(newestFirst);
  });

  test('a row whose status changes between pages does not make the next page skip one', async () => {
    const first = (await list('status=active&limit=2')).json();
    expect(first.items.map((c: any) => c.id)).toEqual(newestFirst.slice(0, 2));
    // The last row of the page leaves the filter (paused) before the next page is read.
    await setStatus(newestFirst[1]!, 'paused');
    try {
      const next = (
        await list(`status=active&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)
      ).json();
      expect(next.items.map((c: any) => c.id)).toEqual(newestFirst.slice(2, 4));
    } finally {
      await setStatus(newestFirst[1]!, 'active');
    }
  });

  test("another tenant's cursor, a connection id or a malformed cursor answer 400 naming cursor", async () => {
    const cursor = (await list('limit=2')).json().nextCursor as string;
    const other = (await createApiKey(stack.db, { name: 'pager-neighbour', tenantId: 'pager-neighbour' }))
      .key;
    const answers = [
      await list(`cursor=${encodeURIComponent(cursor)}`, other),
      await list(`cursor=${newestFirst[0]}`, other),
      await list(`cursor=${newestFirst[0]}`),
      // An admin key across all tenants pages another list than the tenant's own.
      await list(`cursor=${encodeURIComponent(cursor)}`, stack.adminKey),
      await list(`cursor=${encodeURIComponent(cursor.slice(0, -2))}`),
      await list('cursor=e30'),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(400);
      expect(res.json().issues.map((i: any) => i.field)).toEqual(['querystring.cursor']);
    }
    // The same tenant's list through an admin key naming it is the same list: its cursors work there.
    const narrowed = await list(`limit=2&cursor=${encodeURIComponent(cursor)}`, stack.adminKey, {
      'x-tenant-id': tenant,
    });
    expect(narrowed.statusCode).toBe(200);
    expect(narrowed.json().items.map((c: any) => c.id)).toEqual(newestFirst.slice(2, 4));
  });
});

test('body-less commands accept content-type: application/json without a body', async () => {
  const { id } = await stack.link(valid());
  await stack.waitForStatus(id, 'active');
  const send = (method: 'POST' | 'DELETE', path: string, payload?: string) =>
    stack.app.inject({
      method,
      url: `/v1/connections/${id}${path}`,
      payload,
      headers: { 'content-type': 'application/json' },
    });
  for (const command of ['refresh', 'pause', 'resume']) {
    const res = await send('POST', `/${command}`);
    expect({ command, status: res.statusCode, body: res.json() }).toMatchObject({ command, status: 202 });
  }
  // A JSON body, when one is sent, must still be JSON.
  const malformed = await send('POST', '/refresh', '{"now":');
  expect(malformed.statusCode).toBe(400);
  // Not an install vendor: the route's own answer, not a complaint about the missing body.
  const install = await send('POST', '/install');
  expect(install.statusCode).toBe(409);
  expect(install.json().error).toBe('conflict');
  const revoke = await send('DELETE', '');
  expect(revoke.statusCode).toBe(202);
  await stack.waitForStatus(id, 'revoked');
});

test('connectors describe what to click, what to paste and each permission with its purpose', async () => {
  const list = (await inject('GET', '/v1/connectors')).json();
  expect(list.items.map((c: any) => c.id)).toEqual(expect.arrayContaining(['invgate', 'promapp']));
  const invgate = (await inject('GET', '/v1/connectors/invgate')).json();
  expect(invgate.requiredScopes).toHaveLength(12);
  expect(invgate.requiredScopes[0]).toEqual({
    scope: 'api.v1.incident:post',
    purpose: 'submit a new request',
  });
  expect(invgate.credentialFields.required).toEqual(['clientId', 'clientSecret']);
  expect(invgate.setupSteps.length).toBeGreaterThan(2);
  expect(invgate.revoke.supported).toBe(false);
  expect(invgate.operations.map((o: any) => o.name)).toEqual(['create_request']);
  // A named input schema is one $ref into its $defs (the OpenAPI document names it the same way).
  const input = invgate.operations[0].inputSchema;
  const root = input.$ref ? input.$defs[input.$ref.replace('#/$defs/', '')] : input;
  expect(root).toMatchObject({ type: 'object', required: expect.arrayContaining(['title']) });
  const promapp = (await inject('GET', '/v1/connectors/promapp')).json();
  expect(promapp.instanceUrl.default).toBe('https://api.promapp.com/api/scim');
  expect(promapp.operations.map((o: any) => o.name)).toEqual(
    expect.arrayContaining(['create_user', 'update_user', 'deactivate_user', 'reactivate_user', 'find_user']),
  );
  // Every vendor's operation inputs render as JSON Schema; Slack's SCIM limits are listed.
  for (const { id } of list.items) {
    const detail = await inject('GET', `/v1/connectors/${id}`);
    expect({ id, status: detail.statusCode }).toEqual({ id, status: 200 });
  }
  const slack = (await inject('GET', '/v1/connectors/slack')).json();
  expect(slack.rateLimits).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ class: 'scim_user_writes', requests: 180, windowSeconds: 60, burst: 10 }),
    ]),
  );
  expect((await inject('GET', '/v1/connectors/nope')).statusCode).toBe(404);
});

test('health, readiness, OpenAPI and docs', async () => {
  expect((await inject('GET', '/healthz')).json()).toEqual({ status: 'ok' });
  const ready = await inject('GET', '/readyz');
  expect(ready.statusCode).toBe(200);
  expect(ready.json().checks).toEqual({ database: 'ok', temporal: 'ok' });
  const openapi = (await inject('GET', '/openapi.json')).json();
  expect(openapi.openapi).toMatch(/^3\./);
  expect(Object.keys(openapi.paths)).toEqual(
    expect.arrayContaining([
      '/v1/connections',
      '/v1/connections/{id}',
      '/v1/connections/{id}/credentials',
      '/v1/connectors/{vendor}',
    ]),
  );
  expect((await inject('GET', '/docs/')).statusCode).toBe(200);
});

test('OpenAPI declares the bearer scheme on every route that needs a key, and only there', async () => {
  const openapi = (await inject('GET', '/openapi.json')).json();
  expect(openapi.components.securitySchemes).toEqual({
    apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    connectSession: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
  });
  const operations = Object.entries(openapi.paths as Record<string, Record<string, any>>).flatMap(
    ([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, security: op.security })),
  );
  const keyed = operations.filter((op) => op.path.startsWith('/v1/') && op.path !== '/v1/oauth/callback');
  expect(keyed.length).toBeGreaterThan(10);
  for (const op of keyed) expect(op).toEqual({ ...op, security: [{ apiKey: [] }] });
  // The connect page's API takes a connect session token instead.
  const bySession = operations.filter((op) => op.path.startsWith('/connect/api/'));
  expect(bySession.length).toBeGreaterThan(4);
  for (const op of bySession) expect(op).toEqual({ ...op, security: [{ connectSession: [] }] });
  const open = operations.filter((o) => !keyed.includes(o) && !bySession.includes(o));
  for (const op of open) expect(op.security).toBeUndefined();
});
