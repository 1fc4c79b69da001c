// Commands on the real stack: each answers within its bound even with no worker to take it (503 with
// Retry-After, never an open request); a retry with the same Idempotency-Key attaches to the update the
// first attempt sent; `?wait=<seconds>` answers with what the command led to.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { slackEndpointsAt } from '../catalog/slack';
import { createVendorHttp } from '../vendor-kit/vendor-http';
import { createWorker } from '../worker/create-worker';
import { eventually } from './support/eventually';
import { startStack, testCodec, TEST_POLICY, TEST_PUBLIC_URL, type Stack } from './support/stack';

/** The API's bound on a Temporal call in this suite. */
const COMMAND_TIMEOUT_MS = 1_500;
/** What a loaded 2-core machine may add to an answer on top of the bound. */
const SLACK_MS = 2_500;

let stack: Stack;
let api: Awaited<ReturnType<typeof buildApp>>;
/** This suite's own worker, on its own task queue, so a test can stop and restart it. */
const taskQueue = `commands-${randomUUID()}`;
let worker: { stop(): Promise<void> } | null = null;

async function startWorker() {
  const connection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  const http = createVendorHttp({
    timeoutMs: 5_000,
    maxResponseBytes: 1_048_576,
    allowInsecureLoopback: true,
  });
  const created = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    db: stack.db,
    secrets: stack.secrets,
    http,
    endpoints: slackEndpointsAt(`${stack.sim.baseUrl}/slack`),
    codec: testCodec(),
    workflowBundle: { code: readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8') },
  });
  const running = created.run();
  worker = {
    async stop() {
      created.shutdown();
      await running;
      await connection.close();
      await http.close();
    },
  };
}
async function stopWorker() {
  await worker?.stop();
  worker = null;
}

beforeAll(async () => {
  stack = await startStack();
  await startWorker();
  api = await buildApp({
    db: stack.db,
    temporal: stack.client,
    secrets: stack.secrets,
    taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: TEST_POLICY,
    publicUrl: TEST_PUBLIC_URL,
    vendorEndpoints: slackEndpointsAt(`${stack.sim.baseUrl}/slack`),
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  });
});
afterAll(async () => {
  await api?.close();
  await stopWorker();
  await stack?.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
const call = (method: Method, url: string, options: { payload?: object; key?: string } = {}) =>
  api.inject({
    method,
    url,
    payload: options.payload,
    headers: {
      authorization: `Bearer ${stack.tenantKey}`,
      ...(options.key ? { 'idempotency-key': options.key } : {}),
    },
  });
const timed = async <T>(run: () => Promise<T>) => {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
};

async function link(body: Record<string, unknown>): Promise<string> {
  const res = await call('POST', '/v1/connections', { payload: body });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}
const invgate = (clientId: string) => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId, clientSecret: 'demo-secret' },
});
async function linkActive(clientId: string): Promise<string> {
  const id = await link(invgate(clientId));
  await stack.waitForStatus(id, 'active');
  return id;
}
const tokenRequests = (clientId: string) => stack.sim.control.stats('invgate', clientId).tokenRequests;
const types = async (id: string) => (await stack.events(id)).map((e: any) => e.type as string);
const count = async (id: string, type: string) => (await types(id)).filter((t) => t === type).length;

