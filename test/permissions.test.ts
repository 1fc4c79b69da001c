// Permissions on the real stack: a missing optional permission never blocks (the connection stays active
// and lists what is missing and which feature that disables); required ones are checked again on every
// refresh, so one removed at the vendor is noticed, and one granted later is noticed without a relink.
// The connect page's "check again" is answered by its own check.
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
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

const link = (vendor: 'halo' | 'ninjaone', clientId: string) =>
  stack.link({
    vendor,
    instanceUrl: stack.instanceUrl(vendor),
    credentials: { clientId, clientSecret: 'demo-secret' },
  });
const webhooks = async (id: string) =>
  (
    await stack.db.webhookDelivery.findMany({ where: { connectionId: id }, orderBy: { createdAt: 'asc' } })
  ).map((d) => d.type);

const ASSETS = { scope: 'read:assets', purpose: "read assets, to attach a user's devices to their requests" };
const CONTROL = { scope: 'control', purpose: 'remote access to devices' };

test('Halo without read:assets is active, listing it with the feature it disables', async () => {
  const { id } = await link('halo', 'demo-missing-scopes.optional');
  const connection = await stack.waitForStatus(id, ['active', 'insufficient_scopes']);
  expect(connection).toMatchObject({
    status: 'active',
    missingScopes: [],
    missingOptionalScopes: [ASSETS],
    grantedScopes: ['edit:tickets', 'read:customers', 'read:tickets'],
  });
});

test('NinjaOne without control is active, listing it', async () => {
  const { id } = await link('ninjaone', 'demo-missing-scopes.optional');
  const connection = await stack.waitForStatus(id, ['active', 'insufficient_scopes']);
  expect(connection).toMatchObject({ status: 'active', missingScopes: [], missingOptionalScopes: [CONTROL] });
});

test('NinjaOne refusing the grant over an optional scope (invalid_scope naming it) is asked again without it', async () => {
  const client = 'demo-all-scopes.refuses-control';
  stack.sim.control.addFault({
    vendor: 'ninjaone',
    match: client,
    fault: {
      kind: 'status',
      status: 400,
      body: { error: 'invalid_scope', error_description: 'Invalid scope: control' },
    },
    scope: 'token',
    times: 1,
  });
  const { id } = await link('ninjaone', client);
  const connection = await stack.waitForStatus(id, [
    'active',
    'insufficient_scopes',
    'invalid_configuration',
  ]);
  expect(connection).toMatchObject({ status: 'active', missingOptionalScopes: [CONTROL] });
  expect(connection.grantedScopes).toEqual(['management', 'monitoring']);
  expect(stack.sim.control.stats('ninjaone', client).tokenRequests).toBe(2);
});

test('a required scope removed at the vendor is noticed at the next refresh; granted again, without a command', async () => {
  const client = 'demo-ttl-2.scope-removed';
  const { id } = await link('halo', client);
  await stack.waitForStatus(id, 'active');
  const removed = stack.sim.control.addFault({
    vendor: 'halo',
    match: client,
    fault: { kind: 'drop_scopes', scopes: ['read:tickets'] },
    scope: 'token',
  });
  const lacking = await stack.waitForStatus(id, 'insufficient_scopes', 20_000);
  expect(lacking.missingScopes).toEqual([
    { scope: 'read:tickets', purpose: 'read tickets, to find requests already raised for a user' },
  ]);
  // It keeps checking, with backoff, so the grant below needs no refresh, rotation or relink.
  expect(lacking.nextCheckAt).not.toBeNull();
  stack.sim.control.removeFault(removed);
  const back = await stack.waitForStatus(id, 'active', 20_000);
  expect(back).toMatchObject({ missingScopes: [], consecutiveFailures: 0 });
  expect(await webhooks(id)).toEqual([
    'connection.linked',
    'connection.insufficient_scopes',
    'connection.recovered',
  ]);
});

test('checked again on the connect page while a recheck is under way: answered by its own check, not by the recheck begun before the grant', async () => {
  const clientId = 'demo-all-scopes.check-again-during-recheck';
  const lacking = stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    scope: 'token',
    fault: { kind: 'drop_scopes', scopes: ['api.v1.locations:get'] },
  });
  const created = await stack.app.inject({
    method: 'POST',
    url: '/v1/connect-sessions',
    payload: { vendors: ['invgate'] },
  });
  expect(created.statusCode).toBe(201);
  const { token } = created.json();
  // The page's own calls, with its session token.
  const page = (method: 'GET' | 'POST', path: string, payload: object = {}) =>
    stack.rawApp.inject({
      method,
      url: `/connect/api${path}`,
      headers: { authorization: `Bearer ${token}` },
      ...(method === 'POST' ? { payload } : {}),
    });
  const outcome = async () => (await page('GET', '/session')).json().progress.outcome as string;
  const submitted = await page('POST', '/attempts', {
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId, clientSecret: 'demo-secret' },
  });
  expect(submitted.statusCode).toBe(200);
  await eventually(outcome, (o) => o === 'insufficient_scopes', { what: 'the missing permission shown' });

  // tether checks again by itself (with backoff); hold that recheck's token at the vendor, then grant the
  // permission and check again while the recheck, begun before the grant, is still under way.
  const held = stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    scope: 'token',
    fault: { kind: 'delay_answer', ms: 1_500 },
    times: 1,
  });
  await eventually(
    () => stack.sim.control.listFaults().some((f) => f.id === held),
    (pending) => !pending,
    { what: "the recheck's token request at the vendor" },
  );
  stack.sim.control.removeFault(lacking);
  const checked = await page('POST', '/check-again');
  expect(checked.statusCode).toBe(200);

  // Polled as the page does, only faster: "checking" until the answer, and the answer is the grant.
  const seen = [checked.json().progress.outcome as string];
  while (seen.at(-1) === 'checking' && seen.length < 200) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen.push(await outcome());
  }
  expect([...new Set(seen)]).toEqual(['checking', 'active']);
  const connectionId = (await page('GET', '/session')).json().connection.id;
  // The recheck's older answer is on record too, before the check's.
  expect((await stack.eventTypes(connectionId)).slice(-2)).toEqual(['scopes_missing', 'recovered']);
});
