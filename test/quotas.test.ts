// Per-tenant quotas: a tenant at its connection quota is refused more, without touching other tenants.
import { createApiKey } from '../platform/api-keys';
import { loadConfig } from '../platform/config';
import { startStack, type Stack } from './support/stack';

const QUOTA = 2;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ quotas: { connections: QUOTA } });
});
afterAll(async () => {
  await stack?.close();
});

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
