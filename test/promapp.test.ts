// Nintex Promapp's quirks: a static SCIM bearer token valid one year, whose expiry date Tether tracks
// (and the customer may give), and rotation to a new token. What Promapp shares with every vendor is in
// test/vendor-contract.test.ts.
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;
const promapp = (token: string, settings?: Record<string, unknown>) =>
  demoLink(stack, 'promapp', token, settings);

test("a linked token's one-year expiry is tracked", async () => {
  const { id } = await stack.link(promapp('demo-all-scopes.link'));
  const connection = await stack.waitForStatus(id, 'active');
  const expiresIn = Date.parse(connection.credentialExpiresAt) - Date.now();
  expect(expiresIn).toBeGreaterThan(364 * DAY);
  expect(expiresIn).toBeLessThan(366 * DAY);
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

test('rotation to a new token restarts the one-year clock', async () => {
  const soon = new Date(Date.now() + 5 * DAY).toISOString();
  const { id } = await stack.link(promapp('demo-all-scopes.rotate', { tokenExpiresAt: soon }));
  await stack.waitForStatus(id, 'expiring');
  const res = await stack.app.inject({
    method: 'PUT',
    url: `/v1/connections/${id}/credentials`,
    payload: { credentials: { token: 'demo-all-scopes.rotate2' } },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().connection.status).toBe('active');
  expect(Date.parse(res.json().connection.credentialExpiresAt) - Date.now()).toBeGreaterThan(364 * DAY);
});

test("Promapp's documented base (the API host alone) links: it is read as its SCIM base and shown back", async () => {
  // The simulator serves Promapp under /promapp, as https://api.promapp.com serves it at its root.
  const apiHost = `${stack.sim.baseUrl}/promapp`;
  const { id, status, body } = await stack.link({
    ...promapp('demo-all-scopes.api-host'),
    instanceUrl: `${apiHost}/`,
  });
  expect(status).toBe(202);
  expect(body.instanceUrl).toBe(`${apiHost}/api/scim`);
  const connection = await stack.waitForStatus(id, ['active', 'invalid_credentials', 'insufficient_scopes']);
  expect(connection.status).toBe('active');
  expect(stack.sim.control.stats('promapp', 'demo-all-scopes.api-host').byEndpoint).toHaveProperty([
    'GET /api/scim/Users',
  ]);
});
