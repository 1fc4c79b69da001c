// Process wiring shared by main/worker.ts, main/api.ts and dev/start.ts, and by the tests and the
// benchmark, so they run the service as production wires it: the dependencies both halves need
// (database, secret store, Temporal payload codec, vendor HTTP), the worker and the API started from
// config, and an ordered shutdown on SIGINT/SIGTERM.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { buildApp } from '../api/app';
import { startLifecycle } from '../api/commands';
import { createWorker, type WorkerTuning } from '../worker/create-worker';
import { startReconciler } from '../worker/reconciler';
import type { Config } from '../platform/config';
import { createPrismaClient, type Db } from '../platform/db';
import { loadKeyring } from '../platform/encryption';
import { EncryptionCodec, encryptedDataConverter } from '../platform/payload-codec';
import { createSecretBox } from '../platform/secret-box';
import { createSecretStore, type SecretStore } from '../platform/secret-store';
import { createVendorHttp, type VendorHttp } from '../vendor-kit/vendor-http';
import { createRateLimits, type SharedRateLimits } from '../vendor-kit/rate-limits';
import { createRateBudget } from '../platform/rate-budget';
import { createApiKeyVerifier, type ApiKeyVerifier } from '../platform/api-keys';
import { listenForApiKeyChanges } from '../platform/api-key-changes';
import { vendors } from '../catalog';

export interface Services {
  db: Db;
  secrets: SecretStore;
  http: VendorHttp;
  /** The vendor rate limits every worker and API replica shares (in the database). */
  rateLimits: SharedRateLimits;
  /** Encrypts Temporal payloads; client and worker must use the same keys. */
  codec: EncryptionCodec;
  /**
   * How the API verifies keys, opened on first use (the worker never needs it): kept in memory and told of
   * changes by a LISTEN connection, unless TETHER_API_KEY_MEMORY_MS is 0 or the database serves one
   * connection only (the embedded PGlite).
   */
  apiKeyVerifier(): ApiKeyVerifier;
  logger: Logger;
  close(): Promise<void>;
}

export interface ServicesOptions {
  logger: Logger;
  /** Size of the database pool; 1 for the embedded PGlite server. Default: the URL's connection_limit, else 10. */
  maxConnections?: number;
  /** `npm start` only: a key file to create/use when TETHER_ENCRYPTION_KEYS is unset. Production has none. */
  localKeyFile?: string;
}

export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new Error(
      'DATABASE_URL is not set: point it at PostgreSQL, e.g. postgresql://tether:secret@127.0.0.1:5432/tether ' +
        '(run `npm run db:migrate` against it first). Only `npm start` falls back to an embedded database.',
    );
  }
  return config.databaseUrl;
}

/** host:port/database of a database URL, for logs (never the password). */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export function createServices(config: Config, options: ServicesOptions): Services {
  const databaseUrl = requireDatabaseUrl(config);
  // First, so a missing key fails before anything is opened. One keyring: secrets at rest and payloads.
  const { keys, activeKeyId } = loadKeyring(config.encryption, {
    localKeyFile: options.localKeyFile,
    logger: options.logger,
  });
  const db = createPrismaClient(databaseUrl, { maxConnections: options.maxConnections });
  const http = createVendorHttp(config.vendorHttp);
  const { inlineWaitMs, horizonMs } = config.rateLimits;
  let apiKeyChanges: ReturnType<typeof listenForApiKeyChanges> | undefined;
  let apiKeyVerifier: ApiKeyVerifier | undefined;
  return {
    db,
    secrets: createSecretStore(db, createSecretBox(keys, activeKeyId)),
    http,
    rateLimits: {
      budget: createRateBudget(db),
      limits: createRateLimits(vendors, config.rateLimits),
      inlineWaitMs,
      horizonMs,
    },
    codec: new EncryptionCodec(keys, activeKeyId),
    logger: options.logger,
    apiKeyVerifier() {
      if (!apiKeyVerifier) {
        const remember = config.apiKeyMemoryMs > 0 && options.maxConnections !== 1;
        if (remember) apiKeyChanges = listenForApiKeyChanges(databaseUrl, options.logger);
        apiKeyVerifier = createApiKeyVerifier(
          db,
          apiKeyChanges && { changes: apiKeyChanges, ttlMs: config.apiKeyMemoryMs },
        );
      }
      return apiKeyVerifier;
    },
    async close() {
      await apiKeyChanges?.close();
      await http.close().catch((err: unknown) => options.logger.warn({ err }, 'closing vendor HTTP failed'));
      await db.$disconnect();
    },
  };
}

export interface RunningWorker {
  worker: Worker;
  /** Settles when the worker stops; rejects if it fails on its own. */
  done: Promise<void>;
  /** Stops polling, waits for in-flight tasks, closes the Temporal connection. Idempotent. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** Workflow code bundled beforehand (tests and the benchmark bundle once per run); default: bundled at start. */
  workflowBundle?: { code: string };
  /** Concurrency and workflow cache; default: the SDK's. */
  tuning?: WorkerTuning;
}

