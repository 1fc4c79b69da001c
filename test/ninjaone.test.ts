// NinjaOne end to end on the real stack: client credentials with scopes chosen from monitoring,
// management and control (never offline_access), one-hour tokens re-granted, RFC 7009 revocation.
import { ninjaone } from '../catalog/ninjaone';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const ALL_SCOPES = ['control', 'management', 'monitoring'];

const link = (clientId: string, extra: { clientSecret?: string; settings?: Record<string, unknown> } = {}) =>
  stack.link({
    vendor: 'ninjaone',
    instanceUrl: stack.instanceUrl('ninjaone'),
    credentials: { clientId, clientSecret: extra.clientSecret ?? 'demo-secret' },
    ...(extra.settings ? { settings: extra.settings } : {}),
  });

const stats = (clientId: string) => stack.sim.control.stats('ninjaone', clientId);

test('links with every scope in two requests: token and one probe', async () => {
  const res = await link('demo-all-scopes.link', { settings: { region: 'eu' } });
  expect(res.status).toBe(202);
  // A URL the customer gives wins over the region's.
  expect(res.body.instanceUrl).toBe(stack.instanceUrl('ninjaone'));
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(ALL_SCOPES);
  expect(connection.missingScopes).toEqual([]);
  const calls = stats('demo-all-scopes.link');
  expect(calls.tokenRequests).toBe(1);
  expect(calls.apiRequests).toBe(1);
});

test('without an instance URL, the region names the instance', () => {
  const defaultUrl = ninjaone.hooks!.defaultInstanceUrl!;
  expect(defaultUrl({})).toBe('https://app.ninjarmm.com');
  expect(defaultUrl({ region: 'eu' })).toBe('https://eu.ninjarmm.com');
  expect(defaultUrl({ region: 'oc' })).toBe('https://oc.ninjarmm.com');
});

test('names the missing control permission with its purpose', async () => {
  const res = await link('demo-missing-scopes');
  const connection = await stack.waitForStatus(res.id, 'insufficient_scopes');
  expect(connection.missingScopes).toEqual([{ scope: 'control', purpose: 'remote access to devices' }]);
  expect(connection.grantedScopes).toEqual(['management', 'monitoring']);
});

test('control left out in settings is neither requested nor required', async () => {
  const res = await link('demo-missing-scopes.no-control', {
    settings: { scopes: ['monitoring', 'management'] },
  });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(['management', 'monitoring']);
});

test('offline_access is refused with a 400 naming the field and why', async () => {
  const res = await link('demo-all-scopes', { settings: { scopes: ['monitoring', 'offline_access'] } });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('validation_failed');
  expect(res.body.issues).toEqual([
    {
      field: 'body.settings.scopes.1',
      message: expect.stringMatching(/offline_access is never requested: .*EU/),
    },
  ]);
});

test('monitoring cannot be left out', async () => {
  const res = await link('demo-all-scopes', { settings: { scopes: ['control'] } });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/settings\.scopes.*required scopes cannot be left out: monitoring/);
});

test('a wrong secret is invalid_credentials after one token request', async () => {
  const res = await link('demo-all-scopes.wrong', { clientSecret: 'wrong-secret' });
  const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
  expect(connection.statusMessage).toMatch(/invalid_client/);
  expect(stats('demo-all-scopes.wrong').tokenRequests).toBe(1);
});

test('re-grants a short-lived token before it expires', async () => {
  const res = await link('demo-ttl-3.refresh');
  const first = await stack.waitForStatus(res.id, 'active');
  const firstExpiry = Date.parse(first.tokenExpiresAt);
  let current = first;
  while (Date.parse(current.tokenExpiresAt) <= firstExpiry) {
    expect(Date.now()).toBeLessThan(firstExpiry + 5_000);
    await new Promise((r) => setTimeout(r, 100));
    current = await stack.getConnection(res.id);
  }
  expect(current.status).toBe('active');
  const refreshed = (await stack.events(res.id)).find(
    (e: { type: string }) => e.type === 'refresh_succeeded',
  );
  expect(Date.parse(refreshed.createdAt)).toBeLessThan(firstExpiry);
  expect(stats('demo-ttl-3.refresh').tokenRequests).toBeGreaterThanOrEqual(2);
});

test('revoking revokes the token at NinjaOne, then wipes the secrets', async () => {
  const res = await link('demo-all-scopes.revoke');
  await stack.waitForStatus(res.id, 'active');
  const token = await stack.secrets.readAccessToken(res.id);
  const organizations = () =>
    fetch(`${stack.instanceUrl('ninjaone')}/v2/organizations?pageSize=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
  expect((await organizations()).status).toBe(200);

  const revoke = await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${res.id}` });
  expect(revoke.statusCode).toBe(202);
  const connection = await stack.waitForStatus(res.id, 'revoked');
  expect(connection.vendorRevocation).toBe('revoked');
  expect(connection.revokeInstructions).toBeNull();
  expect(stats('demo-all-scopes.revoke').byEndpoint['POST /ws/oauth/revoke']).toBe(1);
  expect((await organizations()).status).toBe(401);
  expect(await stack.secrets.readCredentials(res.id)).toBeNull();
});

test('waits out a 429 with Retry-After and links', async () => {
  const res = await link('demo-rate-limited');
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(ALL_SCOPES);
  expect(stats('demo-rate-limited').byStatus['429']).toBe(2);
});

test('the connector tells the customer what to click, paste and grant', async () => {
  const detail = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/ninjaone' })).json();
  expect(detail.setupSteps.join('\n')).toMatch(/API Services \(machine-to-machine\)/);
  expect(detail.requiredScopes).toEqual([
    { scope: 'monitoring', purpose: expect.any(String) },
    { scope: 'management', purpose: expect.any(String), optional: true },
    { scope: 'control', purpose: expect.any(String), optional: true },
  ]);
  expect(detail.settingsFields.properties.region).toMatchObject({
    enum: ['app', 'us2', 'eu', 'ca', 'oc'],
    default: 'app',
  });
  expect(detail.revoke).toEqual({ supported: true });
});
