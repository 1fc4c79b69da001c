// The connect page in a real browser (Debian's Chromium through playwright-core) against the real stack:
// Temporal, PostgreSQL, the worker, the API listening on a port, and the vendor simulators. Screenshots of
// every vendor's form and of every outcome are taken on the way (see the README, "Connect page").
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, startCustomerApp, startListeningStack, type CustomerApp } from './support/browser';
import { createApiKey } from '../platform/api-keys';
import { eventually } from './support/eventually';
import type { Stack } from './support/stack';

/** Where screenshots go: a temporary folder, or docs/connect-ui to refresh the README's. */
const SHOTS = process.env.TETHER_SCREENSHOT_DIR
  ? path.resolve(process.env.TETHER_SCREENSHOT_DIR)
  : path.join(tmpdir(), 'tether-connect-ui');
/** The page's HTML, script and stylesheet together, uncompressed (the README states the measured size). */
const PAGE_BUDGET_BYTES = 48 * 1024;
/** Enough for every session the suite opens, small enough to reach in the quota test. */
const OPEN_SESSIONS_QUOTA = 40;

const logLines: string[] = [];
/** Every secret typed into a page: none may be found in the page afterwards, nor in logs or answers. */
const typedSecrets = new Set<string>();
const sessionTokens = new Set<string>();
const answers: string[] = [];

let browser: Browser;
let stack: Stack & { url: string };
let customer: CustomerApp;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // First: without Chromium nothing here can run, and the error says how to install it.
  browser = await launchChromium();
  stack = await startListeningStack({ logLines, quotas: { connectSessions: OPEN_SESSIONS_QUOTA } });
  customer = await startCustomerApp();
  mkdirSync(SHOTS, { recursive: true });
  const allow = await v1('PUT', '/v1/connect-return-urls', { urls: [`${customer.origin}/return`] });
  expect(allow.status).toBe(200);
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

afterAll(async () => {
  await browser?.close();
  await customer?.close();
  await stack?.close();
});

// ---- helpers ---------------------------------------------------------------------------------------

/** The API over real HTTP as the customer's backend (tenant key). */
async function v1(method: string, url: string, body?: unknown, key = stack.tenantKey) {
  const res = await fetch(`${stack.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function createSession(body: Record<string, unknown>) {
  const res = await v1('POST', '/v1/connect-sessions', { returnUrl: `${customer.origin}/return`, ...body });
  expect(res.status).toBe(201);
  sessionTokens.add(res.json.token);
  return res.json as { id: string; token: string; url: string; connectionId: string | null };
}

interface OpenedPage {
  page: Page;
  /** CSP violations, script errors and requests to any other host. */
  problems: string[];
}

async function openPage(url: string, viewport = { width: 760, height: 1000 }): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  const known = new Set([stack.url, customer.origin, stack.sim.baseUrl]);
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!known.has(new URL(r.url()).origin)) problems.push(`request to ${r.url()}`);
  });
  page.on('response', async (r) => {
    if (r.url().includes('/connect/api/')) answers.push(await r.text().catch(() => ''));
  });
  await page.goto(url);
  return { page, problems };
}

const h1 = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

async function waitForHeading(page: Page, name: string | RegExp, timeout = 30_000) {
  await h1(page, name).waitFor({ timeout });
}

/** A PNG of the whole page, or of what the first screen shows (`top`) where the rest repeats the form. */
async function shot(page: Page, name: string, { top = false } = {}) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: !top, animations: 'disabled' });
}

/** Nothing typed as a secret is left in the DOM (markup or input values), the URL, cookies or storage. */
async function expectNoSecretsIn(page: Page, secrets: string[]) {
  // Runs in the page (the test's TypeScript has no DOM types, hence `any`).
  const dump = await page.evaluate(() => {
    const w = globalThis as any;
    return JSON.stringify({
      html: w.document.documentElement.outerHTML,
      values: [...w.document.querySelectorAll('input, select, textarea')].map((e: any) => e.value),
      local: Object.entries(w.localStorage),
      session: Object.entries(w.sessionStorage),
      url: w.location.href,
      cookies: w.document.cookie,
    });
  });
  for (const secret of secrets) expect(dump).not.toContain(secret);
}

async function secret(page: Page, label: string | RegExp, value: string) {
  typedSecrets.add(value);
  await page.getByLabel(label).fill(value);
}

async function connection(id: string) {
  return (await v1('GET', `/v1/connections/${id}`)).json;
}

async function sessionRow(id: string) {
  return stack.db.connectSession.findUniqueOrThrow({ where: { id } });
}

// ---- the page itself ------------------------------------------------------------------------------

test('the page is small, loads nothing but its own two files, under a strict CSP', async () => {
  const session = await createSession({ vendors: ['invgate'] });
  const res = await fetch(session.url.split('#')[0]!);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain(`frame-ancestors ${customer.origin}`);
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:\/\/(?!localhost)/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const html = await res.text();
  // No inline code or style: one external script and one stylesheet, both pinned by hash.
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i);
  const files = [...html.matchAll(/(?:src|href)="(\/connect\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(files).toHaveLength(2);
  let total = Buffer.byteLength(html);
  let gzipped = gzipSync(html).length;
  for (const file of files) {
    const asset = await fetch(`${stack.url}${file}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const body = Buffer.from(await asset.arrayBuffer());
    total += body.length;
    gzipped += gzipSync(body).length;
  }
  console.log(`connect page: ${total} bytes (${gzipped} gzipped) in 3 files`);
  expect(total).toBeLessThan(PAGE_BUDGET_BYTES);

  const { page, problems } = await openPage(session.url);
  await waitForHeading(page, 'Connect InvGate Service Management');
  // The token left the address bar; the page made no request to any other host and broke no CSP rule.
  expect(page.url()).toBe(session.url.split('#')[0]);
  expect(problems).toEqual([]);
});

