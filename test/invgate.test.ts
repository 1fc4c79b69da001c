// InvGate end to end on the real stack: OAuth2 client credentials, 12 scopes, JWT `scopes` claim.
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const link = (clientId: string, clientSecret = 'demo-secret') =>
  stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId, clientSecret },
  });

test('links with every scope granted and never echoes the secret', async () => {
  const res = await link('demo-all-scopes');
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('linking');
  expect(JSON.stringify(res.body)).not.toContain('demo-secret');
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toHaveLength(12);
  expect(connection.missingScopes).toEqual([]);
  expect(Date.parse(connection.tokenExpiresAt)).toBeGreaterThan(Date.now());
  const events = await stack.events(res.id);
  expect(events.map((e: any) => e.type)).toEqual(['link_requested', 'linked']);
});

test('names each missing scope with its purpose', async () => {
  const res = await link('demo-missing-scopes');
  const connection = await stack.waitForStatus(res.id, 'insufficient_scopes');
  expect(connection.missingScopes).toEqual(
    expect.arrayContaining([
      { scope: 'api.v1.locations:get', purpose: 'locations' },
      { scope: 'api.v1.incident.custom_field:post', purpose: 'set custom field values' },
    ]),
  );
  expect(connection.missingScopes).toHaveLength(2);
});

test('a wrong secret (answered as HTTP 200 with an error body) is invalid_credentials, not retried', async () => {
  const res = await link('demo-all-scopes', 'wrong-secret');
  const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
  expect(connection.statusMessage).toMatch(/invalid_client/);
  const stats = stack.sim.control.stats('invgate', 'demo-all-scopes');
  expect(stats).toBeDefined();
});
