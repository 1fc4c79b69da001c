// What every vendor in the catalog must do on the real stack, each against its simulator: link, name a
// missing permission, refuse bad credentials, keep its token alive, revoke, and wait out throttling.
// What only one vendor does lives in its own file (test/<vendor>.test.ts); what the contract needs
// to know about each vendor is in test/support/vendor-fixtures.ts.
import { vendors, type VendorDefinition } from '../catalog';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { linkRequest, VENDOR_FIXTURES, type VendorFixture } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

test('every catalog vendor has a fixture, and only those', () => {
  expect(Object.keys(VENDOR_FIXTURES).sort()).toEqual(vendors.map((v) => v.id).sort());
});

const table = vendors.map((vendor) => [vendor.id, vendor, VENDOR_FIXTURES[vendor.id]!] as const);

describe.each(table)('%s', (id, vendor: VendorDefinition, fixture: VendorFixture) => {
  const scopes = vendor.scopes.map((s) => s.scope);
  const named = (scope: string) => ({
    scope,
    purpose: vendor.scopes.find((s) => s.scope === scope)!.purpose,
  });
  /** Who the simulator sees calling: the client id, or the static token itself. */
  const caller = (credentials: Record<string, string>) => (credentials.clientId ?? credentials.token)!;
  const calls = (credentials: Record<string, string>) =>
    stack.sim.control.stats(fixture.simulator, caller(credentials));

  /** POST /v1/connections (202, linking), then the vendor's install round trip if it has one. */
  async function link(credentials: Record<string, string>) {
    const res = await stack.link(linkRequest(stack, id, credentials));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('linking');
    await fixture.install?.(stack, res.id);
    return res;
  }

  test('links: active with every permission granted, and no credential shown', async () => {
    const credentials = fixture.credentials('demo-all-scopes.contract-link');
    const res = await link(credentials);
    const connection = await stack.waitForStatus(res.id, 'active');
    expect([...connection.grantedScopes].sort()).toEqual([...scopes].sort());
    expect(connection.missingScopes).toEqual([]);
    if (fixture.probe) expect(connection.tokenExpiresAt).toBeNull();
    else expect(Date.parse(connection.tokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(await stack.eventTypes(res.id)).toEqual([
      'link_requested',
      ...(fixture.install ? ['install_started'] : []),
      'linked',
    ]);
    const shown = JSON.stringify([res.body, connection, await stack.events(res.id)]);
    for (const value of Object.values(credentials)) expect(shown).not.toContain(value);
  });

  test(`a missing permission is named with its purpose (${fixture.missingScopes.join(', ')})`, async () => {
    const res = await link(fixture.credentials('demo-missing-scopes.contract-missing'));
    // An optional permission never blocks: the connection works, listing it with the feature it disables.
    const optional = fixture.missingScopes.every((m) => vendor.scopes.find((s) => s.scope === m)?.optional);
    const connection = await stack.waitForStatus(res.id, optional ? 'active' : 'insufficient_scopes');
    expect(optional ? connection.missingOptionalScopes : connection.missingScopes).toEqual(
      fixture.missingScopes.map(named),
    );
    expect([...connection.grantedScopes].sort()).toEqual(
      scopes.filter((s) => !fixture.missingScopes.includes(s)).sort(),
    );
  });

  test("refused credentials are invalid_credentials after one attempt, in the vendor's words, never shown", async () => {
    const credentials = fixture.refused.credentials('contract-refused');
    const res = await link(credentials);
    const connection = await stack.waitForStatus(res.id, 'invalid_credentials');
    expect(connection.statusMessage).toMatch(fixture.refused.message);
    // A refusal is final: the vendor is not asked again.
    const stats = calls(credentials);
    expect(vendor.auth.kind === 'static_bearer' ? stats.apiRequests : stats.tokenRequests).toBe(1);
    const shown = JSON.stringify([res.body, connection, await stack.events(res.id)]);
    for (const value of Object.values(credentials)) expect(shown).not.toContain(value);
  });

  const { renewal, probe } = fixture;
  if (renewal) {
    test(`renews a short-lived token before it expires (${renewal.scenario})`, async () => {
      const credentials = fixture.credentials(`${renewal.scenario}.contract-refresh`);
      const res = await link(credentials);
      const first = await stack.waitForStatus(res.id, 'active');
      const firstExpiry = Date.parse(first.tokenExpiresAt);
      const renewed = await eventually(
        () => stack.getConnection(res.id),
        (c) => Date.parse(c.tokenExpiresAt) > firstExpiry,
        { what: 'a renewed token', timeoutMs: firstExpiry + 5_000 - Date.now() },
      );
      expect(renewed.status).toBe('active');
      const refreshed = (await stack.events(res.id)).find(
        (e: { type: string }) => e.type === 'refresh_succeeded',
      );
      expect(Date.parse(refreshed.createdAt)).toBeLessThan(firstExpiry);
      expect(calls(credentials).tokenRequests).toBeGreaterThanOrEqual(2);
    });
  }
  if (probe) {
    test('a token that never expires is probed periodically, and its revocation at the vendor noticed', async () => {
      const credentials = fixture.credentials('demo-all-scopes.contract-probe');
      const res = await link(credentials);
      const linked = await stack.waitForStatus(res.id, 'active');
      expect(linked.tokenExpiresAt).toBeNull();
      const afterLink = calls(credentials).apiRequests;
      // The test policy probes every 3 s (production: 6 h).
      await eventually(
        () => stack.eventTypes(res.id),
        (types) => types.includes('probe_succeeded'),
        { what: 'a health probe' },
      );
      expect(calls(credentials).apiRequests).toBeGreaterThan(afterLink);

      stack.sim.control.revokeAll(fixture.simulator, caller(credentials));
      const connection = await stack.waitForStatus(res.id, 'needs_reauth');
      expect(connection.statusReason).toBe('credentials_rejected');
      expect(connection.statusMessage).toMatch(probe.revoked);
    });
  }

  const revocation = vendor.revoke.supported ? 'revoked at the vendor' : 'not revocable at the vendor';
  test(`revoke wipes the secrets; the token is ${revocation}, as the catalog says`, async () => {
    // The fixture's revocation check exists exactly for the vendors the catalog says revoke.
    expect(Boolean(fixture.revocation)).toBe(vendor.revoke.supported);
    const credentials = fixture.credentials('demo-all-scopes.contract-revoke');
    const res = await link(credentials);
    await stack.waitForStatus(res.id, 'active');
    // The token the connection uses: the one it was issued, or the one pasted.
    const token = (await stack.secrets.readAccessToken(res.id)) ?? credentials.token!;
    if (fixture.revocation) expect(await fixture.revocation.tokenWorks(stack, token)).toBe(true);

    const revoke = await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${res.id}` });
    expect(revoke.statusCode).toBe(202);
    const connection = await stack.waitForStatus(res.id, 'revoked');
    expect(await stack.db.connectionSecret.count({ where: { connectionId: res.id } })).toBe(0);
    if (vendor.revoke.supported) {
      expect(connection.vendorRevocation).toBe('revoked');
      expect(connection.revokeInstructions).toBeNull();
      expect(calls(credentials).byEndpoint[fixture.revocation!.endpoint]).toBe(1);
      expect(await fixture.revocation!.tokenWorks(stack, token)).toBe(false);
    } else {
      expect(connection.vendorRevocation).toBe('unsupported');
      expect(connection.revokeInstructions).toBe(vendor.revoke.instructions);
    }
  });

  test('waits out a 429 with Retry-After and links', async () => {
    const credentials = fixture.credentials('demo-rate-limited.contract-429');
    const res = await link(credentials);
    await stack.waitForStatus(res.id, 'active');
    expect(calls(credentials).byStatus['429']).toBe(2);
  });
});
