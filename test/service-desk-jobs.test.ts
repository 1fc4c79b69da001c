// Provisioning jobs of the service desks on the real stack: an InvGate request with everything it names
// checked against the instance first, a HaloITSM ticket for a user found by email, each permanent failure a
// reason a person can act on, and bad input a 400 naming the field.
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

async function linked(vendor: string, scenario: string) {
  const { id } = await stack.link(demoLink(stack, vendor, scenario));
  await stack.waitForStatus(id, 'active');
  return id;
}

const start = (connectionId: string, body: object) =>
  stack.app.inject({
    method: 'POST',
    url: `/v1/connections/${connectionId}/jobs`,
    payload: body,
    headers: { authorization: `Bearer ${jobsKey}` },
  });

const getJob = async (id: string) =>
  (await stack.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json();

async function run(connectionId: string, body: object) {
  const res = await start(connectionId, body);
  expect(res.statusCode).toBe(202);
  return eventually(
    () => getJob(res.json().id),
    (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status),
    { what: `job ${res.json().id} finished`, timeoutMs: 30_000 },
  );
}

describe('InvGate: create_request', () => {
  const invgateApi = (endpoint: string) => `${stack.instanceUrl('invgate')}/api/v1/${endpoint}`;

  /** A request as InvGate holds it, read with a token of its own that may read requests. */
  async function requestAtVendor(id: string) {
    const grant = await fetch(`${stack.instanceUrl('invgate')}/oauth/v2/0/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'demo-all-scopes.observer',
        client_secret: DEMO_SECRET,
        scope: 'api.v1.incident:get',
      }),
    });
    const { access_token } = (await grant.json()) as { access_token: string };
    const res = await fetch(invgateApi(`incident?id=${id}`), {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  }
  const requestsMade = (clientId: string) =>
    stack.sim.control.stats('invgate', clientId).byEndpoint['POST /api/v1/incident'] ?? 0;

  const onboarding = {
    title: 'New hire: Ada Lovelace',
    description: 'Starts Monday; needs a laptop and accounts.',
    category: 'Onboarding',
    type: 'Service Request',
    priority: 'medium',
    location: 'Remote',
    customer: { email: 'Ada@example.com' },
    creator: { email: 'grace@example.com' },
    customFields: { 'Laptop model': 'MacBook Pro 14', '11': '2026-12-07' },
  };

  test('submits the request with ids found by name and email, and its custom fields; the request carries the job reference', async () => {
    const connectionId = await linked('invgate', 'demo-all-scopes.request');
    const job = await run(connectionId, { operation: 'create_request', input: onboarding });
    expect(job).toMatchObject({ status: 'succeeded', failure: null, operation: 'create_request' });
    expect(job.result.detail).toEqual({ categoryId: 2, customFields: [10, 11] });
    const request = await requestAtVendor(job.vendorId);
    expect(request).toMatchObject({
      title: 'New hire: Ada Lovelace',
      category_id: 2,
      type_id: 2,
      priority_id: 2,
      location_id: 2,
      customer_id: 2,
      creator_id: 3,
      source_id: 8,
      // The list field holds the option's key, the text field what was given.
      custom_fields: { '10': ['1'], '11': ['2026-12-07'] },
    });
    expect(request.description).toContain('Starts Monday');
    expect(request.description).toContain(`tether-job-${job.id}`);

    // By ids, without location, creator or custom fields (a category without required ones).
    const byIds = await run(connectionId, {
      operation: 'create_request',
      input: {
        title: 'Broken screen',
        category: 3,
        type: 1,
        priority: 3,
        customer: { email: 'ada@example.com' },
      },
    });
    expect(byIds.status).toBe('succeeded');
    expect(await requestAtVendor(byIds.vendorId)).toMatchObject({
      category_id: 3,
      creator_id: 2,
      location_id: null,
      custom_fields: {},
    });
  });

  test.each([
    [
      'an unknown category',
      { category: 'Facilities' },
      'invalid_attribute',
      'InvGate has no category "Facilities"',
    ],
    [
      'an ambiguous category name',
      { category: 'access' },
      'invalid_attribute',
      'named "access" (ids 4, 5): give the id',
    ],
    [
      'an unknown type',
      { type: 'Wish' },
      'invalid_attribute',
      'InvGate has no type "Wish" (known: Incident = 1',
    ],
    ['an unknown priority', { priority: 9 }, 'invalid_attribute', 'InvGate has no priority id 9'],
    [
      'an unknown location',
      { location: 'Moon base' },
      'invalid_attribute',
      'InvGate has no location "Moon base"',
    ],
    [
      'a custom field not in the category',
      { customFields: { 'Laptop model': 'MacBook Pro 14', 'Asset tag': 'A-1' } },
      'invalid_attribute',
      'custom field "Asset tag" is not a field of category "Onboarding" (its fields: "Laptop model", "Start date")',
    ],
    [
      'a value not among the list options',
      { customFields: { 'Laptop model': 'Commodore 64' } },
      'invalid_attribute',
      '"Commodore 64" is not an option of custom field "Laptop model" (options: "MacBook Pro 14", "ThinkPad X1 Carbon")',
    ],
    [
      'a required field of the category left out',
      { customFields: { 'Start date': '2026-12-07' } },
      'invalid_attribute',
      'category "Onboarding" requires custom field "Laptop model"',
    ],
    [
      'a customer no user has',
      { customer: { email: 'nobody@example.com' } },
      'not_found',
      'no enabled user with email nobody@example.com',
    ],
    ['a disabled creator', { creator: { email: 'former@example.com' } }, 'not_found', 'former@example.com'],
  ])('%s fails the job, naming it, and submits nothing', async (_case, change, reason, message) => {
    const clientId = `demo-all-scopes.refused-${String(_case).replace(/\W+/g, '-')}`;
    const connectionId = await linked('invgate', clientId);
    const job = await run(connectionId, { operation: 'create_request', input: { ...onboarding, ...change } });
    expect(job).toMatchObject({ status: 'failed', vendorId: null, failure: { reason } });
    expect(job.failure.message).toContain(message);
    expect(requestsMade(clientId)).toBe(0);
  });

  test('a permission InvGate refuses fails the job missing_permission, in its words', async () => {
    const clientId = 'demo-all-scopes.forbidden';
    const connectionId = await linked('invgate', clientId);
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: clientId,
      scope: 'api',
      fault: { kind: 'drop_scopes', scopes: ['api.v1.users:get'] },
    });
    const job = await run(connectionId, { operation: 'create_request', input: onboarding });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain(
      'refused to list users (HTTP 403): ERROR: The access token does not have the scope api.v1.users:get',
    );
    expect(requestsMade(clientId)).toBe(0);
  });

  test('a 429 or 503 answering the create is retried, and InvGate holds one request', async () => {
    const clientId = 'demo-all-scopes.retried';
    const connectionId = await linked('invgate', clientId);
    for (const status of [429, 503]) {
      stack.sim.control.addFault({
        vendor: 'invgate',
        match: clientId,
        endpoint: 'POST /api/v1/incident',
        fault: { kind: 'status', status, retryAfterSeconds: 1 },
        times: 1,
      });
    }
    const job = await run(connectionId, { operation: 'create_request', input: onboarding });
    expect(job).toMatchObject({ status: 'succeeded', failure: null });
    expect(stack.sim.control.stats('invgate', clientId).byStatus).toMatchObject({ '429': 1, '503': 1 });
    // Three sends, the first two answered by the faults before the service desk saw them.
    expect(requestsMade(clientId)).toBe(3);
    expect((await requestAtVendor(job.vendorId)).custom_fields).toEqual({
      '10': ['1'],
      '11': ['2026-12-07'],
    });
  });

  test('bad input is a 400 naming the field, before any job starts', async () => {
    const connectionId = await linked('invgate', 'demo-all-scopes.input');
    const cases: [object, string][] = [
      [{ ...onboarding, title: undefined }, 'body.input.title'],
      [{ ...onboarding, customer: { email: 'not-an-email' } }, 'body.input.customer.email'],
      [{ ...onboarding, priority: -1 }, 'body.input.priority'],
      [{ ...onboarding, customFields: { 'Laptop model': [] } }, 'body.input.customFields.Laptop model'],
      [{ ...onboarding, assignee: 'me' }, 'body.input.assignee'],
    ];
    for (const [input, field] of cases) {
      const res = await start(connectionId, { operation: 'create_request', input });
      expect(res.statusCode).toBe(400);
      expect(res.json().issues.map((i: any) => i.field)).toContain(field);
    }
    const wrongVendor = await start(connectionId, { operation: 'create_user', input: { userName: 'x' } });
    expect(wrongVendor.statusCode).toBe(400);
    expect(wrongVendor.json().issues[0]).toMatchObject({
      field: 'body.operation',
      message: 'InvGate Service Management offers create_request',
    });
  });
});

describe('HaloITSM: create_ticket', () => {
  const haloApi = (path: string) => `${stack.instanceUrl('halo')}/api/${path}`;

  /** Tickets as Halo holds them, read with a token of their own. */
  async function haloGet(path: string) {
    const grant = await fetch(`${stack.instanceUrl('halo')}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'demo-all-scopes.observer',
        client_secret: DEMO_SECRET,
        scope: 'read:tickets',
      }),
    });
    const { access_token } = (await grant.json()) as { access_token: string };
    const res = await fetch(haloApi(path), { headers: { authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  }
  const calls = (clientId: string, endpoint: string) =>
    stack.sim.control.stats('halo', clientId).byEndpoint[endpoint] ?? 0;

  const laptop = {
    summary: 'New hire: Ada Lovelace needs a laptop',
    details: 'Starts Monday.',
    ticketTypeId: 3,
    user: { email: 'Ada@example.com' },
    priorityId: 2,
    assets: [{ id: 501 }],
  };

  test('raises the ticket for a user found by email, with its type, priority and assets; the ticket carries the job reference', async () => {
    const connectionId = await linked('halo', 'demo-all-scopes.ticket');
    const job = await run(connectionId, { operation: 'create_ticket', input: laptop });
    expect(job).toMatchObject({ status: 'succeeded', failure: null, operation: 'create_ticket' });
    expect(job.result.detail).toEqual({ ticketTypeId: 3, assets: [501] });
    const ticket = await haloGet(`tickets/${job.vendorId}`);
    expect(ticket).toMatchObject({
      summary: laptop.summary,
      tickettype_id: 3,
      user_id: 10,
      client_id: 12,
      priority_id: 2,
      assets: [{ id: 501 }],
      third_party_id_string: `tether-job-${job.id}`,
    });
    expect(ticket.details).toContain('Starts Monday.');
    expect(ticket.details).toContain(`tether-job-${job.id}`);

    // A user by id: no lookup, and the ticket type's default priority.
    const byId = await run(connectionId, {
      operation: 'create_ticket',
      input: { summary: 'Broken screen', ticketTypeId: 1, user: { id: 11 } },
    });
    expect(byId.status).toBe('succeeded');
    expect(await haloGet(`tickets/${byId.vendorId}`)).toMatchObject({ user_id: 11, priority_id: null });
    expect(calls('demo-all-scopes.ticket', 'GET /api/users')).toBe(1);
  });

  test.each([
    [
      'no user with the email',
      { user: { email: 'nobody@example.com' } },
      'not_found',
      'HaloITSM has no active user with email nobody@example.com',
      0,
    ],
    [
      'an inactive user',
      { user: { email: 'former@example.com' } },
      'not_found',
      'no active user with email former@example.com',
      0,
    ],
    [
      'two users with the email',
      { user: { email: 'pat@example.com' } },
      'invalid_attribute',
      'HaloITSM has 2 users with email pat@example.com (ids 12, 13): give user.id',
      0,
    ],
    // Refused by Halo itself, in its {Message} words.
    [
      'an unknown ticket type',
      { ticketTypeId: 99 },
      'invalid_attribute',
      'refused to raise the ticket (HTTP 400): Ticket type 99 does not exist',
      1,
    ],
    [
      'an unknown asset',
      { assets: [{ id: 999 }] },
      'invalid_attribute',
      'refused to raise the ticket (HTTP 400): Asset 999 does not exist',
      1,
    ],
    ['an unknown user id', { user: { id: 404 } }, 'invalid_attribute', 'User 404 does not exist', 1],
  ])('%s fails the job, naming it', async (_case, change, reason, message, sent) => {
    const clientId = `demo-all-scopes.halo-${String(_case).replace(/\W+/g, '-')}`;
    const connectionId = await linked('halo', clientId);
    const job = await run(connectionId, { operation: 'create_ticket', input: { ...laptop, ...change } });
    expect(job).toMatchObject({ status: 'failed', vendorId: null, failure: { reason } });
    expect(job.failure.message).toContain(message);
    expect(calls(clientId, 'POST /api/tickets')).toBe(sent);
  });

  test('without read:customers a user given by email fails missing_permission, saying what to change; a user by id works', async () => {
    const clientId = 'demo-all-scopes.halo-no-customers';
    const { id: connectionId } = await stack.link(
      demoLink(stack, 'halo', clientId, { scopes: ['read:tickets', 'edit:tickets', 'read:assets'] }),
    );
    await stack.waitForStatus(connectionId, 'active');
    const job = await run(connectionId, { operation: 'create_ticket', input: laptop });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain(
      "create_ticket needs the HaloITSM scope read:customers (read users, to find a ticket's user by email",
    );
    expect(job.failure.message).toContain('add read:customers to its settings.scopes');
    expect(job.failure.message).toContain('Configuration → Integrations → HaloITSM API');
    // Decided from the connection's grant: Halo was not asked.
    expect(calls(clientId, 'GET /api/users')).toBe(0);
    expect(calls(clientId, 'POST /api/tickets')).toBe(0);

    const byId = await run(connectionId, {
      operation: 'create_ticket',
      input: { ...laptop, user: { id: 10 } },
    });
    expect(byId.status).toBe('succeeded');
  });

  test('a permission Halo refuses at the call fails the job missing_permission, in its words', async () => {
    const clientId = 'demo-all-scopes.halo-forbidden';
    const connectionId = await linked('halo', clientId);
    stack.sim.control.addFault({
      vendor: 'halo',
      match: clientId,
      scope: 'api',
      fault: { kind: 'drop_scopes', scopes: ['edit:tickets'] },
    });
    const job = await run(connectionId, { operation: 'create_ticket', input: laptop });
    expect(job).toMatchObject({ status: 'failed', failure: { reason: 'missing_permission' } });
    expect(job.failure.message).toContain(
      'refused to raise the ticket (HTTP 403): This application requires one of the scopes: edit:tickets, all (HaloForbiddenException)',
    );
  });

  test('a 429 {resultCode, errorMessage} with Retry-After or a 503 answering the create is retried, and Halo holds one ticket', async () => {
    const clientId = 'demo-all-scopes.halo-retried';
    const connectionId = await linked('halo', clientId);
    for (const status of [429, 503]) {
      stack.sim.control.addFault({
        vendor: 'halo',
        match: clientId,
        endpoint: 'POST /api/tickets',
        fault: { kind: 'status', status, retryAfterSeconds: 1 },
        times: 1,
      });
    }
    const lookups = calls(clientId, 'GET /api/tickets');
    const job = await run(connectionId, { operation: 'create_ticket', input: laptop });
    expect(job).toMatchObject({ status: 'succeeded', failure: null });
    expect(stack.sim.control.stats('halo', clientId).byStatus).toMatchObject({ '429': 1, '503': 1 });
    expect(calls(clientId, 'POST /api/tickets')).toBe(3);
    // Each retry looked for the ticket an earlier attempt might have raised, and found none.
    expect(calls(clientId, 'GET /api/tickets') - lookups).toBe(2);
    const held = await haloGet(`tickets?third_party_id_string=tether-job-${job.id}`);
    expect(held.tickets.map((t: { id: number }) => String(t.id))).toEqual([job.vendorId]);
  });

  test('bad input is a 400 naming the field, before any job starts', async () => {
    const connectionId = await linked('halo', 'demo-all-scopes.halo-input');
    const cases: [object, string][] = [
      [{ ...laptop, summary: undefined }, 'body.input.summary'],
      [{ ...laptop, ticketTypeId: 'Service Request' }, 'body.input.ticketTypeId'],
      [{ ...laptop, user: { email: 'not-an-email' } }, 'body.input.user.email'],
      [{ ...laptop, assets: [] }, 'body.input.assets'],
      [{ ...laptop, assets: [{ id: -1 }] }, 'body.input.assets.0.id'],
      [{ ...laptop, agent_id: 4 }, 'body.input.agent_id'],
    ];
    for (const [input, field] of cases) {
      const res = await start(connectionId, { operation: 'create_ticket', input });
      expect(res.statusCode).toBe(400);
      expect(res.json().issues.map((i: any) => i.field)).toContain(field);
    }
    const wrongVendor = await start(connectionId, { operation: 'create_user', input: { userName: 'x' } });
    expect(wrongVendor.statusCode).toBe(400);
    expect(wrongVendor.json().issues[0]).toMatchObject({
      field: 'body.operation',
      message: 'HaloITSM offers create_ticket',
    });
  });
});
