// Faults read right, on the real stack: what a DNS failure, a 404, a token endpoint's 400 or an HTML page
// mean depends on whether the connection ever worked; a link during an outage keeps trying, says so, and
// ends in a state the customer can retry from. Only the vendor's explicit refusal of the credentials counts
// toward needs_reauth.
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  // A webhook endpoint, so each transition's outbox rows show which events customers are sent.
  const res = await stack.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: { url: `${stack.sim.baseUrl}/webhook-receiver` },
  });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => {
  await stack?.close();
});

/** A host that never resolves (RFC 6761 reserves .invalid): what a DNS failure looks like. */
const UNRESOLVABLE = 'https://acme.tether-test.invalid';

const invgate = (s: Stack, clientId: string, instanceUrl = s.instanceUrl('invgate')) => ({
  vendor: 'invgate',
  instanceUrl,
  credentials: { clientId, clientSecret: 'demo-secret' },
});
const events = async (s: Stack, id: string, type: string) =>
  (await s.events(id)).filter((e: any) => e.type === type);
const webhooks = async (s: Stack, id: string) =>
  (await s.db.webhookDelivery.findMany({ where: { connectionId: id }, orderBy: { createdAt: 'asc' } })).map(
    (d) => d.type,
  );

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

describe('during the maintenance of a connection that worked, configuration faults are outages', () => {
  // The test policy's rejection limit is 2: more faults than that would have been needs_reauth.
  const MORE_THAN_THE_LIMIT = 4;

  test('a DNS failure degrades the connection with backoff, never to needs_reauth, and it recovers by itself', async () => {
    const { id } = await stack.link(invgate(stack, 'demo-ttl-2.dns'));
    await stack.waitForStatus(id, 'active');
    const working = (await stack.db.connection.findUniqueOrThrow({ where: { id } })).instanceUrl;
    // The vendor's name stops resolving.
    await stack.db.connection.update({ where: { id }, data: { instanceUrl: UNRESOLVABLE } });
    await waitUntil(
      async () => (await events(stack, id, 'configuration_fault')).length >= MORE_THAN_THE_LIMIT,
      'configuration faults past the rejection limit',
    );
    const degraded = await stack.getConnection(id);
    expect(degraded).toMatchObject({
      status: 'degraded',
      statusReason: 'configuration_fault',
      statusMessage: 'host acme.tether-test.invalid is not a public host: check the instance URL',
      lastError: { reason: 'configuration_fault', message: expect.stringContaining('is not a public host') },
    });
    expect(degraded.consecutiveFailures).toBeGreaterThanOrEqual(MORE_THAN_THE_LIMIT);
    expect(Date.parse(degraded.nextCheckAt)).toBeGreaterThan(Date.parse(degraded.lastCheckedAt));
    expect(degraded.failingSince).not.toBeNull();
    expect((await stack.events(id)).map((e: any) => e.toStatus)).not.toContain('needs_reauth');

    await stack.db.connection.update({ where: { id }, data: { instanceUrl: working } });
    const back = await stack.waitForStatus(id, 'active', 30_000);
    expect(back).toMatchObject({ consecutiveFailures: 0, failingSince: null, lastError: null });
    expect(await webhooks(stack, id)).toEqual([
      'connection.linked',
      'connection.degraded',
      'connection.recovered',
    ]);
  });

  test('a 404 on a health probe is an outage, never a refusal', async () => {
    const token = 'demo-all-scopes.probe-404';
    const { id } = await stack.link({
      vendor: 'promapp',
      instanceUrl: stack.instanceUrl('promapp'),
      credentials: { token },
    });
    await stack.waitForStatus(id, 'active');
    const fault = stack.sim.control.addFault({
      vendor: 'promapp',
      match: token,
      fault: { kind: 'status', status: 404 },
      scope: 'api',
    });
    await waitUntil(
      async () => (await events(stack, id, 'configuration_fault')).length >= 3,
      'configuration faults',
      40_000,
    );
    expect(await stack.getConnection(id)).toMatchObject({
      status: 'degraded',
      statusMessage: expect.stringMatching(/has no \/Users \(404\): check the instance URL/),
    });
    stack.sim.control.removeFault(fault);
    await stack.waitForStatus(id, 'active', 30_000);
    expect((await stack.events(id)).map((e: any) => e.toStatus)).not.toContain('needs_reauth');
  });

  test("a token endpoint's 400 is an outage; its explicit refusal of the client still counts", async () => {
    const client = 'demo-ttl-2.token-400';
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'active');
    const fault = stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: {
        kind: 'status',
        status: 400,
        body: { error: 'invalid_request', error_description: 'bad deploy' },
      },
      scope: 'token',
    });
    await waitUntil(
      async () => (await events(stack, id, 'configuration_fault')).length >= MORE_THAN_THE_LIMIT,
      'configuration faults past the rejection limit',
    );
    expect((await stack.getConnection(id)).status).toBe('degraded');
    stack.sim.control.removeFault(fault);
    await stack.waitForStatus(id, 'active', 30_000);

    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 401, body: { error: 'invalid_client', error_description: 'deleted' } },
      scope: 'token',
    });
    expect(await stack.waitForStatus(id, 'needs_reauth', 30_000)).toMatchObject({
      statusReason: 'credentials_rejected',
    });
  });
});

