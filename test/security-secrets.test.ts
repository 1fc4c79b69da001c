// Secrets never leak: run link, refresh, rotation, failures and revoke with known secrets, then
// scan Temporal history (raw and decoded), the logs, every API answer and every database row.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import pg from 'pg';
import { createApiKey } from '../platform/api-keys';
import { createPrismaClient } from '../platform/db';
import { loadKeyring, secretBoxFromConfig } from '../platform/encryption';
import { createLogger } from '../platform/logger';
import { reencryptSecrets } from '../platform/reencrypt';
import { createSecretBox } from '../platform/secret-box';
import { createSecretStore } from '../platform/secret-store';
import { createTestDatabase } from './support/database';
import { eventually } from './support/eventually';
import { callback, consent, startInstall } from './support/slack';
import { startStack, testCodec, TEST_UI_CODEC_TOKEN, type Stack } from './support/stack';

const logLines: string[] = [];
const answers: string[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ logLines });
});
afterAll(async () => {
  await stack?.close();
});

const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) => {
  const res = await stack.app.inject({ method, url, payload });
  answers.push(res.body);
  return res;
};

test('no secret appears in Temporal history, logs, API answers or database rows', async () => {
  const unique = randomBytes(6).toString('hex');
  const staticToken = `demo-all-scopes.leak${unique}`;
  const wrongSecret = `wrong-secret-${unique}`;
  const known = new Set<string>(['demo-secret', staticToken, wrongSecret]);

  // InvGate with refreshes, a rejected and an accepted rotation, then revoke.
  const invgate = await call('POST', '/v1/connections', {
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: `demo-ttl-2.leak${unique}`, clientSecret: 'demo-secret' },
  });
  const id = invgate.json().id;
  await stack.waitForStatus(id, 'active');
  known.add((await stack.secrets.readAccessToken(id))!);
  await call('POST', `/v1/connections/${id}/refresh`);
  await eventually(
    async () => (await stack.events(id)).filter((e: any) => e.type === 'refresh_succeeded').length,
    (refreshes) => refreshes >= 2,
    { what: 'two refreshes' },
  );
  known.add((await stack.secrets.readAccessToken(id))!);
  await call('PUT', `/v1/connections/${id}/credentials`, {
    credentials: { clientId: `demo-ttl-2.leak${unique}`, clientSecret: wrongSecret },
  });
  await call('PUT', `/v1/connections/${id}/credentials`, {
    credentials: { clientId: `demo-all-scopes.leak${unique}`, clientSecret: 'demo-secret' },
  });
  known.add((await stack.secrets.readAccessToken(id))!);
  // A service's key: tokens handed out (the one answer whose job is to carry one, so not scanned) and calls
  // through the proxy, which injects the token (answers scanned), a vendor 401 and a POST body included.
  const service = (
    await createApiKey(stack.db, {
      name: 'leak service',
      tenantId: 'test-tenant',
      scopes: ['connections:token', 'connections:proxy'],
    })
  ).key;
  const asService = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await stack.rawApp.inject({
      method,
      url,
      payload,
      headers: { authorization: `Bearer ${service}` },
    });
    if (!url.endsWith('/access-token') || res.statusCode !== 200) answers.push(res.body);
    return res;
  };
  const handedOut = await asService('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: 1 });
  expect(handedOut.statusCode).toBe(200);
  known.add(handedOut.json().accessToken);
  expect((await asService('GET', `/v1/connections/${id}/proxy/api/v1/categories`)).statusCode).toBe(200);
  expect(
    (
      await asService('POST', `/v1/connections/${id}/proxy/api/v1/incident`, {
        title: 'Laptop',
        category_id: 3,
        type_id: 2,
        priority_id: 2,
        customer_id: 2,
        creator_id: 2,
      })
    ).statusCode,
  ).toBe(200);
  stack.sim.control.revokeAll('invgate', `demo-all-scopes.leak${unique}`);
  expect((await asService('GET', `/v1/connections/${id}/proxy/api/v1/users`)).statusCode).toBe(401);
  // Failures: a bad secret, a static token, a revoked one.
  const bad = await call('POST', '/v1/connections', {
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes', clientSecret: wrongSecret },
  });
  await stack.waitForStatus(bad.json().id, 'invalid_credentials');
  const promapp = await call('POST', '/v1/connections', {
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: staticToken },
  });
  await stack.waitForStatus(promapp.json().id, 'active');
  const promappProxy = `/v1/connections/${promapp.json().id}/proxy/Users`;
  expect((await asService('GET', `${promappProxy}?count=1`)).statusCode).toBe(200);
  expect((await asService('POST', promappProxy, { userName: `leak${unique}@example.com` })).statusCode).toBe(
    201,
  );
  expect((await asService('POST', `/v1/connections/${bad.json().id}/access-token`, {})).statusCode).toBe(409);
  stack.sim.control.revokeAll('promapp', staticToken);
  await stack.waitForStatus(promapp.json().id, 'needs_reauth', 30_000);
  for (const c of [id, bad.json().id, promapp.json().id]) {
    await call('DELETE', `/v1/connections/${c}`);
    await stack.waitForStatus(c, 'revoked');
    await call('GET', `/v1/connections/${c}`);
    await call('GET', `/v1/connections/${c}/events`);
  }
  await call('GET', '/v1/connections');
  expect([...known].every((s) => s.length >= 11)).toBe(true);

  // Temporal history, both as stored (encrypted) and decoded by our codec.
  const raw = new Client({ connection: stack.client.connection });
  const haystacks: [string, string][] = [];
  for (const c of [id, bad.json().id, promapp.json().id]) {
    const rawHistory = await raw.workflow.getHandle(`connection:${c}`).fetchHistory();
    const decoded = await decodedText(rawHistory);
    // Decoding works, so the scan below reads the plaintext payloads (inputs, results, failures).
    expect(decoded).toContain(`"connectionId":"${c}"`);
    haystacks.push([`raw history ${c}`, JSON.stringify(rawHistory)], [`decoded history ${c}`, decoded]);
    // The codec really encrypts: the start input (ids) is opaque without it.
    const input = rawHistory.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(input.data!).toString('latin1')).not.toContain(c);
  }
  haystacks.push(
    ['logs', logLines.join('\n')],
    ['API answers', answers.join('\n')],
    ['database', await dumpDatabase()],
  );
  expect(logLines.length).toBeGreaterThan(10);

  for (const [where, text] of haystacks) {
    for (const secret of known) {
      if (text.includes(secret)) throw new Error(`${where} contains a secret (${secret.slice(0, 4)}…)`);
    }
  }
});

