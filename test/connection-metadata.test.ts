// Names, tags and settings of a connection on the real stack: default names per tenant, rename and re-tag
// without a vendor call, filters, and settings changes verified with the vendor like a rotation.
import { createApiKey } from '../platform/api-keys';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const invgate = (clientId: string, extra: Record<string, unknown> = {}) => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId, clientSecret: 'demo-secret' },
  ...extra,
});
const halo = (clientId: string, settings?: Record<string, unknown>) => ({
  vendor: 'halo',
  instanceUrl: stack.instanceUrl('halo'),
  credentials: { clientId, clientSecret: 'demo-secret' },
  ...(settings ? { settings } : {}),
});
const patch = (id: string, payload: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, payload: payload as object, headers });
const list = async (query: string, headers: Record<string, string> = {}) => {
  const res = await stack.app.inject({ method: 'GET', url: `/v1/connections?${query}`, headers });
  expect(res.statusCode).toBe(200);
  return res.json().items.map((c: { id: string }) => c.id) as string[];
};

test('a connection without a name gets "<vendor>-<auth kind>-<n>", numbered per tenant', async () => {
  const first = await stack.link(invgate('demo-all-scopes.name1'));
  const second = await stack.link(invgate('demo-all-scopes.name2'));
  const named = await stack.link(invgate('demo-all-scopes.name3', { name: '  Acme HR  ' }));
  const token = await stack.link({
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: 'demo-all-scopes.name' },
  });
  expect([first.body.name, second.body.name, named.body.name, token.body.name]).toEqual([
    'InvGate-Client Credentials-1',
    'InvGate-Client Credentials-2',
    'Acme HR',
    'Promapp-Bearer Token-1',
  ]);
  // Another tenant counts on its own.
  const other = (await createApiKey(stack.db, { name: 'other', tenantId: 'names-other' })).key;
  const theirs = await stack.link(invgate('demo-all-scopes.name4'), { authorization: `Bearer ${other}` });
  expect(theirs.body.name).toBe('InvGate-Client Credentials-1');
  // A number is never given twice, even once its name was changed.
  expect((await patch(first.id, { name: 'Renamed' })).statusCode).toBe(200);
  expect((await stack.link(invgate('demo-all-scopes.name5'))).body.name).toBe('InvGate-Client Credentials-3');
});

