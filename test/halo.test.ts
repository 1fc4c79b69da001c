// HaloITSM's quirks on the real stack: discovery at /api/authinfo, client credentials with explicit
// scopes (form body or HTTP Basic), optional asset access, a 401 that means a missing permission, and
// Halo's error shapes. What Halo shares with every vendor is in test/vendor-contract.test.ts.
import { verifyScopes } from '../vendor-kit/scope-verification';
import { grantClientCredentials } from '../vendor-kit/token-grant';
import { halo } from '../catalog/halo';
import type { OAuthClientCredentialsAuth, VendorContext } from '../vendor-kit/definition';
import type { VendorRequest } from '../vendor-kit/vendor-http';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const link = (clientId: string, settings?: Record<string, unknown>) =>
  stack.link(demoLink(stack, 'halo', clientId, settings));

const stats = (clientId: string) => stack.sim.control.stats('halo', clientId);

test('links in five requests: authinfo, token, three probes', async () => {
  const res = await link('demo-all-scopes.link');
  await stack.waitForStatus(res.id, 'active');
  const calls = stats('demo-all-scopes.link');
  expect(calls.tokenRequests).toBe(1);
  expect(calls.apiRequests).toBe(3);
  // authinfo is anonymous, so it is counted for the vendor, not the client.
  expect(stack.sim.control.stats('halo').byEndpoint['GET /api/authinfo']).toBeGreaterThanOrEqual(1);
});

test('assets left out in settings are neither requested nor required nor probed', async () => {
  const res = await link('demo-missing-scopes.no-assets', { scopes: ['read:tickets', 'edit:tickets'] });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(['edit:tickets', 'read:tickets']);
  expect(stats('demo-missing-scopes.no-assets').byEndpoint['GET /api/asset']).toBeUndefined();
});

test('the tickets scopes cannot be left out', async () => {
  const res = await link('demo-all-scopes', { scopes: ['read:assets'] });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(
    /settings\.scopes.*required scopes cannot be left out: read:tickets, edit:tickets/,
  );
});

test('HTTP Basic client authentication, chosen in settings', async () => {
  const res = await link('demo-all-scopes.basic', { clientAuth: 'basic' });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(['edit:tickets', 'read:assets', 'read:customers', 'read:tickets']);

  // The same grant, watched on the wire: credentials in the Authorization header, none in the form.
  const sent: VendorRequest[] = [];
  const ctx: VendorContext = {
    instanceUrl: stack.instanceUrl('halo'),
    settings: { clientAuth: 'basic' },
    http: {
      send: (req) => {
        sent.push(req);
        return stack.http.send(req);
      },
    },
  };
  const granted = await grantClientCredentials(halo, halo.auth as OAuthClientCredentialsAuth, ctx, {
    clientId: 'demo-all-scopes.basic',
    clientSecret: 'demo-secret',
  });
  expect(granted.grantedScopes).toEqual(['read:tickets', 'edit:tickets', 'read:assets', 'read:customers']);
  const tokenRequest = sent.find((r) => r.method === 'POST')!;
  expect(tokenRequest.url).toBe(`${stack.instanceUrl('halo')}/auth/token?tenant=simulator`);
  expect(tokenRequest.headers?.authorization).toBe(
    `Basic ${Buffer.from('demo-all-scopes.basic:demo-secret').toString('base64')}`,
  );
  expect(tokenRequest.form).toEqual({
    grant_type: 'client_credentials',
    scope: 'read:tickets edit:tickets read:assets read:customers',
  });
});

test('a token granted no scope never links, and is not mistaken for bad credentials', async () => {
  stack.sim.control.addFault({
    vendor: 'halo',
    match: 'demo-all-scopes.no-scope',
    scope: 'token',
    fault: { kind: 'drop_scopes', scopes: ['read:tickets', 'edit:tickets', 'read:assets', 'read:customers'] },
  });
  const res = await link('demo-all-scopes.no-scope');
  const connection = await stack.waitForStatus(res.id, 'insufficient_scopes');
  expect(connection.missingScopes.map((m: { scope: string }) => m.scope)).toEqual([
    'read:tickets',
    'edit:tickets',
  ]);
  expect(connection.missingOptionalScopes.map((m: { scope: string }) => m.scope)).toEqual([
    'read:assets',
    'read:customers',
  ]);
  expect(stats('demo-all-scopes.no-scope').apiRequests).toBe(0);
});

