// Nintex Promapp end to end: a static SCIM bearer token, valid one year, checked by probes.
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;
const promapp = (token: string, settings?: Record<string, unknown>) => ({
  vendor: 'promapp',
  instanceUrl: stack.instanceUrl('promapp'),
  credentials: { token },
  ...(settings ? { settings } : {}),
});

test('links a valid token; its one-year expiry is tracked and health is probed periodically', async () => {
  const { id, status } = await stack.link(promapp('demo-all-scopes.link'));
  expect(status).toBe(202);
  const connection = await stack.waitForStatus(id, 'active');
  expect(connection.tokenExpiresAt).toBeNull();
  expect(connection.grantedScopes).toEqual(['SCIM']);
  const expiresIn = Date.parse(connection.credentialExpiresAt) - Date.now();
  expect(expiresIn).toBeGreaterThan(364 * DAY);
  expect(expiresIn).toBeLessThan(366 * DAY);
  // The test policy checks never-expiring tokens every 3 s (production: 6 h).
  const before = stack.sim.control.stats('promapp', 'demo-all-scopes.link').apiRequests;
  await new Promise((r) => setTimeout(r, 4_500));
  expect(stack.sim.control.stats('promapp', 'demo-all-scopes.link').apiRequests).toBeGreaterThan(before);
  expect((await stack.events(id)).map((e: any) => e.type)).toContain('probe_succeeded');
});

test('a token close to its expiry date puts the connection in `expiring`', async () => {
  const soon = new Date(Date.now() + 10 * DAY).toISOString();
  const { id } = await stack.link(promapp('demo-all-scopes.expiring', { tokenExpiresAt: soon }));
  const connection = await stack.waitForStatus(id, 'expiring');
  expect(connection.credentialExpiresAt).toBe(soon);
});

test('a token past its expiry date needs re-authentication without calling the vendor again', async () => {
  const past = new Date(Date.now() - DAY).toISOString();
  const { id } = await stack.link(promapp('demo-all-scopes.expired', { tokenExpiresAt: past }));
  const connection = await stack.waitForStatus(id, 'needs_reauth');
  expect(connection.statusReason).toBe('credential_expired');
});

test('a token without the SCIM scope is insufficient_scopes, naming it', async () => {
  const { id } = await stack.link(promapp('demo-missing-scopes'));
  const connection = await stack.waitForStatus(id, 'insufficient_scopes');
  expect(connection.missingScopes).toEqual([
    { scope: 'SCIM', purpose: 'create, update and disable users through SCIM' },
  ]);
});

test('an unknown token is invalid_credentials', async () => {
  const { id } = await stack.link(promapp('not-a-real-token'));
  const connection = await stack.waitForStatus(id, 'invalid_credentials');
  expect(connection.statusMessage).toMatch(/401/);
});

test('a token revoked in Promapp later is noticed by the health probe', async () => {
  const { id } = await stack.link(promapp('demo-all-scopes.revoked-later'));
  await stack.waitForStatus(id, 'active');
  stack.sim.control.revokeAll('promapp', 'demo-all-scopes.revoked-later');
  const connection = await stack.waitForStatus(id, 'needs_reauth', 30_000);
  expect(connection.statusReason).toBe('credentials_rejected');
});

test('rotation to a new token restarts the one-year clock; revoke says to delete it in Promapp', async () => {
  const past = new Date(Date.now() + 5 * DAY).toISOString();
  const { id } = await stack.link(promapp('demo-all-scopes.rotate', { tokenExpiresAt: past }));
  await stack.waitForStatus(id, 'expiring');
  const res = await stack.app.inject({
    method: 'PUT',
    url: `/v1/connections/${id}/credentials`,
    payload: { credentials: { token: 'demo-all-scopes.rotate2' } },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().connection.status).toBe('active');
  expect(Date.parse(res.json().connection.credentialExpiresAt) - Date.now()).toBeGreaterThan(364 * DAY);

  await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` });
  const revoked = await stack.waitForStatus(id, 'revoked');
  expect(revoked.vendorRevocation).toBe('unsupported');
  expect(revoked.revokeInstructions).toMatch(/Access Tokens/);
});