test('logs redact secret-named fields at any depth, errors included', () => {
  const lines: string[] = [];
  const logger = createLogger('info', 'test', { write: (l: string) => lines.push(l) });
  const vendorFailure = Object.assign(new Error('the token endpoint refused'), {
    code: 'ECONNRESET',
    response: {
      headers: { Authorization: 'Bearer h3ader' },
      body: { error: 'invalid_grant', refresh_token: 'r3fresh' },
    },
  });
  logger.info(
    {
      credentials: { clientSecret: 's3cret' },
      body: { token: 't0ken', access_token: 'a' },
      clientSecret: 'x1',
      // Deeper than any fixed path list reaches, in arrays too, under every secret-like name.
      callback: { query: { code: 'c0de', state: 'st4te' } },
      deep: {
        one: {
          two: { three: { four: { five: [{ apiKey: 'k3y', 'x-api-key': 'k4y', password: 'p4ss' }] } } },
        },
      },
      install: { uiToken: 'u1token', TETHER_UI_CODEC_TOKEN: 'u2token', cookie: 'c00kie' },
      failure: { err: vendorFailure },
      // What must stay: ids, names, an error's own code.
      connectionId: 'conn-1',
      keyId: 'key-id-1',
    },
    'hi',
  );
  logger.error({ err: vendorFailure }, 'failed');
  const written = lines.join('');
  for (const secret of [
    's3cret',
    't0ken',
    '"a"',
    'x1',
    'c0de',
    'st4te',
    'k3y',
    'k4y',
    'p4ss',
    'u1token',
    'u2token',
    'c00kie',
    'h3ader',
    'r3fresh',
  ]) {
    expect({ secret, found: written.includes(secret) }).toEqual({ secret, found: false });
  }
  expect(written).toContain('[redacted]');
  expect(written).toContain('conn-1');
  expect(written).toContain('key-id-1');
  expect(written).toContain('"code":"ECONNRESET"');
  expect(written).toContain('the token endpoint refused');
  expect(written).toContain('invalid_grant');
});

