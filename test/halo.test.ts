// HaloITSM end to end on the real stack: discovery at /api/authinfo, client credentials with explicit
// scopes (form body or HTTP Basic), the granted `scope` string checked by probes, Halo's error shapes,
// and no revocation API.
import { verifyScopes } from '../vendor-kit/scope-verification';
import { grantClientCredentials } from '../vendor-kit/token-grant';
import { halo } from '../catalog/halo';
import type { OAuthClientCredentialsAuth, VendorContext } from '../vendor-kit/definition';
import { createVendorHttp, type VendorRequest } from '../vendor-kit/vendor-http';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
const http = createVendorHttp({ timeoutMs: 5_000, maxResponseBytes: 1_048_576, allowInsecureLoopback: true });
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await http.close();
  await stack?.close();
});

const ALL_SCOPES = ['edit:tickets', 'read:assets', 'read:tickets'];

const link = (clientId: string, extra: { clientSecret?: string; settings?: Record<string, unknown> } = {}) =>
  stack.link({
    vendor: 'halo',
    instanceUrl: stack.instanceUrl('halo'),
    credentials: { clientId, clientSecret: extra.clientSecret ?? 'demo-secret' },
    ...(extra.settings ? { settings: extra.settings } : {}),
  });

const stats = (clientId: string) => stack.sim.control.stats('halo', clientId);

test('links with every scope in five requests: authinfo, token, three probes', async () => {
  const res = await link('demo-all-scopes.link');
  expect(res.status).toBe(202);
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(ALL_SCOPES);
  expect(connection.missingScopes).toEqual([]);
  const calls = stats('demo-all-scopes.link');
  expect(calls.tokenRequests).toBe(1);
  expect(calls.apiRequests).toBe(3);
  // authinfo is anonymous, so it is counted for the vendor, not the client.
  expect(stack.sim.control.stats('halo').byEndpoint['GET /api/authinfo']).toBeGreaterThanOrEqual(1);
});

test('names the missing asset permission with its purpose', async () => {
  const res = await link('demo-missing-scopes');
  const connection = await stack.waitForStatus(res.id, 'insufficient_scopes');
  expect(connection.missingScopes).toEqual([
    { scope: 'read:assets', purpose: "read assets, to attach a user's devices to their requests" },
  ]);
  expect(connection.grantedScopes).toEqual(['edit:tickets', 'read:tickets']);
});

test('assets left out in settings are neither requested nor required nor probed', async () => {
  const res = await link('demo-missing-scopes.no-assets', {
    settings: { scopes: ['read:tickets', 'edit:tickets'] },
  });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(['edit:tickets', 'read:tickets']);
  expect(stats('demo-missing-scopes.no-assets').byEndpoint['GET /api/asset']).toBeUndefined();
});

test('the tickets scopes cannot be left out', async () => {
  const res = await link('demo-all-scopes', { settings: { scopes: ['read:assets'] } });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(
    /settings\.scopes.*required scopes cannot be left out: read:tickets, edit:tickets/,
  );
});

test('a wrong secret is invalid_credentials after one token request', async () => {
  const res = await link('demo-all-scopes.wrong', { clientSecret: 'wrong-secret' });
  const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
  expect(connection.statusMessage).toMatch(/invalid_client/);
  expect(stats('demo-all-scopes.wrong').tokenRequests).toBe(1);
});

test('HTTP Basic client authentication, chosen in settings', async () => {
  const res = await link('demo-all-scopes.basic', { settings: { clientAuth: 'basic' } });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(ALL_SCOPES);

  // The same grant, watched on the wire: credentials in the Authorization header, none in the form.
  const sent: VendorRequest[] = [];
  const ctx: VendorContext = {
    instanceUrl: stack.instanceUrl('halo'),
    settings: { clientAuth: 'basic' },
    http: {
      send: (req) => {
        sent.push(req);
        return http.send(req);
      },
    },
  };
  const granted = await grantClientCredentials(halo, halo.auth as OAuthClientCredentialsAuth, ctx, {
    clientId: 'demo-all-scopes.basic',
    clientSecret: 'demo-secret',
  });
  expect(granted.grantedScopes).toEqual(['read:tickets', 'edit:tickets', 'read:assets']);
  const tokenRequest = sent.find((r) => r.method === 'POST')!;
  expect(tokenRequest.url).toBe(`${stack.instanceUrl('halo')}/auth/token?tenant=simulator`);
  expect(tokenRequest.headers?.authorization).toBe(
    `Basic ${Buffer.from('demo-all-scopes.basic:demo-secret').toString('base64')}`,
  );
  expect(tokenRequest.form).toEqual({
    grant_type: 'client_credentials',
    scope: 'read:tickets edit:tickets read:assets',
  });
});