test('API: sessions are checked at creation; the token is not an API key; OpenAPI lists the routes', async () => {
  const bad = async (body: object, field: string) => {
    const res = await v1('POST', '/v1/connect-sessions', body);
    expect(res.status).toBe(400);
    expect(res.json.issues.map((i: any) => i.field)).toContain(field);
  };
  await bad({ returnUrl: 'https://elsewhere.example/return' }, 'body.returnUrl');
  await bad({ returnUrl: `${customer.origin}/returned-elsewhere` }, 'body.returnUrl');
  await bad({ returnUrl: `${customer.origin}/return#x` }, 'body.returnUrl');
  await bad({ vendors: ['nope'] }, 'body.vendors.0');
  await bad({ expiresInMinutes: 0 }, 'body.expiresInMinutes');
  const existing = await stack.link({
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: 'demo-all-scopes.api-check' },
  });
  await bad({ connectionId: existing.id, tags: { a: 'b' } }, 'body.tags');
  await bad({ connectionId: existing.id, vendors: ['invgate'] }, 'body.vendors');
  const allow = await v1('PUT', '/v1/connect-return-urls', {
    urls: ['ftp://x.example', 'https://a.example?q=1'],
  });
  expect(allow.json.issues.map((i: any) => i.field)).toEqual(['body.urls.0', 'body.urls.1']);

  const session = await createSession({ vendors: ['promapp'], tags: { endUser: 'u-api' } });
  expect(session.url).toBe(`${stack.url}/connect/${session.id}#token=${session.token}`);
  const row = await sessionRow(session.id);
  expect(row.tokenHash).not.toContain(session.token);
  expect(JSON.stringify(row)).not.toContain(session.token);
  expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeGreaterThan(29 * 60_000);
  expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeLessThanOrEqual(30 * 60_000 + 1000);
  // The session token is no API key, and an API key opens no page session.
  expect((await v1('GET', '/v1/connections', undefined, session.token)).status).toBe(401);
  const asKey = await fetch(`${stack.url}/connect/api/session`, {
    headers: { authorization: `Bearer ${stack.tenantKey}` },
  });
  expect(asKey.status).toBe(401);
  expect(((await asKey.json()) as any).error).toBe('session_invalid');
  const read = await v1('GET', `/v1/connect-sessions/${session.id}`);
  expect(read.json).toMatchObject({
    state: 'open',
    mode: 'link',
    vendors: ['promapp'],
    tags: { endUser: 'u-api' },
  });
  expect(JSON.stringify(read.json)).not.toContain(session.token);
  // Another tenant sees nothing of it.
  const otherKey = (await createApiKey(stack.db, { name: 'other', tenantId: 'other-tenant' })).key;
  expect((await v1('GET', `/v1/connect-sessions/${session.id}`, undefined, otherKey)).status).toBe(404);
  const openapi = (await (await fetch(`${stack.url}/openapi.json`)).json()) as any;
  expect(openapi.components.securitySchemes.connectSession).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(openapi.paths['/connect/api/attempts'].post.security).toEqual([{ connectSession: [] }]);
  expect(openapi.paths['/v1/connect-sessions'].post.security).toEqual([{ apiKey: [] }]);
  const paths = Object.keys(openapi.paths);
  expect(paths).toEqual(
    expect.arrayContaining([
      '/v1/connect-sessions',
      '/v1/connect-sessions/{id}',
      '/v1/connect-return-urls',
      '/connect/api/session',
      '/connect/api/attempts',
      '/connect/api/check-again',
      '/connect/api/install',
      '/connect/api/finish',
    ]),
  );
});