describe('at link, a configuration that cannot work is invalid_configuration, naming what to fix', () => {
  test('an unknown host', async () => {
    const { id } = await stack.link(invgate(stack, 'demo-all-scopes.unknown-host', UNRESOLVABLE));
    const connection = await stack.waitForStatus(id, 'invalid_configuration');
    expect(connection).toMatchObject({
      statusReason: 'invalid_configuration',
      statusMessage: 'host acme.tether-test.invalid is not a public host: check the instance URL',
      nextCheckAt: null,
    });
    await waitUntil(async () => (await webhooks(stack, id)).length > 0, 'a webhook');
    expect(await webhooks(stack, id)).toEqual(['connection.invalid_configuration']);
  });

  test('a wrong instance URL: a 404 where the token endpoint should be', async () => {
    const { id } = await stack.link(
      invgate(stack, 'demo-all-scopes.wrong-path', `${stack.sim.baseUrl}/not-invgate`),
    );
    const connection = await stack.waitForStatus(id, 'invalid_configuration');
    expect(connection.statusMessage).toMatch(
      /has no token endpoint there \(HTTP 404\): check the instance URL/,
    );
  });

  test('an HTML page answered with HTTP 200 says the URL most likely points at the wrong place', async () => {
    const client = 'demo-all-scopes.sign-in-page';
    stack.sim.control.addFault({ vendor: 'invgate', match: client, fault: { kind: 'html' }, scope: 'token' });
    const { id } = await stack.link(invgate(stack, client));
    const connection = await stack.waitForStatus(id, 'invalid_configuration');
    expect(connection.statusMessage).toMatch(
      /answered the token request with an HTML page \(HTTP 200\), not the vendor's API: the URL most likely points at a website or sign-in page; check the instance URL/,
    );
    // Fixed (here: the page is gone), a refresh links it.
    stack.sim.control.clearFaults('invgate');
    expect(
      (await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/refresh` })).statusCode,
    ).toBe(202);
    await stack.waitForStatus(id, 'active');
    expect((await events(stack, id, 'linked'))[0]).toMatchObject({ fromStatus: 'invalid_configuration' });
  });

  test("NinjaOne's invalid_scope naming a required scope shows it as missing", async () => {
    const client = 'demo-all-scopes.invalid-scope';
    stack.sim.control.addFault({
      vendor: 'ninjaone',
      match: client,
      fault: {
        kind: 'status',
        status: 400,
        body: { error: 'invalid_scope', error_description: 'Invalid scope: monitoring' },
      },
      scope: 'token',
    });
    const { id } = await stack.link({
      vendor: 'ninjaone',
      instanceUrl: stack.instanceUrl('ninjaone'),
      credentials: { clientId: client, clientSecret: 'demo-secret' },
    });
    const connection = await stack.waitForStatus(id, 'insufficient_scopes');
    expect(connection.missingScopes).toEqual([
      { scope: 'monitoring', purpose: 'read organizations, devices and users (and check the connection)' },
    ]);
    stack.sim.control.clearFaults('ninjaone');
  });
});

describe('with short link and escalation limits', () => {
  let local: Stack;
  beforeAll(async () => {
    // Each attempt fails after the activity's own retries (about 7 s): the second one announces the
    // delay, the third passes the deadline.
    local = await startStack({
      policy: { linkDelayedAfterMs: 1, linkDeadlineMs: 10_000, configurationFaultLimitMs: 4_000 },
    });
    await local.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      payload: { url: `${local.sim.baseUrl}/webhook-receiver` },
    });
  });
  afterAll(async () => {
    await local?.close();
  });

  test('a link during a vendor outage keeps trying, says when and why, announces the delay, then fails at its deadline; a refresh starts it again', async () => {
    const client = 'demo-all-scopes.outage';
    const down = local.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 503 },
      scope: 'token',
    });
    const { id } = await local.link(invgate(local, client));
    await waitUntil(async () => (await local.getConnection(id)).consecutiveFailures > 0, 'a failed attempt');
    const trying = await local.getConnection(id);
    expect(trying).toMatchObject({
      status: 'linking',
      statusReason: 'vendor_unavailable',
      lastError: { reason: 'vendor_unavailable', message: expect.stringContaining('HTTP 503') },
    });
    expect(Date.parse(trying.nextCheckAt)).toBeGreaterThan(Date.now() - 1_000);
    expect(trying.failingSince).not.toBeNull();

    const failed = await local.waitForStatus(id, 'link_failed', 45_000);
    expect(failed).toMatchObject({ statusReason: 'vendor_unavailable', nextCheckAt: null });
    expect(failed.statusMessage).toMatch(
      /^the link kept failing for \d+ s and stopped trying: .*HTTP 503.*; refresh the connection to try again$/,
    );
    expect(await events(local, id, 'link_delayed')).toHaveLength(1);
    expect(await webhooks(local, id)).toEqual(['connection.link_delayed', 'connection.link_failed']);
    const attempts = local.sim.control.stats('invgate', client).tokenRequests;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(local.sim.control.stats('invgate', client).tokenRequests).toBe(attempts);

    local.sim.control.removeFault(down);
    expect(
      (await local.app.inject({ method: 'POST', url: `/v1/connections/${id}/refresh` })).statusCode,
    ).toBe(202);
    const linked = await local.waitForStatus(id, 'active');
    expect(linked).toMatchObject({ failingSince: null, lastError: null, consecutiveFailures: 0 });
    expect((await events(local, id, 'linked'))[0]).toMatchObject({
      fromStatus: 'link_failed',
      toStatus: 'active',
    });
  });

  test('configuration faults that persist past their limit become invalid_configuration, saying what to check', async () => {
    const client = 'demo-ttl-2.persisting';
    const { id } = await local.link(invgate(local, client));
    await local.waitForStatus(id, 'active');
    local.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: {
        kind: 'status',
        status: 400,
        body: { error: 'invalid_request', error_description: 'tenant moved' },
      },
      scope: 'token',
    });
    await local.waitForStatus(id, 'degraded');
    const connection = await local.waitForStatus(id, 'invalid_configuration', 30_000);
    expect(connection.statusMessage).toMatch(
      /tenant moved: check the instance URL and settings \(for \d+ s: check that the instance URL and settings still point at your account, then refresh\)$/,
    );
    expect(connection.nextCheckAt).toBeNull();
    expect(await webhooks(local, id)).toEqual([
      'connection.linked',
      'connection.degraded',
      'connection.invalid_configuration',
    ]);
  });
});
