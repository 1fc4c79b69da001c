// Provisioning jobs on the real stack: SCIM user operations on Slack (pasted token and installed app) and
// Promapp through the API, each job a workflow; failures a person can act on, retries through 429 and
// 5xx, waiting for a paused connection, cancel, Idempotency-Key, lists, webhooks, audit and no secrets.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../dev/temporal-dev-server';
import { DEFAULT_API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey } from '../platform/api-keys';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { install } from './support/slack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
let workerMetrics: string;
/** A key that may start jobs; the stack's own key has the default scopes only. */
let jobsKey: string;
const received: any[] = [];

beforeAll(async () => {
  workerMetrics = `127.0.0.1:${await freePort()}`;
  stack = await startStack({
    simulators: { slackScimWriteLimit: { requests: 3, windowSeconds: 2 } },
    workerMetricsAddress: workerMetrics,
  });
  jobsKey = (
    await createApiKey(stack.db, {
      name: 'jobs',
      tenantId: 'test-tenant',
      scopes: [...DEFAULT_API_KEY_SCOPES, 'provisioning:write'],
    })
  ).key;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

beforeEach(() => stack.sim.control.clearFaults());

async function linked(vendor: string, scenario: string) {
  const { id } = await stack.link(demoLink(stack, vendor, scenario));
  if (vendor === 'slack-grid') await install(stack, id);
  await stack.waitForStatus(id, 'active');
  return id;
}

const start = (connectionId: string, body: object, headers: Record<string, string> = {}) =>
  stack.app.inject({
    method: 'POST',
    url: `/v1/connections/${connectionId}/jobs`,
    payload: body,
    headers: { authorization: `Bearer ${jobsKey}`, ...headers },
  });
const cancel = (jobId: string) =>
  stack.app.inject({
    method: 'POST',
    url: `/v1/jobs/${jobId}/cancel`,
    headers: { authorization: `Bearer ${jobsKey}` },
  });

const getJob = async (id: string) =>
  (await stack.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json();

const finished = (id: string, timeoutMs = 30_000) =>
  eventually(
    () => getJob(id),
    (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status),
    { what: `job ${id} finished`, timeoutMs },
  );

async function run(connectionId: string, body: object) {
  const res = await start(connectionId, body);
  expect(res.statusCode).toBe(202);
  return finished(res.json().id);
}

/** The user as the simulated vendor holds it, read straight from its SCIM API. */
async function vendorUsers(base: string, token: string, filter: string) {
  const res = await fetch(`${base}/Users?filter=${encodeURIComponent(filter)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as { Resources: any[] }).Resources;
}
const slackScim = () => `${stack.sim.baseUrl}/slack/scim/v2`;
const promappScim = () => `${stack.sim.baseUrl}/promapp/api/scim`;

describe.each([
  ['slack', 'demo-all-scopes.jobs', slackScim, 'xoxp-demo-all-scopes.jobs'],
  ['promapp', 'demo-all-scopes.jobs', promappScim, 'demo-all-scopes.jobs'],
])('%s: the SCIM user lifecycle', (vendor, scenario, scimBase, token) => {
  test('create, find, update, deactivate and reactivate a user, each ending with the vendor id', async () => {
    const connectionId = await linked(vendor, scenario);
    const userName = `ada.${vendor}@example.com`;
    const created = await run(connectionId, {
      operation: 'create_user',
      input: {
        userName,
        externalId: `hr-${vendor}-1`,
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        emails: [{ value: userName, primary: true }],
        title: 'Engineer',
        department: 'R&D',
      },
    });
    expect(created).toMatchObject({ status: 'succeeded', failure: null, operation: 'create_user' });
    const id = created.vendorId;
    const [atVendor] = await vendorUsers(scimBase(), token, `userName eq "${userName}"`);
    expect(atVendor).toMatchObject({
      id,
      externalId: `hr-${vendor}-1`,
      title: 'Engineer',
      active: true,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    });

    const found = await run(connectionId, { operation: 'find_user', input: { email: userName } });
    expect(found).toMatchObject({ status: 'succeeded', vendorId: id });
    expect(found.result.detail.matches).toEqual([{ id, active: true }]);

    const updated = await run(connectionId, {
      operation: 'update_user',
      input: { user: { externalId: `hr-${vendor}-1` }, title: 'Principal Engineer', department: 'Research' },
    });
    expect(updated).toMatchObject({ status: 'succeeded', vendorId: id });
    const [afterUpdate] = await vendorUsers(scimBase(), token, `externalId eq "hr-${vendor}-1"`);
    expect(afterUpdate.title).toBe('Principal Engineer');
    expect(afterUpdate.name).toEqual({ givenName: 'Ada', familyName: 'Lovelace' });

    const deactivated = await run(connectionId, {
      operation: 'deactivate_user',
      input: { user: { userName } },
    });
    expect(deactivated).toMatchObject({
      status: 'succeeded',
      vendorId: id,
      result: { detail: { active: false } },
    });
    expect((await vendorUsers(scimBase(), token, `userName eq "${userName}"`))[0].active).toBe(false);

    const reactivated = await run(connectionId, { operation: 'reactivate_user', input: { user: { id } } });
    expect(reactivated).toMatchObject({ status: 'succeeded', result: { detail: { active: true } } });

    // The connection's audit trail names each job.
    const types = await stack.eventTypes(connectionId);
    expect(types.filter((t) => t === 'job_succeeded')).toHaveLength(5);
    expect(types.filter((t) => t === 'job_requested')).toHaveLength(5);
  });

  test('failures a person can act on: uniqueness, unknown user, invalid input (400 naming the field)', async () => {
    const connectionId = await linked(vendor, scenario);
    const first = await run(connectionId, {
      operation: 'create_user',
      input: { userName: `taken.${vendor}` },
    });
    expect(first.status).toBe('succeeded');
    const second = await run(connectionId, {
      operation: 'create_user',
      input: { userName: `taken.${vendor}` },
    });
    expect(second).toMatchObject({ status: 'failed', failure: { reason: 'uniqueness' }, vendorId: null });
    expect(second.failure.message).toContain(first.vendorId);

    const missing = await run(connectionId, {
      operation: 'deactivate_user',
      input: { user: { userName: 'nobody@example.com' } },
    });
    expect(missing).toMatchObject({ status: 'failed', failure: { reason: 'not_found' } });

    const bad = await start(connectionId, {
      operation: 'create_user',
      input: { userName: 'x', emails: [{ value: 'no' }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('body.input.emails.0.value');
    // An operation of another vendor, with input valid for it: refused for this one, naming the operation.
    const unknown = await start(connectionId, {
      operation: 'create_request',
      input: {
        title: 'Laptop',
        category: 'Laptop',
        type: 'Service Request',
        priority: 'Medium',
        customer: { email: 'ada@example.com' },
      },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().issues[0].field).toBe('body.operation');
  });
});

test('slack-grid (installed app with rotating tokens): a job gets a fresh token through the connection', async () => {
  const connectionId = await linked('slack-grid', 'demo-rotating-30.jobs');
  const before = (await stack.getConnection(connectionId)).tokenExpiresAt;
  const job = await run(connectionId, { operation: 'create_user', input: { userName: 'grid.user' } });
  expect(job.status).toBe('succeeded');
  // The token had less than the job's two minutes left: the connection's workflow refreshed it first.
  expect((await stack.getConnection(connectionId)).tokenExpiresAt).not.toBe(before);
  expect(await stack.eventTypes(connectionId)).toContain('job_succeeded');
});

test('a missing permission fails the job naming it', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.perm');
  // Only this connection's token: the suite's other Promapp connections keep probing and would use it up.
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: 'demo-all-scopes.perm',
    scope: 'api',
    fault: { kind: 'status', status: 403, body: { schemas: [], status: '403', detail: 'no SCIM scope' } },
    times: 1,
  });
  const job = await run(connectionId, { operation: 'find_user', input: { userName: 'x' } });
  expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
  expect(job.failure.message).toContain('no SCIM scope');
});

test("Slack's SCIM rate limit: writes beyond it are answered 429 and retried after Retry-After, none lost", async () => {
  const connectionId = await linked('slack', 'demo-all-scopes.burst');
  const before = stack.sim.control.stats('slack');
  const ids = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const res = await start(connectionId, { operation: 'create_user', input: { userName: `burst-${i}` } });
      return res.json().id as string;
    }),
  );
  const jobs = await Promise.all(ids.map((id) => finished(id, 60_000)));
  expect(jobs.map((j) => j.status)).toEqual(Array(8).fill('succeeded'));
  expect(new Set(jobs.map((j) => j.vendorId)).size).toBe(8);
  const after = stack.sim.control.stats('slack');
  expect((after.byStatus['429'] ?? 0) - (before.byStatus['429'] ?? 0)).toBeGreaterThan(0);
  for (let i = 0; i < 8; i++) {
    expect(
      await vendorUsers(slackScim(), 'xoxp-demo-all-scopes.burst', `userName eq "burst-${i}"`),
    ).toHaveLength(1);
  }
});

test('a 429 saying Retry-After: 0 is retried with the backoff, not at once until the attempts run out', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.retry-now');
  const since = Date.now();
  // Four refusals of the create (not of the health probe's GETs that may land meanwhile): one fewer than
  // the test policy's attempts, spaced 200, 400, 800 and 1,000 ms by its backoff.
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: 'demo-all-scopes.retry-now',
    endpoint: 'POST /api/scim/Users',
    fault: { kind: 'status', status: 429, retryAfterSeconds: 0 },
    times: 4,
  });
  const job = await run(connectionId, { operation: 'create_user', input: { userName: 'retry-now' } });
  expect({ status: job.status, failure: job.failure }).toMatchObject({ status: 'succeeded', failure: null });
  const creates = stack.sim.control
    .requests('promapp')
    .filter(
      (r) =>
        r.receivedAt >= since &&
        r.method === 'POST' &&
        r.headers.authorization === 'Bearer demo-all-scopes.retry-now',
    )
    .map((r) => r.receivedAt);
  expect(creates).toHaveLength(5);
  expect(creates.at(-1)! - creates[0]!).toBeGreaterThanOrEqual(2_000);
  expect(
    await vendorUsers(promappScim(), 'demo-all-scopes.retry-now', 'userName eq "retry-now"'),
  ).toHaveLength(1);
});

test('a vendor outage is retried with backoff; after the last attempt the job fails vendor_unavailable', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.outage');
  stack.sim.control.addFault({
    vendor: 'promapp',
    scope: 'api',
    fault: { kind: 'status', status: 503 },
    times: 2,
  });
  const recovered = await run(connectionId, {
    operation: 'create_user',
    input: { userName: 'after-outage' },
  });
  expect(recovered.status).toBe('succeeded');

  stack.sim.control.addFault({ vendor: 'promapp', scope: 'api', fault: { kind: 'status', status: 500 } });
  const down = await run(connectionId, { operation: 'find_user', input: { userName: 'after-outage' } });
  expect(down).toMatchObject({ status: 'failed', failure: { reason: 'vendor_unavailable' } });
});

test('a job waits while its connection is paused and runs once it is resumed; a cancel ends a waiting job', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.pause');
  expect(
    (await stack.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/pause` })).statusCode,
  ).toBe(202);
  await stack.waitForStatus(connectionId, 'paused');
  const res = await start(connectionId, { operation: 'create_user', input: { userName: 'patient' } });
  const jobId = res.json().id;
  await eventually(
    () => getJob(jobId),
    (j) => j.status === 'waiting_for_connection',
    { what: 'waiting' },
  );

  const other = (
    await start(connectionId, { operation: 'create_user', input: { userName: 'cancelled' } })
  ).json().id;
  await eventually(
    () => getJob(other),
    (j) => j.status === 'waiting_for_connection',
    { what: 'waiting' },
  );
  expect((await cancel(other)).statusCode).toBe(202);
  expect(await finished(other)).toMatchObject({ status: 'cancelled' });
  expect((await cancel(other)).statusCode).toBe(409);

  await stack.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/resume` });
  expect(await finished(jobId)).toMatchObject({ status: 'succeeded' });
  expect(await vendorUsers(promappScim(), 'demo-all-scopes.pause', 'userName eq "cancelled"')).toHaveLength(
    0,
  );
});

test('a connection that stays unusable past the deadline fails the job connection_wait_expired', async () => {
  const short = await startStack({ jobs: { connectionWaitMs: 1_500 } });
  try {
    const { id } = await short.link(demoLink(short, 'promapp', 'demo-all-scopes.deadline'));
    await short.waitForStatus(id, 'active');
    await short.app.inject({ method: 'POST', url: `/v1/connections/${id}/pause` });
    await short.waitForStatus(id, 'paused');
    const { key } = await createApiKey(short.db, {
      name: 'jobs',
      tenantId: 'test-tenant',
      scopes: ['connections:read', 'connections:write', 'provisioning:write'],
    });
    const res = await short.app.inject({
      method: 'POST',
      url: `/v1/connections/${id}/jobs`,
      payload: { operation: 'find_user', input: { userName: 'x' } },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode).toBe(202);
    const job = await eventually(
      async () => (await short.app.inject({ method: 'GET', url: `/v1/jobs/${res.json().id}` })).json(),
      (j) => j.status === 'failed',
      { what: 'job failed' },
    );
    expect(job.failure).toMatchObject({ reason: 'connection_wait_expired' });
    expect(job.failure.message).toContain('paused');
  } finally {
    await short.close();
  }
});

test('a connection that needs re-authentication fails the job at once', async () => {
  const connectionId = await linked('slack', 'demo-all-scopes.reauth');
  stack.sim.control.revokeAll('slack', 'xoxp-demo-all-scopes.reauth');
  const job = await run(connectionId, { operation: 'find_user', input: { userName: 'sim-admin' } });
  expect(job).toMatchObject({ status: 'failed', failure: { reason: 'connection_needs_reauth' } });
});

test('Idempotency-Key: the same request answers the same job; a different body is a 409', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.idem');
  const body = { operation: 'create_user', input: { userName: 'once' } };
  const headers = { 'idempotency-key': 'job-once-1' };
  const [a, b] = await Promise.all([start(connectionId, body, headers), start(connectionId, body, headers)]);
  expect(a.statusCode).toBe(202);
  expect(b.statusCode).toBe(202);
  expect(a.json().id).toBe(b.json().id);
  await finished(a.json().id);
  const other = await start(connectionId, { ...body, input: { userName: 'twice' } }, headers);
  expect(other.statusCode).toBe(409);
  expect(other.json().error).toBe('idempotency_key_reused');
  const list = await stack.app.inject({ method: 'GET', url: `/v1/connections/${connectionId}/jobs` });
  expect(list.json().items).toHaveLength(1);
});

test('lists per tenant and per connection, filtered and paged; another tenant sees none', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.list');
  for (const userName of ['l1', 'l2', 'l3']) {
    await run(connectionId, { operation: 'create_user', input: { userName } });
  }
  await run(connectionId, { operation: 'find_user', input: { userName: 'l1' } });
  const page1 = (
    await stack.app.inject({
      method: 'GET',
      url: `/v1/connections/${connectionId}/jobs?operation=create_user&status=succeeded&limit=2`,
    })
  ).json();
  expect(page1.items).toHaveLength(2);
  const page2 = (
    await stack.app.inject({
      method: 'GET',
      url: `/v1/connections/${connectionId}/jobs?operation=create_user&status=succeeded&limit=2&cursor=${page1.nextCursor}`,
    })
  ).json();
  expect(page2.items).toHaveLength(1);
  expect(page2.nextCursor).toBeNull();
  expect([...page1.items, ...page2.items].map((j: any) => j.input.userName)).toEqual(['l3', 'l2', 'l1']);

  const tenantWide = (
    await stack.app.inject({
      method: 'GET',
      url: `/v1/jobs?connectionId=${connectionId}&operation=find_user`,
    })
  ).json();
  expect(tenantWide.items).toHaveLength(1);

  const otherKey = (await createApiKey(stack.db, { name: 'other', tenantId: 'other-tenant' })).key;
  const asOther = (url: string) =>
    stack.rawApp.inject({ method: 'GET', url, headers: { authorization: `Bearer ${otherKey}` } });
  expect((await asOther('/v1/jobs')).json().items).toEqual([]);
  expect((await asOther(`/v1/jobs/${page1.items[0].id}`)).statusCode).toBe(404);
  expect((await asOther(`/v1/connections/${connectionId}/jobs`)).statusCode).toBe(404);
});

test('job.succeeded and job.failed webhooks; no token in the job, its workflow history or the answers', async () => {
  const hook = await stack.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: `${receiverUrl}/jobs`, eventTypes: ['job.succeeded', 'job.failed'] },
  });
  expect(hook.statusCode).toBe(201);
  const connectionId = await linked('slack', 'demo-all-scopes.hooks');
  const ok = await run(connectionId, { operation: 'create_user', input: { userName: 'hooked' } });
  const failed = await run(connectionId, { operation: 'create_user', input: { userName: 'hooked' } });
  const events = await eventually(
    () => received.filter((e) => [ok.id, failed.id].includes(e.data?.jobId)),
    (list) => list.length === 2,
    { what: 'two job webhooks' },
  );
  expect(events.find((e) => e.data.jobId === ok.id)).toMatchObject({
    type: 'job.succeeded',
    data: {
      connectionId,
      vendor: 'slack',
      operation: 'create_user',
      status: 'succeeded',
      vendorId: ok.vendorId,
    },
  });
  expect(events.find((e) => e.data.jobId === failed.id)).toMatchObject({
    type: 'job.failed',
    data: { status: 'failed', reason: 'uniqueness' },
  });

  const token = 'xoxp-demo-all-scopes.hooks';
  const history = await stack.client.workflow.getHandle(ok.workflowId).fetchHistory();
  const { testCodec } = await import('./support/stack');
  // Payloads are encrypted: decode them before looking, so the check means something.
  const payloads = JSON.stringify(history, (_k, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );
  const decoded = await Promise.all(
    (history.events ?? []).flatMap((e: any) =>
      [
        e.workflowExecutionStartedEventAttributes?.input,
        e.activityTaskScheduledEventAttributes?.input,
        e.activityTaskCompletedEventAttributes?.result,
        e.workflowExecutionCompletedEventAttributes?.result,
      ]
        .filter(Boolean)
        .map(async (p: any) =>
          JSON.stringify(
            await Promise.all(
              (await testCodec().decode(p.payloads)).map((x) => Buffer.from(x.data!).toString()),
            ),
          ),
        ),
    ),
  );
  expect(decoded.join('')).toContain(ok.id);
  expect(decoded.join('')).not.toContain(token);
  expect(decoded.join('')).not.toContain('hooked');
  // The failed job's reason names the person (uniqueness): failure messages are encrypted like payloads,
  // so nothing of it is readable in the stored history.
  const failedHistory = await stack.client.workflow.getHandle(failed.workflowId).fetchHistory();
  const raw = JSON.stringify(failedHistory, (_k, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );
  expect(raw).toContain('activityTaskFailedEventAttributes');
  expect(raw).not.toContain('hooked');
  expect(payloads).not.toContain(token);
  expect(JSON.stringify(await getJob(ok.id))).not.toContain(token);
});

test('worker metrics count job attempts and finished jobs per vendor, operation and outcome', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.metrics');
  await run(connectionId, { operation: 'create_user', input: { userName: 'metered' } });
  await run(connectionId, { operation: 'create_user', input: { userName: 'metered' } });
  const metrics = await eventually(
    async () => (await fetch(`http://${workerMetrics}/metrics`)).text(),
    (text) => /tether_provisioning_jobs\{[^}]*outcome="uniqueness"/.test(text),
    { what: 'job metrics exported' },
  );
  expect(metrics).toMatch(
    /tether_provisioning_calls\{[^}]*operation="create_user",[^}]*outcome="ok",[^}]*vendor="promapp"\} [1-9]/,
  );
  expect(metrics).toMatch(
    /tether_provisioning_calls\{[^}]*operation="create_user",[^}]*outcome="OperationRefused",[^}]*vendor="promapp"\} [1-9]/,
  );
  expect(metrics).toMatch(
    /tether_provisioning_jobs\{[^}]*operation="create_user",[^}]*outcome="succeeded",[^}]*vendor="promapp"\} [1-9]/,
  );
});

test('starting or cancelling a job needs the provisioning:write scope; reading needs connections:read', async () => {
  const connectionId = await linked('promapp', 'demo-all-scopes.scopes');
  const job = await run(connectionId, { operation: 'find_user', input: { userName: 'x' } });
  // The stack's key: the default scopes, which every key had before provisioning existed.
  const withoutScope = await stack.app.inject({
    method: 'POST',
    url: `/v1/connections/${connectionId}/jobs`,
    payload: { operation: 'find_user', input: { userName: 'x' } },
  });
  expect(withoutScope.statusCode).toBe(403);
  expect(withoutScope.json()).toMatchObject({ error: 'insufficient_scope', scope: 'provisioning:write' });
  const cancelWithout = await stack.app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel` });
  expect(cancelWithout.statusCode).toBe(403);
  expect((await stack.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).statusCode).toBe(200);
});
