// Slack's quirks on the real stack: pasted user tokens (Web API errors in HTTP 200 answers, 429 with
// Retry-After), the OAuth install (start → consent page → callback) with its single-use state, and
// rotating tokens with single-use refresh tokens. What both Slack connectors share with every vendor
// (link, missing admin scope, refused credentials, renewal or probing, revoke) is in
// test/vendor-contract.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { eventually } from './support/eventually';
import {
  browserCallback,
  callback,
  consent,
  install,
  installOn,
  slackWebApi,
  startInstall,
} from './support/slack';
import { startStack, TEST_PUBLIC_URL, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const linkToken = (token: string) => stack.link({ vendor: 'slack', credentials: { token } });
const linkApp = (clientId: string) =>
  stack.link({ vendor: 'slack-grid', credentials: { clientId, clientSecret: 'demo-secret' } });
const webApi = (method: string, form: Record<string, string>, token?: string) =>
  slackWebApi(stack, method, form, token);
const GRID_ORG = { id: 'E0SIMULATOR', name: 'Simulated Grid Org' };

/** Everything a refused callback must leave as it was. */
async function snapshot(id: string) {
  const connection = await stack.getConnection(id);
  const secrets = await stack.db.connectionSecret.findMany({
    where: { connectionId: id },
    orderBy: { kind: 'asc' },
  });
  return {
    connection: { ...connection, updatedAt: undefined },
    events: (await stack.events(id)).length,
    secrets: secrets.map((s) => [s.kind, s.updatedAt.toISOString()]),
  };
}

describe('pasted user token (slack)', () => {
  test("links at Slack's fixed address once auth.test and SCIM prove the admin scope", async () => {
    const token = 'xoxp-demo-all-scopes.link';
    const res = await linkToken(token);
    expect(res.body.instanceUrl).toBe('https://slack.com');
    await stack.waitForStatus(res.id, 'active');
    expect(Object.keys(stack.sim.control.stats('slack', token).byEndpoint).sort()).toEqual([
      'GET /scim/v2/ServiceProviderConfig',
      'GET /scim/v2/Users',
      'POST /api/auth.test',
    ]);
  });

  test('a revoked token ({ok:false} in HTTP 200) is invalid_credentials at link, saying so', async () => {
    const revoked = await linkToken('xoxp-demo-revoked');
    expect((await stack.waitForStatus(revoked.id, 'invalid_credentials')).statusMessage).toMatch(
      /token_revoked/,
    );
  });

  test('a bot token is refused before anything is stored', async () => {
    const res = await linkToken('xoxb-123-456');
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { field: string }) => i.field)).toContain('body.credentials.token');
  });

  // A short Retry-After is waited out (test/vendor-contract.test.ts).
  test('429 with a long Retry-After becomes the workflow timer', async () => {
    const long = 'xoxp-demo-all-scopes.ratelimited-long';
    stack.sim.control.addFault({
      vendor: 'slack',
      match: long,
      scope: 'api',
      times: 1,
      fault: { kind: 'status', status: 429, retryAfterSeconds: 120 },
    });
    const started = Date.now();
    const { id } = await linkToken(long);
    const waiting = await eventually(
      () => stack.getConnection(id),
      (c) => c.statusReason === 'vendor_unavailable',
      { what: 'waiting for Slack' },
    );
    expect(waiting.status).toBe('linking');
    expect(waiting.statusMessage).toMatch(/429, retry after 120 s/);
    expect(Date.parse(waiting.nextCheckAt)).toBeGreaterThanOrEqual(started + 115_000);
  });
});