test('rename and re-tag without a relink: no vendor call, one audit event, tags bounded', async () => {
  const clientId = 'demo-all-scopes.retag';
  const { id, body: linked } = await stack.link(
    invgate(clientId, { tags: { endUser: 'jane@acme.example' } }),
  );
  await stack.waitForStatus(id, 'active');
  const calls = stack.sim.control.stats('invgate', clientId);

  const res = await patch(id, {
    name: 'Jane at Acme',
    tags: { endUser: 'jane@acme.example', organisation: 'Acme' },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({
    outcome: 'updated',
    settingsVerified: false,
    connection: {
      name: 'Jane at Acme',
      tags: { endUser: 'jane@acme.example', organisation: 'Acme' },
      status: 'active',
    },
  });
  expect(await stack.getConnection(id)).toMatchObject({
    name: 'Jane at Acme',
    tags: { organisation: 'Acme' },
  });
  expect(stack.sim.control.stats('invgate', clientId)).toEqual(calls);
  const updated = (await stack.events(id)).filter((e: { type: string }) => e.type === 'connection_updated');
  expect(updated).toEqual([
    expect.objectContaining({
      actor: { kind: 'api', keyId: expect.any(String), label: 'tests' },
      detail: {
        name: { from: linked.name, to: 'Jane at Acme' },
        tags: { endUser: 'jane@acme.example', organisation: 'Acme' },
      },
    }),
  ]);
  // The same values again change nothing and record nothing.
  expect((await patch(id, { name: 'Jane at Acme' })).statusCode).toBe(200);
  expect(
    (await stack.events(id)).filter((e: { type: string }) => e.type === 'connection_updated'),
  ).toHaveLength(1);

  const bad: [unknown, string][] = [
    [{}, 'body'],
    [{ name: '' }, 'body.name'],
    [{ tags: { 'has space': 'x' } }, 'body.tags.has space'],
    [{ tags: { endUser: 'x'.repeat(257) } }, 'body.tags.endUser'],
    [{ tags: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, 'body.tags'],
    [{ tags: { endUser: 5 } }, 'body.tags.endUser'],
    [{ instanceUrl: 'https://elsewhere.example.com' }, 'body.instanceUrl'],
  ];
  for (const [payload, field] of bad) {
    const refused = await patch(id, payload);
    expect({ payload, status: refused.statusCode }).toEqual({ payload, status: 400 });
    expect(refused.json().issues.map((i: { field: string }) => i.field)).toContain(field);
  }
  expect(await stack.getConnection(id)).toMatchObject({ name: 'Jane at Acme' });
});

test('the list filters by exact name, by name prefix (any case) and by tags (all must match)', async () => {
  const a = await stack.link(
    invgate('demo-all-scopes.f1', { name: 'Filter Alpha', tags: { org: 'Acme', tier: 'gold' } }),
  );
  const b = await stack.link(invgate('demo-all-scopes.f2', { name: 'Filter Beta', tags: { org: 'Acme' } }));
  const c = await stack.link(
    invgate('demo-all-scopes.f3', { name: 'filter alpha 2', tags: { org: 'Globex' } }),
  );
  expect(await list('name=Filter%20Alpha')).toEqual([a.id]);
  expect(await list('name=filter')).toEqual([]);
  expect(await list('namePrefix=FILTER%20a')).toEqual([c.id, a.id]);
  expect(await list('tag=org:Acme')).toEqual([b.id, a.id]);
  expect(await list('tag=org:Acme&tag=tier:gold')).toEqual([a.id]);
  expect(await list('tag=org:Acme&namePrefix=filter%20b')).toEqual([b.id]);
  // A value may hold colons: the key ends at the first one.
  const d = await stack.link(invgate('demo-all-scopes.f4', { tags: { url: 'https://acme.example' } }));
  expect(await list('tag=url:https://acme.example')).toEqual([d.id]);
  // Other tenants' connections never match.
  const other = (await createApiKey(stack.db, { name: 'filters-other', tenantId: 'filters-other' })).key;
  expect(await list('tag=org:Acme', { authorization: `Bearer ${other}` })).toEqual([]);

  for (const query of ['tag=org', 'tag=:Acme', 'tag=bad%20key:x', 'name=', 'namePrefix=%20']) {
    const res = await stack.app.inject({ method: 'GET', url: `/v1/connections?${query}` });
    expect({ query, status: res.statusCode }).toEqual({ query, status: 400 });
    expect(res.json().issues[0].field).toMatch(/^querystring\.(tag|name)/);
  }
});

describe('settings without a relink, verified like a rotation', () => {
  test('leaving out an optional scope is verified with the vendor, then taken', async () => {
    const clientId = 'demo-all-scopes.settings';
    const { id } = await stack.link(halo(clientId));
    await stack.waitForStatus(id, 'active');
    const tokenRequests = stack.sim.control.stats('halo', clientId).tokenRequests;

    const res = await patch(id, {
      settings: { scopes: ['read:tickets', 'edit:tickets'] },
      tags: { org: 'Acme' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: 'updated',
      settingsVerified: true,
      connection: {
        status: 'active',
        settings: { clientAuth: 'body', scopes: ['read:tickets', 'edit:tickets'] },
        tags: { org: 'Acme' },
      },
    });
    // The vendor was asked, with the new scopes.
    expect(stack.sim.control.stats('halo', clientId).tokenRequests).toBeGreaterThan(tokenRequests);
    expect((await stack.events(id)).map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['credentials_rotated', 'connection_updated']),
    );
    // The same settings again: nothing to verify.
    const again = await patch(id, { settings: { scopes: ['read:tickets', 'edit:tickets'] } });
    expect(again.json()).toMatchObject({ outcome: 'updated', settingsVerified: false });
  });

  test('a required scope the vendor withholds is refused with 422 naming it; nothing changes', async () => {
    const clientId = 'demo-all-scopes.withheld';
    const { id } = await stack.link(halo(clientId, { scopes: ['read:tickets', 'edit:tickets'] }));
    await stack.waitForStatus(id, 'active');
    const before = await stack.getConnection(id);
    // From now on the vendor no longer grants read:tickets to this client.
    const withheld = stack.sim.control.addFault({
      vendor: 'halo',
      match: clientId,
      fault: { kind: 'drop_scopes', scopes: ['read:tickets'] },
      scope: 'all',
    });

    const res = await patch(id, { name: 'With assets', settings: { scopes: null } });
    stack.sim.control.removeFault(withheld);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      outcome: 'rejected',
      settingsVerified: false,
      reason: 'insufficient_scopes',
      missingScopes: [{ scope: 'read:tickets', purpose: expect.stringContaining('tickets') }],
      connection: { status: 'active', name: before.name, settings: before.settings },
    });
    expect(await stack.getConnection(id)).toMatchObject({
      status: 'active',
      name: before.name,
      settings: before.settings,
    });
    expect((await stack.events(id)).map((e: { type: string }) => e.type)).toContain('rotation_rejected');
  });

  test('an optional scope the vendor withholds is accepted, listed with the feature it disables', async () => {
    // Halo's demo-missing-scopes client is not granted read:assets.
    const { id } = await stack.link(
      halo('demo-missing-scopes', { scopes: ['read:tickets', 'edit:tickets'] }),
    );
    await stack.waitForStatus(id, 'active');
    const res = await patch(id, { settings: { scopes: null } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      settingsVerified: true,
      connection: {
        status: 'active',
        missingOptionalScopes: [{ scope: 'read:assets', purpose: expect.stringContaining('assets') }],
      },
    });
  });

  test('invalid settings are a 400 naming the field, before any vendor call', async () => {
    const clientId = 'demo-all-scopes.bad-settings';
    const { id } = await stack.link(halo(clientId));
    await stack.waitForStatus(id, 'active');
    const calls = stack.sim.control.stats('halo', clientId);
    const cases: [unknown, string][] = [
      [{ scopes: ['read:tickets'] }, 'body.settings.scopes'],
      [{ scopes: ['write:everything'] }, 'body.settings.scopes.0'],
      [{ clientAuth: 'header' }, 'body.settings.clientAuth'],
      [{ extra: true }, 'body.settings.extra'],
    ];
    for (const [settings, field] of cases) {
      const res = await patch(id, { settings });
      expect({ settings, status: res.statusCode }).toEqual({ settings, status: 400 });
      expect(res.json().issues.map((i: { field: string }) => i.field)).toContain(field);
    }
    expect(stack.sim.control.stats('halo', clientId)).toEqual(calls);
  });

  test("Promapp's token expiry date is a setting: changing it keeps the token and moves the expiry", async () => {
    const { id } = await stack.link({
      vendor: 'promapp',
      instanceUrl: stack.instanceUrl('promapp'),
      credentials: { token: 'demo-all-scopes.expiry-setting' },
    });
    await stack.waitForStatus(id, 'active');
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const res = await patch(id, { settings: { tokenExpiresAt: soon } });
    expect(res.statusCode).toBe(200);
    expect(res.json().settingsVerified).toBe(true);
    const connection = await stack.waitForStatus(id, 'expiring');
    expect(connection.credentialExpiresAt).toBe(soon);
    expect(connection.settings).toEqual({ tokenExpiresAt: soon });
  });

  test('a revoked connection takes a new name but no settings', async () => {
    const { id } = await stack.link(halo('demo-all-scopes.revoked-settings'));
    await stack.waitForStatus(id, 'active');
    await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` });
    await stack.waitForStatus(id, 'revoked');
    expect((await patch(id, { settings: { clientAuth: 'basic' } })).statusCode).toBe(409);
    expect((await patch(id, { name: 'Old Halo' })).json().connection.name).toBe('Old Halo');
  });
});
