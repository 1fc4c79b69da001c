// Lifecycle events on the real stack: a person's joiner, mover and leaver across Slack and Promapp, each
// target a provisioning job run as a child of the event's workflow; a leaver carried through a vendor
// outage longer than a job's own deadline; Idempotency-Key, tenant isolation, validation naming the
// field, the lifecycle_event.completed webhook, audit events and no person's data in history.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../dev/temporal-dev-server';
import { DEFAULT_API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey } from '../platform/api-keys';
import { eventually } from './support/eventually';
import { startStack, testCodec, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
/** A key that may start provisioning; the stack's own key has the default scopes only. */
let provisioningKey: string;
let workerMetrics: string;
const received: any[] = [];

/** A job's own wait for its connection; a leaver's is far longer. */
const JOB_WAIT_MS = 1_000;

beforeAll(async () => {
  workerMetrics = `127.0.0.1:${await freePort()}`;
  stack = await startStack({
    workerMetricsAddress: workerMetrics,
    jobs: { connectionWaitMs: JOB_WAIT_MS },
    lifecycle: { leaverWaitMs: 120_000 },
  });
  provisioningKey = (
    await createApiKey(stack.db, {
      name: 'provisioning',
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
  const hook = await stack.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: `${receiverUrl}/hooks`, eventTypes: ['lifecycle_event.completed', 'job.succeeded'] },
  });
  expect(hook.statusCode).toBe(201);
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

beforeEach(() => stack.sim.control.clearFaults());

async function linked(vendor: string, scenario: string) {
  const { id } = await stack.link(demoLink(stack, vendor, scenario));
  await stack.waitForStatus(id, 'active');
  return id;
}

const post = (body: object, headers: Record<string, string> = {}) =>
  stack.app.inject({
    method: 'POST',
    url: '/v1/lifecycle-events',
    payload: body,
    headers: { authorization: `Bearer ${provisioningKey}`, ...headers },
  });
const getEvent = async (id: string) =>
  (await stack.app.inject({ method: 'GET', url: `/v1/lifecycle-events/${id}` })).json();
const ended = (id: string, timeoutMs = 60_000) =>
  eventually(
    () => getEvent(id),
    (e) => e.status !== 'running',
    { what: `lifecycle event ${id} ended`, timeoutMs },
  );

async function started(body: object) {
  const res = await post(body);
  expect(res.statusCode).toBe(202);
  return res.json();
}

/** The users as the simulated vendor holds them, read straight from its SCIM API. */
async function vendorUsers(base: string, token: string, filter: string) {
  const res = await fetch(`${base}/Users?filter=${encodeURIComponent(filter)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as { Resources: any[] }).Resources;
}
const slackScim = () => `${stack.sim.baseUrl}/slack/scim/v2`;
const promappScim = () => `${stack.sim.baseUrl}/promapp/api/scim`;

test('a joiner to Slack and Promapp: one job per target, users made at both, the event completed and announced', async () => {
  const slack = await linked('slack', 'demo-all-scopes.join');
  const promapp = await linked('promapp', 'demo-all-scopes.join');
  const event = await started({
    kind: 'joiner',
    person: { externalId: 'hr-join-1', email: 'grace@example.com' },
    targets: [
      { connectionId: slack, input: { name: { givenName: 'Grace', familyName: 'Hopper' } } },
      { connectionId: promapp, input: { title: 'Rear Admiral', department: 'Navy' } },
    ],
  });
  expect(event).toMatchObject({
    kind: 'joiner',
    status: 'running',
    workflowId: `lifecycle:${event.id}`,
    progress: { total: 2 },
  });
  expect(event.targets.map((t: any) => [t.connectionId, t.operation])).toEqual([
    [slack, 'create_user'],
    [promapp, 'create_user'],
  ]);

  const done = await ended(event.id);
  expect(done).toMatchObject({
    status: 'completed',
    progress: { total: 2, done: 2, succeeded: 2, failed: 0 },
  });
  expect(done.completedAt).not.toBeNull();
  const [atSlack] = await vendorUsers(slackScim(), 'xoxp-demo-all-scopes.join', 'externalId eq "hr-join-1"');
  expect(atSlack).toMatchObject({
    id: done.targets[0].vendorId,
    userName: 'grace@example.com',
    name: { givenName: 'Grace', familyName: 'Hopper' },
    active: true,
  });
  const [atPromapp] = await vendorUsers(promappScim(), 'demo-all-scopes.join', 'externalId eq "hr-join-1"');
  expect(atPromapp).toMatchObject({ id: done.targets[1].vendorId, title: 'Rear Admiral' });

  // Each target's job is an ordinary job: its input merged the person with the target's attributes.
  const job = (await stack.app.inject({ method: 'GET', url: `/v1/jobs/${done.targets[1].jobId}` })).json();
  expect(job).toMatchObject({
    status: 'succeeded',
    connectionId: promapp,
    input: {
      userName: 'grace@example.com',
      externalId: 'hr-join-1',
      emails: [{ value: 'grace@example.com', primary: true }],
      title: 'Rear Admiral',
      department: 'Navy',
    },
  });
  // The jobs are the event workflow's children.
  const child = await stack.client.workflow.getHandle(job.workflowId).describe();
  expect(child.parentExecution?.workflowId).toBe(`lifecycle:${event.id}`);

  // Audit events on each connection name the event.
  for (const connectionId of [slack, promapp]) {
    const events = await stack.events(connectionId);
    expect(events.find((e: any) => e.type === 'job_requested')?.detail).toMatchObject({
      lifecycleEventId: event.id,
      kind: 'joiner',
    });
    expect(events.map((e: any) => e.type)).toContain('job_succeeded');
  }

  const hook = await eventually(
    () =>
      received.find((e) => e.type === 'lifecycle_event.completed' && e.data.lifecycleEventId === event.id),
    (e) => e !== undefined,
    { what: 'lifecycle_event.completed delivered' },
  );
  expect(hook.data).toMatchObject({
    kind: 'joiner',
    status: 'completed',
    targets: [
      { connectionId: slack, vendor: 'slack', status: 'succeeded', vendorId: atSlack.id },
      { connectionId: promapp, vendor: 'promapp', status: 'succeeded', vendorId: atPromapp.id },
    ],
  });
  // Each job's own webhook arrived too, naming the event it is a target of.
  const jobHooks = await eventually(
    () =>
      received.filter(
        (e) => e.type === 'job.succeeded' && done.targets.some((t: any) => t.jobId === e.data.jobId),
      ),
    (list) => list.length === 2,
    { what: 'job.succeeded for both targets' },
  );
  expect(jobHooks.map((e) => e.data.lifecycleEventId)).toEqual([event.id, event.id]);
  expect(JSON.stringify(hook)).not.toContain('grace@example.com');
  const metrics = await eventually(
    async () => (await fetch(`http://${workerMetrics}/metrics`)).text(),
    (text) => /tether_lifecycle_events\{[^}]*kind="joiner",[^}]*outcome="completed"[^}]*\} [1-9]/.test(text),
    { what: 'lifecycle metrics exported' },
  );
  expect(metrics).toMatch(
    /tether_provisioning_jobs\{[^}]*operation="create_user",[^}]*outcome="succeeded",[^}]*vendor="slack"/,
  );

  // Nothing of the person in the event's history: only ids, vendors and policies.
  const history = await stack.client.workflow.getHandle(`lifecycle:${event.id}`).fetchHistory();
  const decoded = await Promise.all(
    (history.events ?? []).flatMap((e: any) =>
      [
        e.workflowExecutionStartedEventAttributes?.input,
        e.activityTaskScheduledEventAttributes?.input,
        e.activityTaskCompletedEventAttributes?.result,
        e.startChildWorkflowExecutionInitiatedEventAttributes?.input,
        e.childWorkflowExecutionCompletedEventAttributes?.result,
        e.workflowExecutionCompletedEventAttributes?.result,
      ]
        .filter(Boolean)
        .map(async (p: any) =>
          (await testCodec().decode(p.payloads)).map((x) => Buffer.from(x.data!).toString()).join(''),
        ),
    ),
  );
  expect(decoded.join('')).toContain(done.targets[0].jobId);
  expect(decoded.join('')).not.toContain('grace');
  expect(decoded.join('')).not.toContain('hr-join-1');
});

