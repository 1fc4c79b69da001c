// The lifecycle's commands and timers on the real stack, through the API, with InvGate's simulator.
import pg from 'pg';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const invgate = (clientId: string) => demoLink(stack, 'invgate', clientId);
const post = (url: string) => stack.app.inject({ method: 'POST', url });
const rotate = (id: string, credentials: Record<string, string>) =>
  stack.app.inject({ method: 'PUT', url: `/v1/connections/${id}/credentials`, payload: { credentials } });
const tokenRequests = (clientId: string) => stack.sim.control.stats('invgate', clientId).tokenRequests;
/** The token endpoint answers this client only after `ms`. */
const delayTokens = (clientId: string, ms: number) =>
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    fault: { kind: 'delay', ms },
    scope: 'token',
  });
const eventCount = async (on: Stack, id: string, type: string) =>
  (await on.eventTypes(id)).filter((t) => t === type).length;

test('refreshes a short-lived token before it expires, again and again', async () => {
  const { id } = await stack.link(invgate('demo-ttl-4.refresh'));
  const first = await stack.waitForStatus(id, 'active');
  const firstExpiry = Date.parse(first.tokenExpiresAt);
  // Two more grants must happen, each before the previous token expired.
  const refreshes = await eventually(
    async () => (await stack.events(id)).filter((e: any) => e.type === 'refresh_succeeded'),
    (events) => events.length >= 2,
    { what: 'two refreshes' },
  );
  const current = await stack.getConnection(id);
  expect(tokenRequests('demo-ttl-4.refresh')).toBeGreaterThanOrEqual(3);
  expect(Date.parse(current.tokenExpiresAt)).toBeGreaterThan(firstExpiry);
  expect(current.status).toBe('active');
  // Refreshed ahead of expiry: a refresh event is never later than the token it replaced.
  expect(Date.parse(refreshes[0].createdAt)).toBeLessThan(firstExpiry);
});

test('refresh now grants a new token; refreshes that arrive before its token request join it', async () => {
  const client = 'demo-slow-400.coalesce';
  const { id } = await stack.link(invgate(client));
  await stack.waitForStatus(id, 'active', 20_000);
  const before = tokenRequests(client);
  const answers = await Promise.all([
    post(`/v1/connections/${id}/refresh`),
    post(`/v1/connections/${id}/refresh`),
    post(`/v1/connections/${id}/refresh`),
  ]);
  expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202]);
  // The first starts a token request; one arriving while that request runs queues one more, and any
  // arriving while that one still waits joins it: never more token requests than refreshes not joined.
  const queued = answers.filter((a) => !a.json().coalesced).length;
  expect(queued).toBeLessThan(3);
  await eventually(
    () => eventCount(stack, id, 'refresh_succeeded'),
    (n) => n >= queued,
    {
      what: `${queued} refreshes`,
    },
  );
  expect(tokenRequests(client) - before).toBe(queued);
});

describe('a command is never lost', () => {
  // tokenObtainedAt is taken just before the token request is sent (activities/index.ts).
  const obtainedAt = async (id: string) =>
    (await stack.db.connection.findUniqueOrThrow({ where: { id } })).tokenObtainedAt!.getTime();

  test('a refresh accepted at any moment of a running refresh is followed by a token request that starts after it', async () => {
    const client = 'demo-all-scopes.every-moment';
    const { id } = await stack.link(invgate(client));
    await stack.waitForStatus(id, 'active');
    // The step's token request takes 300 ms at the vendor, and its recording waits 300 ms more on a row
    // lock: a step spends a third of its time after its vendor call, where refreshes were dropped.
    delayTokens(client, 300);
    const lock = new pg.Client({ connectionString: stack.databaseUrl });
    await lock.connect();
    try {
      for (const offsetMs of [0, 100, 200, 300, 350, 400, 450, 500, 550, 600, 700, 900]) {
        await lock.query('BEGIN');
        await lock.query('SELECT id FROM "Connection" WHERE id = $1 FOR NO KEY UPDATE', [id]);
        const requests = tokenRequests(client);
        const released = (async () => {
          await eventually(
            () => tokenRequests(client),
            (n) => n > requests,
            { what: 'a token request' },
          );
          await new Promise((r) => setTimeout(r, 300));
          await lock.query('COMMIT');
        })();
        const firstSentAt = Date.now();
        expect((await post(`/v1/connections/${id}/refresh`)).statusCode).toBe(202);
        await new Promise((r) => setTimeout(r, offsetMs));
        const sentAt = Date.now();
        expect((await post(`/v1/connections/${id}/refresh`)).statusCode).toBe(202);
        await released;
        await eventually(
          () => obtainedAt(id),
          (at) => at > sentAt,
          {
            what: `a token request after the refresh sent ${offsetMs} ms into a running refresh (else it was dropped)`,
            timeoutMs: 10_000,
          },
        );
        expect(await obtainedAt(id)).toBeGreaterThan(firstSentAt);
      }
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
    }
  });

  test('refusals count toward needs_reauth in consecutiveFailures; a dead token shows no expiry', async () => {
    // Refusals far apart, so each one is observed: only the commands below make the connection try again.
    const local = await startStack({
      policy: { rejectionLimit: 3, failureBackoffBaseMs: 600_000, failureBackoffCapMs: 600_000 },
    });
    try {
      const client = 'demo-all-scopes.refusals';
      const { id } = await local.link(demoLink(local, 'invgate', client));
      const linked = await local.waitForStatus(id, 'active');
      expect(linked).toMatchObject({ consecutiveFailures: 0, tokenExpiresAt: expect.any(String) });
      local.sim.control.addFault({
        vendor: 'invgate',
        match: client,
        fault: {
          kind: 'status',
          status: 401,
          body: { error: 'invalid_client', error_description: 'client deleted' },
        },
        scope: 'token',
      });
      const refused = async (count: number) => {
        expect(
          (await local.app.inject({ method: 'POST', url: `/v1/connections/${id}/refresh` })).statusCode,
        ).toBe(202);
        await eventually(
          () => eventCount(local, id, 'credentials_rejected'),
          (n) => n >= count,
          {
            what: `${count} refusals`,
          },
        );
        return local.getConnection(id);
      };
      expect(await refused(1)).toMatchObject({
        status: 'degraded',
        statusReason: 'credentials_rejected',
        consecutiveFailures: 1,
      });
      expect(await refused(2)).toMatchObject({ status: 'degraded', consecutiveFailures: 2 });
      // The limit: a human must act, and the token tether holds is no longer one to use.
      expect(await refused(3)).toMatchObject({
        status: 'needs_reauth',
        consecutiveFailures: 3,
        tokenExpiresAt: null,
      });
    } finally {
      await local.close();
    }
  });
});

