// A connection stored while Temporal was down (the API answered 503 after storing it) gets its workflow:
// every worker starts the workflow of any connection that has none, at start and periodically.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { buildApp } from '../api/app';
import { startLifecycle } from '../api/commands';
import { createServices, startWorker } from '../main/services';
import { createApiKey } from '../platform/api-keys';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { encryptedDataConverter } from '../platform/payload-codec';
import { reconcileWorkflows } from '../worker/reconciler';
import { connectionWorkflowId } from '../workflows/ids';
import { startStack, TEST_POLICY, type Stack } from './support/stack';
import { createTestDatabase } from './support/database';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const logger = createLogger('silent', 'test');
/** A Temporal client that cannot reach any server, and says so at once (no retries). */
const unreachableTemporal = (dataConverter?: ReturnType<typeof encryptedDataConverter>) =>
  new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', interceptors: [] }), dataConverter });

const invgate = (clientId: string, instanceUrl: string) => ({
  vendor: 'invgate',
  instanceUrl,
  credentials: { clientId, clientSecret: 'demo-secret' },
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

const hasWorkflow = (client: Client, id: string) =>
  client.workflow
    .getHandle(connectionWorkflowId(id))
    .describe()
    .then(
      () => true,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      },
    );

test('a link answered 503 and retried without its Idempotency-Key leaves a connection that a reconciler pass starts, once', async () => {
  const down = await buildApp({
    db: stack.db,
    temporal: unreachableTemporal(),
    secrets: stack.secrets,
    taskQueue: stack.taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: TEST_POLICY,
  });
  let storedId: string;
  try {
    const answer = await down.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${stack.tenantKey}` },
      payload: invgate('demo-all-scopes.orphan', stack.instanceUrl('invgate')),
    });
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error).toBe('temporal_unavailable');
    const stored = await stack.db.connection.findMany({ where: { tenantId: 'test-tenant' } });
    expect(stored).toHaveLength(1);
    storedId = stored[0]!.id;
  } finally {
    await down.close();
  }
  // The client retries without the same key: a second connection, with its workflow. The first has none.
  const retried = await stack.link(invgate('demo-all-scopes.orphan', stack.instanceUrl('invgate')));
  expect(retried.status).toBe(202);
  await stack.waitForStatus(retried.id, 'active');
  expect(await hasWorkflow(stack.client, storedId)).toBe(false);
  expect((await stack.getConnection(storedId)).status).toBe('linking');

  const pass = () =>
    reconcileWorkflows({
      db: stack.db,
      temporal: stack.client,
      start: (c) =>
        startLifecycle({ temporal: stack.client, taskQueue: stack.taskQueue, policy: TEST_POLICY }, c),
      logger,
    });
  expect(await pass()).toEqual([storedId]);
  await stack.waitForStatus(storedId, 'active');
  const { runId } = await stack.client.workflow.getHandle(connectionWorkflowId(storedId)).describe();
  // Once visibility lists it, a pass finds nothing missing; a pass meanwhile keeps the run it has.
  await waitUntil(async () => (await pass()).length === 0, 'every connection listed as running');
  expect((await stack.client.workflow.getHandle(connectionWorkflowId(storedId)).describe()).runId).toBe(
    runId,
  );

  // A revoked connection's workflow has finished for good: it is never started again.
  await stack.app.inject({ method: 'DELETE', url: `/v1/connections/${storedId}` });
  await stack.waitForStatus(storedId, 'revoked');
  const handle = stack.client.workflow.getHandle(connectionWorkflowId(storedId));
  await waitUntil(async () => (await handle.describe()).status.name === 'COMPLETED', 'the workflow finished');
  expect(await pass()).toEqual([]);
  expect((await handle.describe()).status.name).toBe('COMPLETED');
});

test('every worker starts the missing workflows when it starts, as main/ wires it', async () => {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TETHER_TASK_QUEUE: `test-reconcile-${randomUUID()}`,
    TETHER_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
    TETHER_ALLOW_INSECURE_LOOPBACK: 'true',
    // Only the pass at start can find it within this test.
    TETHER_RECONCILE_INTERVAL_MS: '3600000',
  });
  const services = createServices(config, { logger });
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  try {
    const down = await buildApp({
      db: services.db,
      temporal: unreachableTemporal(encryptedDataConverter(services.codec)),
      secrets: services.secrets,
      taskQueue: config.temporal.taskQueue,
      urlPolicy: { allowInsecureLoopback: true },
      policy: config.policy,
    });
    const { key } = await createApiKey(services.db, { name: 'reconcile', tenantId: 't1' });
    const answer = await down.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${key}` },
      payload: invgate('demo-all-scopes.at-start', stack.instanceUrl('invgate')),
    });
    await down.close();
    expect(answer.statusCode).toBe(503);
    const { id } = await services.db.connection.findFirstOrThrow({ where: { tenantId: 't1' } });

    worker = await startWorker(config, services, {
      workflowBundle: { code: readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8') },
    });
    await waitUntil(
      async () => (await services.db.connection.findUniqueOrThrow({ where: { id } })).status === 'active',
      'the stored connection linked by the worker started after it',
      60_000,
    );
  } finally {
    await worker?.stop();
    await services.close();
    await database.drop();
  }
});
