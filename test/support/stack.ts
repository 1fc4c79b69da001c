// The whole service on real parts for one test suite: a fresh PostgreSQL database, the shared
// Temporal dev server, an in-process worker on its own task queue, the API (driven with inject)
// and the vendor simulators on loopback.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { InjectOptions } from 'fastify';
import { buildApp } from '../../api/app';
import { slackEndpointsAt } from '../../catalog/slack';
import { createApiKey } from '../../platform/api-keys';
import { createPrismaClient, type Db } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import { EncryptionCodec, encryptedDataConverter } from '../../platform/payload-codec';
import { createSecretBox } from '../../platform/secret-box';
import { createSecretStore, type SecretStore } from '../../platform/secret-store';
import { createVendorHttp } from '../../vendor-kit/vendor-http';
import { startSimulators, type RunningSimulators } from '../../simulators/server';
import { createWorker } from '../../worker/create-worker';
import type { ConnectionStatus } from '../../domain/connection';
import type { MaintenancePolicy } from '../../domain/policy';
import type { Quotas } from '../../platform/config';
import { createTestDatabase } from './database';

/** Fast timings so failure paths finish in seconds; the logic is the production one. */
export const TEST_POLICY: Partial<MaintenancePolicy> = {
  healthCheckIntervalMs: 3_000,
  failureBackoffBaseMs: 500,
  failureBackoffCapMs: 2_000,
  rejectionLimit: 2,
  webhookRetry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, maximumAttempts: 4 },
};

/** The API's public address in tests: OAuth redirect URIs start with it (nothing listens there). */
export const TEST_PUBLIC_URL = 'https://tether.test';