test('rotation: rejected credentials leave everything as it was; accepted ones replace the old', async () => {
  const { id } = await stack.link(invgate('demo-all-scopes.rotate'));
  const before = await stack.waitForStatus(id, 'active');
  const oldCredentials = await stack.secrets.readCredentials(id);

  const rejected = await rotate(id, { clientId: 'demo-all-scopes.rotate', clientSecret: 'wrong' });
  expect(rejected.statusCode).toBe(422);
  expect(rejected.json()).toMatchObject({ outcome: 'rejected', reason: 'invalid_credentials' });
  expect(JSON.stringify(rejected.json())).not.toContain('wrong');
  expect(await stack.secrets.readCredentials(id)).toEqual(oldCredentials);
  expect(await stack.secrets.readCandidate(id)).toBeNull();
  const unchanged = await stack.getConnection(id);
  expect(unchanged.status).toBe('active');
  expect(unchanged.tokenExpiresAt).toBe(before.tokenExpiresAt);

  const missing = await rotate(id, { clientId: 'demo-missing-scopes', clientSecret: 'demo-secret' });
  expect(missing.statusCode).toBe(422);
  expect(missing.json().reason).toBe('insufficient_scopes');
  expect(missing.json().missingScopes.map((m: any) => m.scope)).toContain('api.v1.locations:get');
  expect(await stack.secrets.readCredentials(id)).toEqual(oldCredentials);

  const accepted = await rotate(id, { clientId: 'demo-all-scopes.rotated', clientSecret: 'demo-secret' });
  expect(accepted.statusCode).toBe(200);
  expect(accepted.json().outcome).toBe('accepted');
  expect(accepted.json().connection.status).toBe('active');
  expect(await stack.secrets.readCredentials(id)).toEqual({
    clientId: 'demo-all-scopes.rotated',
    clientSecret: 'demo-secret',
  });
  const types = await stack.eventTypes(id);
  expect(types.filter((t: string) => t === 'rotation_rejected')).toHaveLength(2);
  expect(types).toContain('credentials_rotated');
});

test('pause stops refreshing; resume re-verifies at once', async () => {
  const client = 'demo-ttl-3.pause';
  const { id } = await stack.link(invgate(client));
  await stack.waitForStatus(id, 'active');
  const paused = await post(`/v1/connections/${id}/pause`);
  expect(paused.statusCode).toBe(202);
  await stack.waitForStatus(id, 'paused');
  const requestsWhilePaused = tokenRequests(client);
  await new Promise((r) => setTimeout(r, 4_000)); // longer than the token's lifetime
  expect(tokenRequests(client)).toBe(requestsWhilePaused);
  const refreshWhilePaused = await post(`/v1/connections/${id}/refresh`);
  expect(refreshWhilePaused.statusCode).toBe(409);
  expect(refreshWhilePaused.json().message).toMatch(/paused/);

  expect((await post(`/v1/connections/${id}/resume`)).statusCode).toBe(202);
  const resumed = await stack.waitForStatus(id, 'active');
  // The status leaves `paused` only once the re-grant is done and verified.
  expect(tokenRequests(client)).toBeGreaterThan(requestsWhilePaused);
  expect(Date.parse(resumed.tokenExpiresAt)).toBeGreaterThan(Date.now());
  const types = await stack.eventTypes(id);
  expect(types).toEqual(expect.arrayContaining(['paused', 'resumed']));
});

