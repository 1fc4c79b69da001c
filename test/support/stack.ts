// The whole service on real parts for one test suite, wired as production wires it (main/services.ts):
// a fresh PostgreSQL database, the shared Temporal dev server, an in-process worker on its own task
// queue, the API (driven with inject) and the vendor simulators on loopback.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { InjectOptions } from 'fastify';
import { connectTemporalClient, createApi, createServices, startWorker, type Api } from '../../main/services';
import { createApiKey } from '../../platform/api-keys';
import { loadConfig, type Config, type Quotas } from '../../platform/config';
import type { Db } from '../../platform/db';
import { createLogger, redactSecrets } from '../../platform/logger';
import { EncryptionCodec } from '../../platform/payload-codec';
import type { SecretStore } from '../../platform/secret-store';
import type { VendorHttp } from '../../vendor-kit/vendor-http';
import { startSimulators, type RunningSimulators, type SimulatorOptions } from '../../simulators/server';
import type { JobPolicy } from '../../domain/jobs';
import type { LifecyclePolicy } from '../../domain/lifecycle-events';
import type { ConnectionStatus } from '../../domain/connection';
import type { MaintenancePolicy } from '../../domain/policy';
import { createTestDatabase } from './database';
import { serviceEnvironment } from './environment';
import { eventually } from './eventually';

/** Fast timings so failure paths finish in seconds; the logic is the production one. */
export const TEST_POLICY: Partial<MaintenancePolicy> = {
  healthCheckIntervalMs: 3_000,
  failureBackoffBaseMs: 500,
  failureBackoffCapMs: 2_000,
  rejectionLimit: 2,
  webhookRetry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, maximumAttempts: 4 },
};

/** Provisioning jobs retry and wait in fractions of a second. */
export const TEST_JOB_POLICY: Omit<JobPolicy, 'webhookRetry'> = {
  connectionWaitMs: 20_000,
  connectionPollMs: 300,
  retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, maximumAttempts: 5 },
};

/** The API's public address in tests: OAuth redirect URIs start with it (nothing listens there). */
export const TEST_PUBLIC_URL = 'https://tether.test';