test('the request log of every route carries no secret: paths without their query, the codec token masked', async () => {
  const unique = randomBytes(6).toString('hex');
  // A real install: the state and code the vendor's consent page put in the callback's URL.
  const grid = await stack.link({
    vendor: 'slack-grid',
    credentials: { clientId: `demo-all-scopes.reqlog${unique}`, clientSecret: 'demo-secret' },
  });
  const back = await consent((await startInstall(stack, grid.id)).authorizeUrl);
  expect((await callback(stack, back.search)).statusCode).toBe(202);
  await stack.waitForStatus(grid.id, 'active');
  const inQuery = {
    code: `query-code-${unique}`,
    state: `query-state-${unique}`,
    token: `query-token-${unique}`,
    client_secret: `query-secret-${unique}`,
    api_key: stack.adminKey,
  };
  const known = new Set<string>([
    back.searchParams.get('code')!,
    back.searchParams.get('state')!,
    (await stack.secrets.readAccessToken(grid.id))!,
    'demo-secret',
    TEST_UI_CODEC_TOKEN,
    stack.adminKey,
    stack.tenantKey,
    ...Object.values(inQuery),
  ]);
  const query = `?${new URLSearchParams(inQuery)}`;
  const values: Record<string, string> = {
    id: grid.id,
    vendor: 'slack-grid',
    token: TEST_UI_CODEC_TOKEN,
    sessionId: randomUUID(),
    name: 'page.js',
  };

  const routes = stack.rawApp.routeTable;
  // Every kind of route is among them: with a key, without one, the codec's token route, the proxy.
  expect(routes).toEqual(
    expect.arrayContaining([
      { method: 'GET', url: '/v1/oauth/callback' },
      { method: 'POST', url: '/codec/t/:token/decode' },
      { method: 'GET', url: '/metrics' },
      { method: 'GET', url: '/v1/connections/:id/proxy/*' },
      { method: 'GET', url: '/connect/:sessionId' },
    ]),
  );
  const from = logLines.length;
  const expectedPaths: string[] = [];
  for (const { method, url } of routes) {
    const path = url
      .replace(/:(\w+)/g, (_, name: string) => values[name] ?? randomUUID())
      .replace('*', 'api/users.list');
    const search = url === '/v1/oauth/callback' ? `${back.search}&${query.slice(1)}` : query;
    const withBody = ['POST', 'PUT', 'PATCH'].includes(method);
    await stack.rawApp.inject({
      method: method as 'GET',
      url: `${path}${search}`,
      headers: {
        authorization: `Bearer ${stack.adminKey}`,
        'x-tenant-id': 'test-tenant',
        cookie: `session=${stack.tenantKey}`,
      },
      ...(withBody
        ? { payload: { credentials: { clientSecret: inQuery.client_secret }, token: inQuery.token } }
        : {}),
    });
    expectedPaths.push(path.replace(TEST_UI_CODEC_TOKEN, '[redacted]'));
  }
  const lines = logLines.slice(from);
  const logged = lines.join('\n');
  // Each request was logged, under its path.
  for (const path of expectedPaths) expect(logged).toContain(`"url":"${path}"`);
  expect(logged).toContain('"url":"/codec/t/[redacted]/decode"');
  for (const secret of known) {
    if (logged.includes(secret))
      throw new Error(`the request log contains a secret (${secret.slice(0, 6)}…)`);
  }
});