test('API: a correction racing a revoke answers 409, never 500; tag filters are checked', async () => {
  const session = await createSession({ vendors: ['promapp'] });
  const page = (route: string, body: object) =>
    fetch(`${stack.url}/connect/api/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const attempt = {
    vendor: 'promapp',
    instanceUrl: stack.instanceUrl('promapp'),
    credentials: { token: 'not-a-demo-token' },
  };
  expect((await page('attempts', attempt)).status).toBe(200);
  const { connectionId } = await sessionRow(session.id);
  await stack.waitForStatus(connectionId!, 'invalid_credentials');
  // What a revoke in flight leaves: the secrets are gone before the status says revoked.
  await stack.db.connectionSecret.deleteMany({ where: { connectionId: connectionId! } });
  const raced = await page('attempts', { ...attempt, credentials: { token: 'demo-all-scopes.raced' } });
  expect(raced.status).toBe(409);
  const bad = await v1('GET', '/v1/connections?tag=no-colon');
  expect(bad.status).toBe(400);
  expect(bad.json.issues[0].field).toMatch(/^querystring\.tag/);
});

// ---- each vendor to active -------------------------------------------------------------------------

interface VendorCase {
  vendor: string;
  fill(page: Page): Promise<void>;
}

const vendorCases: VendorCase[] = [
  {
    vendor: 'invgate',
    async fill(page) {
      await page.getByLabel('InvGate instance URL').fill(stack.instanceUrl('invgate'));
      await page.getByLabel('Client ID').fill('demo-all-scopes.page-invgate');
      await secret(page, 'Client secret', 'demo-secret');
    },
  },
  {
    vendor: 'promapp',
    async fill(page) {
      await page.getByLabel('SCIM base URL').fill(stack.instanceUrl('promapp'));
      await secret(page, 'SCIM access token', 'demo-all-scopes.page-promapp-token');
    },
  },
  {
    vendor: 'halo',
    async fill(page) {
      // Typed as people paste it: spaces, an upper-case scheme, a trailing slash. The page shows the normalised form.
      const url = page.getByLabel('HaloITSM URL');
      await url.fill(`  ${stack.instanceUrl('halo').replace('http://', 'HTTP://')}/ `);
      await url.blur();
      await page.getByText(`Will be saved as ${stack.instanceUrl('halo')}`, { exact: true }).waitFor();
      await page.getByLabel('Client ID').fill('demo-all-scopes.page-halo');
      await secret(page, 'Client Secret', 'demo-secret');
      await page.getByLabel('read:assets').uncheck();
    },
  },
  {
    vendor: 'ninjaone',
    async fill(page) {
      await page.getByLabel('Region').selectOption('eu');
      await page.getByLabel('NinjaOne instance URL').fill(stack.instanceUrl('ninjaone'));
      await page.getByLabel('Client ID').fill('demo-all-scopes.page-ninjaone');
      await secret(page, 'Client Secret', 'demo-secret');
    },
  },
  {
    vendor: 'slack',
    async fill(page) {
      expect(await page.getByLabel('Slack', { exact: true }).count()).toBe(0);
      await secret(page, 'User OAuth Token', 'xoxp-demo-all-scopes.page-slack');
    },
  },
];

test.each(vendorCases)(
  '$vendor: the form from the catalog, submitted, to active',
  async ({ vendor, fill }) => {
    const tags = { endUser: `u-${vendor}`, organisation: 'acme' };
    const session = await createSession({ vendors: [vendor], tags });
    const { page, problems } = await openPage(session.url);
    const form = (await v1('GET', `/v1/connectors/${vendor}`)).json;
    await waitForHeading(page, `Connect ${form.name}`);
    // The setup steps and every permission with its purpose, from the catalog.
    for (const step of form.setupSteps.slice(0, 2)) await page.getByText(step, { exact: true }).waitFor();
    // Every credential field from the catalog's schema, labelled by its title, with its description as help.
    for (const [name, field] of Object.entries<any>(form.credentialFields.properties)) {
      expect(await page.getByLabel(field.title ?? name, { exact: false }).count()).toBeGreaterThan(0);
      await page.getByText(field.description, { exact: false }).first().waitFor();
    }
    for (const { scope, purpose } of form.requiredScopes) {
      await page
        .getByRole('listitem')
        .filter({ hasText: scope })
        .filter({ hasText: purpose })
        .first()
        .waitFor();
    }
    await fill(page);
    await shot(page, `form-${vendor}`);
    await page.getByRole('button', { name: 'Connect' }).click();
    await waitForHeading(page, 'Connected');
    await expectNoSecretsIn(page, [...typedSecrets]);
    if (vendor === 'invgate') await shot(page, 'outcome-active');

    const row = await sessionRow(session.id);
    const linked = await connection(row.connectionId!);
    expect(linked).toMatchObject({ vendor, status: 'active', tags });
    if (vendor === 'halo') {
      expect(linked.settings.scopes).toEqual(['read:tickets', 'edit:tickets', 'read:customers']);
    }
    if (vendor === 'ninjaone') expect(linked.settings.region).toBe('eu');
    // Tags copied from the session are filterable.
    const listed = await v1('GET', `/v1/connections?tag=endUser:u-${vendor}&tag=organisation:acme`);
    expect(listed.json.items.map((c: any) => c.id)).toEqual([linked.id]);

    // Back to the customer's app with the result; the session is over.
    await page.getByRole('button', { name: /^Continue to localhost/ }).click();
    await page.waitForURL(`${customer.origin}/return?**`);
    const back = new URL(page.url()).searchParams;
    expect(Object.fromEntries(back)).toEqual({
      connection_id: linked.id,
      outcome: 'active',
      status: 'active',
      session_id: session.id,
    });
    expect((await sessionRow(session.id)).outcome).toBe('active');
    expect(problems).toEqual([]);
  },
);

test('slack-grid: the install round trip through the consent page, a denial, a fix, and a reinstall', async () => {
  const session = await createSession({ vendors: ['slack-grid'] });
  const { page, problems } = await openPage(session.url);
  await waitForHeading(page, /^Connect Slack \(install your OAuth app/);
  // The redirect URL to add to the Slack app is this deployment's, filled into the setup steps.
  await page.getByText(`${stack.url}/v1/oauth/callback`).waitFor();
  // The consent page sends the browser back with access_denied for this client.
  await page.getByLabel('Client ID').fill('demo-access-denied.page-grid');
  await secret(page, 'Client Secret', 'demo-secret');
  await shot(page, 'form-slack-grid');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.waitForURL(`${stack.url}/connect/${session.id}`);
  await waitForHeading(page, 'Install the app');
  await page.getByText('The install was not approved on the consent page.').waitFor();
  await shot(page, 'outcome-install-denied');

  // Another client id; the secret is kept, the browser goes through Slack's consent page again.
  await page.getByRole('button', { name: 'Change the client ID or secret' }).click();
  await page.getByLabel('Client ID').fill('demo-all-scopes.page-grid');
  const seen: string[] = [];
  page.on('request', (request) => {
    if (request.isNavigationRequest()) seen.push(request.url());
  });
  await page.getByRole('button', { name: 'Try again' }).click();
  await waitForHeading(page, 'Connected');
  // Through Slack's consent page (the simulator's) and the OAuth callback, back to the page.
  expect(seen.map((url) => url.split('?')[0])).toEqual([
    `${stack.sim.baseUrl}/slack/oauth/v2/authorize`,
    `${stack.url}/v1/oauth/callback`,
    `${stack.url}/connect/${session.id}`,
  ]);
  expect(new URL(seen[2]!).searchParams.get('install')).toBe('authorized');
  const row = await sessionRow(session.id);
  expect((await connection(row.connectionId!)).status).toBe('active');
  expect(await stack.secrets.readCredentials(row.connectionId!)).toEqual({
    clientId: 'demo-all-scopes.page-grid',
    clientSecret: 'demo-secret',
  });
  await expectNoSecretsIn(page, [...typedSecrets]);
  expect(problems).toEqual([]);

  // Reconnecting it is installing again: the page goes straight to the consent page's button.
  const again = await createSession({ connectionId: row.connectionId });
  const reopened = await openPage(again.url);
  await waitForHeading(reopened.page, 'Install the app');
  await reopened.page.getByRole('button', { name: 'Open the consent page' }).click();
  await waitForHeading(reopened.page, 'Connected');
  expect(await stack.eventTypes(row.connectionId!)).toEqual(
    expect.arrayContaining(['install_started', 'linked']),
  );
  expect((await stack.eventTypes(row.connectionId!)).filter((t) => t === 'install_started')).toHaveLength(3);
  expect(reopened.problems).toEqual([]);
});

// ---- outcomes ------------------------------------------------------------------------------------

test('a missing permission is shown with its purpose and where to grant it, then fixed and checked again', async () => {
  const clientId = 'demo-all-scopes.page-scopes';
  const fault = stack.sim.control.addFault({
    vendor: 'invgate',
    match: clientId,
    scope: 'token',
    fault: { kind: 'drop_scopes', scopes: ['api.v1.locations:get'] },
  });
  const session = await createSession({ vendors: ['invgate'] });
  const { page, problems } = await openPage(session.url);
  await page.getByLabel('InvGate instance URL').fill(stack.instanceUrl('invgate'));
  await page.getByLabel('Client ID').fill(clientId);
  await secret(page, 'Client secret', 'demo-secret');
  await page.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(page, 'Some permissions are missing');
  await page
    .getByRole('listitem')
    .filter({ hasText: 'api.v1.locations:get' })
    .filter({ hasText: 'locations' })
    .waitFor();
  await page.getByText('Settings → Integrations → API, edit the OAuth client').waitFor();
  await shot(page, 'outcome-insufficient-scopes');
  await expectNoSecretsIn(page, [...typedSecrets]);

  // The admin grants it at the vendor; "check again" verifies anew.
  stack.sim.control.removeFault(fault);
  await page.getByRole('button', { name: 'Check again' }).click();
  await waitForHeading(page, 'Connected');
  const row = await sessionRow(session.id);
  const events = (await stack.events(row.connectionId!)).map((e: any) => e.type);
  expect(events).toEqual(expect.arrayContaining(['scopes_missing', 'recovered']));
  expect(problems).toEqual([]);
});

test('a bad secret is corrected without retyping what was right', async () => {
  const session = await createSession({ vendors: ['halo'] });
  const { page, problems } = await openPage(session.url);
  await page.getByLabel('HaloITSM URL').fill(stack.instanceUrl('halo'));
  await page.getByLabel('Client ID').fill('demo-all-scopes.page-badsecret');
  await secret(page, 'Client Secret', 'wrong-secret-for-halo');
  await page.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(page, 'HaloITSM did not accept these credentials');
  await page.getByRole('alert').filter({ hasText: 'Check the credentials' }).waitFor();
  await shot(page, 'outcome-invalid-credentials', { top: true });
  // What was right is still there; the secret is not.
  expect(await page.getByLabel('HaloITSM URL').inputValue()).toBe(stack.instanceUrl('halo'));
  expect(await page.getByLabel('Client ID').inputValue()).toBe('demo-all-scopes.page-badsecret');
  expect(await page.getByLabel(/Client Secret/).inputValue()).toBe('');
  await expectNoSecretsIn(page, [...typedSecrets]);

  await secret(page, /Client Secret/, 'demo-secret');
  await page.getByRole('button', { name: 'Try again' }).click();
  await waitForHeading(page, 'Connected');
  const row = await sessionRow(session.id);
  // One connection, corrected in place; the audit trail names the field that changed, never its value.
  const links = await stack.db.auditEvent.count({
    where: { type: 'link_requested', detail: { path: ['connectSessionId'], equals: session.id } },
  });
  expect(links).toBe(1);
  const corrected = (await stack.events(row.connectionId!)).find((e: any) => e.type === 'connect_corrected');
  expect(corrected.detail.changed).toEqual(['credentials.clientId', 'credentials.clientSecret']);
  expect(problems).toEqual([]);
});

test('a configuration problem: the address is corrected, the secret kept', async () => {
  const session = await createSession({ vendors: ['halo'] });
  const { page, problems } = await openPage(session.url);
  // Halo's discovery answers 500 here: not the instance (the simulators answer no such path).
  await page.getByLabel('HaloITSM URL').fill(`${stack.sim.baseUrl}/invgate`);
  await page.getByLabel('Client ID').fill('demo-all-scopes.page-config');
  await secret(page, 'Client Secret', 'demo-secret');
  await page.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(page, /Something in the setup needs fixing|did not accept|cannot be reached/, 60_000);
  const heading = await page.getByRole('heading', { level: 1 }).textContent();
  if (heading === 'HaloITSM cannot be reached right now') {
    await page.getByRole('button', { name: 'Correct the details' }).click();
  }
  await shot(page, 'outcome-invalid-configuration', { top: true });
  await page.getByLabel('HaloITSM URL').fill(stack.instanceUrl('halo'));
  await page.getByRole('button', { name: 'Try again' }).click();
  await waitForHeading(page, 'Connected');
  const row = await sessionRow(session.id);
  expect((await connection(row.connectionId!)).instanceUrl).toBe(stack.instanceUrl('halo'));
  expect(problems).toEqual([]);
});

test('vendor unavailable: tether keeps trying after the page is closed', async () => {
  const clientId = 'demo-all-scopes.page-down';
  const fault = stack.sim.control.addFault({
    vendor: 'ninjaone',
    match: clientId,
    fault: { kind: 'status', status: 503 },
  });
  const session = await createSession({ vendors: ['ninjaone'] });
  const { page, problems } = await openPage(session.url);
  await page.getByLabel('NinjaOne instance URL').fill(stack.instanceUrl('ninjaone'));
  await page.getByLabel('Client ID').fill(clientId);
  await secret(page, 'Client Secret', 'demo-secret');
  await page.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(page, 'NinjaOne cannot be reached right now', 60_000);
  await page.getByText('You can close this page').waitFor();
  await shot(page, 'outcome-vendor-unavailable');
  expect(problems).toEqual([]);
  await page.close();

  stack.sim.control.removeFault(fault);
  const row = await sessionRow(session.id);
  await stack.waitForStatus(row.connectionId!, 'active', 30_000);
});

test('reconnect: a wrong new secret changes nothing, a right one rotates the working connection', async () => {
  const linked = await stack.link({
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.page-reconnect', clientSecret: 'demo-secret' },
  });
  await stack.waitForStatus(linked.id, 'active');
  const session = await createSession({ connectionId: linked.id });
  const { page, problems } = await openPage(session.url);
  await waitForHeading(page, 'Reconnect InvGate Service Management');
  await page.getByText(`Address: ${stack.instanceUrl('invgate')}`).waitFor();
  await shot(page, 'form-reconnect', { top: true });
  await secret(page, /Client secret/, 'wrong-secret-for-rotation');
  await page.getByRole('button', { name: 'Try again' }).click();
  await waitForHeading(page, 'The new credentials were not accepted');
  await page.getByRole('alert').filter({ hasText: 'Nothing changed' }).waitFor();
  await shot(page, 'outcome-rotation-rejected', { top: true });
  expect((await connection(linked.id)).status).toBe('active');

  await secret(page, /Client secret/, 'demo-secret');
  await page.getByRole('button', { name: 'Try again' }).click();
  await waitForHeading(page, 'Connected');
  const types = (await stack.events(linked.id)).map((e: any) => e.type);
  expect(types).toEqual(expect.arrayContaining(['rotation_rejected', 'credentials_rotated']));
  await expectNoSecretsIn(page, [...typedSecrets]);
  expect(problems).toEqual([]);
});

// ---- sessions that are over -----------------------------------------------------------------------

test('an expired or used session is refused, by the page and by its API', async () => {
  const expired = await createSession({ vendors: ['promapp'] });
  await stack.db.connectSession.update({
    where: { id: expired.id },
    data: { expiresAt: new Date(Date.now() - 1000) },
  });
  const first = await openPage(expired.url);
  await waitForHeading(first.page, 'This link has expired');
  await shot(first.page, 'session-expired');
  const asExpired = await fetch(`${stack.url}/connect/api/session`, {
    headers: { authorization: `Bearer ${expired.token}` },
  });
  expect(asExpired.status).toBe(401);
  expect(((await asExpired.json()) as any).error).toBe('session_expired');

  const used = await createSession({ vendors: ['promapp'] });
  const second = await openPage(used.url);
  await second.page.getByLabel('SCIM base URL').fill(stack.instanceUrl('promapp'));
  await secret(second.page, 'SCIM access token', 'demo-all-scopes.page-used');
  await second.page.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(second.page, 'Connected');
  await second.page.getByRole('button', { name: /^Continue to/ }).click();
  await second.page.waitForURL(`${customer.origin}/return?**`);
  // The same link again, and its token on every route of the page's API.
  const again = await openPage(used.url);
  await waitForHeading(again.page, 'This link was already used');
  await shot(again.page, 'session-used');
  for (const [method, route] of [
    ['GET', 'session'],
    ['POST', 'attempts'],
    ['POST', 'check-again'],
    ['POST', 'install'],
    ['POST', 'finish'],
  ]) {
    const res = await fetch(`${stack.url}/connect/api/${route}`, {
      method,
      headers: { authorization: `Bearer ${used.token}`, 'content-type': 'application/json' },
      body:
        method === 'POST'
          ? JSON.stringify({ vendor: 'promapp', credentials: { token: 'demo-all-scopes.x' } })
          : undefined,
    });
    expect([route, res.status]).toEqual([route, 401]);
  }
  expect((await v1('GET', `/v1/connect-sessions/${used.id}`)).json).toMatchObject({
    state: 'completed',
    outcome: 'active',
  });
  expect(first.problems).toEqual([]);
});

// ---- accessibility and embedding -------------------------------------------------------------------

test('keyboard only: choose the vendor, fill in, submit and continue without a mouse', async () => {
  const session = await createSession({ vendors: ['invgate', 'promapp'] });
  const { page, problems } = await openPage(session.url);
  await waitForHeading(page, 'Connect an account');
  await shot(page, 'choose-vendor');
  // Only the session's vendors are offered.
  expect(await page.getByRole('radio').count()).toBe(2);
  const focused = () =>
    page.evaluate(() => {
      const e = (globalThis as any).document.activeElement;
      return e.labels?.[0]?.textContent ?? e.textContent ?? e.tagName;
    });
  // The heading has focus after each view change; Tab walks through the controls in reading order.
  expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('InvGate Service Management');
  await page.keyboard.press('ArrowDown');
  expect(await focused()).toBe('Nintex Promapp (Process Manager)');
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('Continue');
  await page.keyboard.press('Enter');
  await waitForHeading(page, 'Connect Nintex Promapp (Process Manager)');
  expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');

  // An empty submit: the error is announced (role=alert) and focus goes to the field to fix.
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('SCIM base URL (optional)');
  await page.keyboard.type(stack.instanceUrl('promapp'));
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('SCIM access token');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').filter({ hasText: 'Enter the SCIM access token.' }).waitFor();
  expect(await focused()).toBe('SCIM access token');
  expect(await page.getByLabel('SCIM access token').getAttribute('aria-invalid')).toBe('true');
  typedSecrets.add('demo-all-scopes.page-keyboard');
  await page.keyboard.type('demo-all-scopes.page-keyboard');
  await page.keyboard.press('Enter');
  await waitForHeading(page, 'Connected');
  expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');
  await page.keyboard.press('Tab');
  expect(await focused()).toMatch(/^Continue to localhost/);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${customer.origin}/return?**`);
  expect(new URL(page.url()).searchParams.get('outcome')).toBe('active');
  expect(problems).toEqual([]);
});

