// Provisioning always gets a valid token: one about to expire is refreshed first, through the
// workflow, and the token handed out works against the vendor.
import { createTenantData } from '../api/tenant-data';
import { ConnectionUnusableError, getValidAccessToken } from '../api/token-access';
import { DEFAULT_QUOTAS } from '../platform/config';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
let deps: Parameters<typeof getValidAccessToken>[0];
/** The connection as the routes hand it over: read within its tenant. */
const stored = (id: string) => deps.connections.find('test-tenant', id).then((c) => c!);
beforeAll(async () => {
  stack = await startStack();
  const { connections } = createTenantData(stack.db, DEFAULT_QUOTAS);
  deps = { connections, secrets: stack.secrets, temporal: stack.client };
});
afterAll(async () => {
  await stack?.close();
});

test('a token expiring sooner than needed is refreshed before it is handed out', async () => {
  const client = 'demo-ttl-20.provisioning';
  const { id } = await stack.link(demoLink(stack, 'invgate', client));
  const linked = await stack.waitForStatus(id, 'active');

  // Valid for 20 s: enough for a 5 s job, no refresh.
  const before = stack.sim.control.stats('invgate', client).tokenRequests;
  const first = await getValidAccessToken(deps, await stored(id), { minValidityMs: 5_000 });
  expect(first.expiresAt?.toISOString()).toBe(linked.tokenExpiresAt);
  expect(stack.sim.control.stats('invgate', client).tokenRequests).toBe(before);

  // A 60 s job needs a fresher token than the one stored: it is re-granted first.
  const fresh = await getValidAccessToken(deps, await stored(id), { minValidityMs: 60_000 });
  expect(stack.sim.control.stats('invgate', client).tokenRequests).toBe(before + 1);
  expect(fresh.accessToken).not.toBe(first.accessToken);
  expect(fresh.expiresAt!.getTime()).toBeGreaterThan(Date.parse(linked.tokenExpiresAt));
  const res = await fetch(`${stack.instanceUrl('invgate')}/api/v1/users`, {
    headers: { authorization: `Bearer ${fresh.accessToken}` },
  });
  expect(res.status).toBe(200);
});

test('static tokens are handed out as they are; unusable connections refuse', async () => {
  const { id } = await stack.link(demoLink(stack, 'promapp', 'demo-all-scopes.provisioning'));
  await stack.waitForStatus(id, 'active');
  expect((await getValidAccessToken(deps, await stored(id))).accessToken).toBe(
    'demo-all-scopes.provisioning',
  );

  await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/pause` });
  await stack.waitForStatus(id, 'paused');
  await expect(getValidAccessToken(deps, await stored(id))).rejects.toBeInstanceOf(ConnectionUnusableError);
});

test('operators can filter connections by typed search attributes', async () => {
  const { id } = await stack.link(demoLink(stack, 'invgate', 'demo-missing-scopes'));
  await stack.waitForStatus(id, 'insufficient_scopes');
  const query = `TetherStatus = "insufficient_scopes" AND TetherVendor = "invgate" AND TetherTenant = "test-tenant"`;
  // Visibility is updated asynchronously.
  const listed = async () => {
    const ids: string[] = [];
    for await (const w of stack.client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  };
  await eventually(listed, (ids) => ids.includes(`connection:${id}`), { what: 'listed by the query' });
});
