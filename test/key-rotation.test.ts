// Retiring an encryption key end to end, wired as production wires it (main/services): link, rotate the
// key (the old one decrypt-only), re-encrypt the stored secrets, list the workflows whose history still
// needs the old key, move them onto the new one, remove the old key entirely, and the workflows still work.
// Workflows that wait without a timer (paused, invalid_credentials) never continue as new by themselves.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { connectTemporalClient, createServices, startWorker } from '../main/services';
import { createApiKey } from '../platform/api-keys';
import { loadConfig, type Config } from '../platform/config';
import { loadKeyring, secretBoxFromConfig } from '../platform/encryption';
import { createSecretBox } from '../platform/secret-box';
import { createLogger } from '../platform/logger';
import { reencryptSecrets } from '../platform/reencrypt';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import { connectionWorkflowId } from '../workflows/ids';
import { createTestDatabase, type TestDatabase } from './support/database';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
// Key ids of this suite alone: other suites' workflows on the shared server use other keys.
const OLD = `old-${randomUUID().slice(0, 8)}`;
const NEW = `new-${randomUUID().slice(0, 8)}`;
const keyOf = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const oldKey = keyOf(OLD);
const newKey = keyOf(NEW);

let database: TestDatabase;
let sim: RunningSimulators;
let tenantKey: string;
beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  [database, sim] = await Promise.all([createTestDatabase(), startSimulators()]);
});
afterAll(async () => {
  await sim?.close();
  await database?.drop();
});

const taskQueue = `test-key-rotation-${randomUUID()}`;
const environment = (keys: Record<string, string>) => ({
  DATABASE_URL: database.url,
  TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
  TETHER_TASK_QUEUE: taskQueue,
  TETHER_ALLOW_INSECURE_LOOPBACK: 'true',
  TETHER_RECONCILE_INTERVAL_MS: '3600000',
  ...keys,
});

