// NinjaOne's provisioning jobs on the real stack: its end users (the people of an organization) created, found
// and deleted through the API v2; the `management` scope they need, missing for each of the three reasons a
// person can act on; throttling retried; bad input a 400 naming the field.
import { DEFAULT_API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey } from '../platform/api-keys';
import { DEMO_SECRET } from '../simulators/scenario';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
let jobsKey: string;

beforeAll(async () => {
  stack = await startStack();
  jobsKey = (
    await createApiKey(stack.db, {
      name: 'jobs',
      tenantId: 'test-tenant',
      scopes: [...DEFAULT_API_KEY_SCOPES, 'provisioning:write'],
    })
  ).key;
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => stack.sim.control.clearFaults());

async function linked(scenario: string, settings?: Record<string, unknown>) {
  const { id } = await stack.link(demoLink(stack, 'ninjaone', scenario, settings));
  return (await stack.waitForStatus(id, 'active')) as { id: string; missingOptionalScopes: unknown[] };
}

const start = (connectionId: string, body: object) =>
  stack.app.inject({
    method: 'POST',
    url: `/v1/connections/${connectionId}/jobs`,
    payload: body,
    headers: { authorization: `Bearer ${jobsKey}` },
  });

async function run(connectionId: string, body: object) {
  const res = await start(connectionId, body);
  expect(res.statusCode).toBe(202);
  return eventually(
    async () => (await stack.app.inject({ method: 'GET', url: `/v1/jobs/${res.json().id}` })).json(),
    (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status),
    { what: `job ${res.json().id} finished`, timeoutMs: 30_000 },
  );
}

/** The end users as NinjaOne holds them, read with a token of their own. */
async function endUsers(): Promise<Record<string, any>[]> {
  const base = stack.instanceUrl('ninjaone');
  const grant = await fetch(`${base}/ws/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes.observer',
      client_secret: DEMO_SECRET,
      scope: 'monitoring',
    }),
  });
  const { access_token } = (await grant.json()) as { access_token: string };
  const res = await fetch(`${base}/v2/user/end-users`, {
    headers: { authorization: `Bearer ${access_token}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>[];
}
const withEmail = async (email: string) => (await endUsers()).filter((u) => u.email === email);
const calls = (clientId: string, endpoint: string) =>
  stack.sim.control.stats('ninjaone', clientId).byEndpoint[endpoint] ?? 0;

const joiner = (email: string) => ({
  firstName: 'Ada',
  lastName: 'Lovelace',
  email,
  phone: '+44 20 7946 0000',
  organizationId: 2,
  fullPortalAccess: true,
  sendInvitation: true,
});

test('the joiner is created, found by email, not created twice, then deleted as the leaver', async () => {
  const { id: connectionId } = await linked('demo-all-scopes.lifecycle');
  const created = await run(connectionId, { operation: 'create_end_user', input: joiner('ada@example.com') });
  expect(created).toMatchObject({
    status: 'succeeded',
    failure: null,
    result: { detail: { organizationId: 2 } },
  });
  expect(await withEmail('ada@example.com')).toEqual([
    expect.objectContaining({
      id: Number(created.vendorId),
      firstName: 'Ada',
      lastName: 'Lovelace',
      phone: '+44 20 7946 0000',
      organizationId: 2,
      fullPortalAccess: true,
      invitationStatus: 'PENDING',
    }),
  ]);

  const found = await run(connectionId, { operation: 'find_end_user', input: { email: 'ADA@example.com' } });
  expect(found).toMatchObject({
    status: 'succeeded',
    vendorId: created.vendorId,
    result: { detail: { matches: [{ id: created.vendorId, organizationId: 2 }] } },
  });

  // Someone else's end user as far as this job knows: named, not adopted.
  const again = await run(connectionId, { operation: 'create_end_user', input: joiner('ada@example.com') });
  expect(again).toMatchObject({ status: 'failed', failure: { reason: 'uniqueness' } });
  expect(again.failure.message).toBe(
    `NinjaOne already has an end user with email ada@example.com (id ${created.vendorId}, organization 2)`,
  );

  const deleted = await run(connectionId, {
    operation: 'delete_end_user',
    input: { user: { email: 'ada@example.com' } },
  });
  expect(deleted).toMatchObject({
    status: 'succeeded',
    vendorId: created.vendorId,
    result: { detail: { deleted: true } },
  });
  expect(await withEmail('ada@example.com')).toEqual([]);

  const gone = await run(connectionId, {
    operation: 'delete_end_user',
    input: { user: { email: 'ada@example.com' } },
  });
  expect(gone).toMatchObject({ status: 'failed', failure: { reason: 'not_found' } });
  expect(gone.failure.message).toBe('NinjaOne has no end user with email ada@example.com');
  const none = await run(connectionId, { operation: 'find_end_user', input: { email: 'ada@example.com' } });
  expect(none).toMatchObject({ status: 'succeeded', vendorId: null, result: { detail: { matches: [] } } });
});

test('a delete by id; an id NinjaOne does not know fails not_found, in its words', async () => {
  const { id: connectionId } = await linked('demo-all-scopes.by-id');
  const created = await run(connectionId, {
    operation: 'create_end_user',
    input: { firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com', organizationId: 1 },
  });
  expect(created.status).toBe('succeeded');
  expect(await withEmail('alan@example.com')).toEqual([
    expect.objectContaining({ fullPortalAccess: false, invitationStatus: 'NOT_SENT', phone: null }),
  ]);
  const deleted = await run(connectionId, {
    operation: 'delete_end_user',
    input: { user: { id: Number(created.vendorId) } },
  });
  expect(deleted).toMatchObject({ status: 'succeeded', vendorId: created.vendorId });
  expect(await withEmail('alan@example.com')).toEqual([]);

  const unknown = await run(connectionId, { operation: 'delete_end_user', input: { user: { id: 9999 } } });
  expect(unknown).toMatchObject({ status: 'failed', failure: { reason: 'not_found' } });
  expect(unknown.failure.message).toContain(
    'refused to delete the end user (HTTP 404): not_found: End user 9999 not found',
  );
});

test('an organization NinjaOne does not have fails invalid_attribute, in its words', async () => {
  const { id: connectionId } = await linked('demo-all-scopes.no-org');
  const job = await run(connectionId, {
    operation: 'create_end_user',
    input: { ...joiner('nowhere@example.com'), organizationId: 77 },
  });
  expect(job).toMatchObject({ status: 'failed', vendorId: null, failure: { reason: 'invalid_attribute' } });
  expect(job.failure.message).toContain(
    'refused to create the end user (HTTP 400): invalid_request: Organization 77 not found',
  );
});

describe('the management scope', () => {
  const needs = 'create_end_user needs the NinjaOne scope management (create and delete end users';

  test('left out of the connection: the job says to add it to settings.scopes, and NinjaOne is not asked', async () => {
    const clientId = 'demo-all-scopes.monitoring-only';
    const { id: connectionId } = await linked(clientId, { scopes: ['monitoring'] });
    const job = await run(connectionId, {
      operation: 'create_end_user',
      input: joiner('left-out@example.com'),
    });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain(needs);
    expect(job.failure.message).toContain('add management to its settings.scopes');
    expect(job.failure.message).toContain('Administration → Apps → API');
    expect(calls(clientId, 'GET /v2/user/end-users')).toBe(0);
    expect(calls(clientId, 'POST /v2/user/end-users')).toBe(0);
    // Finding needs monitoring only.
    const found = await run(connectionId, {
      operation: 'find_end_user',
      input: { email: 'grace@example.com' },
    });
    expect(found).toMatchObject({ status: 'succeeded', vendorId: '1' });
  });

  test('withheld by NinjaOne: the connection is active without it, and the job says where to grant it', async () => {
    const clientId = 'demo-all-scopes.withheld';
    stack.sim.control.addFault({
      vendor: 'ninjaone',
      match: clientId,
      scope: 'token',
      fault: { kind: 'drop_scopes', scopes: ['management'] },
    });
    const connection = await linked(clientId);
    expect(connection.missingOptionalScopes).toEqual([
      { scope: 'management', purpose: expect.stringContaining('create and delete end users') },
    ]);
    const job = await run(connection.id, {
      operation: 'delete_end_user',
      input: { user: { email: 'grace@example.com' } },
    });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain('delete_end_user needs the NinjaOne scope management');
    expect(job.failure.message).toContain('edit the Tether client app, tick the missing scope');
    expect(job.failure.message).not.toContain('settings.scopes');
    expect(await withEmail('grace@example.com')).toHaveLength(1);
  });

  test('refused by NinjaOne at the call: missing_permission, in its words', async () => {
    const clientId = 'demo-all-scopes.refused-at-call';
    const { id: connectionId } = await linked(clientId);
    stack.sim.control.addFault({
      vendor: 'ninjaone',
      match: clientId,
      scope: 'api',
      fault: { kind: 'drop_scopes', scopes: ['management'] },
    });
    const job = await run(connectionId, {
      operation: 'create_end_user',
      input: joiner('refused@example.com'),
    });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain(
      'refused to create the end user (HTTP 403): insufficient_scope: The access token does not have the management scope',
    );
    expect(await withEmail('refused@example.com')).toEqual([]);
  });
});

test('a 429 with Retry-After answering the create is retried, and NinjaOne holds one end user', async () => {
  const clientId = 'demo-all-scopes.throttled';
  const { id: connectionId } = await linked(clientId);
  stack.sim.control.addFault({
    vendor: 'ninjaone',
    match: clientId,
    endpoint: 'POST /v2/user/end-users',
    fault: { kind: 'status', status: 429, retryAfterSeconds: 1 },
    times: 1,
  });
  const job = await run(connectionId, {
    operation: 'create_end_user',
    input: joiner('throttled@example.com'),
  });
  expect(job).toMatchObject({ status: 'succeeded', failure: null });
  expect(job.result.adopted).toBeUndefined();
  expect(calls(clientId, 'POST /v2/user/end-users')).toBe(2);
  expect((await withEmail('throttled@example.com')).map((u) => String(u.id))).toEqual([job.vendorId]);
});

test('bad input is a 400 naming the field, before any job starts', async () => {
  const { id: connectionId } = await linked('demo-all-scopes.input');
  const cases: [string, object, string][] = [
    ['create_end_user', { ...joiner('x@example.com'), email: 'not-an-email' }, 'body.input.email'],
    ['create_end_user', { ...joiner('x@example.com'), organizationId: 'Acme' }, 'body.input.organizationId'],
    ['create_end_user', { ...joiner('x@example.com'), firstName: ' ' }, 'body.input.firstName'],
    ['create_end_user', { ...joiner('x@example.com'), administrator: true }, 'body.input.administrator'],
    ['delete_end_user', { user: { id: 0 } }, 'body.input.user.id'],
    ['find_end_user', {}, 'body.input.email'],
  ];
  for (const [operation, input, field] of cases) {
    const res = await start(connectionId, { operation, input });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: any) => i.field)).toContain(field);
  }
  const wrongVendor = await start(connectionId, {
    operation: 'create_ticket',
    input: { summary: 'x', ticketTypeId: 1, user: { id: 1 } },
  });
  expect(wrongVendor.statusCode).toBe(400);
  expect(wrongVendor.json().issues[0]).toMatchObject({
    field: 'body.operation',
    message: 'NinjaOne offers create_end_user, delete_end_user, find_end_user',
  });
});