test('a leaver with one vendor down longer than a job waits: the others finish, the down one completes when it is back', async () => {
  const slack = await linked('slack', 'demo-all-scopes.leave');
  const promapp = await linked('promapp', 'demo-all-scopes.leave');
  const joined = await ended(
    (
      await started({
        kind: 'joiner',
        person: { externalId: 'hr-leave-1', userName: 'alan' },
        targets: [{ connectionId: slack }, { connectionId: promapp }],
      })
    ).id,
  );
  expect(joined.status).toBe('completed');

  // Promapp goes down for this connection: its SCIM API and its health checks answer 503.
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: 'demo-all-scopes.leave',
    fault: { kind: 'status', status: 503 },
  });
  const event = await started({
    kind: 'leaver',
    person: { externalId: 'hr-leave-1' },
    targets: [{ connectionId: promapp }, { connectionId: slack }],
  });
  const partial = await eventually(
    () => getEvent(event.id),
    (e) => e.targets[1].done && e.targets[0].status === 'waiting_for_connection',
    { what: 'slack done, promapp waiting', timeoutMs: 30_000 },
  );
  expect(partial).toMatchObject({
    status: 'running',
    progress: { total: 2, done: 1, succeeded: 1 },
    targets: [
      { connectionId: promapp, operation: 'deactivate_user', done: false, failure: null },
      { connectionId: slack, operation: 'deactivate_user', status: 'succeeded', done: true },
    ],
  });
  const [slackUser] = await vendorUsers(
    slackScim(),
    'xoxp-demo-all-scopes.leave',
    'externalId eq "hr-leave-1"',
  );
  expect(slackUser.active).toBe(false);

  // Down for several times a job's own deadline: a joiner's job would have failed by now; the leaver waits.
  await new Promise((r) => setTimeout(r, JOB_WAIT_MS * 6));
  const stillWaiting = await getEvent(event.id);
  expect(stillWaiting.status).toBe('running');
  expect(stillWaiting.targets[0]).toMatchObject({ done: false, failure: null });

  stack.sim.control.clearFaults('promapp');
  const done = await ended(event.id);
  expect(done).toMatchObject({
    status: 'completed',
    progress: { done: 2, succeeded: 2 },
    targets: [{ status: 'succeeded', vendorId: joined.targets[1].vendorId }, { status: 'succeeded' }],
  });
  const [promappUser] = await vendorUsers(
    promappScim(),
    'demo-all-scopes.leave',
    'externalId eq "hr-leave-1"',
  );
  expect(promappUser.active).toBe(false);
  await eventually(
    () =>
      received.find((e) => e.type === 'lifecycle_event.completed' && e.data.lifecycleEventId === event.id),
    (e) => e !== undefined,
    { what: 'leaver announced' },
  );
});