test("Halo's 401 for a permission the token lacks reads as missing once /api/agent/me accepted the token", async () => {
  // A token requested without scope: Halo authenticates it but answers 401 on tickets and assets.
  const instanceUrl = stack.instanceUrl('halo');
  const res = await stack.http.send({
    method: 'POST',
    url: `${instanceUrl}/auth/token`,
    form: {
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes.unscoped',
      client_secret: 'demo-secret',
    },
  });
  const { access_token: token } = JSON.parse(res.text) as { access_token: string };
  const verification = await verifyScopes(
    halo,
    { instanceUrl, settings: {}, http: stack.http },
    token,
    null,
    'full',
  );
  expect(verification.probes).toEqual([
    { probe: 'agent-me', ok: true },
    { probe: 'tickets', ok: false },
    { probe: 'assets', ok: false },
  ]);
  expect(verification.missing.map((m) => m.scope)).toEqual(['read:tickets', 'edit:tickets']);
  expect(verification.missingOptional?.map((m) => m.scope)).toEqual(['read:assets', 'read:customers']);
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
  // A 400 that is no refusal of the client: at link, a configuration to fix.
  const connection = await stack.waitForStatus(res.id, 'invalid_configuration');
  expect(connection.statusReason).toBe('invalid_configuration');
  expect(connection.statusMessage).toMatch(
    /refused the token request: HTTP 400: Unknown tenant \(HaloTenantException\)/,
  );
});

test('a discovered token endpoint on another host is refused: the client secret never goes there', async () => {
  // The same simulator under another name: without the pin the grant would reach it and link.
  const elsewhere = stack.instanceUrl('halo').replace('127.0.0.1', 'localhost');
  // Until removed: discovery is anonymous, so other connections' checks may take its uses.
  const fault = stack.sim.control.addFault({
    vendor: 'halo',
    scope: 'token',
    fault: { kind: 'status', status: 200, body: { auth_url: `${elsewhere}/auth//`, tenant_id: 'simulator' } },
  });
  const res = await link('demo-all-scopes.elsewhere');
  const connection = await stack.waitForStatus(res.id, 'invalid_configuration');
  stack.sim.control.removeFault(fault);
  expect(connection.statusMessage).toMatch(
    /answered \/api\/authinfo with an auth_url on another host \(localhost:\d+\).*TETHER_HALO_AUTH_HOSTS/,
  );
  expect(stats('demo-all-scopes.elsewhere').tokenRequests).toBe(0);
});

test('a host in halo.authHosts (TETHER_HALO_AUTH_HOSTS) may serve the token endpoint', async () => {
  const elsewhere = new URL(stack.instanceUrl('halo').replace('127.0.0.1', 'localhost'));
  stack.sim.control.addFault({
    vendor: 'halo',
    scope: 'token',
    times: 2,
    fault: { kind: 'status', status: 200, body: { auth_url: `${elsewhere.href}/auth` } },
  });
  const ctx = (authHosts: string): VendorContext => ({
    instanceUrl: stack.instanceUrl('halo'),
    settings: {},
    http: stack.http,
    endpoints: { 'halo.authHosts': authHosts },
  });
  const auth = halo.auth as OAuthClientCredentialsAuth;
  await expect(auth.tokenUrl(ctx(`example.com, ${elsewhere.host.toUpperCase()}`))).resolves.toBe(
    `${elsewhere.origin}${elsewhere.pathname}/auth/token`,
  );
  await expect(auth.tokenUrl(ctx(elsewhere.hostname))).rejects.toThrow(/auth_url on another host/);
});

test('the connector tells the customer what to click, paste and grant', async () => {
  const detail = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/halo' })).json();
  expect(detail.setupSteps.join('\n')).toMatch(/Client ID and Secret \(Services\)/);
  expect(detail.setupSteps.join('\n')).toMatch(/Login Type to "Agent"/);
  expect(detail.requiredScopes).toEqual([
    { scope: 'read:tickets', purpose: expect.any(String) },
    { scope: 'edit:tickets', purpose: expect.any(String) },
    { scope: 'read:assets', purpose: expect.any(String), optional: true },
    { scope: 'read:customers', purpose: expect.any(String), optional: true },
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
