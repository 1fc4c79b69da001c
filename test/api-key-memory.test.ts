// API keys kept in the API process's memory (platform/api-keys.ts) and dropped by PostgreSQL NOTIFY
// (platform/api-key-changes.ts): a kept key costs no database read, yet a revocation by any process
// reaches every replica within moments, and while notifications are not coming nothing is kept.
import { createApi, createServices, type Api } from '../main/services';
import { listenForApiKeyChanges, type ApiKeyChanges } from '../platform/api-key-changes';
import { createApiKey, createApiKeyVerifier, revokeApiKey } from '../platform/api-keys';
import type { Db } from '../platform/db';
import { createLogger } from '../platform/logger';
import { eventually } from './support/eventually';
import { runStatement } from './support/database';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
const opened: { close(): Promise<unknown> }[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
  await stack?.close();
});

const silent = createLogger('silent', 'test');

/** The stack's database, counting the key reads that reach it. */
function countingReads(db: Db): { db: Db; reads: () => number } {
  let reads = 0;
  const apiKey = new Proxy(db.apiKey, {
    get(target, prop, receiver) {
      if (prop === 'findUnique') {
        return (...args: Parameters<Db['apiKey']['findUnique']>) => {
          reads++;
          return target.findUnique(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const counted = new Proxy(db, {
    get: (target, prop, receiver) => (prop === 'apiKey' ? apiKey : Reflect.get(target, prop, receiver)),
  });
  return { db: counted, reads: () => reads };
}

async function openChanges(): Promise<ApiKeyChanges> {
  const changes = listenForApiKeyChanges(stack.databaseUrl, silent);
  opened.push(changes);
  await changes.ready;
  expect(changes.live).toBe(true);
  return changes;
}

test('a kept key is verified without a database read, its hash still checked', async () => {
  const changes = await openChanges();
  const { db, reads } = countingReads(stack.db);
  const verifier = createApiKeyVerifier(db, { changes });
  const { key, prefix } = await createApiKey(stack.db, { name: 'kept', tenantId: 'acme' });

  expect(await verifier.verify(key)).toMatchObject({ tenantId: 'acme', prefix });
  expect(reads()).toBe(1);
  for (let i = 0; i < 20; i++) expect(await verifier.verify(key)).toMatchObject({ prefix });
  expect(reads()).toBe(1);

  // The same prefix with another secret: refused against the kept hash.
  const forged = `tk_${prefix}_${'A'.repeat(43)}`;
  expect(await verifier.verify(forged)).toBeNull();
  // Unknown keys are read every time and never kept.
  const unknown = `tk_${'0'.repeat(12)}_${'A'.repeat(43)}`;
  expect(await verifier.verify(unknown)).toBeNull();
  expect(await verifier.verify(unknown)).toBeNull();
  expect(reads()).toBe(3);
});

test('a revocation by another process drops the kept key within moments', async () => {
  const changes = await openChanges();
  const { db, reads } = countingReads(stack.db);
  const verifier = createApiKeyVerifier(db, { changes });
  const { key, prefix } = await createApiKey(stack.db, { name: 'revoked elsewhere', tenantId: 'acme' });
  expect(await verifier.verify(key)).not.toBeNull();
  expect(await verifier.verify(key)).not.toBeNull();
  expect(reads()).toBe(1);

  const revokedAt = Date.now();
  expect(await revokeApiKey(stack.db, prefix)).toBe(true);
  await eventually(
    () => verifier.verify(key),
    (auth) => auth === null,
    {
      what: 'the revoked key refused',
      timeoutMs: 1_000,
      intervalMs: 5,
    },
  );
  expect(Date.now() - revokedAt).toBeLessThan(1_000);
  // Refused because it was read again, not because of anything kept.
  expect(reads()).toBeGreaterThan(1);
});

test('lastUsedAt changes notify nobody; it is still written about once a minute', async () => {
  const changes = await openChanges();
  const verifier = createApiKeyVerifier(stack.db, { changes });
  const { key, prefix } = await createApiKey(stack.db, { name: 'used', tenantId: 'acme' });
  const before = changes.version;
  await verifier.verify(key);
  await verifier.verify(key);
  const row = await stack.db.apiKey.findUniqueOrThrow({ where: { prefix } });
  expect(row.lastUsedAt).not.toBeNull();
  // Give a notification, had there been one, time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(changes.version).toBe(before);
});

test('while notifications are lost nothing is kept, and a revocation then is refused at once', async () => {
  const changes = await openChanges();
  const { db, reads } = countingReads(stack.db);
  const verifier = createApiKeyVerifier(db, { changes });
  const { key, prefix } = await createApiKey(stack.db, { name: 'outage', tenantId: 'acme' });
  await verifier.verify(key);
  await verifier.verify(key);
  expect(reads()).toBe(1);

  // The listening connection dies (a PostgreSQL restart or failover does this to every connection).
  await runStatement(
    stack.databaseUrl,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'tether-api-key-changes'`,
  );
  await eventually(() => !changes.live, Boolean, {
    what: 'the loss noticed',
    timeoutMs: 5_000,
    intervalMs: 10,
  });
  await verifier.verify(key);
  await verifier.verify(key);
  expect(reads()).toBe(3);
  expect(await revokeApiKey(stack.db, prefix)).toBe(true);
  expect(await verifier.verify(key)).toBeNull();

  // It listens again by itself, and keeps keys again from then on.
  await eventually(() => changes.live, Boolean, {
    what: 'listening again',
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  const next = await createApiKey(stack.db, { name: 'after the outage', tenantId: 'acme' });
  await verifier.verify(next.key);
  const readsBefore = reads();
  await verifier.verify(next.key);
  expect(reads()).toBe(readsBefore);
});

test('a kept key is read again after its time in memory', async () => {
  const changes = await openChanges();
  const { db, reads } = countingReads(stack.db);
  const verifier = createApiKeyVerifier(db, { changes, ttlMs: 100 });
  const { key } = await createApiKey(stack.db, { name: 'short memory', tenantId: 'acme' });
  await verifier.verify(key);
  await verifier.verify(key);
  expect(reads()).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 150));
  await verifier.verify(key);
  expect(reads()).toBe(2);
});

test('without a change feed (the embedded database, or TETHER_API_KEY_MEMORY_MS=0) every request reads its key', async () => {
  const { db, reads } = countingReads(stack.db);
  const verifier = createApiKeyVerifier(db);
  const { key } = await createApiKey(stack.db, { name: 'unkept', tenantId: 'acme' });
  await verifier.verify(key);
  await verifier.verify(key);
  expect(reads()).toBe(2);

  const off = createServices({ ...stack.config, apiKeyMemoryMs: 0 }, { logger: silent });
  opened.push(off);
  const embedded = createServices(stack.config, { logger: silent, maxConnections: 1 });
  opened.push(embedded);
  for (const services of [off, embedded]) {
    const listeners = async () =>
      Number(
        (
          await stack.db.$queryRawUnsafe<{ n: bigint }[]>(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'tether-api-key-changes'`,
          )
        )[0]!.n,
      );
    const before = await listeners();
    expect(await services.apiKeyVerifier().verify(key)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await listeners()).toBe(before);
  }
});

test('two API replicas: revoked through one, refused by it at once and by the other within moments', async () => {
  const replicaServices = createServices(stack.config, { logger: silent });
  opened.push(replicaServices);
  const replica: Api = await createApi(stack.config, replicaServices, stack.client);
  opened.push(replica);
  const { key, id } = await createApiKey(stack.db, { name: 'on two replicas', tenantId: 'acme' });
  const get = (app: Api) =>
    app.inject({ method: 'GET', url: '/v1/connections', headers: { authorization: `Bearer ${key}` } });
  // Both have verified (and kept) it.
  expect((await get(stack.rawApp)).statusCode).toBe(200);
  expect((await get(replica)).statusCode).toBe(200);
  expect((await get(replica)).statusCode).toBe(200);

  const revoked = await stack.rawApp.inject({
    method: 'DELETE',
    url: `/v1/api-keys/${id}`,
    headers: { authorization: `Bearer ${stack.adminKey}` },
  });
  expect(revoked.statusCode).toBe(200);
  expect((await get(stack.rawApp)).statusCode).toBe(401);
  const revokedAt = Date.now();
  await eventually(
    async () => (await get(replica)).statusCode,
    (code) => code === 401,
    {
      what: 'the other replica refusing the revoked key',
      timeoutMs: 1_000,
      intervalMs: 5,
    },
  );
  expect(Date.now() - revokedAt).toBeLessThan(1_000);
});