test('unclassified internal errors reach tenants as an error id; the original is only in the log', async () => {
  const linked = await call('POST', '/v1/connections', {
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.internal', clientSecret: 'demo-secret' },
  });
  const id = linked.json().id;
  await stack.waitForStatus(id, 'active');
  // Secrets sealed under a key this deployment no longer has: opening them throws an error nothing classifies.
  await stack.db.connectionSecret.updateMany({ where: { connectionId: id }, data: { keyId: 'retired-k9' } });
  const internalText = /retired-k9|not configured|cannot decrypt/;
  const errorIdIn = (text: string) => /internal error \(error id ([0-9a-f-]{36})\)/.exec(text)?.[1];
  const from = logLines.length;

  // In the API: handing the token out opens it.
  const service = (
    await createApiKey(stack.db, { name: 'internal', tenantId: 'test-tenant', scopes: ['connections:token'] })
  ).key;
  const handOut = await stack.rawApp.inject({
    method: 'POST',
    url: `/v1/connections/${id}/access-token`,
    payload: {},
    headers: { authorization: `Bearer ${service}` },
  });
  expect(handOut.statusCode).toBe(500);
  expect(handOut.json()).toEqual({
    error: 'internal',
    message: expect.any(String),
    errorId: expect.any(String),
  });
  expect(errorIdIn(handOut.json().message)).toBe(handOut.json().errorId);
  expect(handOut.body).not.toMatch(internalText);

  // In the worker: a refresh opens the credentials; the failure becomes the connection's reason.
  await call('POST', `/v1/connections/${id}/refresh`);
  const degraded = await stack.waitForStatus(id, 'degraded', 60_000);
  const workerErrorId = errorIdIn(degraded.statusMessage);
  expect(workerErrorId).toBeDefined();
  const trail = JSON.stringify(await stack.events(id));
  expect(trail).toContain(workerErrorId);
  for (const tenantVisible of [trail, JSON.stringify(degraded)])
    expect(tenantVisible).not.toMatch(internalText);

  // The originals are in the log, under their ids.
  const lines = logLines.slice(from);
  expect(lines.filter((line) => line.includes(handOut.json().errorId)).join('\n')).toMatch(internalText);
  expect(lines.filter((line) => line.includes(workerErrorId!)).join('\n')).toMatch(internalText);
});

test('secrets are encrypted at rest and re-encrypted under a new key', async () => {
  // Its own database: re-encryption must be able to open every row it finds.
  const database = await createTestDatabase();
  const db = createPrismaClient(database.url);
  try {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const before = createSecretStore(db, createSecretBox(new Map([['k1', k1]]), 'k1'));
    const cid = '7d3f5e0a-1111-4a2b-9c3d-000000000001';
    await db.connection.create({
      data: {
        id: cid,
        tenantId: 't',
        vendor: 'invgate',
        instanceUrl: 'https://acme.example.com',
        name: 'reseal',
      },
    });
    await before.stageCandidate(cid, 'r1', {
      clientId: 'rotation-candidate',
      clientSecret: 'cand-secret-xyz',
    });
    await before.saveAccessToken(cid, 'access-token-xyz');
    await db.tenant.create({ data: { id: 't', name: 't' } });
    const endpointId = '7d3f5e0a-1111-4a2b-9c3d-000000000002';
    await db.webhookEndpoint.create({
      data: {
        id: endpointId,
        tenantId: 't',
        url: 'https://hooks.example.com',
        ...before.sealWebhookSecret(endpointId, 'whsec_xyz'),
      },
    });
    const rows = await db.connectionSecret.findMany({ where: { connectionId: cid } });
    expect(rows.map((r) => r.keyId)).toEqual(['k1', 'k1']);
    for (const row of rows) expect(Buffer.from(row.sealed).toString('latin1')).not.toMatch(/xyz/);

    // Rotate: k2 becomes active, k1 stays configured until every row is re-sealed.
    const rotated = createSecretBox(
      new Map([
        ['k2', k2],
        ['k1', k1],
      ]),
      'k2',
    );
    expect(await reencryptSecrets(db, rotated)).toEqual({ reencrypted: 3, skipped: 0 });
    expect(
      (await db.connectionSecret.findMany({ where: { connectionId: cid } })).map((r) => r.keyId),
    ).toEqual(['k2', 'k2']);
    const onlyNew = createSecretStore(db, createSecretBox(new Map([['k2', k2]]), 'k2'));
    expect((await onlyNew.readCandidate(cid))?.credentials.clientSecret).toBe('cand-secret-xyz');
    expect(await onlyNew.readAccessToken(cid)).toBe('access-token-xyz');
    const endpoint = await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } });
    expect(onlyNew.openWebhookSecret(endpoint)).toBe('whsec_xyz');
    // A sealed value is bound to its row: it does not open as another connection's.
    const row = await db.connectionSecret.findFirstOrThrow({
      where: { connectionId: cid, kind: 'access_token' },
    });
    expect(() =>
      rotated.open({ keyId: 'k2', sealed: Buffer.from(row.sealed) }, 'other/access_token'),
    ).toThrow();
  } finally {
    await db.$disconnect();
    await database.drop();
  }
});