test('readable at phone width: nothing scrolls sideways', async () => {
  const session = await createSession({ vendors: ['ninjaone'] });
  const { page, problems } = await openPage(session.url, { width: 375, height: 812 });
  await waitForHeading(page, 'Connect NinjaOne');
  expect(
    await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
  ).toBeLessThanOrEqual(375);
  await shot(page, 'phone-form-ninjaone');
  expect(problems).toEqual([]);
});

test('popup: the result is posted to the opener, at the return URL origin only', async () => {
  const session = await createSession({ vendors: ['promapp'] });
  const { page } = await openPage(`${customer.origin}/popup?open=${encodeURIComponent(session.url)}`);
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByRole('button', { name: 'Connect' }).click(),
  ]);
  await waitForHeading(popup, 'Connect Nintex Promapp (Process Manager)');
  await popup.getByLabel('SCIM base URL').fill(stack.instanceUrl('promapp'));
  await secret(popup, 'SCIM access token', 'demo-all-scopes.page-popup');
  await popup.getByRole('button', { name: 'Connect' }).click();
  await waitForHeading(popup, 'Connected');
  await Promise.all([
    popup.waitForEvent('close'),
    popup.getByRole('button', { name: /^Continue to/ }).click(),
  ]);
  const received = await page.evaluate(() => (globalThis as any).received);
  const row = await sessionRow(session.id);
  expect(received).toEqual([
    {
      origin: stack.url,
      data: {
        type: 'tether.connect.finished',
        sessionId: session.id,
        connectionId: row.connectionId,
        outcome: 'active',
        status: 'active',
      },
    },
  ]);
});

