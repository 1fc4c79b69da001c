// Token access for the customer's own services, and the API key scopes that guard it, on the real stack:
// the token handed out works at the vendor, concurrent callers share one refresh through the workflow,
// connections that cannot serve answer 409, every hand-out is audited, and the route has its own limit.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildApp } from '../api/app';
import { slackEndpointsAt } from '../catalog/slack';
import { createApiKey } from '../platform/api-keys';
import { connectionWorkflowId } from '../workflows/ids';
import { ensureFreshTokenUpdate } from '../workflows/messages';
import { eventually } from './support/eventually';
import { startStack, TEST_POLICY, type Stack } from './support/stack';

let stack: Stack;
let tokenKey: string;
let tokenKeyPrefix: string;
let tokenKeyId: string;
beforeAll(async () => {
  stack = await startStack();
  const created = await createApiKey(stack.db, {
    name: 'token reader',
    tenantId: 'test-tenant',
    scopes: ['connections:token'],
  });
  tokenKey = created.key;
  tokenKeyPrefix = created.prefix;
  tokenKeyId = created.id;
});
afterAll(async () => {
  await stack?.close();
});

/** `null`: a request without a body. */
const issue = (id: string, body: object | null = { minValiditySeconds: 60 }, key = tokenKey) =>
  stack.rawApp.inject({
    method: 'POST',
    url: `/v1/connections/${id}/access-token`,
    ...(body === null ? {} : { payload: body }),
    headers: { authorization: `Bearer ${key}` },
  });

const linkInvgate = async (clientId: string, status: string | string[] = 'active') => {
  const { id } = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId, clientSecret: 'demo-secret' },
  });
  return stack.waitForStatus(id, status as never);
};

test('a key without connections:token gets 403 naming it; the token handed out works at the vendor', async () => {
  const linked = await linkInvgate('demo-all-scopes.issue');
  // The suite's default key reads and writes connections, as every key could before scopes existed.
  const refused = await issue(linked.id, {}, stack.tenantKey);
  expect(refused.statusCode).toBe(403);
  expect(refused.json()).toMatchObject({ error: 'insufficient_scope', scope: 'connections:token' });
  expect(refused.json().message).toContain('connections:token');

  const res = await issue(linked.id, { minValiditySeconds: 60 });
  expect(res.statusCode).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json();
  expect(body).toMatchObject({
    connectionId: linked.id,
    vendor: 'invgate',
    tokenType: 'Bearer',
    expiresAt: linked.tokenExpiresAt,
    grantedScopes: linked.grantedScopes,
    apiBaseUrl: stack.instanceUrl('invgate'),
    apiBaseUrls: { default: stack.instanceUrl('invgate') },
    refreshed: false,
  });
  expect(body.grantedScopes.length).toBe(12);
  expect(body.expiresInSeconds).toBeGreaterThan(3000);
  expect(body.accessToken).toBe(await stack.secrets.readAccessToken(linked.id));
  const atVendor = await fetch(`${body.apiBaseUrl}/api/v1/categories`, {
    headers: { authorization: `${body.tokenType} ${body.accessToken}` },
  });
  expect(atVendor.status).toBe(200);
  // `{}` asks for the default window of 60 s; no body at all is refused, naming it.
  const defaults = await issue(linked.id, {});
  expect(defaults.statusCode).toBe(200);
  expect(defaults.json().accessToken).toBe(body.accessToken);
  const bodiless = await issue(linked.id, null);
  expect(bodiless.statusCode).toBe(400);
  expect(bodiless.json().issues[0].field).toBe('body');
});