test('a joiner does not wait through an outage: the down target fails and the event completes with failures', async () => {
  const slack = await linked('slack', 'demo-all-scopes.outage');
  const promapp = await linked('promapp', 'demo-all-scopes.outage');
  stack.sim.control.addFault({
    vendor: 'promapp',
    match: 'demo-all-scopes.outage',
    scope: 'api',
    fault: { kind: 'status', status: 503 },
  });
  const done = await ended(
    (
      await started({
        kind: 'joiner',
        person: { userName: 'outage.joiner' },
        targets: [{ connectionId: slack }, { connectionId: promapp }],
      })
    ).id,
  );
  expect(done).toMatchObject({
    status: 'completed_with_failures',
    progress: { done: 2, succeeded: 1, failed: 1 },
    targets: [{ status: 'succeeded' }, { status: 'failed' }],
  });
  expect(['vendor_unavailable', 'connection_wait_expired']).toContain(done.targets[1].failure.reason);
  const listed = (
    await stack.app.inject({ method: 'GET', url: '/v1/lifecycle-events?status=completed_with_failures' })
  ).json();
  expect(listed.items.map((e: any) => e.id)).toContain(done.id);
});

test('a mover updates the person at each target; explicit operations and per-target attributes', async () => {
  const promapp = await linked('promapp', 'demo-all-scopes.move');
  const slack = await linked('slack', 'demo-all-scopes.move');
  await ended(
    (
      await started({
        kind: 'joiner',
        person: { externalId: 'hr-move-1', userName: 'mover' },
        targets: [{ connectionId: promapp }, { connectionId: slack }],
      })
    ).id,
  );
  const moved = await ended(
    (
      await started({
        kind: 'mover',
        person: { externalId: 'hr-move-1' },
        targets: [
          { connectionId: promapp, input: { title: 'Manager', department: 'Sales' } },
          { connectionId: slack, operation: 'find_user', input: { externalId: 'hr-move-1' } },
        ],
      })
    ).id,
  );
  expect(moved).toMatchObject({
    status: 'completed',
    targets: [{ operation: 'update_user' }, { operation: 'find_user', status: 'succeeded' }],
  });
  const [user] = await vendorUsers(promappScim(), 'demo-all-scopes.move', 'externalId eq "hr-move-1"');
  expect(user).toMatchObject({
    title: 'Manager',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' },
  });
});

