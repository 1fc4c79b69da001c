// What an operator reads to answer "why is connection X broken?": the audit trail (newest first, paged
// both ways, filtered by type, every event naming its actor) and the Temporal Web UI (a summary and the
// current details of each connection's workflow, and the API's link to it).
import { randomBytes, randomUUID } from 'node:crypto';
import { buildApp } from '../api/app';
import { createApiKey } from '../platform/api-keys';
import { createPrismaClient } from '../platform/db';
import { reencryptSecrets } from '../platform/reencrypt';
import { createSecretBox } from '../platform/secret-box';
import { createSecretStore } from '../platform/secret-store';
import { describeCurrentDetails } from '../workflows/current-details';
import { createTestDatabase } from './support/database';
import { eventually } from './support/eventually';
import { startStack, TEST_POLICY, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const get = (url: string) => stack.app.inject({ method: 'GET', url });
const invgate = (clientId: string) => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId, clientSecret: 'demo-secret' },
});
async function linkActive(clientId: string): Promise<string> {
  const { id } = await stack.link(invgate(clientId));
  await stack.waitForStatus(id, 'active');
  return id;
}

/** Events the workflow could have written, straight into the table: weeks of hourly refreshes. */
async function writeEvents(id: string, n: number, type = 'refresh_succeeded') {
  await stack.db.auditEvent.createMany({
    data: Array.from({ length: n }, (_, i) => ({
      connectionId: id,
      tenantId: 'test-tenant',
      type,
      actor: 'workflow',
      fromStatus: 'active' as const,
      toStatus: 'active' as const,
      detail: { n: i },
    })),
  });
}