test('many concurrent callers of a token about to expire share one refresh through the workflow', async () => {
  const clientId = 'demo-ttl-16.concurrent';
  const linked = await linkInvgate(clientId);
  // Wait until the stored token has less than 7 s left (the workflow itself renews it at about 3 s left).
  await eventually(
    () => Date.parse(linked.tokenExpiresAt) - Date.now(),
    (left) => left < 7_000,
    { what: 'the stored token to have less than 7 s left' },
  );
  const before = stack.sim.control.stats('invgate', clientId).tokenRequests;

  const answers = await Promise.all(
    Array.from({ length: 25 }, () => issue(linked.id, { minValiditySeconds: 8 })),
  );
  expect(answers.map((a) => a.statusCode)).toEqual(Array(25).fill(200));
  const tokens = new Set(answers.map((a) => a.json().accessToken));
  expect(tokens.size).toBe(1);
  expect(stack.sim.control.stats('invgate', clientId).tokenRequests).toBe(before + 1);
  const fresh = answers[0]!.json();
  expect(Date.parse(fresh.expiresAt)).toBeGreaterThan(Date.parse(linked.tokenExpiresAt));
  expect(Date.parse(fresh.expiresAt) - Date.now()).toBeGreaterThan(8_000);
  expect(answers.some((a) => a.json().refreshed)).toBe(true);
  expect(fresh.accessToken).toBe(await stack.secrets.readAccessToken(linked.id));
});

test('callers in two API processes share one refresh: the second waits out the one calling the vendor', async () => {
  const clientId = 'demo-ttl-16.replicas';
  const linked = await linkInvgate(clientId);
  await eventually(
    () => Date.parse(linked.tokenExpiresAt) - Date.now(),
    (left) => left < 7_000,
    { what: 'the stored token to have less than 7 s left' },
  );
  // The vendor takes 3 s to answer the token request, so the second caller arrives while it is out.
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    scope: 'token',
    fault: { kind: 'delay', ms: 3_000 },
    times: 1,
  });
  const before = stack.sim.control.stats('invgate', clientId).tokenRequests;
  // Each API process's single flight sends its own update: two processes, two updates to the workflow.
  const workflow = stack.client.workflow.getHandle(connectionWorkflowId(linked.id));
  const first = workflow.executeUpdate(ensureFreshTokenUpdate, { args: [{ minValidityMs: 8_000 }] });
  // Well inside the vendor's 3 s: the first refresh is out when the second update arrives.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const second = workflow.executeUpdate(ensureFreshTokenUpdate, { args: [{ minValidityMs: 8_000 }] });
  const answers = await Promise.all([first, second]);
  expect(answers[1].tokenExpiresAt).toBe(answers[0].tokenExpiresAt);
  expect(answers[0].tokenExpiresAt! - Date.now()).toBeGreaterThan(8_000);
  expect(stack.sim.control.stats('invgate', clientId).tokenRequests).toBe(before + 1);
});

test('a window longer than half the token lifetime answers 400 naming the field', async () => {
  const linked = await linkInvgate('demo-ttl-60.window');
  const res = await issue(linked.id, { minValiditySeconds: 31 });
  expect(res.statusCode).toBe(400);
  expect(res.json().issues).toEqual([
    { field: 'body.minValiditySeconds', message: expect.stringContaining('at most 30') },
  ]);
  for (const bad of [{ minValiditySeconds: -1 }, { minValiditySeconds: 1.5 }, { other: 1 }]) {
    const invalid = await issue(linked.id, bad);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error).toBe('validation_failed');
  }
  expect((await issue(linked.id, { minValiditySeconds: 30 })).statusCode).toBe(200);
});

