// The vendor simulators over real HTTP on a random loopback port: demo scenarios, vendor error shapes,
// the control API. Each test starts from control.reset().
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlInputError, startSimulators, type RunningSimulators } from '../simulators/server';

const SECRET = 'demo-secret';
const INVGATE_SCOPES = [
  'api.v1.categories:get',
  'api.v1.locations:get',
  'api.v1.users:get',
  'api.v1.incident:post',
  'api.v1.incident.custom_field:post',
];

let sim: RunningSimulators;
let base: string;

beforeAll(async () => {
  sim = await startSimulators({ haloRateLimit: { requests: 8, windowSeconds: 60 } });
  base = sim.baseUrl;
});
afterAll(() => sim.close());
beforeEach(() => sim.control.reset());

function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

function getWith(url: string, token: string) {
  return fetch(url, { headers: { authorization: `Bearer ${token}` } });
}

function postJson(url: string, body: unknown, token?: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
}

function basic(clientId: string, secret = SECRET): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

describe('InvGate', () => {
  const tokenUrl = () => `${base}/invgate/oauth/v2/0/access_token`;
  const api = (endpoint: string) => `${base}/invgate/api/v1/${endpoint}`;
  const grant = (clientId: string, scope = INVGATE_SCOPES.join(' '), secret = SECRET) =>
    postForm(tokenUrl(), {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope,
    });

  async function token(clientId: string, scope?: string): Promise<string> {
    const response = await grant(clientId, scope);
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it('grants a JWT whose scopes claim lists the grant, and the probes answer', async () => {
    const response = await grant('demo-all-scopes');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const claims = jwtClaims(body.access_token as string);
    expect(claims.scopes).toEqual(INVGATE_SCOPES);
    expect(claims).toMatchObject({ sub: 'demo-all-scopes' });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);

    const categories = await getWith(api('categories?page_size=1'), body.access_token as string);
    expect(categories.status).toBe(200);
    expect(Array.isArray(await categories.json())).toBe(true);
    const incomplete = await postJson(api('incident'), { title: 't' }, body.access_token as string);
    expect(incomplete.status).toBe(428);
    expect(await incomplete.json()).toEqual({
      status: 'ERROR',
      error: 'The parameter category_id is required',
    });
    const ids = { category_id: 1, type_id: 1, priority_id: 1, customer_id: 2, creator_id: 2 };
    const incident = await postJson(api('incident'), { title: 't', ...ids }, body.access_token as string);
    expect(await incident.json()).toEqual({ status: 'OK', info: 'The request was created', request_id: 1 });
    expect(sim.control.stats('invgate', 'demo-all-scopes')).toMatchObject({
      tokenRequests: 1,
      apiRequests: 3,
    });
  });

  it('demo-missing-scopes leaves out locations:get and incident.custom_field:post; those calls are 403', async () => {
    const access = await token('demo-missing-scopes');
    expect(jwtClaims(access).scopes).toEqual([
      'api.v1.categories:get',
      'api.v1.users:get',
      'api.v1.incident:post',
    ]);
    const locations = await getWith(api('locations'), access);
    expect(locations.status).toBe(403);
    expect(await locations.json()).toMatchObject({
      status: 'ERROR',
      error: expect.stringContaining('locations'),
    });
    expect((await getWith(api('users'), access)).status).toBe(200);
  });

  it('a grant without scope carries no scopes, and every call is 403', async () => {
    const access = await token('demo-all-scopes', '');
    expect(jwtClaims(access).scopes).toEqual([]);
    expect((await getWith(api('categories'), access)).status).toBe(403);
  });

  it('answers a wrong secret, and demo-200-error, with HTTP 200 carrying an OAuth error', async () => {
    for (const response of [
      await grant('demo-all-scopes', undefined, 'wrong'),
      await grant('demo-200-error'),
    ]) {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        error: 'invalid_client',
        error_description: expect.any(String),
      });
    }
  });

  it('demo-ttl-1 tokens really stop working after a second', async () => {
    const response = await grant('demo-ttl-1');
    const body = (await response.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(1);
    expect((await getWith(api('categories'), body.access_token)).status).toBe(200);
    await sleep(1100);
    const expired = await getWith(api('categories'), body.access_token);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ status: 'ERROR', error: 'The access token has expired' });
  });

  it('demo-revoked grants tokens that every call refuses; unknown and tampered tokens are 401', async () => {
    const revoked = await token('demo-revoked');
    const answer = await getWith(api('categories'), revoked);
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ status: 'ERROR', error: expect.stringContaining('revoked') });

    const good = await token('demo-all-scopes');
    const [header, , signature] = good.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ scopes: ['x'] })).toString('base64url')}.${signature}`;
    expect((await getWith(api('categories'), forged)).status).toBe(401);
    expect((await getWith(api('categories'), 'nonsense')).status).toBe(401);
  });

  it('demo-rate-limited answers 429 with Retry-After: 1 twice, then grants', async () => {
    for (let i = 0; i < 2; i++) {
      const limited = await grant('demo-rate-limited');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(await limited.json()).toMatchObject({ error: expect.any(String) });
    }
    expect((await grant('demo-rate-limited')).status).toBe(200);
    expect(sim.control.stats('invgate', 'demo-rate-limited').byStatus).toEqual({ 200: 1, 429: 2 });
  });

  it('demo-flaky fails with 500 then 503, then grants; demo-down is always 503', async () => {
    expect((await grant('demo-flaky')).status).toBe(500);
    expect((await grant('demo-flaky')).status).toBe(503);
    expect((await grant('demo-flaky')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await grant('demo-down')).status).toBe(503);
  });

  it('demo-malformed answers HTTP 200 with truncated JSON', async () => {
    const response = await grant('demo-malformed');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it('demo-slow-<ms> answers after the delay', async () => {
    const started = Date.now();
    expect((await grant('demo-slow-300')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('a suffix after "." keeps the scenario but makes a separate client', async () => {
    expect((await grant('demo-rate-limited.a')).status).toBe(429);
    expect((await grant('demo-rate-limited.b')).status).toBe(429);
    expect(sim.control.stats('invgate', 'demo-rate-limited.a').tokenRequests).toBe(1);
  });
});

describe('Promapp', () => {
  const scim = (path: string) => `${base}/promapp/api/scim${path}`;

  it('answers the Users probe with a SCIM ListResponse, and ServiceProviderConfig', async () => {
    const users = await getWith(scim('/Users?count=1'), 'demo-all-scopes');
    expect(users.status).toBe(200);
    expect(users.headers.get('content-type')).toContain('application/scim+json');
    const list = (await users.json()) as { Resources: unknown[]; totalResults: number };
    expect(list).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 1,
    });
    expect(list.Resources).toHaveLength(1);
    expect((await getWith(scim('/ServiceProviderConfig'), 'demo-all-scopes')).status).toBe(200);
  });

  it('refuses unknown tokens with a SCIM 401, and tokens without the SCIM scope with 403', async () => {
    const unknown = await getWith(scim('/Users?count=1'), 'not-a-demo-token');
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
      detail: expect.any(String),
    });
    expect((await getWith(scim('/Users?count=1'), 'demo-missing-scopes')).status).toBe(403);
    expect((await getWith(scim('/ServiceProviderConfig'), 'demo-missing-scopes')).status).toBe(200);
  });

  it('demo-ttl-1 expires a second after first use; demo-revoked never works', async () => {
    expect((await getWith(scim('/Users?count=1'), 'demo-ttl-1')).status).toBe(200);
    await sleep(1100);
    const expired = await getWith(scim('/Users?count=1'), 'demo-ttl-1');
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ detail: expect.stringContaining('expired') });
    expect((await getWith(scim('/Users?count=1'), 'demo-revoked')).status).toBe(401);
  });

  it('control.revokeAll kills a static token until reset', async () => {
    sim.control.revokeAll('promapp', 'demo-all-scopes');
    expect((await getWith(scim('/Users?count=1'), 'demo-all-scopes')).status).toBe(401);
    sim.control.reset();
    expect((await getWith(scim('/Users?count=1'), 'demo-all-scopes')).status).toBe(200);
  });

  it('demo-rate-limited: the first two calls are 429 with Retry-After', async () => {
    const first = await getWith(scim('/Users?count=1'), 'demo-rate-limited');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    expect((await getWith(scim('/Users?count=1'), 'demo-rate-limited')).status).toBe(429);
    expect((await getWith(scim('/Users?count=1'), 'demo-rate-limited')).status).toBe(200);
  });

  it('creates, finds, disables with PATCH active=false, and refuses duplicates', async () => {
    const created = await postJson(
      scim('/Users'),
      { userName: 'ada@example.com', active: true },
      'demo-all-scopes',
    );
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };
    const duplicate = await postJson(scim('/Users'), { userName: 'ada@example.com' }, 'demo-all-scopes');
    expect(duplicate.status).toBe(409);
    const found = await getWith(
      scim('/Users?filter=userName%20eq%20%22ada@example.com%22'),
      'demo-all-scopes',
    );
    expect(await found.json()).toMatchObject({ totalResults: 1 });
    const patched = await fetch(scim(`/Users/${user.id}`), {
      method: 'PATCH',
      headers: { authorization: 'Bearer demo-all-scopes', 'content-type': 'application/json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'active', value: false }],
      }),
    });
    expect(await patched.json()).toMatchObject({ id: user.id, active: false });
    expect(await (await getWith(scim(`/Users/${user.id}`), 'demo-all-scopes')).json()).toMatchObject({
      active: false,
    });
  });
});

describe('control API', () => {
  const invgateGrant = (clientId = 'demo-all-scopes') =>
    postForm(`${base}/invgate/oauth/v2/0/access_token`, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: SECRET,
      scope: INVGATE_SCOPES.join(' '),
    });

  it('a status fault with times answers the vendor error shape with Retry-After, then clears itself', async () => {
    const response = await postJson(`${base}/_control/faults`, {
      vendor: 'promapp',
      match: 'demo-all-scopes',
      fault: { kind: 'status', status: 429, retryAfterSeconds: 7 },
      times: 1,
    });
    expect(response.status).toBe(201);
    const limited = await getWith(`${base}/promapp/api/scim/Users?count=1`, 'demo-all-scopes');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toMatchObject({ status: '429' });
    expect((await getWith(`${base}/promapp/api/scim/Users?count=1`, 'demo-all-scopes')).status).toBe(200);
    expect(sim.control.listFaults()).toEqual([]);
  });

  it('scopes faults to token or api endpoints, and to one client', async () => {
    sim.control.addFault({ vendor: 'invgate', scope: 'api', fault: { kind: 'status', status: 503 } });
    sim.control.addFault({ vendor: 'invgate', match: 'other', fault: { kind: 'status', status: 500 } });
    const response = await invgateGrant();
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    const down = await getWith(`${base}/invgate/api/v1/users`, access_token);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'ERROR', error: 'Service Unavailable' });
  });

  it('drop_scopes at the token endpoint narrows the grant; delay slows it down', async () => {
    sim.control.addFault({
      vendor: 'invgate',
      scope: 'token',
      fault: { kind: 'drop_scopes', scopes: ['api.v1.users:get'] },
    });
    sim.control.addFault({ vendor: 'invgate', fault: { kind: 'delay', ms: 200 }, times: 1 });
    const started = Date.now();
    const { access_token } = (await (await invgateGrant()).json()) as { access_token: string };
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(jwtClaims(access_token).scopes).not.toContain('api.v1.users:get');
  });

  it('revoke_tokens revokes what the caller holds; later grants work', async () => {
    const { access_token: old } = (await (await invgateGrant()).json()) as { access_token: string };
    sim.control.addFault({ vendor: 'invgate', scope: 'api', fault: { kind: 'revoke_tokens' }, times: 1 });
    expect((await getWith(`${base}/invgate/api/v1/users`, old)).status).toBe(401);
    expect((await getWith(`${base}/invgate/api/v1/users`, old)).status).toBe(401);
    const { access_token: fresh } = (await (await invgateGrant()).json()) as { access_token: string };
    expect((await getWith(`${base}/invgate/api/v1/users`, fresh)).status).toBe(200);
  });

  it('malformed fault, removal by id, and clearing all', async () => {
    const { id } = (await (
      await postJson(`${base}/_control/faults`, { vendor: 'invgate', fault: { kind: 'malformed' } })
    ).json()) as { id: string };
    const text = await (await invgateGrant()).text();
    expect(() => JSON.parse(text)).toThrow();
    expect((await fetch(`${base}/_control/faults/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${base}/_control/faults/${id}`, { method: 'DELETE' })).status).toBe(404);
    sim.control.addFault({ vendor: 'invgate', fault: { kind: 'status', status: 500 } });
    expect((await fetch(`${base}/_control/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await invgateGrant()).status).toBe(200);
  });

  it('rejects bad bodies with 400 naming the field, over HTTP and in-process', async () => {
    const bad = await postJson(`${base}/_control/faults`, { vendor: 'invgate', fault: { kind: 'delay' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_request', field: 'fault.ms' });
    const unknownVendor = await postJson(`${base}/_control/faults`, {
      vendor: 'nope',
      fault: { kind: 'malformed' },
    });
    expect(await unknownVendor.json()).toMatchObject({ field: 'vendor' });
    expect(() => sim.control.addFault({ vendor: 'invgate', fault: { kind: 'status', status: 199 } })).toThrow(
      ControlInputError,
    );
  });

  it('counts requests per endpoint, status and client over HTTP, and reset clears them', async () => {
    await invgateGrant();
    await invgateGrant('demo-all-scopes.x');
    const stats = (await (await fetch(`${base}/_control/stats?vendor=invgate`)).json()) as Record<
      string,
      unknown
    >;
    expect(stats).toMatchObject({
      tokenRequests: 2,
      byEndpoint: { 'POST /oauth/v2/0/access_token': 2 },
      byStatus: { 200: 2 },
      byMatch: { 'demo-all-scopes': { tokenRequests: 1 }, 'demo-all-scopes.x': { tokenRequests: 1 } },
    });
    const one = await fetch(`${base}/_control/stats?vendor=invgate&match=demo-all-scopes`);
    expect(await one.json()).toMatchObject({ match: 'demo-all-scopes', tokenRequests: 1 });
    expect((await fetch(`${base}/_control/reset`, { method: 'POST' })).status).toBe(204);
    expect(sim.control.stats('invgate').tokenRequests).toBe(0);
  });
});

describe('HaloITSM', () => {
  const halo = (path: string) => `${base}/halo${path}`;

  async function grant(clientId: string, scope: string, useBasic = false) {
    const fields: Record<string, string> = { grant_type: 'client_credentials', scope };
    if (!useBasic) Object.assign(fields, { client_id: clientId, client_secret: SECRET });
    return postForm(
      halo('/auth/token?tenant=simulator'),
      fields,
      useBasic ? { authorization: basic(clientId) } : {},
    );
  }

  it('discovers the token URL, grants with HTTP Basic, and the probes answer', async () => {
    const info = (await (await fetch(halo('/api/authinfo'))).json()) as {
      auth_url: string;
      tenant_id: string;
    };
    expect(info).toEqual({ auth_url: halo('/auth'), tenant_id: 'simulator' });
    const response = await grant('demo-all-scopes', 'read:tickets read:assets', true);
    const body = (await response.json()) as { access_token: string; scope: string };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read:tickets read:assets' });
    for (const path of ['/api/agent/me', '/api/tickets?page_size=1', '/api/asset?page_size=1']) {
      expect((await getWith(halo(path), body.access_token)).status).toBe(200);
    }
  });

  it('demo-missing-scopes drops read:assets: the asset probe is 403 {ClassName, Message}', async () => {
    const body = (await (await grant('demo-missing-scopes', 'read:tickets read:assets')).json()) as {
      access_token: string;
      scope: string;
    };
    expect(body.scope).toBe('read:tickets');
    const asset = await getWith(halo('/api/asset?page_size=1'), body.access_token);
    expect(asset.status).toBe(403);
    expect(await asset.json()).toEqual({ ClassName: expect.any(String), Message: expect.any(String) });
  });

  it('a token without scope works for agent/me only; other calls are 401 {Message}', async () => {
    const { access_token } = (await (await grant('demo-all-scopes', '')).json()) as { access_token: string };
    expect((await getWith(halo('/api/agent/me'), access_token)).status).toBe(200);
    const tickets = await getWith(halo('/api/tickets?page_size=1'), access_token);
    expect(tickets.status).toBe(401);
    expect(await tickets.json()).toEqual({ Message: expect.any(String) });
  });

  it('refuses a wrong secret (401 invalid_client), unknown scopes and a wrong tenant (400)', async () => {
    const wrong = await postForm(halo('/auth/token'), {
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes',
      client_secret: 'nope',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    expect(await (await grant('demo-all-scopes', 'read:everything')).json()).toMatchObject({
      error: 'invalid_scope',
    });
    const tenant = await postForm(halo('/auth/token?tenant=other'), {
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes',
      client_secret: SECRET,
    });
    expect(tenant.status).toBe(400);
  });

  it('demo-ttl-1 tokens stop working', async () => {
    const { access_token } = (await (await grant('demo-ttl-1', 'all')).json()) as { access_token: string };
    expect((await getWith(halo('/api/tickets'), access_token)).status).toBe(200);
    await sleep(1100);
    expect((await getWith(halo('/api/tickets'), access_token)).status).toBe(401);
  });

  it('limits each client to the configured requests per window: 429 {resultCode, errorMessage}', async () => {
    const { access_token } = (await (await grant('demo-all-scopes.rl', 'all')).json()) as {
      access_token: string;
    };
    for (let i = 0; i < 7; i++) expect((await getWith(halo('/api/agent/me'), access_token)).status).toBe(200);
    const limited = await getWith(halo('/api/agent/me'), access_token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({ resultCode: 429, errorMessage: expect.any(String) });
    // Other clients have their own budget.
    expect((await grant('demo-all-scopes', 'all')).status).toBe(200);
  });
});

describe('NinjaOne', () => {
  const ninja = (path: string) => `${base}/ninjaone${path}`;
  const grant = (clientId: string, scope: string) =>
    postForm(ninja('/ws/oauth/token'), {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: SECRET,
      scope,
    });

  it('lists its endpoints, grants, and the organizations probe answers', async () => {
    const metadata = (await (await fetch(ninja('/.well-known/oauth-authorization-server'))).json()) as Record<
      string,
      string
    >;
    expect(metadata).toMatchObject({
      token_endpoint: ninja('/ws/oauth/token'),
      revocation_endpoint: ninja('/ws/oauth/revoke'),
    });
    const body = (await (await grant('demo-all-scopes', 'monitoring management control')).json()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'monitoring management control',
    });
    expect(body.refresh_token).toBeUndefined();
    const orgs = await getWith(ninja('/v2/organizations?pageSize=1'), body.access_token as string);
    expect(orgs.status).toBe(200);
  });

  it('refuses offline_access with 400 invalid_scope; demo-missing-scopes drops control', async () => {
    const offline = await grant('demo-all-scopes', 'monitoring offline_access');
    expect(offline.status).toBe(400);
    expect(await offline.json()).toMatchObject({ error: 'invalid_scope' });
    const body = (await (await grant('demo-missing-scopes', 'monitoring management control')).json()) as {
      scope: string;
    };
    expect(body.scope).toBe('monitoring management');
  });

  it('a token without monitoring gets 403 on the probe', async () => {
    const { access_token } = (await (await grant('demo-all-scopes', 'management')).json()) as {
      access_token: string;
    };
    const orgs = await getWith(ninja('/v2/organizations?pageSize=1'), access_token);
    expect(orgs.status).toBe(403);
    expect(await orgs.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  it('revokes a token (RFC 7009): 200, and the token stops working; unknown tokens also get 200', async () => {
    const { access_token } = (await (await grant('demo-all-scopes', 'monitoring')).json()) as {
      access_token: string;
    };
    const revoke = (token: string) =>
      postForm(
        ninja('/ws/oauth/revoke'),
        { token, token_type_hint: 'access_token' },
        { authorization: basic('demo-all-scopes') },
      );
    expect((await revoke(access_token)).status).toBe(200);
    const orgs = await getWith(ninja('/v2/organizations'), access_token);
    expect(orgs.status).toBe(401);
    expect(await orgs.json()).toMatchObject({ error: 'invalid_token' });
    expect((await revoke('never-issued')).status).toBe(200);
    expect(sim.control.stats('ninjaone', 'demo-all-scopes')).toMatchObject({
      tokenRequests: 1,
      authRequests: 2,
    });
  });
});

/** The parts of oauth.v2.access answers the tests read (install: authed_user; refresh: top level). */
interface SlackOAuthAnswer {
  ok: boolean;
  access_token: string;
  refresh_token?: string;
  authed_user: { access_token: string; refresh_token?: string; scope?: string };
}

describe('Slack', () => {
  const slack = (path: string) => `${base}/slack${path}`;
  const authTest = (token?: string) =>
    fetch(slack('/api/auth.test'), {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const redirectUri = 'http://127.0.0.1:9/callback';

  async function authorize(clientId: string, userScope = 'admin,users:read'): Promise<URL> {
    const query = new URLSearchParams({
      client_id: clientId,
      user_scope: userScope,
      redirect_uri: redirectUri,
      state: 's1',
    });
    const response = await fetch(slack(`/oauth/v2/authorize?${query}`), { redirect: 'manual' });
    expect(response.status).toBe(302);
    return new URL(response.headers.get('location') as string);
  }

  const access = (fields: Record<string, string>) => postForm(slack('/api/oauth.v2.access'), fields);
  const refresh = (clientId: string, refreshToken: string | undefined) =>
    access({
      client_id: clientId,
      client_secret: SECRET,
      grant_type: 'refresh_token',
      refresh_token: refreshToken ?? '',
    });

  async function install(clientId: string) {
    const code = (await authorize(clientId)).searchParams.get('code') as string;
    const response = await access({
      client_id: clientId,
      client_secret: SECRET,
      code,
      redirect_uri: redirectUri,
    });
    return (await response.json()) as SlackOAuthAnswer;
  }

  it('pasted demo tokens: auth.test ok with x-oauth-scopes; Web API errors are HTTP 200 {ok:false}', async () => {
    const ok = await authTest('xoxp-demo-all-scopes');
    expect(await ok.json()).toMatchObject({
      ok: true,
      team_id: expect.any(String),
      user_id: expect.any(String),
    });
    expect(ok.headers.get('x-oauth-scopes')).toContain('admin');
    for (const [token, error] of [
      ['xoxp-unknown', 'invalid_auth'],
      [undefined, 'not_authed'],
      ['xoxp-demo-revoked', 'token_revoked'],
    ] as const) {
      const response = await authTest(token);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: false, error });
    }
  });

  it('SCIM needs the admin scope; POST then DELETE deactivates', async () => {
    const users = await getWith(slack('/scim/v2/Users?count=1'), 'xoxp-demo-all-scopes');
    expect(await users.json()).toMatchObject({ totalResults: 1 });
    const noAdmin = await getWith(slack('/scim/v2/Users?count=1'), 'xoxp-demo-missing-scopes');
    expect(noAdmin.status).toBe(403);
    expect(await noAdmin.json()).toMatchObject({ status: '403' });
    expect((await getWith(slack('/scim/v2/ServiceProviderConfig'), 'xoxp-demo-missing-scopes')).status).toBe(
      200,
    );

    const created = await postJson(slack('/scim/v2/Users'), { userName: 'grace' }, 'xoxp-demo-all-scopes');
    const { id } = (await created.json()) as { id: string };
    const deleted = await fetch(slack(`/scim/v2/Users/${id}`), {
      method: 'DELETE',
      headers: { authorization: 'Bearer xoxp-demo-all-scopes' },
    });
    expect(deleted.status).toBe(204);
    expect(await (await getWith(slack(`/scim/v2/Users/${id}`), 'xoxp-demo-all-scopes')).json()).toMatchObject(
      {
        active: false,
      },
    );
  });

  it('OAuth install: authorize redirects with code and state; the code is single-use', async () => {
    const callback = await authorize('demo-all-scopes');
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe('s1');
    const code = callback.searchParams.get('code') as string;
    const body = (await (
      await access({ client_id: 'demo-all-scopes', client_secret: SECRET, code, redirect_uri: redirectUri })
    ).json()) as SlackOAuthAnswer;
    expect(body).toMatchObject({ ok: true, authed_user: { scope: 'admin,users:read', token_type: 'user' } });
    expect(body.authed_user.access_token).toMatch(/^xoxp-/);
    expect(body.authed_user.refresh_token).toBeUndefined();
    expect(await (await authTest(body.authed_user.access_token)).json()).toMatchObject({ ok: true });

    const reused = await access({ client_id: 'demo-all-scopes', client_secret: SECRET, code });
    expect(await reused.json()).toEqual({ ok: false, error: 'invalid_code' });
    const badSecret = await access({ client_id: 'demo-all-scopes', client_secret: 'x', code });
    expect(await badSecret.json()).toEqual({ ok: false, error: 'bad_client_secret' });
  });

  it('demo-missing-scopes installs without admin; demo-access-denied redirects with error', async () => {
    const body = await install('demo-missing-scopes');
    expect(body.authed_user.scope).toBe('users:read');
    expect((await getWith(slack('/scim/v2/Users?count=1'), body.authed_user.access_token)).status).toBe(403);
    const denied = await authorize('demo-access-denied');
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });

  it('rotation: single-use refresh tokens, and access tokens expire', async () => {
    const installed = await install('demo-rotating-1');
    expect(installed.authed_user).toMatchObject({
      expires_in: 1,
      refresh_token: expect.stringMatching(/^xoxe-1-/),
    });

    const rotated = (await (
      await refresh('demo-rotating-1', installed.authed_user.refresh_token)
    ).json()) as SlackOAuthAnswer;
    expect(rotated).toMatchObject({ ok: true, token_type: 'user', expires_in: 1, scope: 'admin,users:read' });
    expect(rotated.refresh_token).not.toBe(installed.authed_user.refresh_token);
    expect(await (await refresh('demo-rotating-1', installed.authed_user.refresh_token)).json()).toEqual({
      ok: false,
      error: 'invalid_refresh_token',
    });

    await sleep(1100);
    expect(await (await authTest(rotated.access_token)).json()).toEqual({
      ok: false,
      error: 'token_expired',
    });
    const again = (await (
      await refresh('demo-rotating-1', rotated.refresh_token)
    ).json()) as SlackOAuthAnswer;
    expect(await (await authTest(again.access_token)).json()).toMatchObject({ ok: true });
  });

  it('auth.revoke: test=1 is a dry run; a real revoke kills the token and its refresh token', async () => {
    const installed = await install('demo-rotating');
    const token = installed.authed_user.access_token;
    const revoke = (test: boolean) =>
      postForm(slack('/api/auth.revoke'), test ? { test: '1' } : {}, { authorization: `Bearer ${token}` });
    expect(await (await revoke(true)).json()).toEqual({ ok: true, revoked: false });
    expect(await (await authTest(token)).json()).toMatchObject({ ok: true });
    expect(await (await revoke(false)).json()).toEqual({ ok: true, revoked: true });
    expect(await (await authTest(token)).json()).toEqual({ ok: false, error: 'token_revoked' });
    const refreshed = await refresh('demo-rotating', installed.authed_user.refresh_token);
    expect(await refreshed.json()).toEqual({ ok: false, error: 'invalid_refresh_token' });
  });

  it('control.revokeAll kills installed tokens and their refresh tokens; a new install works', async () => {
    const installed = await install('demo-rotating');
    sim.control.revokeAll('slack', 'demo-rotating');
    expect(await (await authTest(installed.authed_user.access_token)).json()).toEqual({
      ok: false,
      error: 'token_revoked',
    });
    const refreshed = await refresh('demo-rotating', installed.authed_user.refresh_token);
    expect(await refreshed.json()).toEqual({ ok: false, error: 'invalid_refresh_token' });
    const again = await install('demo-rotating');
    expect(await (await authTest(again.authed_user.access_token)).json()).toMatchObject({ ok: true });
  });

  it('a 429 fault answers HTTP 429 {ok:false, error:"ratelimited"} with Retry-After', async () => {
    sim.control.addFault({
      vendor: 'slack',
      match: 'xoxp-demo-all-scopes',
      scope: 'api',
      fault: { kind: 'status', status: 429, retryAfterSeconds: 3 },
      times: 1,
    });
    const limited = await authTest('xoxp-demo-all-scopes');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await limited.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect((await authTest('xoxp-demo-all-scopes')).status).toBe(200);
  });
});
