// Permissions on the real stack: a missing optional permission never blocks (the connection stays active
// and lists what is missing and which feature that disables); required ones are checked again on every
// refresh, so one removed at the vendor is noticed, and one granted later is noticed without a relink.
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
    grantedScopes: ['edit:tickets', 'read:tickets'],
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