export interface Stack {
  db: Db;
  secrets: SecretStore;
  /** The vendor HTTP client the worker uses, for tests that call the vendor toolkit directly. */
  http: VendorHttp;
  client: Client;
  /** The API, authenticated as tenant `test-tenant` by default. */
  app: Api;
  /** The API without default credentials. */
  rawApp: Api;
  tenantKey: string;
  adminKey: string;
  /** The suite's own database, for tests that inspect raw rows. */
  databaseUrl: string;
  /** The configuration the worker and API run with, for tests that start more of them. */
  config: Config;
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
  /** The connection's audit trail, event types only. */
  eventTypes(id: string): Promise<string[]>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * A fixed key (payloads and secrets at rest), so histories recorded by scripts/record-histories.ts
 * replay in the tests. Test-only: production keys come from TETHER_ENCRYPTION_KEYS.
 */
const FIXTURE_KEY = Buffer.alloc(32, 7);
export const testCodec = () => new EncryptionCodec(new Map([['fixtures', FIXTURE_KEY]]), 'fixtures');
export const TEST_UI_CODEC_TOKEN = 'test-ui-codec-token';

export interface StackOptions {
  policy?: Partial<MaintenancePolicy>;
  /** Default: the server jest's globalSetup started. */
  temporalAddress?: string;
  /** Default: the bundle jest's globalSetup built. */
  workflowBundlePath?: string;
  rateLimitPerMinute?: number;
  /** Requests per minute per address without a valid key (OAuth callback, codec, failed authentications). */
  addressRateLimitPerMinute?: number;
  /** How long /metrics serves its fleet counts from cache. */
  metricsCacheMs?: number;
  quotas?: Partial<Quotas>;
  /** TETHER_PUBLIC_URL; default TEST_PUBLIC_URL, where nothing listens (the browser tests listen on theirs). */
  publicUrl?: string;
  /** Capture API and worker logs (debug level) here, for leak tests. */
  logLines?: string[];
  /** Serve the worker's Prometheus metrics (Temporal SDK + ours) on this host:port. */
  workerMetricsAddress?: string;
  /** TETHER_INSTALL_RETURN_URL: where install callbacks send the browser. */
  installReturnUrl?: string;
  /** Overrides of TEST_JOB_POLICY. */
  jobs?: Partial<Omit<JobPolicy, 'webhookRetry'>>;
  /** Overrides of the lifecycle events' policy (the leaver deadline). */
  lifecycle?: Partial<LifecyclePolicy>;
  simulators?: SimulatorOptions;
  /** More environment variables, read as production reads them (e.g. TETHER_VENDOR_RATE_LIMITS). */
  env?: Record<string, string>;
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
          // Errors in the meta serialised (and secrets redacted) as the production logger does.
          logLines.push(`${entry.message} ${JSON.stringify(redactSecrets(entry.meta ?? {}))}`),
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
    const sim = await startSimulators(options.simulators);
    cleanups.push(() => sim.close());
    const taskQueue = `test-${randomUUID()}`;
    const config = loadConfig({
      ...serviceEnvironment({
        databaseUrl: database.url,
        temporalAddress: address,
        taskQueue,
        encryptionKeys: `fixtures:${FIXTURE_KEY.toString('base64')}`,
        simulatorsUrl: sim.baseUrl,
        publicUrl: options.publicUrl ?? TEST_PUBLIC_URL,
        installReturnUrl: options.installReturnUrl,
        rateLimitPerMinute: options.rateLimitPerMinute,
        addressRateLimitPerMinute: options.addressRateLimitPerMinute,
        metricsCacheMs: options.metricsCacheMs,
        quotas: options.quotas,
      }),
      ...options.env,
    });
    // Webhook retries and steps per run have no variable: the whole policy is set here.
    config.policy = { ...TEST_POLICY, ...options.policy };
    config.jobs = { ...TEST_JOB_POLICY, ...options.jobs };
    config.lifecycle = { ...config.lifecycle, ...options.lifecycle };
    const logger = logLines
      ? createLogger('debug', 'api', { write: (line: string) => logLines.push(line) })
      : undefined;

    const services = createServices(config, { logger: logger ?? createLogger('silent', 'test') });
    cleanups.push(() => services.close());
    const worker = await startWorker(config, services, {
      workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
    });
    cleanups.push(() => worker.stop());
    const temporal = await connectTemporalClient(config, services);
    cleanups.push(() => temporal.close());
    const app = await createApi(config, services, temporal.client, logger, {
      uiCodec: { origins: ['http://127.0.0.1:8233'], token: TEST_UI_CODEC_TOKEN },
    });
    cleanups.push(() => app.close());
    const { db, secrets, http } = services;
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
      http,
      client: temporal.client,
      app: api,
      rawApp: app,
      tenantKey,
      adminKey,
      databaseUrl: database.url,
      config,
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
    | 'http'
    | 'client'
    | 'app'
    | 'rawApp'
    | 'tenantKey'
    | 'adminKey'
    | 'databaseUrl'
    | 'config'
    | 'sim'
    | 'taskQueue'
    | 'close'
  >,
): Stack {
  const { app, sim } = parts;
  const events = async (id: string) => {
    // The trail, oldest first (the API answers newest first).
    const res = await app.inject({ method: 'GET', url: `/v1/connections/${id}/events?limit=200` });
    return res.json().items.reverse();
  };
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
    waitForStatus(id, status, timeoutMs = 30_000) {
      const wanted: string[] = Array.isArray(status) ? status : [status];
      return eventually(
        () => getConnection(id),
        (connection) => wanted.includes(connection.status),
        { what: `connection ${id} ${wanted.join('|')}`, timeoutMs },
      );
    },
    events,
    eventTypes: async (id) => (await events(id)).map((e: { type: string }) => e.type),
  };
}