test("NinjaOne's own lifecycle operations: the joiner creates an end user, the leaver deletes it by the person's email", async () => {
  const ninjaone = await linked('ninjaone', 'demo-all-scopes.lifecycle-ninja');
  const slack = await linked('slack', 'demo-all-scopes.lifecycle-ninja');
  const connector = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/ninjaone' })).json();
  expect(connector.lifecycleOperations).toEqual({ joiner: 'create_end_user', leaver: 'delete_end_user' });
  const person = { externalId: 'hr-ninja-1', email: 'katherine@example.com' };
  const joiner = await ended(
    (
      await started({
        kind: 'joiner',
        person,
        targets: [
          {
            connectionId: ninjaone,
            input: { firstName: 'Katherine', lastName: 'Johnson', organizationId: 2 },
          },
          { connectionId: slack },
        ],
      })
    ).id,
  );
  expect(joiner).toMatchObject({
    status: 'completed',
    targets: [
      { operation: 'create_end_user', status: 'succeeded' },
      { operation: 'create_user', status: 'succeeded' },
    ],
  });
  const endUsers = async () => {
    const grant = await fetch(`${stack.instanceUrl('ninjaone')}/ws/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'demo-all-scopes.lifecycle-ninja-observer',
        client_secret: 'demo-secret',
        scope: 'monitoring management',
      }),
    });
    const { access_token } = (await grant.json()) as { access_token: string };
    const res = await fetch(`${stack.instanceUrl('ninjaone')}/v2/user/end-users`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    return ((await res.json()) as { email: string }[]).filter((u) => u.email === person.email);
  };
  expect(await endUsers()).toHaveLength(1);

  const leaver = await ended(
    (
      await started({
        kind: 'leaver',
        person,
        targets: [{ connectionId: ninjaone }, { connectionId: slack }],
      })
    ).id,
  );
  expect(leaver).toMatchObject({
    status: 'completed',
    targets: [
      { operation: 'delete_end_user', status: 'succeeded' },
      { operation: 'deactivate_user', status: 'succeeded' },
    ],
  });
  expect(await endUsers()).toHaveLength(0);
  // A mover has no NinjaOne default: the target must name an operation, and the 400 says so.
  const mover = await post({ kind: 'mover', person, targets: [{ connectionId: ninjaone }] });
  expect(mover.statusCode).toBe(400);
  expect(mover.json().issues[0]).toMatchObject({ field: 'body.targets.0.operation' });
  expect(mover.json().issues[0].message).toContain('update_user');
});

test('bad input is a 4xx naming the field; starting needs provisioning:write', async () => {
  const slack = await linked('slack', 'demo-all-scopes.bad');
  const invgate = await linked('invgate', 'demo-all-scopes.bad');
  const cases: [object, number, string][] = [
    [{ kind: 'hire', person: { userName: 'x' }, targets: [{ connectionId: slack }] }, 400, 'body.kind'],
    [{ kind: 'joiner', person: {}, targets: [{ connectionId: slack }] }, 400, 'body.person'],
    [{ kind: 'joiner', person: { userName: 'x' }, targets: [] }, 400, 'body.targets'],
    [
      {
        kind: 'joiner',
        person: { userName: 'x' },
        targets: [{ connectionId: slack, input: { emails: [{ value: 'no' }] } }],
      },
      400,
      'body.targets.0.input.emails.0.value',
    ],
    [
      {
        kind: 'joiner',
        person: { userName: 'x' },
        targets: [{ connectionId: slack }, { connectionId: slack }],
      },
      400,
      'body.targets.1.connectionId',
    ],
    // A mover names at least one attribute to change.
    [
      { kind: 'mover', person: { externalId: 'x' }, targets: [{ connectionId: slack }] },
      400,
      'body.targets.0.input',
    ],
    // InvGate has no SCIM users: a leaver there must name the operation to run.
    [
      { kind: 'leaver', person: { externalId: 'x' }, targets: [{ connectionId: invgate }] },
      400,
      'body.targets.0.operation',
    ],
    [
      { kind: 'leaver', person: { externalId: 'x' }, targets: [{ connectionId: slack, operation: 'nope' }] },
      400,
      'body.targets.0.operation',
    ],
    [
      {
        kind: 'leaver',
        person: { externalId: 'x' },
        targets: [{ connectionId: '00000000-0000-4000-8000-000000000000' }],
      },
      422,
      'body.targets.0.connectionId',
    ],
  ];
  for (const [body, status, field] of cases) {
    const res = await post(body);
    expect({ field, status: res.statusCode }).toEqual({ field, status });
    expect(res.json().issues.map((i: any) => i.field)).toContain(field);
  }
  const withoutScope = await stack.app.inject({
    method: 'POST',
    url: '/v1/lifecycle-events',
    payload: { kind: 'leaver', person: { externalId: 'x' }, targets: [{ connectionId: slack }] },
  });
  expect(withoutScope.statusCode).toBe(403);
  expect(withoutScope.json()).toMatchObject({ scope: 'provisioning:write' });
  expect((await stack.app.inject({ method: 'GET', url: '/v1/lifecycle-events' })).statusCode).toBe(200);
  const openapi = (await stack.rawApp.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(Object.keys(openapi.paths['/v1/lifecycle-events'])).toEqual(expect.arrayContaining(['get', 'post']));
  expect(Object.keys(openapi.paths['/v1/lifecycle-events/{id}'])).toEqual(['get']);
  expect(openapi.components.schemas).toHaveProperty('CreateLifecycleEvent');
  // Nothing was stored by the refused requests.
  expect(await stack.db.lifecycleEvent.count({ where: { person: { equals: { externalId: 'x' } } } })).toBe(0);
});

test('Idempotency-Key: the same request answers the same event and its jobs once; a different body is a 409', async () => {
  const promapp = await linked('promapp', 'demo-all-scopes.idem');
  const body = { kind: 'joiner', person: { userName: 'once' }, targets: [{ connectionId: promapp }] };
  const headers = { 'idempotency-key': 'lifecycle-once-1' };
  const [a, b] = await Promise.all([post(body, headers), post(body, headers)]);
  expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
  expect(a.json().id).toBe(b.json().id);
  expect(a.json().targets[0].jobId).toBe(b.json().targets[0].jobId);
  await ended(a.json().id);
  const again = await post(body, headers);
  expect(again.json()).toMatchObject({ id: a.json().id, status: 'completed' });
  const other = await post({ ...body, person: { userName: 'twice' } }, headers);
  expect(other.statusCode).toBe(409);
  expect(other.json().error).toBe('idempotency_key_reused');
  const jobs = (await stack.app.inject({ method: 'GET', url: `/v1/connections/${promapp}/jobs` })).json();
  expect(jobs.items).toHaveLength(1);
  expect(await vendorUsers(promappScim(), 'demo-all-scopes.idem', 'userName eq "once"')).toHaveLength(1);
});

test("tenants are isolated: another tenant neither sees the events nor targets this tenant's connections; lists page", async () => {
  const promapp = await linked('promapp', 'demo-all-scopes.tenants');
  const ids: string[] = [];
  for (const userName of ['t1', 't2', 't3']) {
    ids.unshift(
      (await started({ kind: 'joiner', person: { userName }, targets: [{ connectionId: promapp }] })).id,
    );
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = (
      await stack.app.inject({
        method: 'GET',
        url: `/v1/lifecycle-events?kind=joiner&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      })
    ).json();
    seen.push(...page.items.map((e: any) => e.id));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen.filter((id) => ids.includes(id))).toEqual(ids);

  const otherKey = (
    await createApiKey(stack.db, {
      name: 'other',
      tenantId: 'other-tenant',
      scopes: [...DEFAULT_API_KEY_SCOPES, 'provisioning:write'],
    })
  ).key;
  const asOther = (method: 'GET' | 'POST', url: string, payload?: object) =>
    stack.rawApp.inject({ method, url, payload, headers: { authorization: `Bearer ${otherKey}` } });
  expect((await asOther('GET', '/v1/lifecycle-events')).json().items).toEqual([]);
  expect((await asOther('GET', `/v1/lifecycle-events/${ids[0]}`)).statusCode).toBe(404);
  const foreign = await asOther('POST', '/v1/lifecycle-events', {
    kind: 'leaver',
    person: { userName: 't1' },
    targets: [{ connectionId: promapp }],
  });
  expect(foreign.statusCode).toBe(422);
  expect(foreign.json()).toMatchObject({
    error: 'unknown_connection',
    issues: [{ field: 'body.targets.0.connectionId' }],
  });
  const badCursor = await stack.app.inject({ method: 'GET', url: '/v1/lifecycle-events?cursor=bogus' });
  expect(badCursor.statusCode).toBe(400);
});