test('static tokens are returned as they are, with their vendor API bases', async () => {
  const promappToken = 'demo-all-scopes.static-issue';
  const { id: promapp } = await stack.link({
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: promappToken },
  });
  const promappRow = await stack.waitForStatus(promapp, 'active');
  const promappAnswer = (await issue(promapp, { minValiditySeconds: 3600 })).json();
  expect(promappAnswer).toMatchObject({
    accessToken: promappToken,
    tokenType: 'Bearer',
    // The token itself never expires; Promapp ends it a year after it was created.
    expiresAt: promappRow.credentialExpiresAt,
    apiBaseUrl: stack.instanceUrl('promapp'),
    refreshed: false,
  });

  const slackToken = 'xoxp-demo-all-scopes.static-issue';
  const { id: slack } = await stack.link({ vendor: 'slack', credentials: { token: slackToken } });
  await stack.waitForStatus(slack, 'active');
  const slackAnswer = (await issue(slack)).json();
  const slackBase = `${stack.sim.baseUrl}/slack`;
  expect(slackAnswer).toMatchObject({
    accessToken: slackToken,
    expiresAt: null,
    expiresInSeconds: null,
    apiBaseUrl: `${slackBase}/api`,
    apiBaseUrls: { default: `${slackBase}/api`, scim: `${slackBase}/scim/v2` },
  });
  const users = await fetch(`${slackAnswer.apiBaseUrls.scim}/Users?count=1`, {
    headers: { authorization: `Bearer ${slackAnswer.accessToken}` },
  });
  expect(users.status).toBe(200);
});

test('a connection that cannot serve answers 409 with its status and reason, without calling the vendor', async () => {
  const expectUnusable = async (id: string, status: string, reason: string | null) => {
    const res = await issue(id);
    expect(res.statusCode).toBe(409);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ error: 'connection_unusable', status, reason });
    expect(res.json()).not.toHaveProperty('accessToken');
  };
  const missing = await linkInvgate('demo-missing-scopes.unusable', 'insufficient_scopes');
  await expectUnusable(missing.id, 'insufficient_scopes', 'insufficient_scopes');

  const refusedClient = 'demo-all-scopes.wrong-secret';
  const { id: wrong } = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: refusedClient, clientSecret: 'not-the-secret' },
  });
  const refused = await stack.waitForStatus(wrong, 'invalid_credentials');
  const tokenRequests = stack.sim.control.stats('invgate', refusedClient).tokenRequests;
  await expectUnusable(wrong, 'invalid_credentials', refused.statusReason);
  // Refused credentials are not tried again on the caller's behalf.
  expect(stack.sim.control.stats('invgate', refusedClient).tokenRequests).toBe(tokenRequests);

  const paused = await linkInvgate('demo-all-scopes.paused');
  await stack.app.inject({ method: 'POST', url: `/v1/connections/${paused.id}/pause` });
  await stack.waitForStatus(paused.id, 'paused');
  await expectUnusable(paused.id, 'paused', 'paused');

  const deadToken = 'demo-all-scopes.reauth';
  const { id: reauth } = await stack.link({
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: deadToken },
  });
  await stack.waitForStatus(reauth, 'active');
  stack.sim.control.revokeAll('promapp', deadToken);
  const needsReauth = await stack.waitForStatus(reauth, 'needs_reauth', 40_000);
  await expectUnusable(reauth, 'needs_reauth', needsReauth.statusReason);

  await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${paused.id}` });
  const revoked = await stack.waitForStatus(paused.id, 'revoked');
  await expectUnusable(paused.id, 'revoked', revoked.statusReason);
});

test("another tenant's connection answers 404 exactly like a missing one", async () => {
  const linked = await linkInvgate('demo-all-scopes.isolation');
  const other = await createApiKey(stack.db, {
    name: 'other tenant',
    tenantId: 'other-tenant',
    scopes: ['connections:token'],
  });
  const theirs = await issue(linked.id, {}, other.key);
  const absentId = '00000000-0000-4000-8000-000000000000';
  const absent = await issue(absentId, {}, other.key);
  expect(theirs.statusCode).toBe(404);
  expect(absent.statusCode).toBe(404);
  expect(theirs.json()).toEqual({
    ...absent.json(),
    message: absent.json().message.replace(absentId, linked.id),
  });
  expect(theirs.body).not.toContain('invgate');
  // An admin key holds every scope and acts across tenants.
  expect((await issue(linked.id, {}, stack.adminKey)).statusCode).toBe(200);
});

test('every token handed out is an audit event naming the key, never the token, and a metric', async () => {
  const linked = await linkInvgate('demo-all-scopes.audit');
  const tokens = [(await issue(linked.id)).json().accessToken, (await issue(linked.id)).json().accessToken];
  const events = await stack.events(linked.id);
  const issued = events.filter((e: any) => e.type === 'access_token_issued');
  expect(issued).toHaveLength(2);
  expect(issued[0]).toMatchObject({
    actor: { kind: 'api', keyId: tokenKeyId, label: 'token reader' },
    fromStatus: null,
    toStatus: null,
    detail: { apiKeyPrefix: tokenKeyPrefix, minValiditySeconds: 60, refreshed: false },
  });
  const trail = JSON.stringify(events);
  for (const token of tokens) expect(trail).not.toContain(token);

  const metrics = (
    await stack.rawApp.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${stack.adminKey}` },
    })
  ).body;
  const issuedCount = Number(
    /tether_access_tokens_total\{vendor="invgate",outcome="issued"\} (\d+)/.exec(metrics)?.[1],
  );
  expect(issuedCount).toBeGreaterThanOrEqual(2);
  expect(metrics).toMatch(/tether_access_tokens_total\{vendor="invgate",outcome="refused"\} \d+/);
  expect(metrics).toMatch(
    /tether_access_tokens_total\{vendor="invgate",outcome="issued_after_refresh"\} \d+/,
  );
});