/** Worker, Temporal client and API of one deployment: every process restarted with these keys. */
async function deploy(keys: Record<string, string>) {
  const config: Config = loadConfig(environment(keys));
  const services = createServices(config, { logger: createLogger('silent', 'test') });
  const worker = await startWorker(config, services, {
    workflowBundle: { code: readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8') },
  });
  const temporal = await connectTemporalClient(config, services);
  const app = await buildApp({
    db: services.db,
    temporal: temporal.client,
    secrets: services.secrets,
    taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: config.policy,
  });
  tenantKey ??= (await createApiKey(services.db, { name: 'rotation', tenantId: 't1' })).key;
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers = {}) =>
    app.inject({ method, url, payload, headers: { authorization: `Bearer ${tenantKey}`, ...headers } });
  const status = async (id: string, wanted: string) => {
    const deadline = Date.now() + 30_000;
    let last;
    while (Date.now() < deadline) {
      last = (await call('GET', `/v1/connections/${id}`)).json();
      if (last.status === wanted) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${id} never ${wanted}: ${JSON.stringify(last)}`);
  };
  return {
    config,
    services,
    client: temporal.client as Client,
    call,
    status,
    async stop() {
      await app.close();
      await temporal.close();
      await worker.stop();
      await services.close();
    },
  };
}

/** The command operators run, with the deployment's environment. */
async function keysWorkflows(keys: Record<string, string>, ...args: string[]) {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/workflow-keys.ts', ...args],
    { cwd: ROOT, env: { ...process.env, ...environment(keys), LOG_LEVEL: 'silent' } },
  );
  return {
    ids: stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t')[0]),
    stderr,
  };
}

test('link, rotate the key, list, move, remove the old key: the idle workflows still work', async () => {
  const body = (clientId: string, clientSecret = 'demo-secret') => ({
    vendor: 'invgate',
    instanceUrl: `${sim.baseUrl}/invgate`,
    credentials: { clientId, clientSecret },
  });
  const idempotency = { 'idempotency-key': `link-${randomUUID()}` };

  // ---- deployment 1: the old key only ----------------------------------------------------------
  const first = await deploy({ TETHER_ENCRYPTION_KEYS: oldKey });
  const paused = (
    await first.call('POST', '/v1/connections', body('demo-all-scopes.rot'), idempotency)
  ).json();
  await first.status(paused.id, 'active');
  expect((await first.call('POST', `/v1/connections/${paused.id}/pause`)).statusCode).toBe(202);
  await first.status(paused.id, 'paused');
  const refused = (await first.call('POST', '/v1/connections', body('demo-all-scopes.rot2', 'wrong'))).json();
  await first.status(refused.id, 'invalid_credentials');
  await first.stop();

  // ---- deployment 2: a new active key, the old one decrypt-only ----------------------------------
  const rotated = { TETHER_ENCRYPTION_KEYS: newKey, TETHER_DECRYPT_ONLY_KEYS: oldKey };
  const second = await deploy(rotated);
  try {
    // A link retried after the rotation is the same link, not a conflict.
    const retried = await second.call('POST', '/v1/connections', body('demo-all-scopes.rot'), idempotency);
    expect(retried.statusCode).toBe(202);
    expect(retried.json().id).toBe(paused.id);
    const other = await second.call('POST', '/v1/connections', body('demo-all-scopes.other'), idempotency);
    expect(other.statusCode).toBe(409);

    const box = secretBoxFromConfig(second.config.encryption);
    await reencryptSecrets(second.services.db, box);
    expect(await second.services.db.connectionSecret.count({ where: { keyId: OLD } })).toBe(0);

    const ours = [connectionWorkflowId(paused.id), connectionWorkflowId(refused.id)].sort();
    const listed = await keysWorkflows(rotated, '--key', OLD);
    expect(listed.ids.filter((id) => ours.includes(id!)).sort()).toEqual(ours);
    expect(listed.ids).toHaveLength(2);

    const moved = await keysWorkflows(rotated, '--key', OLD, '--move', '--wait', '60');
    expect(moved.stderr).toMatch(`no running workflow needs key ${OLD} any more`);
    expect((await keysWorkflows(rotated, '--key', OLD)).ids).toEqual([]);
  } finally {
    await second.stop();
  }

  // ---- deployment 3: the old key removed entirely ---------------------------------------------------
  const third = await deploy({ TETHER_ENCRYPTION_KEYS: newKey });
  try {
    expect((await third.call('POST', `/v1/connections/${paused.id}/resume`)).statusCode).toBe(202);
    const resumed = await third.status(paused.id, 'active');
    expect(Date.parse(resumed.tokenExpiresAt)).toBeGreaterThan(Date.now());
    expect((await third.call('POST', `/v1/connections/${refused.id}/refresh`)).statusCode).toBe(202);
    for (const id of [paused.id, refused.id]) {
      expect((await third.call('DELETE', `/v1/connections/${id}`)).statusCode).toBe(202);
      await third.status(id, 'revoked');
      const result = await third.client.workflow.getHandle(connectionWorkflowId(id)).result();
      expect(result).toMatchObject({ status: 'revoked' });
    }
  } finally {
    await third.stop();
  }
});

describe('keys that only decrypt', () => {
  test('a fingerprint names its key and still matches once that key only decrypts; an old unnamed one too', () => {
    const before = loadKeyring({ keys: oldKey });
    const box = createSecretBox(before.keys, before.activeKeyId);
    const fingerprint = box.fingerprint('{"a":1}');
    expect(fingerprint.startsWith(`${OLD}:`)).toBe(true);
    const after = loadKeyring({ keys: newKey, decryptOnlyKeys: oldKey });
    expect(after.activeKeyId).toBe(NEW);
    const rotated = createSecretBox(after.keys, after.activeKeyId);
    expect(rotated.matchesFingerprint('{"a":1}', fingerprint)).toBe(true);
    expect(rotated.matchesFingerprint('{"a":2}', fingerprint)).toBe(false);
    // Fingerprints stored before they named their key: a bare HMAC by one of the configured keys.
    expect(rotated.matchesFingerprint('{"a":1}', fingerprint.slice(OLD.length + 1))).toBe(true);
    // Once the key is gone entirely, what it fingerprinted can no longer be recognised.
    const gone = loadKeyring({ keys: newKey });
    expect(createSecretBox(gone.keys, gone.activeKeyId).matchesFingerprint('{"a":1}', fingerprint)).toBe(
      false,
    );
  });

  test('a decrypt-only key never encrypts, and may not also be an encryption key', () => {
    const ring = loadKeyring({ keys: newKey, decryptOnlyKeys: oldKey });
    expect(createSecretBox(ring.keys, ring.activeKeyId).seal('x', 'c').keyId).toBe(NEW);
    expect(() => loadKeyring({ keys: newKey, activeKeyId: OLD, decryptOnlyKeys: oldKey })).toThrow(
      /not in TETHER_ENCRYPTION_KEYS/,
    );
    expect(() => loadKeyring({ keys: `${newKey},${oldKey}`, decryptOnlyKeys: oldKey })).toThrow(
      /in both TETHER_ENCRYPTION_KEYS and TETHER_DECRYPT_ONLY_KEYS/,
    );
  });
});
