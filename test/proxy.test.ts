// The authenticated proxy on the real stack, over real HTTP: the caller's request reaches the vendor with
// the connection's token and nothing of the caller's credentials, only relative paths pass, bodies stream
// both ways under the worker's limits, a vendor 401 is met with one refresh through the workflow and one
// retry, and vendor answers pass through marked as the vendor's.
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app';
import { slackEndpointsAt } from '../catalog/slack';
import { createApiKey } from '../platform/api-keys';
import { createLogger } from '../platform/logger';
import { startStack, TEST_POLICY, type Stack } from './support/stack';

const logLines: string[] = [];
/** Every answer tether gave in this suite, for the leak check at the end. */
const answers: string[] = [];
/** Every vendor token the proxy used, for the same check. */
const tokens = new Set<string>();

type App = Awaited<ReturnType<typeof buildApp>>;
let stack: Stack;
let app: App;
let base: string;
let key: string;

const LIMITS = { timeoutMs: 1_500, maxBytes: 4_096, minTokenAgeForReplacementMs: 0 };

async function listeningApp(options: Partial<Parameters<typeof buildApp>[0]> = {}): Promise<[App, string]> {
  const built = await buildApp({
    db: stack.db,
    temporal: stack.client,
    secrets: stack.secrets,
    taskQueue: stack.taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: TEST_POLICY,
    vendorEndpoints: slackEndpointsAt(`${stack.sim.baseUrl}/slack`),
    logger: createLogger('debug', 'api', { write: (line: string) => logLines.push(line) }),
    proxy: LIMITS,
    ...options,
  });
  await built.listen({ host: '127.0.0.1', port: 0 });
  return [built, `http://127.0.0.1:${(built.server.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  stack = await startStack({ logLines });
  [app, base] = await listeningApp();
  key = (
    await createApiKey(stack.db, { name: 'proxy', tenantId: 'test-tenant', scopes: ['connections:proxy'] })
  ).key;
});
afterAll(async () => {
  await app?.close();
  await stack?.close();
});

interface Answer {
  /** The x-test-marker header it was sent with: finds the request in the vendor's log. */
  marker: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  firstByteAt: number;
  endedAt: number;
}

/**
 * One request with the path sent byte for byte (no client-side normalisation), the body in pieces with
 * pauses between them (`pauseMs`), through tether by default.
 */
function send(
  method: string,
  path: string,
  {
    headers = {},
    body = [],
    pauseMs = 0,
    to = base,
  }: {
    headers?: Record<string, string>;
    body?: string[];
    pauseMs?: number;
    to?: string;
  } = {},
): Promise<Answer & { lastWriteAt: number }> {
  // Health probes of the suite's connections reach the vendors too: each request carries its own marker.
  const marker = headers['x-test-marker'] ?? randomUUID();
  return new Promise((resolve, reject) => {
    const url = new URL(to);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { authorization: `Bearer ${key}`, 'x-test-marker': marker, ...headers },
    });
    let lastWriteAt = Date.now();
    req.on('error', reject);
    req.on('response', (res) => {
      let firstByteAt = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        firstByteAt ||= Date.now();
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('answer aborted')));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        answers.push(text);
        resolve({
          marker,
          status: res.statusCode!,
          headers: res.headers,
          body: text,
          firstByteAt,
          endedAt: Date.now(),
          lastWriteAt,
        });
      });
    });
    void (async () => {
      for (const [i, piece] of body.entries()) {
        if (i > 0 && pauseMs > 0) await sleep(pauseMs);
        req.write(piece);
        lastWriteAt = Date.now();
      }
      req.end();
    })();
  });
}

const proxied = (id: string, rest: string) => `/v1/connections/${id}/proxy/${rest}`;

async function linkPromapp(token: string) {
  const { id } = await stack.link({
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token },
  });
  await stack.waitForStatus(id, 'active');
  tokens.add(token);
  return id;
}

async function linkInvgate(clientId: string) {
  const { id } = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId, clientSecret: 'demo-secret' },
  });
  await stack.waitForStatus(id, 'active');
  tokens.add((await stack.secrets.readAccessToken(id))!);
  return id;
}

/** What the vendor received for this answer's request (the last one, after a retry). */
const atVendor = (vendor: string, answer: Answer) =>
  stack.sim.control
    .requests(vendor)
    .filter((r) => r.headers['x-test-marker'] === answer.marker)
    .at(-1)!;
/** Whether any request carrying this marker header reached the vendor. */
const reachedVendor = (vendor: string, marker: string) =>
  stack.sim.control.requests(vendor).some((r) => r.headers['x-test-marker'] === marker);

test('forwards to the vendor API base with the token injected; the answer passes through, marked', async () => {
  const promappToken = 'demo-all-scopes.proxy-basic';
  const id = await linkPromapp(promappToken);
  const res = await send('GET', proxied(id, 'Users?count=1&startIndex=1'));
  expect(res.status).toBe(200);
  expect(res.headers['tether-proxied']).toBe('vendor');
  expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8');
  const direct = await fetch(`${stack.instanceUrl('promapp')}/Users?count=1&startIndex=1`, {
    headers: { authorization: `Bearer ${promappToken}` },
  });
  expect(JSON.parse(res.body)).toEqual(await direct.json());
  const seen = atVendor('promapp', res);
  expect(seen.url).toBe('/promapp/api/scim/Users?count=1&startIndex=1');
  expect(seen.headers.authorization).toBe(`Bearer ${promappToken}`);

  // A vendor error is the vendor's, marked as such; tether's own errors are not marked.
  const vendorMissing = await send('GET', proxied(id, 'Users/no-such-user'));
  expect(vendorMissing.status).toBe(404);
  expect(vendorMissing.headers['tether-proxied']).toBe('vendor');
  expect(JSON.parse(vendorMissing.body)).toMatchObject({ detail: 'User not found', status: '404' });
  const tetherMissing = await send('GET', proxied('00000000-0000-4000-8000-000000000000', 'Users'));
  expect(tetherMissing.status).toBe(404);
  expect(tetherMissing.headers['tether-proxied']).toBeUndefined();
  expect(JSON.parse(tetherMissing.body)).toMatchObject({ error: 'not_found' });
});

test('writes: a SCIM create and a PATCH go through with their bodies and answer as the vendor does', async () => {
  const id = await linkPromapp('demo-all-scopes.proxy-writes');
  const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'new.hire@example.com' };
  const scim = { 'content-type': 'application/scim+json' };
  const created = await send('POST', proxied(id, 'Users'), { headers: scim, body: [JSON.stringify(user)] });
  expect(created.status).toBe(201);
  expect(created.headers['tether-proxied']).toBe('vendor');
  const userId = JSON.parse(created.body).id;
  const again = await send('POST', proxied(id, 'Users'), { headers: scim, body: [JSON.stringify(user)] });
  expect(again.status).toBe(409);
  expect(JSON.parse(again.body)).toMatchObject({ scimType: 'uniqueness' });

  const patch = {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  };
  const patched = await send('PATCH', proxied(id, `Users/${userId}`), {
    headers: scim,
    body: [JSON.stringify(patch)],
  });
  expect(patched.status).toBe(200);
  expect(JSON.parse(patched.body).active).toBe(false);
  const found = await send(
    'GET',
    proxied(id, `Users?filter=${encodeURIComponent('userName eq "new.hire@example.com"')}`),
  );
  expect(JSON.parse(found.body)).toMatchObject({
    totalResults: 1,
    Resources: [{ id: userId, active: false }],
  });
  const head = await send('HEAD', proxied(id, `Users/${userId}`));
  expect(head.status).toBe(200);
  expect(head.body).toBe('');
});

test('request bodies stream to the vendor as they arrive', async () => {
  const id = await linkPromapp('demo-all-scopes.proxy-upload');
  const body = JSON.stringify({ userName: 'slow.upload@example.com', displayName: 'x'.repeat(500) });
  const res = await send('POST', proxied(id, 'Users'), {
    headers: { 'content-type': 'application/scim+json', 'content-length': String(body.length) },
    body: [body.slice(0, 100), body.slice(100)],
    pauseMs: 1_000,
  });
  expect(res.status).toBe(201);
  // The vendor had the request (its headers) a second before the caller sent the rest of the body.
  const received = atVendor('promapp', res);
  expect(received.method).toBe('POST');
  expect(res.lastWriteAt - received.receivedAt).toBeGreaterThan(700);
});

test('answers stream back as the vendor sends them', async () => {
  const token = 'demo-all-scopes.proxy-download';
  const id = await linkPromapp(token);
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: token,
    scope: 'api',
    times: 1,
    fault: { kind: 'trickle', chunkBytes: 32, intervalMs: 100 },
  });
  const started = Date.now();
  const res = await send('GET', proxied(id, 'Users?count=1'));
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body).Resources).toHaveLength(1);
  // The vendor took over a second to send it all; the first bytes were through long before.
  expect(res.endedAt - started).toBeGreaterThan(1_000);
  expect(res.endedAt - res.firstByteAt).toBeGreaterThan(800);
});

test("the caller's Authorization, cookies, hop-by-hop and forwarding headers never reach the vendor", async () => {
  const token = 'demo-all-scopes.proxy-headers';
  const id = await linkPromapp(token);
  const res = await send('GET', proxied(id, 'Users?count=1'), {
    headers: {
      cookie: 'session=caller-cookie',
      'proxy-authorization': 'Basic Y2FsbGVyOnNlY3JldA==',
      connection: 'keep-alive, x-hop-named',
      'x-hop-named': 'dropped because Connection names it',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'x-forwarded-for': '10.0.0.7',
      forwarded: 'for=10.0.0.7',
      'x-tenant-id': 'test-tenant',
      'tether-api-base': 'default',
      accept: 'application/scim+json',
      'x-request-id': 'req-42',
    },
  });
  expect(res.status).toBe(200);
  const seen = atVendor('promapp', res).headers;
  expect(seen.authorization).toBe(`Bearer ${token}`);
  for (const dropped of [
    'cookie',
    'proxy-authorization',
    'x-hop-named',
    'keep-alive',
    'te',
    'x-forwarded-for',
    'forwarded',
    'x-tenant-id',
    'tether-api-base',
  ]) {
    expect({ dropped, value: seen[dropped] }).toEqual({ dropped, value: undefined });
  }
  expect(JSON.stringify(seen)).not.toContain(key);
  expect(seen.accept).toBe('application/scim+json');
  expect(seen['x-request-id']).toBe('req-42');
});

test('only relative paths: absolute URLs, dot segments, // and encoded tricks answer 400 and call nobody', async () => {
  const id = await linkPromapp('demo-all-scopes.proxy-paths');
  const bad = [
    '',
    '..',
    '../../invgate/api/v1/users',
    'Users/../../../x',
    './Users',
    '%2e%2e/x',
    '%2E%2E%2Fx',
    '.%2e/x',
    'Users%2f..%2f..%2fx',
    'Users%2F',
    '%5c..%5cx',
    'Users\\..\\x',
    '/Users',
    '//evil.example/x',
    'http://evil.example/x',
    'https:%2F%2Fevil.example',
    'Users//x',
    '%252e%252e/x',
    'Users%00',
  ];
  const marker = { 'x-test-marker': 'bad-paths' };
  for (const path of bad) {
    const res = await send('GET', proxied(id, path), { headers: marker });
    expect({ path, status: res.status, proxied: res.headers['tether-proxied'] }).toEqual({
      path,
      status: 400,
      proxied: undefined,
    });
    expect(JSON.parse(res.body)).toMatchObject({ error: 'validation_failed', issues: [{ field: 'path' }] });
  }
  // Malformed percent-encoding never gets past the router (Fastify's own 400).
  const malformed = await send('GET', proxied(id, 'Users%zz'), { headers: marker });
  expect(malformed.status).toBe(400);
  expect(malformed.headers['tether-proxied']).toBeUndefined();
  expect(reachedVendor('promapp', 'bad-paths')).toBe(false);
  // Encoded characters other than those, and any query, are the caller's business.
  const fine = await send('GET', proxied(id, `Users?filter=${encodeURIComponent('userName eq "a/../b"')}`), {
    headers: marker,
  });
  expect(fine.status).toBe(200);
  expect(reachedVendor('promapp', 'bad-paths')).toBe(true);
});

test('the worker’s outbound URL policy, timeout and size limits apply', async () => {
  const token = 'demo-all-scopes.proxy-limits';
  const id = await linkPromapp(token);

  stack.sim.control.addFault({
    vendor: 'promapp',
    match: token,
    scope: 'api',
    times: 1,
    fault: { kind: 'delay', ms: 3_000 },
  });
  const started = Date.now();
  const slow = await send('GET', proxied(id, 'Users?count=1'));
  expect(slow.status).toBe(502);
  expect(slow.headers['tether-proxied']).toBeUndefined();
  expect(JSON.parse(slow.body)).toMatchObject({
    error: 'vendor_unreachable',
    message: expect.stringContaining('timed out'),
  });
  expect(Date.now() - started).toBeLessThan(2_900);

  // Enough users that a full page is larger than the 4 KiB cap.
  for (let i = 0; i < 30; i++) {
    await send('POST', proxied(id, 'Users'), {
      headers: { 'content-type': 'application/scim+json' },
      body: [JSON.stringify({ userName: `bulk${i}@example.com` })],
    });
  }
  const big = await send('GET', proxied(id, 'Users?count=100'));
  expect(big.status).toBe(502);
  expect(JSON.parse(big.body)).toMatchObject({ error: 'vendor_answer_too_large' });
  // Sent without a length, the cap cuts the answer off mid-way: the caller never gets a complete one.
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: token,
    scope: 'api',
    times: 1,
    fault: { kind: 'trickle', chunkBytes: 1024, intervalMs: 10 },
  });
  await expect(send('GET', proxied(id, 'Users?count=100'))).rejects.toThrow();

  const huge = JSON.stringify({ userName: 'huge@example.com', displayName: 'x'.repeat(5_000) });
  const tooLarge = await send('POST', proxied(id, 'Users'), {
    headers: {
      'content-type': 'application/scim+json',
      'content-length': String(huge.length),
      'x-test-marker': 'declared-too-large',
    },
    body: [huge],
  });
  expect(tooLarge.status).toBe(413);
  expect(JSON.parse(tooLarge.body)).toMatchObject({ error: 'payload_too_large' });
  expect(reachedVendor('promapp', 'declared-too-large')).toBe(false);
  const chunked = await send('POST', proxied(id, 'Users'), {
    headers: { 'content-type': 'application/scim+json' },
    body: [huge.slice(0, 2_000), huge.slice(2_000)],
    pauseMs: 50,
  });
  expect(chunked.status).toBe(413);

  // The same URL policy as the worker's: this API refuses loopback, so the simulators are out of reach.
  const [strict, strictBase] = await listeningApp({ urlPolicy: { allowInsecureLoopback: false } });
  try {
    const refused = await send('GET', proxied(id, 'Users?count=1'), { to: strictBase });
    expect(refused.status).toBe(502);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'vendor_url_refused' });
  } finally {
    await strict.close();
  }
});

test('a vendor 401 makes the workflow refresh the token once, and the call is retried once', async () => {
  const clientId = 'demo-all-scopes.proxy-401';
  const id = await linkInvgate(clientId);
  const stale = (await stack.secrets.readAccessToken(id))!;
  // The vendor revokes every token it gave this client; new grants still work.
  stack.sim.control.revokeAll('invgate', clientId);
  const before = stack.sim.control.stats('invgate', clientId);
  const res = await send('GET', proxied(id, 'api/v1/categories?page_size=1'));
  expect(res.status).toBe(200);
  expect(res.headers['tether-proxied']).toBe('vendor');
  const after = stack.sim.control.stats('invgate', clientId);
  expect(after.tokenRequests).toBe(before.tokenRequests + 1);
  expect(after.byStatus['401']! - (before.byStatus['401'] ?? 0)).toBe(1);
  const fresh = (await stack.secrets.readAccessToken(id))!;
  tokens.add(fresh);
  expect(fresh).not.toBe(stale);
  expect(atVendor('invgate', res).headers.authorization).toBe(`Bearer ${fresh}`);
  expect((await stack.events(id)).map((e: any) => e.type)).toContain('refresh_succeeded');

  // A second 401 after the retry is the vendor's answer, passed through: no second refresh, no third call.
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    scope: 'api',
    times: 2,
    fault: { kind: 'status', status: 401 },
  });
  const still = stack.sim.control.stats('invgate', clientId);
  const refused = await send('GET', proxied(id, 'api/v1/categories?page_size=1'));
  expect(refused.status).toBe(401);
  expect(refused.headers['tether-proxied']).toBe('vendor');
  expect(JSON.parse(refused.body)).toMatchObject({ status: 'ERROR' });
  const end = stack.sim.control.stats('invgate', clientId);
  expect(end.tokenRequests).toBe(still.tokenRequests + 1);
  expect(end.apiRequests).toBe(still.apiRequests + 2);
  tokens.add((await stack.secrets.readAccessToken(id))!);
});

test('a 401 for a token obtained moments ago is passed through without a refresh (default policy)', async () => {
  const clientId = 'demo-all-scopes.proxy-young';
  const id = await linkInvgate(clientId);
  const [defaults, defaultsBase] = await listeningApp({ proxy: {} });
  try {
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: clientId,
      scope: 'api',
      times: 1,
      fault: { kind: 'status', status: 401 },
    });
    const before = stack.sim.control.stats('invgate', clientId).tokenRequests;
    const res = await send('GET', proxied(id, 'api/v1/categories'), { to: defaultsBase });
    expect(res.status).toBe(401);
    expect(res.headers['tether-proxied']).toBe('vendor');
    expect(stack.sim.control.stats('invgate', clientId).tokenRequests).toBe(before);
  } finally {
    await defaults.close();
  }
});

test('a refused token when the workflow cannot be reached answers 503, not the vendor', async () => {
  const clientId = 'demo-all-scopes.proxy-no-temporal';
  const id = await linkInvgate(clientId);
  // Nothing listens on port 1: every call to Temporal fails.
  const unreachable = new Client({
    connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1s' }),
  });
  const [cut, cutBase] = await listeningApp({ temporal: unreachable });
  try {
    stack.sim.control.revokeAll('invgate', clientId);
    const res = await send('GET', proxied(id, 'api/v1/categories'), { to: cutBase });
    expect(res.status).toBe(503);
    expect(res.headers['tether-proxied']).toBeUndefined();
    const answer = JSON.parse(res.body);
    expect(answer).toMatchObject({ error: 'temporal_unavailable', errorId: expect.any(String) });
    // The gRPC error names Temporal's address: it is in the log under the error id, not in the answer.
    expect(answer.message).toContain(`(error id ${answer.errorId})`);
    expect(res.body).not.toMatch(/127\.0\.0\.1:1|UNAVAILABLE|ECONNREFUSED/);
    expect(logLines.find((line) => line.includes(answer.errorId))).toMatch(
      /127\.0\.0\.1:1|UNAVAILABLE|ECONNREFUSED/,
    );
  } finally {
    await cut.close();
    await unreachable.connection.close();
  }
});

test("a vendor 429 answers 429 with the vendor's Retry-After", async () => {
  const token = 'demo-all-scopes.proxy-429';
  const id = await linkPromapp(token);
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: token,
    scope: 'api',
    times: 1,
    fault: { kind: 'status', status: 429, retryAfterSeconds: 7 },
  });
  const res = await send('GET', proxied(id, 'Users?count=1'));
  expect(res.status).toBe(429);
  expect(res.headers['retry-after']).toBe('7');
  expect(res.headers['tether-proxied']).toBe('vendor');
  expect(JSON.parse(res.body)).toMatchObject({ status: '429' });
});

test('Slack: the Web API by default, SCIM with tether-api-base: scim', async () => {
  const token = 'xoxp-demo-all-scopes.proxy-slack';
  const { id } = await stack.link({ vendor: 'slack', credentials: { token } });
  await stack.waitForStatus(id, 'active');
  tokens.add(token);
  const authTest = await send('POST', proxied(id, 'auth.test'));
  expect(authTest.status).toBe(200);
  expect(JSON.parse(authTest.body)).toMatchObject({ ok: true });
  const users = await send('GET', proxied(id, 'Users?count=1'), { headers: { 'tether-api-base': 'scim' } });
  expect(users.status).toBe(200);
  expect(atVendor('slack', users).url).toBe('/slack/scim/v2/Users?count=1');
  const unknown = await send('GET', proxied(id, 'Users'), { headers: { 'tether-api-base': 'nope' } });
  expect(unknown.status).toBe(400);
  expect(JSON.parse(unknown.body).issues).toEqual([
    { field: 'headers.tether-api-base', message: 'slack has the API bases default, scim' },
  ]);
});

test("unusable connections answer 409; another tenant's 404 like a missing one; the scope is needed", async () => {
  const { id } = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-missing-scopes.proxy', clientSecret: 'demo-secret' },
  });
  await stack.waitForStatus(id, 'insufficient_scopes');
  const unusable = await send('GET', proxied(id, 'api/v1/users'));
  expect(unusable.status).toBe(409);
  expect(JSON.parse(unusable.body)).toMatchObject({
    error: 'connection_unusable',
    status: 'insufficient_scopes',
  });

  const mine = await linkPromapp('demo-all-scopes.proxy-tenant');
  const stranger = (
    await createApiKey(stack.db, { name: 'stranger', tenantId: 'stranger', scopes: ['connections:proxy'] })
  ).key;
  const absentId = '00000000-0000-4000-8000-000000000001';
  const theirs = await send('GET', proxied(mine, 'Users'), {
    headers: { authorization: `Bearer ${stranger}` },
  });
  const absent = await send('GET', proxied(absentId, 'Users'), {
    headers: { authorization: `Bearer ${stranger}` },
  });
  expect(theirs.status).toBe(404);
  expect(JSON.parse(theirs.body)).toEqual({
    ...JSON.parse(absent.body),
    message: JSON.parse(absent.body).message.replace(absentId, mine),
  });
  const tokenOnly = (
    await createApiKey(stack.db, {
      name: 'token only',
      tenantId: 'test-tenant',
      scopes: ['connections:token'],
    })
  ).key;
  const noScope = await send('GET', proxied(mine, 'Users'), {
    headers: { authorization: `Bearer ${tokenOnly}` },
  });
  expect(noScope.status).toBe(403);
  expect(JSON.parse(noScope.body)).toMatchObject({ error: 'insufficient_scope', scope: 'connections:proxy' });
});

test('metrics count proxied calls by who answered', async () => {
  const metrics = (
    await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${stack.adminKey}` },
    })
  ).body;
  expect(metrics).toMatch(
    /tether_proxy_requests_total\{vendor="promapp",status="200",answered_by="vendor"\} \d+/,
  );
  expect(metrics).toMatch(
    /tether_proxy_requests_total\{vendor="promapp",status="400",answered_by="tether"\} \d+/,
  );
  expect(metrics).toMatch(/tether_proxy_token_replacements_total\{vendor="invgate",outcome="replaced"\} \d+/);
  expect(metrics).toMatch(/tether_proxy_vendor_latency_seconds_count\{vendor="promapp"\} \d+/);
});

test('no vendor token appears in the logs (request log included), errors or answers', () => {
  expect(logLines.some((l) => l.includes('"url":"/v1/connections/'))).toBe(true);
  expect(tokens.size).toBeGreaterThan(8);
  const haystacks: [string, string][] = [
    ['logs', logLines.join('\n')],
    ['answers', answers.join('\n')],
  ];
  for (const [where, text] of haystacks) {
    for (const token of tokens) {
      if (text.includes(token)) throw new Error(`${where} contain a vendor token (${token.slice(0, 6)}…)`);
    }
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