test('iframe: framed by the return URL origin only; the result is posted to the parent', async () => {
  const session = await createSession({ vendors: ['promapp'] });
  const { page } = await openPage(`${customer.origin}/frame?src=${encodeURIComponent(session.url)}`);
  const frame = page.frameLocator('#frame');
  await frame.getByRole('heading', { level: 1, name: 'Connect Nintex Promapp (Process Manager)' }).waitFor();
  await frame.getByLabel('SCIM base URL').fill(stack.instanceUrl('promapp'));
  typedSecrets.add('demo-all-scopes.page-frame');
  await frame.getByLabel('SCIM access token').fill('demo-all-scopes.page-frame');
  await frame.getByLabel('SCIM access token').press('Enter');
  await frame.getByRole('heading', { level: 1, name: 'Connected' }).waitFor({ timeout: 30_000 });
  // Keys rather than clicks: Playwright's click does not reach this cross-origin frame's buttons here.
  await frame.getByRole('button', { name: /^Continue to/ }).press('Enter');
  await frame.getByRole('heading', { level: 1, name: 'All done' }).waitFor();
  const received = await page.evaluate(() => (globalThis as any).received);
  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({
    origin: stack.url,
    data: { outcome: 'active', sessionId: session.id },
  });

  // Another origin (127.0.0.1 instead of localhost) may not frame it.
  const elsewhere = await createSession({ vendors: ['promapp'] });
  const other = await openPage(
    `${customer.origin.replace('localhost', '127.0.0.1')}/frame?src=${encodeURIComponent(elsewhere.url)}`,
  );
  await eventually(() => other.problems.some((p) => p.includes('frame-ancestors')), Boolean, {
    what: 'a frame-ancestors refusal',
  });
  const framed = other.page.frames().find((f) => f !== other.page.mainFrame())!;
  expect(await framed.getByRole('heading', { name: /Connect/ }).count()).toBe(0);
});