test('the route has its own per-key rate limit', async () => {
  const linked = await linkInvgate('demo-all-scopes.limited');
  const app = await buildApp({
    db: stack.db,
    temporal: stack.client,
    secrets: stack.secrets,
    taskQueue: stack.taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: TEST_POLICY,
    vendorEndpoints: slackEndpointsAt(`${stack.sim.baseUrl}/slack`),
    tokenRateLimitPerMinute: 3,
  });
  try {
    const both = (
      await createApiKey(stack.db, {
        name: 'limited',
        tenantId: 'test-tenant',
        scopes: ['connections:token', 'connections:read'],
      })
    ).key;
    const call = (url: string, method: 'GET' | 'POST') =>
      app.inject({
        method,
        url,
        ...(method === 'POST' ? { payload: {} } : {}),
        headers: { authorization: `Bearer ${both}` },
      });
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(`/v1/connections/${linked.id}/access-token`, 'POST')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call(`/v1/connections/${linked.id}/access-token`, 'POST');
    expect(limited.json().error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The rest of the API counts apart, and so does another key.
    expect((await call(`/v1/connections/${linked.id}`, 'GET')).statusCode).toBe(200);
    const other = await app.inject({
      method: 'POST',
      url: `/v1/connections/${linked.id}/access-token`,
      payload: {},
      headers: { authorization: `Bearer ${tokenKey}` },
    });
    expect(other.statusCode).toBe(200);
  } finally {
    await app.close();
  }
});

test('OpenAPI documents the token and proxy routes, and every $ref in it resolves', async () => {
  const doc = (await stack.rawApp.inject({ method: 'GET', url: '/openapi.json' })).json();
  const token = doc.paths['/v1/connections/{id}/access-token'].post;
  expect(token.description).toContain('connections:token');
  expect(token.responses['200'].content['application/json'].schema.$ref).toBe(
    '#/components/schemas/AccessToken',
  );
  const proxy = doc.paths['/v1/connections/{id}/proxy/{*}'];
  expect(Object.keys(proxy).sort()).toEqual(['delete', 'get', 'head', 'patch', 'post', 'put']);
  expect(proxy.get.description).toContain('connections:proxy');
  expect(proxy.get.parameters.map((p: any) => p.name)).toEqual(['id', '*', 'tether-api-base']);
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
    (m) => m[1],
  );
  expect(refs.length).toBeGreaterThan(10);
  expect(refs.filter((name) => !(name! in doc.components.schemas))).toEqual([]);
});