export interface Stack {
  db: Db;
  secrets: SecretStore;
  client: Client;
  /** The API, authenticated as tenant `test-tenant` by default. */
  app: Awaited<ReturnType<typeof buildApp>>;
  /** The API without default credentials. */
  rawApp: Awaited<ReturnType<typeof buildApp>>;
  tenantKey: string;
  adminKey: string;
  /** The suite's own database, for tests that inspect raw rows. */
  databaseUrl: string;
  sim: RunningSimulators;
  taskQueue: string;
  instanceUrl(vendor: string): string;
  link(
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ id: string; status: number; body: any }>;
  waitForStatus(id: string, status: ConnectionStatus | ConnectionStatus[], timeoutMs?: number): Promise<any>;
  getConnection(id: string): Promise<any>;
  events(id: string): Promise<any[]>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * A fixed payload key, so histories recorded by scripts/record-histories.ts replay in the tests.
 * Test-only: production keys come from TETHER_ENCRYPTION_KEYS.
 */
export const testCodec = () => new EncryptionCodec(new Map([['fixtures', Buffer.alloc(32, 7)]]), 'fixtures');
export const TEST_UI_CODEC_TOKEN = 'test-ui-codec-token';

export interface StackOptions {
  policy?: Partial<MaintenancePolicy>;
  /** Default: the server jest's globalSetup started. */
  temporalAddress?: string;
  /** Default: the bundle jest's globalSetup built. */
  workflowBundlePath?: string;
  rateLimitPerMinute?: number;
  quotas?: Partial<Quotas>;
  /** Capture API and worker logs (debug level) here, for leak tests. */
  logLines?: string[];
  /** Serve the worker's Prometheus metrics (Temporal SDK + ours) on this host:port. */
  workerMetricsAddress?: string;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const address = options.temporalAddress ?? process.env.TEST_TEMPORAL_ADDRESS;
  const bundlePath = options.workflowBundlePath ?? process.env.TEST_WORKFLOW_BUNDLE;
  if (!address || !bundlePath)
    throw new Error('run through jest (globalSetup starts Temporal) or pass both options');
  const logLines = options.logLines;
  if (!runtimeInstalled) {
    // Quiet the SDK's own logs in tests (TEST_TEMPORAL_LOGS=1 shows them); failures surface through
    // assertions. With logLines, everything down to DEBUG is captured there instead.
    const telemetryOptions = options.workerMetricsAddress
      ? { metrics: { prometheus: { bindAddress: options.workerMetricsAddress } } }
      : undefined;
    if (logLines) {
      Runtime.install({
        logger: new DefaultLogger('DEBUG', (entry) =>
          logLines.push(`${entry.message} ${JSON.stringify(entry.meta ?? {})}`),
        ),
        telemetryOptions,
      });
    } else if (!process.env.TEST_TEMPORAL_LOGS || telemetryOptions) {
      Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions });
    }
    runtimeInstalled = true;
  }

  // Everything started so far is stopped again if a later step fails, so no poller outlives the suite.
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const db = createPrismaClient(database.url);
    cleanups.push(() => db.$disconnect());
    const box = createSecretBox(new Map([['test', randomBytes(32)]]), 'test');
    const codec = testCodec();
    const secrets = createSecretStore(db, box);
    const sim = await startSimulators();
    cleanups.push(() => sim.close());
    // Slack's fixed addresses point at its simulator, by configuration as in the demo.
    const endpoints = slackEndpointsAt(`${sim.baseUrl}/slack`);
    const http = createVendorHttp({
      timeoutMs: 5_000,
      maxResponseBytes: 1_048_576,
      allowInsecureLoopback: true,
    });
    cleanups.push(() => http.close());
    const taskQueue = `test-${randomUUID()}`;

    const nativeConnection = await NativeConnection.connect({ address });
    cleanups.push(() => nativeConnection.close());
    const worker: Worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      db,
      secrets,
      http,
      endpoints,
      codec,
      workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
    });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    const clientConnection = await Connection.connect({ address });
    cleanups.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, dataConverter: encryptedDataConverter(codec) });
    const app = await buildApp({
      db,
      temporal: client,
      secrets,
      taskQueue,
      urlPolicy: { allowInsecureLoopback: true },
      policy: { ...TEST_POLICY, ...options.policy },
      publicUrl: TEST_PUBLIC_URL,
      vendorEndpoints: endpoints,
      rateLimitPerMinute: options.rateLimitPerMinute,
      quotas: options.quotas,
      logger: logLines
        ? createLogger('debug', 'api', { write: (line: string) => logLines.push(line) })
        : undefined,
      codec: { codec, allowedOrigins: ['http://127.0.0.1:8233'], uiToken: TEST_UI_CODEC_TOKEN },
    });
    cleanups.push(() => app.close());
    const tenantKey = (await createApiKey(db, { name: 'tests', tenantId: 'test-tenant' })).key;
    const adminKey = (await createApiKey(db, { name: 'tests-admin', role: 'admin' })).key;
    // Tests call the API as tenant `test-tenant` unless they pass their own Authorization header.
    const inject = ((opts: InjectOptions) =>
      app.inject({
        ...opts,
        headers: { authorization: `Bearer ${tenantKey}`, ...(opts.headers as Record<string, string>) },
      })) as typeof app.inject;
    const api = Object.assign(Object.create(app) as typeof app, { inject });
    return stackApi({
      db,
      secrets,
      client,
      app: api,
      rawApp: app,
      tenantKey,
      adminKey,
      databaseUrl: database.url,
      sim,
      taskQueue,
      close: cleanup,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function stackApi(
  parts: Pick<
    Stack,
    | 'db'
    | 'secrets'
    | 'client'
    | 'app'
    | 'rawApp'
    | 'tenantKey'
    | 'adminKey'
    | 'databaseUrl'
    | 'sim'
    | 'taskQueue'
    | 'close'
  >,
): Stack {
  const { app, sim } = parts;
  const getConnection = async (id: string) => {
    const res = await app.inject({ method: 'GET', url: `/v1/connections/${id}` });
    return res.json();
  };

  return {
    ...parts,
    instanceUrl: (vendor) =>
      vendor === 'promapp' ? `${sim.baseUrl}/promapp/api/scim` : `${sim.baseUrl}/${vendor}`,
    async link(body, headers = {}) {
      const res = await app.inject({ method: 'POST', url: '/v1/connections', payload: body, headers });
      const json = res.json();
      return { id: json.id, status: res.statusCode, body: json };
    },
    getConnection,
    async waitForStatus(id, status, timeoutMs = 30_000) {
      const wanted = Array.isArray(status) ? status : [status];
      const deadline = Date.now() + timeoutMs;
      let last: any;
      while (Date.now() < deadline) {
        last = await getConnection(id);
        if (wanted.includes(last.status)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`connection ${id} never reached ${wanted.join('|')}; last: ${JSON.stringify(last)}`);
    },
    async events(id) {
      const res = await app.inject({ method: 'GET', url: `/v1/connections/${id}/events` });
      return res.json().items;
    },
  };
}