describe('audit trail', () => {
  test('newest first, also past the 1,000th event', async () => {
    const id = await linkActive('demo-all-scopes.trail-long');
    await writeEvents(id, 1_100, 'probe_succeeded');
    await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/pause` });
    await stack.waitForStatus(id, 'paused');
    const page = (await get(`/v1/connections/${id}/events`)).json();
    expect(page.items).toHaveLength(50);
    // The pause and its command, recorded side by side by the workflow and the API.
    expect(
      page.items
        .slice(0, 2)
        .map((e: any) => e.type)
        .sort(),
    ).toEqual(['command_accepted', 'paused']);
    const ids = page.items.map((e: any) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(page.olderCursor).toEqual(expect.any(String));
  });

  test('pages back with before and forward with after, every event exactly once', async () => {
    const id = await linkActive('demo-all-scopes.trail-pages');
    await writeEvents(id, 230);
    const all = (
      await stack.db.auditEvent.findMany({ where: { connectionId: id }, orderBy: { id: 'desc' } })
    ).map((e) => e.id.toString());
    expect(all.length).toBeGreaterThan(230);

    const backwards: string[] = [];
    const pages: any[] = [];
    let url = `/v1/connections/${id}/events?limit=40`;
    for (;;) {
      const page = (await get(url)).json();
      pages.push(page);
      backwards.push(...page.items.map((e: any) => e.id));
      if (!page.olderCursor) break;
      url = `/v1/connections/${id}/events?limit=40&before=${page.olderCursor}`;
    }
    expect(backwards).toEqual(all);

    // From the oldest page, newerCursor walks forward again, each page newest first.
    const forwards: string[] = [];
    let cursor = pages.at(-1).newerCursor;
    forwards.unshift(...pages.at(-1).items.map((e: any) => e.id));
    for (;;) {
      const page = (await get(`/v1/connections/${id}/events?limit=40&after=${cursor}`)).json();
      if (page.items.length === 0) break;
      forwards.unshift(...page.items.map((e: any) => e.id));
      cursor = page.newerCursor;
    }
    expect(forwards).toEqual(all);

    // Polling with the newest page's newerCursor returns what happens next, and only that.
    const newest = pages[0].newerCursor;
    expect((await get(`/v1/connections/${id}/events?after=${newest}`)).json().items).toEqual([]);
    await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/pause` });
    await stack.waitForStatus(id, 'paused');
    const next = (await get(`/v1/connections/${id}/events?after=${newest}`))
      .json()
      .items.map((e: any) => e.type);
    expect(next.sort()).toEqual(['command_accepted', 'paused']);
  });

  test('filters by event type; an unknown type is a 400 naming the parameter', async () => {
    const id = await linkActive('demo-all-scopes.trail-types');
    await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/refresh?wait=10` });
    const commas = (await get(`/v1/connections/${id}/events?type=linked,refresh_succeeded`)).json();
    expect(commas.items.map((e: any) => e.type)).toEqual(['refresh_succeeded', 'linked']);
    const repeated = (await get(`/v1/connections/${id}/events?type=linked&type=command_accepted`)).json();
    expect(repeated.items.map((e: any) => e.type)).toEqual(['command_accepted', 'linked']);

    const unknown = await get(`/v1/connections/${id}/events?type=linked,token_refreshed`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().issues[0].field).toBe('querystring.type');
    expect(unknown.json().issues[0].message).toContain('"token_refreshed"');
  });

  test("a cursor of another connection's trail, a malformed one, both directions or a bad limit: 400", async () => {
    const id = await linkActive('demo-all-scopes.trail-cursor');
    const other = await linkActive('demo-all-scopes.trail-cursor-other');
    const foreign = (await get(`/v1/connections/${other}/events?limit=1`)).json().newerCursor;
    const cases: [string, string][] = [
      [`before=${foreign}`, 'querystring.before'],
      [`after=${foreign}`, 'querystring.after'],
      ['before=not-a-cursor', 'querystring.before'],
      [`before=${foreign}&after=${foreign}`, 'querystring.after'],
      ['limit=0', 'querystring.limit'],
      ['limit=201', 'querystring.limit'],
      ['order=asc', 'querystring.order'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`/v1/connections/${id}/events?${query}`);
      expect({ query, status: res.statusCode, field: res.json().issues?.[0]?.field }).toEqual({
        query,
        status: 400,
        field,
      });
    }
  });

  test('every event names its actor: the API key (id and name), or the workflow', async () => {
    const id = await linkActive('demo-all-scopes.trail-actors');
    const admin = await stack.db.apiKey.findFirstOrThrow({ where: { name: 'tests-admin' } });
    const tenant = await stack.db.apiKey.findFirstOrThrow({ where: { name: 'tests' } });
    await stack.app.inject({
      method: 'POST',
      url: `/v1/connections/${id}/refresh?wait=10`,
      headers: { authorization: `Bearer ${stack.adminKey}`, 'x-tenant-id': 'test-tenant' },
    });
    const items = (await get(`/v1/connections/${id}/events`)).json().items;
    const byType = (type: string) => items.find((e: any) => e.type === type);
    expect(byType('link_requested').actor).toEqual({ kind: 'api', keyId: tenant.id, label: 'tests' });
    expect(byType('linked').actor).toEqual({ kind: 'workflow' });
    expect(byType('command_accepted')).toMatchObject({
      actor: { kind: 'api', keyId: admin.id, label: 'tests-admin' },
      detail: { command: 'refresh', updateId: expect.stringMatching(/^refresh:/) },
    });
    expect(byType('refresh_succeeded').actor).toEqual({ kind: 'workflow' });
    // Never the key itself.
    expect(JSON.stringify(items)).not.toContain(stack.adminKey);
    expect(JSON.stringify(items)).not.toContain(stack.tenantKey);
  });

  test('keys:reencrypt is named as the operator command that re-sealed the secrets', async () => {
    const database = await createTestDatabase();
    const db = createPrismaClient(database.url);
    let app: Awaited<ReturnType<typeof buildApp>> | undefined;
    try {
      const k1 = randomBytes(32);
      const connectionId = randomUUID();
      await db.connection.create({
        data: {
          id: connectionId,
          tenantId: 't',
          vendor: 'invgate',
          instanceUrl: 'https://acme.example.com',
          name: 'reencrypt',
        },
      });
      await createSecretStore(db, createSecretBox(new Map([['k1', k1]]), 'k1')).saveAccessToken(
        connectionId,
        'x',
      );
      const rotated = createSecretBox(
        new Map([
          ['k2', randomBytes(32)],
          ['k1', k1],
        ]),
        'k2',
      );
      expect(await reencryptSecrets(db, rotated)).toEqual({ reencrypted: 1, skipped: 0 });

      app = await buildApp({
        db,
        temporal: stack.client,
        secrets: createSecretStore(db, rotated),
        taskQueue: 'unused',
        urlPolicy: { allowInsecureLoopback: true },
        policy: TEST_POLICY,
      });
      const { key } = await createApiKey(db, { name: 'ops', tenantId: 't' });
      const res = await app.inject({
        method: 'GET',
        url: `/v1/connections/${connectionId}/events?type=secrets_reencrypted`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.json().items).toEqual([
        expect.objectContaining({
          type: 'secrets_reencrypted',
          actor: { kind: 'operator', command: 'keys:reencrypt' },
          detail: { keyId: 'k2', kinds: ['access_token'] },
        }),
      ]);
    } finally {
      await app?.close();
      await db.$disconnect();
      await database.drop();
    }
  });
});

describe('Temporal Web UI', () => {
  test("a workflow's summary names vendor, name and tenant; its current details follow each transition", async () => {
    const id = await linkActive('demo-all-scopes.ui-summary');
    const handle = stack.client.workflow.getHandle(`connection:${id}`);
    const described = await handle.describe();
    const { name } = await stack.getConnection(id);
    expect(await described.staticSummary()).toBe(`InvGate Service Management · ${name} · tenant test-tenant`);
    const details = await described.staticDetails();
    expect(details).toContain(`**Connection** ${id}`);
    expect(details).toContain(`**Instance** ${new URL(stack.instanceUrl('invgate')).host}`);

    const current = async () =>
      ((await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails;
    expect(await current()).toContain('**Status** active');
    await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/pause?wait=10` });
    expect(await eventually(current, (d) => d?.includes('**Status** paused') ?? false)).toContain(
      '**Last event** paused',
    );
  });

  test('current details say what failed and when the next check is', () => {
    const text = describeCurrentDetails({
      status: 'degraded',
      nextCheckAt: Date.parse('2026-12-01T10:00:00Z'),
      consecutiveFailures: 3,
      last: {
        event: 'vendor_unavailable',
        at: Date.parse('2026-12-01T09:59:00Z'),
        reason: 'vendor_unavailable',
        message: 'HTTP 503 from the token endpoint',
      },
    });
    expect(text.split('\n')).toEqual([
      '**Status** degraded',
      '**Next check** 2026-12-01T10:00:00.000Z',
      '**Failed checks in a row** 3',
      '**Last event** vendor_unavailable at 2026-12-01T09:59:00.000Z',
      '**Last error** vendor_unavailable: HTTP 503 from the token endpoint',
    ]);
    // A pause has a reason, but it is no error.
    const paused = describeCurrentDetails({
      status: 'paused',
      nextCheckAt: null,
      consecutiveFailures: 0,
      last: { event: 'paused', at: 0, reason: 'paused', message: null },
    });
    expect(paused).not.toContain('Last error');
    expect(paused).toContain('**Next check** none scheduled');
  });

  test('the API links each connection to its workflow in the Web UI when TETHER_TEMPORAL_UI_URL is set', async () => {
    const id = await linkActive('demo-all-scopes.ui-link');
    // The stack has no UI address configured: no link.
    expect((await stack.getConnection(id)).workflowUrl).toBeNull();
    const app = await buildApp({
      db: stack.db,
      temporal: stack.client,
      secrets: stack.secrets,
      taskQueue: stack.taskQueue,
      urlPolicy: { allowInsecureLoopback: true },
      policy: TEST_POLICY,
      temporalUiUrl: 'http://127.0.0.1:8233/',
    });
    try {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/connections/${id}`,
        headers: { authorization: `Bearer ${stack.tenantKey}` },
      });
      expect(res.json().workflowUrl).toBe(
        `http://127.0.0.1:8233/namespaces/default/workflows/connection%3A${id}`,
      );
    } finally {
      await app.close();
    }
  });
});