describe('API key scopes', () => {
  const as = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    stack.rawApp.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });

  test('each route needs its scope; the catalog any key; a key without it gets 403 naming it', async () => {
    const linked = await linkInvgate('demo-all-scopes.scopes');
    const nothing = (await createApiKey(stack.db, { name: 'no scopes', tenantId: 'test-tenant', scopes: [] }))
      .key;
    const cases: [string, 'GET' | 'POST' | 'DELETE', string, object | undefined][] = [
      ['connections:read', 'GET', '/v1/connections', undefined],
      ['connections:read', 'GET', `/v1/connections/${linked.id}/events`, undefined],
      ['connections:write', 'POST', `/v1/connections/${linked.id}/refresh`, undefined],
      ['connections:write', 'DELETE', `/v1/connections/${linked.id}`, undefined],
      ['connections:token', 'POST', `/v1/connections/${linked.id}/access-token`, {}],
      ['connections:proxy', 'GET', `/v1/connections/${linked.id}/proxy/api/v1/categories`, undefined],
      ['webhooks:read', 'GET', '/v1/webhooks', undefined],
      ['webhooks:write', 'POST', '/v1/webhooks', { url: 'https://hooks.example.com/x' }],
    ];
    for (const [scope, method, url, payload] of cases) {
      const res = await as(nothing, method, url, payload);
      expect({ url, status: res.statusCode, body: res.json() }).toMatchObject({
        status: 403,
        body: {
          error: 'insufficient_scope',
          scope,
          message: `this API key does not have the scope ${scope}`,
        },
      });
    }
    expect((await as(nothing, 'GET', '/v1/connectors')).statusCode).toBe(200);
    expect((await as(nothing, 'GET', '/v1/connectors/invgate')).statusCode).toBe(200);

    const reader = (
      await createApiKey(stack.db, {
        name: 'reader',
        tenantId: 'test-tenant',
        scopes: ['connections:read'],
      })
    ).key;
    expect((await as(reader, 'GET', `/v1/connections/${linked.id}`)).statusCode).toBe(200);
    expect((await as(reader, 'POST', `/v1/connections/${linked.id}/pause`)).statusCode).toBe(403);
    expect((await stack.getConnection(linked.id)).status).toBe('active');
  });

  test('keys get the old abilities by default; unknown scopes are refused', async () => {
    const plain = await createApiKey(stack.db, { name: 'plain', tenantId: 'test-tenant' });
    expect(plain.scopes).toEqual([
      'connections:read',
      'connections:write',
      'webhooks:read',
      'webhooks:write',
    ]);
    const admin = await stack.db.apiKey.findFirstOrThrow({ where: { role: 'admin' } });
    expect(admin.scopes).toEqual(expect.arrayContaining(['connections:token', 'connections:proxy']));
    await expect(
      createApiKey(stack.db, { name: 'bad', tenantId: 'test-tenant', scopes: ['connections:everything'] }),
    ).rejects.toThrow(/unknown scope connections:everything/);
  });

  test('npm run api-keys -- create --scopes sets them; a bad one is refused', async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/api-keys.ts', ...args], {
        env: { ...process.env, DATABASE_URL: stack.databaseUrl },
      });
    const { stdout, stderr } = await run(
      'create',
      '--tenant',
      'test-tenant',
      '--scopes',
      'connections:token',
    );
    const key = stdout.trim();
    expect(stderr).toContain('scopes: connections:token\n');
    const linked = await linkInvgate('demo-all-scopes.cli');
    expect((await issue(linked.id, {}, key)).statusCode).toBe(200);
    expect((await as(key, 'GET', '/v1/connections')).statusCode).toBe(403);

    const all = (await run('create', '--tenant', 'test-tenant', '--scopes', 'all')).stdout.trim();
    expect((await as(all, 'GET', '/v1/connections')).statusCode).toBe(200);
    await expect(run('create', '--tenant', 'test-tenant', '--scopes', 'bogus')).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown scope bogus'),
    });
  }, 60_000);
});