describe('OAuth install (slack-grid)', () => {
  test('start → consent page → callback → active, with the code never leaving the encrypted store', async () => {
    const { id } = await linkApp('demo-all-scopes.install');
    // Waits for the install: no timer, and no command but install or revoke.
    const refresh = await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/refresh` });
    expect(refresh.statusCode).toBe(409);
    expect(refresh.json().message).toMatch(/waits for its OAuth install/);

    const started = await startInstall(stack, id);
    const authorize = new URL(started.authorizeUrl);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${stack.sim.baseUrl}/slack/oauth/v2/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toEqual({
      client_id: 'demo-all-scopes.install',
      user_scope: 'admin',
      redirect_uri: `${TEST_PUBLIC_URL}/v1/oauth/callback`,
      state: expect.stringMatching(/^[\w-]{43}$/),
    });
    const state = authorize.searchParams.get('state')!;
    const stored = await stack.db.oAuthState.findMany({ where: { connectionId: id } });
    expect(stored).toHaveLength(1);
    expect(stored[0]!.stateHash).toBe(createHash('sha256').update(state).digest('hex'));
    expect(stored[0]!.expiresAt.getTime() - Date.now()).toBeGreaterThan(9 * 60_000);

    const back = await consent(started.authorizeUrl);
    const code = back.searchParams.get('code')!;
    const res = await callback(stack, back.search);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ connectionId: id, outcome: 'authorized' });

    const connection = await stack.waitForStatus(id, 'active');
    const kinds = (await stack.db.connectionSecret.findMany({ where: { connectionId: id } }))
      .map((s) => s.kind)
      .sort();
    expect(kinds).toEqual(['access_token', 'credentials']);
    const token = (await stack.secrets.readAccessToken(id))!;
    const seen = JSON.stringify([res.json(), connection, await stack.events(id)]);
    for (const secret of [code, state, token, 'demo-secret']) expect(seen).not.toContain(secret);
  });

  test('a forged, an expired and a reused state are refused with 400 and change nothing', async () => {
    const { id } = await linkApp('demo-all-scopes.state');
    // Each install supersedes the earlier ones' links, so the expired one is refused before the next starts.
    const expiring = await consent((await startInstall(stack, id)).authorizeUrl);
    const expiredHash = createHash('sha256').update(expiring.searchParams.get('state')!).digest('hex');
    await stack.db.oAuthState.update({
      where: { stateHash: expiredHash },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const beforeExpired = await snapshot(id);
    const expiredRes = await callback(stack, expiring.search);
    expect(expiredRes.statusCode).toBe(400);
    expect(expiredRes.json().error).toBe('state_expired');
    expect(await snapshot(id)).toEqual(beforeExpired);

    const good = await consent((await startInstall(stack, id)).authorizeUrl);
    const before = await snapshot(id);
    const forged = new URLSearchParams(good.search);
    forged.set('state', randomBytes(32).toString('base64url'));
    const forgedRes = await callback(stack, `?${forged}`);
    expect(forgedRes.statusCode).toBe(400);
    expect(forgedRes.json().error).toBe('invalid_state');
    expect(await snapshot(id)).toEqual(before);

    expect((await callback(stack, good.search)).statusCode).toBe(202);
    await stack.waitForStatus(id, 'active');
    const after = await snapshot(id);
    const reused = await callback(stack, good.search);
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error).toBe('state_used');
    await new Promise((r) => setTimeout(r, 500));
    expect(await snapshot(id)).toEqual(after);
  });

  test('a new install invalidates the earlier ones: the older link is refused, saying why; the newest works', async () => {
    const { id } = await linkApp('demo-all-scopes.superseded');
    const older = await consent((await startInstall(stack, id)).authorizeUrl);
    const newer = await consent((await startInstall(stack, id)).authorizeUrl);
    const before = await snapshot(id);

    const refused = await callback(stack, older.search);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      error: 'state_superseded',
      message: expect.stringMatching(/newer install .* was started after this one.*newest link/),
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await snapshot(id)).toEqual(before);
    expect(await stack.secrets.readAccessToken(id)).toBeNull();

    expect((await callback(stack, newer.search)).statusCode).toBe(202);
    await stack.waitForStatus(id, 'active');
    // Still refused once the newer one is used.
    expect((await callback(stack, older.search)).json().error).toBe('state_superseded');
  });

  test('access_denied at the consent page: the connection keeps waiting, saying why', async () => {
    const { id } = await linkApp('demo-access-denied');
    const { back, res } = await install(stack, id);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'denied', status: 'linking' });
    const connection = await eventually(
      () => stack.getConnection(id),
      (c) => c.statusReason === 'install_denied',
      { what: 'the install denied' },
    );
    expect(connection.status).toBe('linking');
    expect(connection.statusMessage).toMatch(/access_denied/);
    expect(await stack.eventTypes(id)).toEqual(['link_requested', 'install_started', 'install_denied']);
    expect(await stack.secrets.readAccessToken(id)).toBeNull();
    // It can still be installed.
    expect(
      (await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/install` })).statusCode,
    ).toBe(201);
  });

  // Renewal ahead of expiry itself: test/vendor-contract.test.ts.
  test('rotating tokens: each refresh token is stored, replaced and single-use', async () => {
    const clientId = 'demo-rotating-3.rotate';
    const { id } = await linkApp(clientId);
    await install(stack, id);
    const linked = await stack.waitForStatus(id, 'active');
    expect(Date.parse(linked.tokenExpiresAt) - Date.now()).toBeLessThanOrEqual(3_000);

    // Watch the stored refresh token while two renewals happen.
    const refreshTokens = [(await stack.secrets.readRefreshToken(id))!];
    await eventually(
      async () => {
        const current = (await stack.secrets.readRefreshToken(id))!;
        if (current !== refreshTokens.at(-1)) refreshTokens.push(current);
        return (await stack.eventTypes(id)).filter((t) => t === 'refresh_succeeded').length;
      },
      (renewals) => renewals >= 2,
      { what: 'two renewals' },
    );
    expect(new Set(refreshTokens).size).toBe(refreshTokens.length);
    expect(refreshTokens.length).toBeGreaterThanOrEqual(3);
    const connection = await stack.getConnection(id);
    expect(connection.status).toBe('active');
    expect(Date.parse(connection.tokenExpiresAt)).toBeGreaterThan(Date.parse(linked.tokenExpiresAt));
    expect(stack.sim.control.stats('slack', clientId).tokenRequests).toBeGreaterThanOrEqual(3);
    // The first refresh token was spent by the first renewal: Slack refuses it now.
    const reuse = await webApi('oauth.v2.access', {
      client_id: clientId,
      client_secret: 'demo-secret',
      grant_type: 'refresh_token',
      refresh_token: refreshTokens[0]!,
    });
    expect(reuse).toEqual({ ok: false, error: 'invalid_refresh_token' });
  });

  test('a refused refresh token needs a new install at once; installing again recovers', async () => {
    const clientId = 'demo-rotating-3.reauth';
    const { id } = await linkApp(clientId);
    await install(stack, id);
    await stack.waitForStatus(id, 'active');
    // The install was revoked in Slack: its refresh token dies with it.
    stack.sim.control.revokeAll('slack', clientId);
    const connection = await stack.waitForStatus(id, 'needs_reauth');
    expect(connection.statusMessage).toMatch(/invalid_refresh_token/);
    expect(
      (await stack.events(id)).filter((e: { type: string }) => e.type === 'credentials_rejected'),
    ).toHaveLength(1);

    expect((await install(stack, id)).res.statusCode).toBe(202);
    await stack.waitForStatus(id, 'active');
    expect(await stack.eventTypes(id)).toContain('recovered');
  });

  test('revoke ends the install at Slack: access and refresh token both dead', async () => {
    const clientId = 'demo-rotating-600.revoke';
    const { id } = await linkApp(clientId);
    await install(stack, id);
    await stack.waitForStatus(id, 'active');
    const accessToken = (await stack.secrets.readAccessToken(id))!;
    const refreshToken = (await stack.secrets.readRefreshToken(id))!;
    await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${id}` });
    await stack.waitForStatus(id, 'revoked');
    expect(await webApi('auth.test', {}, accessToken)).toEqual({ ok: false, error: 'token_revoked' });
    const refresh = await webApi('oauth.v2.access', {
      client_id: clientId,
      client_secret: 'demo-secret',
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    expect(refresh.error).toBe('invalid_refresh_token');
  });

  test('the callback ends on a small page of its own for a browser, under a strict CSP, for outcomes and refusals', async () => {
    const { id } = await linkApp('demo-all-scopes.page');
    const back = await consent((await startInstall(stack, id)).authorizeUrl);
    const page = await browserCallback(stack, back.search);
    expect(page.statusCode).toBe(202);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe|https?:/);
    expect(page.body).toMatch(/<h1 class="ok">Slack app installed<\/h1>/);
    expect(page.body).toContain('token is being obtained and verified');
    expect(page.body).toContain('Slack-OAuth Install-');
    // Nothing loaded from anywhere: no scripts, links, images or external URLs.
    expect(page.body).not.toMatch(/<script|<link|<img|src=|href=|https?:\/\//i);
    await stack.waitForStatus(id, 'active');

    const replay = await browserCallback(stack, back.search);
    expect(replay.statusCode).toBe(400);
    expect(replay.headers['content-type']).toMatch(/^text\/html/);
    expect(replay.body).toMatch(/<h1 class="failed">/);
    expect(replay.body).toContain('this install already came back once: start it again');
    const broken = await browserCallback(stack, '?code=abc');
    expect(broken.statusCode).toBe(400);
    expect(broken.body).toContain('not a complete install link');
  });

  test('an org-level install stores the Enterprise Grid organization from oauth.v2.access', async () => {
    const { id } = await linkApp('demo-all-scopes.grid');
    await install(stack, id);
    const connection = await stack.waitForStatus(id, 'active');
    expect(connection.installedOn).toEqual({
      level: 'organization',
      organization: GRID_ORG,
      workspace: null,
    });
  });

  test('a workspace-level install inside a Grid organization is refused, saying how to install on the organization', async () => {
    const clientId = 'demo-all-scopes.grid-workspace';
    const { id } = await linkApp(clientId);
    installOn(stack, clientId, {
      isEnterpriseInstall: false,
      enterprise: GRID_ORG,
      team: { id: 'T0GRIDWS', name: 'Sales' },
    });
    expect((await install(stack, id)).res.statusCode).toBe(202);
    const refused = await eventually(
      () => stack.getConnection(id),
      (c) => c.statusReason === 'invalid_configuration',
      { what: 'the workspace-level install refused' },
    );
    expect(refused.statusMessage).toMatch(
      /workspace Sales \(T0GRIDWS\) of the Enterprise Grid organization Simulated Grid Org \(E0SIMULATOR\).*org-level install.*Org Level Apps.*choose the organization/,
    );
    expect(refused.installedOn).toBeNull();
    // Nothing kept, and the token Slack issued for it is revoked there.
    expect(await stack.secrets.readAccessToken(id)).toBeNull();
    expect(stack.sim.control.stats('slack', clientId).byEndpoint['POST /api/auth.revoke']).toBe(1);

    installOn(stack, clientId, { isEnterpriseInstall: true, enterprise: GRID_ORG, team: null });
    await install(stack, id);
    const installed = await stack.waitForStatus(id, 'active');
    expect(installed.installedOn).toMatchObject({ level: 'organization', organization: GRID_ORG });
  });

  test('a reinstall into another organization is refused; the connection keeps working on its own', async () => {
    const clientId = 'demo-all-scopes.grid-other';
    const { id } = await linkApp(clientId);
    await install(stack, id);
    const linked = await stack.waitForStatus(id, 'active');
    const token = await stack.secrets.readAccessToken(id);

    installOn(stack, clientId, {
      isEnterpriseInstall: true,
      enterprise: { id: 'E0OTHER', name: 'Other Corp' },
      team: null,
    });
    await install(stack, id);
    const failed = await eventually(
      () => stack.events(id),
      (events) => events.some((e: { type: string }) => e.type === 'install_failed'),
      { what: 'the reinstall refused' },
    );
    expect(failed.find((e: { type: string }) => e.type === 'install_failed').detail.message).toMatch(
      /belongs to the Enterprise Grid organization Simulated Grid Org \(E0SIMULATOR\).*installed on Other Corp \(E0OTHER\)/,
    );
    const connection = await stack.getConnection(id);
    expect(connection).toMatchObject({ status: 'active', installedOn: linked.installedOn });
    expect(await stack.secrets.readAccessToken(id)).toBe(token);
    expect((await webApi('auth.test', {}, token!)).ok).toBe(true);
  });

  test('the connectors describe both forms; installs are only for install connectors', async () => {
    const grid = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/slack-grid' })).json();
    expect(grid).toMatchObject({ authKind: 'oauth2_install', revoke: { supported: true } });
    expect(grid.credentialFields.required).toEqual(['clientId', 'clientSecret']);
    expect(grid.requiredScopes).toEqual([{ scope: 'admin', purpose: expect.stringContaining('SCIM') }]);
    const token = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/slack' })).json();
    expect(token).toMatchObject({ authKind: 'static_bearer', credentialFields: { required: ['token'] } });

    const { id } = await linkToken('xoxp-demo-all-scopes.not-installable');
    const res = await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/install` });
    expect(res.statusCode).toBe(409);
  });
});