test('a tenant holds a bounded number of open sessions; ending one frees its slot', async () => {
  const opened: string[] = [];
  let refused: { status: number; json: any } | null = null;
  for (let i = 0; i <= OPEN_SESSIONS_QUOTA && !refused; i++) {
    const res = await v1('POST', '/v1/connect-sessions', { vendors: ['promapp'] });
    if (res.status === 201) opened.push(res.json.id);
    else refused = res;
  }
  expect(refused?.status).toBe(409);
  expect(refused?.json.error).toBe('quota_exceeded');
  expect(refused?.json.message).toContain('TETHER_QUOTA_CONNECT_SESSIONS');
  // Another tenant is not affected.
  const otherKey = (await createApiKey(stack.db, { name: 'quota-other', tenantId: 'quota-other' })).key;
  expect((await v1('POST', '/v1/connect-sessions', { vendors: ['promapp'] }, otherKey)).status).toBe(201);
  expect((await v1('DELETE', `/v1/connect-sessions/${opened[0]}`)).status).toBe(204);
  expect((await v1('GET', `/v1/connect-sessions/${opened[0]}`)).json.state).toBe('completed');
  expect((await v1('POST', '/v1/connect-sessions', { vendors: ['promapp'] })).status).toBe(201);
});

// ---- nothing leaks --------------------------------------------------------------------------------

test('no secret and no session token in the logs (request URLs included) or in any API answer', async () => {
  expect(typedSecrets.size).toBeGreaterThan(5);
  expect(logLines.some((line) => line.includes('/connect/api/'))).toBe(true);
  const haystacks: [string, string][] = [
    ['logs', logLines.join('\n')],
    ['API answers', answers.filter((a) => !a.includes('"token":"cst_')).join('\n')],
  ];
  // demo-secret is every simulator client's secret and appears nowhere either; the tokens show only once.
  for (const [where, text] of haystacks) {
    for (const value of [...typedSecrets, ...sessionTokens]) {
      if (text.includes(value)) throw new Error(`${where} contain a secret (${value.slice(0, 6)}…)`);
    }
  }
  for (const file of ['form-invgate', 'outcome-active', 'outcome-insufficient-scopes', 'session-expired']) {
    const png = path.join(SHOTS, `${file}.png`);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(statSync(png).size).toBeLessThan(400_000);
  }
});