test("a leaver's wait has its deadline: a vendor down for longer fails the target, naming how long it waited", async () => {
  const short = await startStack({ jobs: { connectionWaitMs: 500 }, lifecycle: { leaverWaitMs: 3_000 } });
  try {
    const { id } = await short.link(demoLink(short, 'promapp', 'demo-all-scopes.deadline'));
    await short.waitForStatus(id, 'active');
    const { key } = await createApiKey(short.db, {
      name: 'provisioning',
      tenantId: 'test-tenant',
      scopes: [...DEFAULT_API_KEY_SCOPES, 'provisioning:write'],
    });
    short.sim.control.addFault({ vendor: 'promapp', scope: 'api', fault: { kind: 'status', status: 503 } });
    const res = await short.rawApp.inject({
      method: 'POST',
      url: '/v1/lifecycle-events',
      payload: { kind: 'leaver', person: { userName: 'gone' }, targets: [{ connectionId: id }] },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode).toBe(202);
    const done = await eventually(
      async () =>
        (
          await short.rawApp.inject({
            method: 'GET',
            url: `/v1/lifecycle-events/${res.json().id}`,
            headers: { authorization: `Bearer ${key}` },
          })
        ).json(),
      (e) => e.status !== 'running',
      { what: 'the leaver gave up', timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ status: 'completed_with_failures', progress: { failed: 1 } });
    expect(['vendor_unavailable', 'connection_wait_expired']).toContain(done.targets[0].failure.reason);
    expect(done.targets[0].failure.message).toContain('for longer than 3 s');
  } finally {
    await short.close();
  }
});