describe('with no worker to take them, commands answer within the bound', () => {
  test('refresh, pause, resume, rotate, revoke and the install callback: 503 with Retry-After', async () => {
    const id = await linkActive('demo-all-scopes.bounded');
    const slack = await link({
      vendor: 'slack-grid',
      credentials: { clientId: 'demo-all-scopes.bounded', clientSecret: 'demo-secret' },
    });
    const started = await call('POST', `/v1/connections/${slack}/install`);
    expect(started.statusCode).toBe(201);
    const consent = await fetch(started.json().authorizeUrl, { redirect: 'manual' });
    const back = new URL(consent.headers.get('location')!);

    await stopWorker();
    const commands: [Method, string, object?][] = [
      ['POST', `/v1/connections/${id}/refresh`],
      ['POST', `/v1/connections/${id}/pause`],
      ['POST', `/v1/connections/${id}/resume`],
      [
        'PUT',
        `/v1/connections/${id}/credentials`,
        { credentials: { clientId: 'demo-all-scopes.bounded2', clientSecret: 'demo-secret' } },
      ],
      ['DELETE', `/v1/connections/${id}`],
    ];
    for (const [method, url, payload] of commands) {
      const { value: res, ms } = await timed(() => call(method, url, { payload }));
      expect({ method, url, status: res.statusCode, error: res.json().error }).toEqual({
        method,
        url,
        status: 503,
        error: 'command_unconfirmed',
      });
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().message).toMatch(/Idempotency-Key/);
      expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    }
    const callback = (accept = 'application/json') =>
      api.inject({ method: 'GET', url: `/v1/oauth/callback${back.search}`, headers: { accept } });
    // The admin's browser gets the page, with Retry-After too.
    const { value: unconfirmed, ms } = await timed(() => callback('text/html'));
    expect(unconfirmed.statusCode).toBe(503);
    expect(unconfirmed.headers['content-type']).toMatch(/text\/html/);
    expect(unconfirmed.headers['retry-after']).toBe('5');
    expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    // Each command the API could not confirm is in the trail, naming the key that sent it.
    const trail = await stack.events(id);
    const unconfirmedEvents = trail.filter((e: any) => e.type === 'command_unconfirmed');
    expect(unconfirmedEvents.map((e: any) => e.detail.command)).toEqual([
      'refresh',
      'pause',
      'resume',
      'rotate',
      'revoke',
    ]);
    expect(unconfirmedEvents[0].actor).toEqual({ kind: 'api', keyId: expect.any(String), label: 'tests' });

    // The callback gave its state back: the admin's browser reloads the page once tether is back.
    await startWorker();
    const reloaded = await eventually(
      () => callback(),
      (res) => res.statusCode !== 503,
      {
        what: 'the callback once the worker is back',
        timeoutMs: 30_000,
      },
    );
    expect(reloaded.statusCode).toBe(202);
    expect(reloaded.json().outcome).toBe('authorized');
    await stack.waitForStatus(slack, 'active');
    // And only once: the state is used now; the code was redeemed and is gone, no copy left behind.
    expect((await callback()).json().error).toBe('state_used');
    expect(
      await stack.db.connectionSecret.count({ where: { connectionId: slack, kind: 'authorization_code' } }),
    ).toBe(0);
  });
});

test('a refresh retried with the same Idempotency-Key after a timeout attaches to the first: one token request', async () => {
  const client = 'demo-all-scopes.attach';
  const id = await linkActive(client);
  const before = tokenRequests(client);
  const key = `refresh-${randomUUID()}`;

  await stopWorker();
  const first = await call('POST', `/v1/connections/${id}/refresh`, { key });
  expect(first.statusCode).toBe(503);
  expect(first.headers['retry-after']).toBeDefined();
  await startWorker();
  // The update the timed-out attempt sent was admitted: it runs once the worker is back.
  await eventually(
    () => count(id, 'refresh_succeeded'),
    (n) => n === 1,
  );

  const retry = await call('POST', `/v1/connections/${id}/refresh?wait=5`, { key });
  expect(retry.statusCode).toBe(200);
  expect(retry.json()).toMatchObject({ command: 'refresh', completed: true, coalesced: false });
  expect(await count(id, 'refresh_succeeded')).toBe(1);
  expect(tokenRequests(client)).toBe(before + 1);

  // Both attempts carry one update id; the trail names the key for each.
  const trail = await stack.events(id);
  const unconfirmed = trail.find((e: any) => e.type === 'command_unconfirmed');
  const accepted = trail.filter((e: any) => e.type === 'command_accepted');
  expect(accepted).toHaveLength(1);
  expect(accepted[0].detail.updateId).toBe(unconfirmed.detail.updateId);
  expect(accepted[0].actor).toMatchObject({ kind: 'api', label: 'tests' });

  // Another key is another command.
  const other = await call('POST', `/v1/connections/${id}/refresh?wait=10`, {
    key: `refresh-${randomUUID()}`,
  });
  expect(other.statusCode).toBe(200);
  expect(tokenRequests(client)).toBe(before + 2);
  expect(await count(id, 'refresh_succeeded')).toBe(2);
});

