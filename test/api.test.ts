// The API's contract: validation errors name the field, idempotent links, reads, connectors, OpenAPI.
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
    ['missing client secret', (b) => ({ ...b, credentials: { clientId: 'x' } }), 'body.credentials.clientSecret'],
    ['empty client id', (b) => ({ ...b, credentials: { clientId: '', clientSecret: 'x' } }), 'body.credentials.clientId'],
    ['unknown credential field', (b) => ({ ...b, credentials: { ...b.credentials, extra: 'x' } }), 'body.credentials.extra'],
    ['unknown top-level field', (b) => ({ ...b, extra: 1 }), 'body.extra'],
    ['instance URL not a URL', (b) => ({ ...b, instanceUrl: 'not a url' }), 'body.instanceUrl'],
    ['instance URL over http to a remote host', (b) => ({ ...b, instanceUrl: 'http://acme.cloud.invgate.net' }), 'body.instanceUrl'],
    ['instance URL with credentials', (b) => ({ ...b, instanceUrl: 'https://u:p@acme.cloud.invgate.net' }), 'body.instanceUrl'],
    ['oversized secret', (b) => ({ ...b, credentials: { clientId: 'x', clientSecret: 'y'.repeat(5000) } }), 'body.credentials.clientSecret'],
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

  test('a body over the size limit', async () => {
    const res = await inject('POST', '/v1/connections', { ...valid(), displayName: 'x'.repeat(70_000) });
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

test('the same Idempotency-Key returns the same connection; a different body with it is a conflict', async () => {
  const headers = { 'idempotency-key': 'link-once-123' };
  const [a, b] = await Promise.all([stack.link(valid(), headers), stack.link(valid(), headers)]);
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.id).toBe(a.id);
  const again = await stack.link(valid(), headers);
  expect(again.id).toBe(a.id);
  expect(await stack.db.connection.count({ where: { id: a.id } })).toBe(1);
  const other = await stack.link({ ...valid(), displayName: 'different' }, headers);
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
  const page2 = (await inject('GET', `/v1/connections?vendor=invgate&status=active&limit=2&cursor=${page1.nextCursor}`)).json();
  const seen = [...page1.items, ...page2.items].map((c: any) => c.id);
  expect(new Set(seen).size).toBe(seen.length);
  for (const id of ids) expect(seen).toContain(id);
  expect((await inject('GET', '/v1/connections?vendor=promapp')).json().items).toEqual([]);
});

test('connectors describe what to click, what to paste and each permission with its purpose', async () => {
  const list = (await inject('GET', '/v1/connectors')).json();
  expect(list.items.map((c: any) => c.id)).toEqual(expect.arrayContaining(['invgate', 'promapp']));
  const invgate = (await inject('GET', '/v1/connectors/invgate')).json();
  expect(invgate.requiredScopes).toHaveLength(12);
  expect(invgate.requiredScopes[0]).toEqual({ scope: 'api.v1.incident:post', purpose: 'submit a new request' });
  expect(invgate.credentialFields.required).toEqual(['clientId', 'clientSecret']);
  expect(invgate.setupSteps.length).toBeGreaterThan(2);
  expect(invgate.revoke.supported).toBe(false);
  const promapp = (await inject('GET', '/v1/connectors/promapp')).json();
  expect(promapp.instanceUrl.default).toBe('https://api.promapp.com/api/scim');
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
    expect.arrayContaining(['/v1/connections', '/v1/connections/{id}', '/v1/connections/{id}/credentials', '/v1/connectors/{vendor}']),
  );
  expect((await inject('GET', '/docs/')).statusCode).toBe(200);
});