test('production refuses to start without a key; the embedded default creates a local one', () => {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    expect(() => secretBoxFromConfig({})).toThrow(/TETHER_ENCRYPTION_KEYS/);
  } finally {
    process.env.NODE_ENV = env;
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tether-key-')), 'encryption.key');
  const warnings: string[] = [];
  const logger = createLogger('warn', 'test', { write: (l: string) => warnings.push(l) });
  const first = loadKeyring({}, { localKeyFile: file, logger });
  expect(existsSync(file)).toBe(true);
  expect(readFileSync(file, 'utf8')).toMatch(/^local:/);
  expect(warnings.join('')).toMatch(/TETHER_ENCRYPTION_KEYS/);
  // Stable across restarts.
  expect(loadKeyring({}, { localKeyFile: file }).keys.get('local')).toEqual(first.keys.get('local'));
});

test('the codec endpoint decodes for admins and the UI token only, with CORS for the UI origin', async () => {
  const raw = new Client({ connection: stack.client.connection });
  const executions = raw.workflow.list({ query: `WorkflowType = "connectionLifecycle"` });
  const history = await executions[Symbol.asyncIterator]().next();
  const handle = raw.workflow.getHandle(history.value.workflowId);
  const started = await handle.fetchHistory();
  const encoded = started.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
  const body = {
    payloads: encoded.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data!).toString('base64'),
    })),
  };
  const post = (url: string, headers: Record<string, string> = {}) =>
    stack.rawApp.inject({ method: 'POST', url, payload: body, headers });
  expect((await post('/codec/decode')).statusCode).toBe(401);
  expect((await post('/codec/decode', { authorization: `Bearer ${stack.tenantKey}` })).statusCode).toBe(401);
  expect((await post('/codec/t/wrong-token/decode')).statusCode).toBe(401);
  const asAdmin = await post('/codec/decode', { authorization: `Bearer ${stack.adminKey}` });
  expect(asAdmin.statusCode).toBe(200);
  const input = JSON.parse(Buffer.from(asAdmin.json().payloads[0].data, 'base64').toString());
  expect(input.connectionId).toBe(history.value.workflowId.replace('connection:', ''));
  const fromUi = await post(`/codec/t/${TEST_UI_CODEC_TOKEN}/decode`, { origin: 'http://127.0.0.1:8233' });
  expect(fromUi.statusCode).toBe(200);
  expect(fromUi.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
  const elsewhere = await post(`/codec/t/${TEST_UI_CODEC_TOKEN}/decode`, { origin: 'https://evil.example' });
  expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
});

/** Every encrypted payload in a history, decrypted with the test codec, as searchable text. */
async function decodedText(history: unknown): Promise<string> {
  const codec = testCodec();
  const texts: string[] = [];
  const visit = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object') return;
    const p = node as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
    if (p.metadata?.encoding && p.data) {
      const [plain] = await codec.decode([p as never]);
      texts.push(Buffer.from(plain!.data ?? []).toString('utf8'));
      return;
    }
    for (const value of Object.values(node)) await visit(value);
  };
  await visit(history);
  return texts.join('\n');
}

async function dumpDatabase(): Promise<string> {
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  try {
    const tables = await client.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const parts: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await client.query(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      parts.push(...rows.rows.map((r) => r.j as string));
      // bytea columns as raw bytes too, in case something was stored unencrypted
      const bytes = await client.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND data_type = 'bytea'`,
        [table_name],
      );
      for (const { column_name } of bytes.rows) {
        const raw = await client.query(`SELECT "${column_name}" AS b FROM "${table_name}"`);
        parts.push(...raw.rows.map((r) => Buffer.from(r.b).toString('latin1')));
      }
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}