describe('?wait=<seconds> answers with what the command led to', () => {
  test('refresh: the status after the step, the new token expiry, the events it recorded', async () => {
    const id = await linkActive('demo-all-scopes.wait-refresh');
    const before = await stack.getConnection(id);
    const res = await call('POST', `/v1/connections/${id}/refresh?wait=10`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id,
      command: 'refresh',
      completed: true,
      coalesced: false,
      outcome: { event: 'refresh_succeeded', status: 'active', error: null },
      links: { self: `/v1/connections/${id}` },
    });
    expect(Date.parse(body.outcome.tokenExpiresAt)).toBeGreaterThan(Date.parse(before.tokenExpiresAt));
    // Recorded side by side: the API's record of the command and the workflow's of the step.
    expect(body.events.map((e: any) => [e.type, e.actor.kind]).sort()).toEqual([
      ['command_accepted', 'api'],
      ['refresh_succeeded', 'workflow'],
    ]);
  });

  test('a refresh the vendor fails reports the failure', async () => {
    const client = 'demo-all-scopes.wait-fail';
    const id = await linkActive(client);
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 503 },
      scope: 'token',
    });
    try {
      const res = await call('POST', `/v1/connections/${id}/refresh?wait=30`);
      expect(res.statusCode).toBe(200);
      expect(res.json().outcome).toMatchObject({
        event: 'vendor_unavailable',
        status: 'degraded',
        error: { reason: 'vendor_unavailable', message: expect.any(String) },
      });
    } finally {
      stack.sim.control.clearFaults('invgate');
    }
  });

  test('pause and resume report the status after them; revoke reports vendorRevocation', async () => {
    const id = await linkActive('demo-all-scopes.wait-pause');
    const paused = await call('POST', `/v1/connections/${id}/pause?wait=10`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json().outcome).toMatchObject({ event: 'paused', status: 'paused', error: null });
    const resumed = await call('POST', `/v1/connections/${id}/resume?wait=10`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json().outcome).toMatchObject({ event: 'resumed', status: 'active', error: null });
    expect(Date.parse(resumed.json().outcome.tokenExpiresAt)).toBeGreaterThan(Date.now());
    const revoked = await call('DELETE', `/v1/connections/${id}?wait=10`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().outcome).toMatchObject({
      event: 'revoked',
      status: 'revoked',
      vendorRevocation: 'unsupported',
    });
    // Revoking again: already done.
    const again = await call('DELETE', `/v1/connections/${id}?wait=10`);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ coalesced: true, outcome: { status: 'revoked' } });
  });

  test('without wait, or when the wait runs out: 202 with links to poll', async () => {
    const client = 'demo-all-scopes.wait-poll';
    const id = await linkActive(client);
    const plain = await call('POST', `/v1/connections/${id}/refresh`);
    expect(plain.statusCode).toBe(202);
    expect(plain.headers.location).toBe(`/v1/connections/${id}`);
    expect(plain.json()).toMatchObject({ completed: false, outcome: null, events: [] });
    await eventually(
      () => count(id, 'refresh_succeeded'),
      (n) => n === 1,
    );

    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'delay', ms: 3_000 },
      scope: 'token',
    });
    try {
      const { value: res, ms } = await timed(() => call('POST', `/v1/connections/${id}/refresh?wait=1`));
      expect(res.statusCode).toBe(202);
      expect(ms).toBeLessThan(1_000 + SLACK_MS);
      expect(res.headers['retry-after']).toBe('2');
      expect(res.headers.location).toBe(`/v1/connections/${id}`);
      // links.events lists what the command led to, once it did.
      const events = await eventually(
        async () => (await call('GET', res.json().links.events)).json().items.map((e: any) => e.type),
        (list: string[]) => list.includes('refresh_succeeded'),
      );
      expect(events).toEqual(['refresh_succeeded', 'command_accepted']);
    } finally {
      stack.sim.control.clearFaults('invgate');
    }
  });

  test('a refresh that joined one already under way reports that one', async () => {
    const client = 'demo-all-scopes.wait-join';
    const id = await linkActive(client);
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'delay', ms: 1_500 },
      scope: 'token',
    });
    try {
      expect((await call('POST', `/v1/connections/${id}/refresh`)).statusCode).toBe(202);
      const joined = await call('POST', `/v1/connections/${id}/refresh?wait=20`);
      expect(joined.statusCode).toBe(200);
      expect(joined.json().outcome).toMatchObject({ event: 'refresh_succeeded', status: 'active' });
      // Answered only once nothing of the refreshes is left to run.
      const view: any = await stack.client.workflow.getHandle(`connection:${id}`).query('status');
      expect(view.pendingCommands).not.toContain('refresh');
      expect(view.busyWith).toBeNull();
    } finally {
      stack.sim.control.clearFaults('invgate');
    }
  });

  test('a refresh retried with the same Idempotency-Key runs once', async () => {
    const client = 'demo-all-scopes.wait-twice';
    const id = await linkActive(client);
    const before = tokenRequests(client);
    const key = `refresh-${randomUUID()}`;
    const first = await call('POST', `/v1/connections/${id}/refresh?wait=10`, { key });
    const second = await call('POST', `/v1/connections/${id}/refresh?wait=10`, { key });
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.json().outcome.event).toBe('refresh_succeeded');
    expect(tokenRequests(client)).toBe(before + 1);
    expect(await count(id, 'refresh_succeeded')).toBe(1);
    expect(await count(id, 'command_accepted')).toBe(1);
  });

  test('wait is bounded and must be a number of seconds', async () => {
    const id = await linkActive('demo-all-scopes.wait-bad');
    for (const wait of ['31', '-1', 'soon', '1.5']) {
      const res = await call('POST', `/v1/connections/${id}/refresh?wait=${wait}`);
      expect({ wait, status: res.statusCode, field: res.json().issues?.[0]?.field }).toEqual({
        wait,
        status: 400,
        field: 'querystring.wait',
      });
    }
  });
});