describe('with a return URL configured (TETHER_INSTALL_RETURN_URL)', () => {
  const RETURN_URL = 'https://app.example.com/integrations/slack?from=tether';
  let returning: Stack;
  beforeAll(async () => {
    returning = await startStack({ installReturnUrl: RETURN_URL });
  });
  afterAll(async () => {
    await returning?.close();
  });

  test("the browser is sent back to the customer's app with the outcome, refusals included", async () => {
    const { id } = await returning.link({
      vendor: 'slack-grid',
      credentials: { clientId: 'demo-all-scopes.return', clientSecret: 'demo-secret' },
    });
    const back = await consent((await startInstall(returning, id)).authorizeUrl);

    const res = await browserCallback(returning, back.search);
    expect(res.statusCode).toBe(303);
    const to = new URL(res.headers.location as string);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.example.com/integrations/slack');
    expect(Object.fromEntries(to.searchParams)).toEqual({
      from: 'tether',
      outcome: 'authorized',
      connectionId: id,
      status: 'linking',
      message: expect.stringContaining('verified'),
    });
    await returning.waitForStatus(id, 'active');

    const again = new URL((await browserCallback(returning, back.search)).headers.location as string);
    expect(again.searchParams.get('outcome')).toBe('error');
    expect(again.searchParams.get('error')).toBe('state_used');
    // Scripts asking for JSON still get JSON.
    const json = await callback(returning, back.search);
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('state_used');
  });
});