export async function startWorker(
  config: Config,
  services: Services,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  let worker: Worker;
  try {
    worker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      db: services.db,
      secrets: services.secrets,
      http: services.http,
      endpoints: config.vendorEndpoints,
      rateLimits: services.rateLimits,
      codec: services.codec,
      pendingDeliveriesLimit: config.quotas.pendingDeliveries,
      workflowBundle: options.workflowBundle,
      // The environment's sizing (TETHER_WORKER_*), then the caller's (the benchmark's flags).
      tuning: { ...config.workerTuning, ...options.tuning },
    });
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
  const done = worker.run();
  // Every worker, at start and then periodically, starts the workflow of any connection that has none.
  const temporal = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: encryptedDataConverter(services.codec),
  });
  const start = { temporal, taskQueue: config.temporal.taskQueue, policy: config.policy };
  const reconciler = startReconciler(
    { db: services.db, temporal, start: (c) => startLifecycle(start, c), logger: services.logger },
    config.reconcileIntervalMs,
  );
  let stopping: Promise<void> | undefined;
  return {
    worker,
    done,
    stop() {
      stopping ??= (async () => {
        await reconciler.stop();
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done.catch(() => undefined);
        await connection.close();
      })();
      return stopping;
    },
  };
}

export interface TemporalClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectTemporalClient(config: Config, services: Services): Promise<TemporalClient> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return {
    client: new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: encryptedDataConverter(services.codec),
    }),
    close: () => connection.close(),
  };
}

export interface ApiOptions {
  /** Serve /codec/t/<token>/decode for this Temporal Web UI origin (the dev server's --ui-codec-endpoint). */
  uiCodec?: { origins: string[]; token: string };
}

/** The API, built but not listening (tests drive it with inject()); without a logger it logs nothing. */
export function createApi(
  config: Config,
  services: Services,
  temporal: Client,
  logger?: Logger,
  options: ApiOptions = {},
) {
  return buildApp({
    db: services.db,
    temporal,
    secrets: services.secrets,
    taskQueue: config.temporal.taskQueue,
    urlPolicy: { allowInsecureLoopback: config.vendorHttp.allowInsecureLoopback },
    policy: config.policy,
    jobs: config.jobs,
    lifecycle: config.lifecycle,
    rateLimitPerMinute: config.rateLimitPerMinute,
    quotas: config.quotas,
    tokenRateLimitPerMinute: config.tokenRateLimitPerMinute,
    addressRateLimitPerMinute: config.addressRateLimitPerMinute,
    metricsCacheMs: config.metricsCacheMs,
    // The proxy calls vendors under the worker's limits.
    proxy: { timeoutMs: config.vendorHttp.timeoutMs, maxBytes: config.vendorHttp.maxResponseBytes },
    publicUrl: config.publicUrl,
    installReturnUrl: config.installReturnUrl,
    commandTimeoutMs: config.commandTimeoutMs,
    temporalUiUrl: config.temporalUiUrl,
    vendorEndpoints: config.vendorEndpoints,
    rateLimits: services.rateLimits,
    apiKeyVerifier: services.apiKeyVerifier(),
    logger,
    // Always served (admin API key); the UI token route only when a token is configured.
    codec: {
      codec: services.codec,
      allowedOrigins: options.uiCodec?.origins ?? config.codec.origins,
      uiToken: options.uiCodec?.token ?? config.codec.uiToken,
    },
  });
}

export type Api = Awaited<ReturnType<typeof createApi>>;

export async function startApi(
  config: Config,
  services: Services,
  temporal: Client,
  logger: Logger,
  options: ApiOptions = {},
): Promise<Api> {
  const app = await createApi(config, services, temporal, logger, options);
  await app.listen({ host: config.http.host, port: config.http.port });
  return app;
}

/**
 * Ordered shutdown: steps run in reverse order of registration, each awaited, a failing one logged
 * and skipped. The first SIGINT/SIGTERM starts it; a second one, or forceAfterMs, exits at once.
 */
export class Shutdown {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private running?: Promise<never>;

  constructor(
    private readonly logger: Logger,
    private readonly forceAfterMs = 30_000,
  ) {}

  /** Registers a cleanup step; later steps run first. */
  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  listenForSignals(): void {
    let firstAt = 0;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (this.running) {
          // Ctrl-C reaches us twice: from the terminal and relayed by npm/tsx. Only a later one forces.
          if (Date.now() - firstAt < 2_000) return;
          this.logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
          process.exit(1);
        }
        firstAt = Date.now();
        void this.exit(0, signal);
      });
    }
  }

  /** Runs every step (once), then exits the process with the given code. */
  exit(code: number, reason: string): Promise<never> {
    this.running ??= this.run(code, reason);
    return this.running;
  }

  private async run(code: number, reason: string): Promise<never> {
    this.logger.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      this.logger.error({ afterMs: this.forceAfterMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, this.forceAfterMs);
    force.unref();
    let failed = false;
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
        this.logger.debug({ step: step.name }, 'stopped');
      } catch (err) {
        failed = true;
        this.logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    this.logger.info('stopped');
    process.exit(failed && code === 0 ? 1 : code);
  }
}