describe('rotation', () => {
  test('retried with the same Idempotency-Key, the same new credentials are verified once', async () => {
    const id = await linkActive('demo-all-scopes.rotate-once');
    const next = 'demo-all-scopes.rotate-once-new';
    const payload = { credentials: { clientId: next, clientSecret: 'demo-secret' } };
    const key = `rotate-${randomUUID()}`;
    const first = await call('PUT', `/v1/connections/${id}/credentials`, { payload, key });
    const second = await call('PUT', `/v1/connections/${id}/credentials`, { payload, key });
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.json().outcome).toBe('accepted');
    expect(tokenRequests(next)).toBe(1);
    expect(await count(id, 'credentials_rotated')).toBe(1);
    // The late retry staged its copy again; it does not linger.
    expect(await stack.secrets.readCandidate(id)).toBeNull();
  });

  test('with ?wait=0 it answers 202 pending at once; a retry with the key then reads the outcome', async () => {
    const id = await linkActive('demo-all-scopes.rotate-pending');
    const payload = {
      credentials: { clientId: 'demo-all-scopes.rotate-pending-new', clientSecret: 'demo-secret' },
    };
    const key = `rotate-${randomUUID()}`;
    const pending = await call('PUT', `/v1/connections/${id}/credentials?wait=0`, { payload, key });
    expect(pending.statusCode).toBe(202);
    expect(pending.json()).toMatchObject({ outcome: 'pending', links: { self: `/v1/connections/${id}` } });
    expect(pending.headers.location).toBe(`/v1/connections/${id}`);
    const settled = await call('PUT', `/v1/connections/${id}/credentials`, { payload, key });
    expect(settled.statusCode).toBe(200);
    expect(settled.json().outcome).toBe('accepted');
    expect(await count(id, 'credentials_rotated')).toBe(1);
  });
});