test('a token granted no scope never links, and is not mistaken for bad credentials', async () => {
  stack.sim.control.addFault({
    vendor: 'halo',
    match: 'demo-all-scopes.no-scope',
    scope: 'token',
    fault: { kind: 'drop_scopes', scopes: ['read:tickets', 'edit:tickets', 'read:assets'] },
  });
  const res = await link('demo-all-scopes.no-scope');
  const connection = await stack.waitForStatus(res.id, 'insufficient_scopes');
  expect(connection.missingScopes.map((m: { scope: string }) => m.scope)).toEqual([
    'read:tickets',
    'edit:tickets',
    'read:assets',
  ]);
  expect(stats('demo-all-scopes.no-scope').apiRequests).toBe(0);
});

test("Halo's 401 for a permission the token lacks reads as missing once /api/agent/me accepted the token", async () => {
  // A token requested without scope: Halo authenticates it but answers 401 on tickets and assets.
  const instanceUrl = stack.instanceUrl('halo');
  const res = await http.send({
    method: 'POST',
    url: `${instanceUrl}/auth/token`,
    form: {
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes.unscoped',
      client_secret: 'demo-secret',
    },
  });
  const { access_token: token } = JSON.parse(res.text) as { access_token: string };
  const verification = await verifyScopes(halo, { instanceUrl, settings: {}, http }, token, null, 'full');
  expect(verification.probes).toEqual([
    { probe: 'agent-me', ok: true },
    { probe: 'tickets', ok: false },
    { probe: 'assets', ok: false },
  ]);
  expect(verification.missing.map((m) => m.scope)).toEqual(['read:tickets', 'edit:tickets', 'read:assets']);
});

test("a revoked token is named in words from Halo's {Message} body", async () => {
  const res = await link('demo-revoked');
  const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
  expect(connection.statusMessage).toMatch(
    /rejected the token \(401 on agent-me\): Authorization has been denied for this request: the access token has been revoked/,
  );
});

test.each([
  [{ resultCode: 429, errorMessage: 'Rate limit exceeded' }, 'Rate limit exceeded (resultCode 429)'],
  [{ ClassName: 'HaloForbiddenException', Message: 'No access' }, 'No access (HaloForbiddenException)'],
  [
    { Message: 'Authorization has been denied for this request.' },
    'Authorization has been denied for this request.',
  ],
  [
    { error: 'invalid_client', error_description: 'Client authentication failed' },
    'invalid_client: Client authentication failed',
  ],
  [{ unrelated: true }, null],
])('error body %j reads as %j', (body, expected) => {
  expect(halo.hooks!.errorMessage!(body)).toBe(expected);
});

test('an error in {ClassName, Message} shape is shown in words', async () => {
  stack.sim.control.addFault({
    vendor: 'halo',
    match: 'demo-all-scopes.exception',
    scope: 'token',
    fault: {
      kind: 'status',
      status: 400,
      body: { ClassName: 'HaloTenantException', Message: 'Unknown tenant' },
    },
  });
  const res = await link('demo-all-scopes.exception');
  const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
  expect(connection.statusReason).toBe('invalid_configuration');
  expect(connection.statusMessage).toMatch(
    /refused the token request: HTTP 400: Unknown tenant \(HaloTenantException\)/,
  );
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

test('revoking wipes the secrets and says Halo cannot revoke the token itself', async () => {
  const res = await link('demo-all-scopes.revoke');
  await stack.waitForStatus(res.id, 'active');
  const revoke = await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${res.id}` });
  expect(revoke.statusCode).toBe(202);
  const connection = await stack.waitForStatus(res.id, 'revoked');
  expect(connection.vendorRevocation).toBe('unsupported');
  expect(connection.revokeInstructions).toMatch(/View Applications/);
  expect(await stack.secrets.readCredentials(res.id)).toBeNull();
});

test('waits out a 429 with Retry-After and links', async () => {
  const res = await link('demo-rate-limited');
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(ALL_SCOPES);
  expect(stats('demo-rate-limited').byStatus['429']).toBe(2);
});

test('the connector tells the customer what to click, paste and grant', async () => {
  const detail = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/halo' })).json();
  expect(detail.setupSteps.join('\n')).toMatch(/Client ID and Secret \(Services\)/);
  expect(detail.setupSteps.join('\n')).toMatch(/Login Type to "Agent"/);
  expect(detail.requiredScopes).toEqual([
    { scope: 'read:tickets', purpose: expect.any(String) },
    { scope: 'edit:tickets', purpose: expect.any(String) },
    { scope: 'read:assets', purpose: expect.any(String), optional: true },
  ]);
  expect(detail.settingsFields.properties.clientAuth).toMatchObject({
    enum: ['body', 'basic'],
    default: 'body',
  });
  expect(detail.revoke).toEqual({
    supported: false,
    instructions: expect.stringMatching(/View Applications/),
  });
});