test('revoke wipes the secrets, says the vendor has no revoke API, and ends the workflow', async () => {
  const { id } = await stack.link(invgate('demo-all-scopes.revoke'));
  await stack.waitForStatus(id, 'active');
  const res = await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` });
  expect(res.statusCode).toBe(202);
  const revoked = await stack.waitForStatus(id, 'revoked');
  expect(revoked.vendorRevocation).toBe('unsupported');
  expect(revoked.revokeInstructions).toMatch(/InvGate/);
  expect(await stack.db.connectionSecret.count({ where: { connectionId: id } })).toBe(0);
  const handle = stack.client.workflow.getHandle(revoked.workflowId);
  expect(await handle.result()).toMatchObject({ status: 'revoked', vendorRevocation: 'unsupported' });
  // A revoked connection takes no more commands, and revoking again is a no-op.
  expect((await post(`/v1/connections/${id}/refresh`)).statusCode).toBe(409);
  expect((await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` })).statusCode).toBe(202);
});

test('a token revoked at the vendor leads to needs_reauth after the rejection limit', async () => {
  const { id } = await stack.link(invgate('demo-ttl-2.vendor-revoked'));
  await stack.waitForStatus(id, 'active');
  // The customer deleted the client at the vendor: every grant is refused from now on.
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: 'demo-ttl-2.vendor-revoked',
    fault: {
      kind: 'status',
      status: 401,
      body: { error: 'invalid_client', error_description: 'client deleted' },
    },
    scope: 'token',
  });
  const connection = await stack.waitForStatus(id, 'needs_reauth', 30_000);
  expect(connection.statusReason).toBe('credentials_rejected');
  const types = await stack.eventTypes(id);
  // First rejection degrades (could be a blip), the second (the test policy's limit) asks for a human.
  expect(types.filter((t: string) => t === 'credentials_rejected').length).toBe(2);
});

test('the status query shows the machine to operators', async () => {
  const { id } = await stack.link(invgate('demo-all-scopes.query'));
  const connection = await stack.waitForStatus(id, 'active');
  const view = await stack.client.workflow.getHandle(connection.workflowId).query('status');
  expect(view).toMatchObject({ connectionId: id, vendor: 'invgate', status: 'active', pendingCommands: [] });
});

test('continueAsNew hands the state to a new run; refreshing and commands carry on', async () => {
  const local = await startStack({ policy: { maxStepsPerRun: 2 } });
  try {
    const client = 'demo-ttl-2.can';
    const { id } = await local.link(demoLink(local, 'invgate', client));
    const connection = await local.waitForStatus(id, 'active');
    const handle = local.client.workflow.getHandle(connection.workflowId);
    const firstRun = (await handle.describe()).runId;
    await eventually(
      async () => (await handle.describe()).runId,
      (runId) => runId !== firstRun,
      {
        what: 'a new run',
      },
    );
    await eventually(
      () => eventCount(local, id, 'refresh_succeeded'),
      (n) => n >= 3,
      {
        what: 'three refreshes',
      },
    );
    const view = await handle.query('status');
    expect(view).toMatchObject({ status: 'active', connectionId: id });
    expect((view as any).eventSeq).toBeGreaterThanOrEqual(4);
    // The audit trail has no gaps or duplicates across runs.
    const seqs = (await local.db.auditEvent.findMany({ where: { connectionId: id, actor: 'workflow' } })).map(
      (e) => e.dedupeKey,
    );
    expect(new Set(seqs).size).toBe(seqs.length);
    expect((await local.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` })).statusCode).toBe(202);
    await local.waitForStatus(id, 'revoked');
  } finally {
    await local.close();
  }
});

test('a rotation arriving during a refresh waits its turn: both happen, in order', async () => {
  const oldClient = 'demo-all-scopes.order';
  const newClient = 'demo-all-scopes.order2';
  const { id } = await stack.link(invgate(oldClient));
  await stack.waitForStatus(id, 'active');
  // The refresh's token request takes 1.5 s, so the rotation arrives while it runs.
  delayTokens(oldClient, 1_500);
  const refresh = await post(`/v1/connections/${id}/refresh`);
  expect(refresh.statusCode).toBe(202);
  const rotation = await rotate(id, { clientId: newClient, clientSecret: 'demo-secret' });
  expect(rotation.statusCode).toBe(200);
  const types = await stack.eventTypes(id);
  expect(types.slice(-2)).toEqual(['refresh_succeeded', 'credentials_rotated']);
  expect(tokenRequests(oldClient)).toBe(2); // link + the refresh
  expect(tokenRequests(newClient)).toBe(1); // the rotation's verification
});
