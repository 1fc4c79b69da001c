// Configuration from the environment, validated once at start-up with messages naming the variable.
import { z } from 'zod';
import type { VendorEndpoints } from '../vendor-kit/definition';
import { trimTrailingSlashes } from '../vendor-kit/url-policy';
import { parseRateLimit, type RateLimit, type RateLimitSettings } from '../vendor-kit/rate-limits';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../domain/policy';
import { DEFAULT_JOB_POLICY, type JobPolicy } from '../domain/jobs';
import { DEFAULT_LIFECYCLE_POLICY, type LifecyclePolicy } from '../domain/lifecycle-events';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Per-tenant quotas: what creating past one answers (409 quota_exceeded) names `noun` and `variable`.
 * A quota is added here and enforced where its rows are created (api/tenant-data/quota.ts).
 */
export const QUOTAS = {
  connections: {
    variable: 'TETHER_QUOTA_CONNECTIONS',
    default: 10_000,
    noun: 'connections (revoked ones do not count)',
  },
  connectSessions: {
    variable: 'TETHER_QUOTA_CONNECT_SESSIONS',
    default: 1_000,
    noun: 'open connect sessions (completed and expired ones do not count)',
  },
  webhookEndpoints: {
    variable: 'TETHER_QUOTA_WEBHOOK_ENDPOINTS',
    default: 50,
    noun: 'webhook endpoints (deleted ones do not count)',
  },
  /** Past it, new events are stored failed (redeliverable) rather than queued: see activities' outbox. */
  pendingDeliveries: {
    variable: 'TETHER_QUOTA_PENDING_DELIVERIES',
    default: 10_000,
    noun: 'pending webhook deliveries (delivered and failed ones do not count)',
  },
  jobs: {
    variable: 'TETHER_QUOTA_JOBS',
    default: 1_000,
    noun: 'unfinished provisioning jobs (queued, waiting for their connection or running)',
  },
} as const;
export type QuotaName = keyof typeof QUOTAS;
export type Quotas = Record<QuotaName, number>;
type QuotaVariable = (typeof QUOTAS)[QuotaName]['variable'];

export const DEFAULT_QUOTAS = Object.fromEntries(
  Object.entries(QUOTAS).map(([name, quota]) => [name, quota.default]),
) as Quotas;
const quotaVariables = Object.fromEntries(
  Object.values(QUOTAS).map((quota) => [quota.variable, int(quota.default)]),
) as Record<QuotaVariable, ReturnType<typeof int>>;

const EnvSchema = z.object({
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TETHER_TASK_QUEUE: z.string().default('tether-connections'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TETHER_ENCRYPTION_KEYS: z.string().optional(),
  TETHER_ACTIVE_KEY_ID: z.string().optional(),
  /** Retired keys, same format: they still decrypt (secrets, Temporal histories) but never encrypt. */
  TETHER_DECRYPT_ONLY_KEYS: z.string().optional(),
  /** Lets instance URLs be plain http on loopback: for the simulators, tests and the demo only. */
  TETHER_ALLOW_INSECURE_LOOPBACK: bool,
  TETHER_VENDOR_TIMEOUT_MS: int(15_000),
  TETHER_VENDOR_MAX_RESPONSE_BYTES: int(1_048_576),
  TETHER_HEALTH_CHECK_INTERVAL_MS: int(DEFAULT_POLICY.healthCheckIntervalMs),
  TETHER_FAILURE_BACKOFF_BASE_MS: int(DEFAULT_POLICY.failureBackoffBaseMs),
  TETHER_FAILURE_BACKOFF_CAP_MS: int(DEFAULT_POLICY.failureBackoffCapMs),
  TETHER_REJECTION_LIMIT: int(DEFAULT_POLICY.rejectionLimit),
  TETHER_CONFIGURATION_FAULT_LIMIT_MS: int(DEFAULT_POLICY.configurationFaultLimitMs),
  TETHER_LINK_DELAYED_AFTER_MS: int(DEFAULT_POLICY.linkDelayedAfterMs),
  TETHER_LINK_DEADLINE_MS: int(DEFAULT_POLICY.linkDeadlineMs),
  /** How often each worker starts the workflow of any connection that has none. */
  TETHER_RECONCILE_INTERVAL_MS: int(300_000),
  /** Where customers' browsers reach this API: OAuth redirect URIs are <this>/v1/oauth/callback. */
  TETHER_PUBLIC_URL: z.url().optional(),
  /** Where an OAuth install's callback sends the admin's browser, with the outcome (unset: a page of its own). */
  TETHER_INSTALL_RETURN_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How long a command waits for Temporal to take it before the API answers 503 with Retry-After. */
  TETHER_COMMAND_TIMEOUT_MS: int(10_000),
  /** The Temporal Web UI's address: connections in the API then link to their workflow there. */
  TETHER_TEMPORAL_UI_URL: z.url().optional(),
  /** API requests per minute per key on /v1. */
  TETHER_RATE_LIMIT_PER_MINUTE: int(600),
  /** Token hand-outs (POST /v1/connections/{id}/access-token) per minute per key, counted apart. */
  TETHER_TOKEN_RATE_LIMIT_PER_MINUTE: int(60),
  /** Per client address: OAuth callbacks, wrong codec tokens and failed authentications, per minute. */
  TETHER_ADDRESS_RATE_LIMIT_PER_MINUTE: int(120),
  /**
   * How long an API process keeps a verified API key in memory at most (0: read it on every request).
   * A revocation reaches every replica as its PostgreSQL NOTIFY arrives; this only bounds a key's stay.
   */
  TETHER_API_KEY_MEMORY_MS: int(60_000),
  /** How long the fleet gauges of the API's /metrics are served from cache before PostgreSQL is read again. */
  TETHER_METRICS_CACHE_MS: int(30_000),
  /** host:port where the worker serves Prometheus metrics (unset: none). */
  TETHER_WORKER_METRICS_ADDRESS: z.string().optional(),
  /** Worker sizing (README "Configuration"); unset ones keep the defaults of worker/create-worker.ts. */
  // Not the SDK's default (from the heap: 2,310 on 24 GiB), which filled 1.2 GiB at 10,000 connections:
  // an idle connection needs its workflow only at its next step, minutes away (README "Scaling").
  TETHER_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(1000),
  TETHER_WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().positive().optional(),
  TETHER_WORKER_MAX_ACTIVITIES: z.coerce.number().int().positive().optional(),
  TETHER_WORKER_MAX_LOCAL_ACTIVITIES: z.coerce.number().int().positive().optional(),
  /** Browser origins (the Temporal Web UI) allowed to call the codec endpoint, comma-separated. */
  TETHER_CODEC_CORS_ORIGINS: z.string().default(''),
  /** Secret path token for /codec/t/<token>/…, for a Web UI that cannot send an admin key. */
  TETHER_UI_CODEC_TOKEN: z.string().min(24).optional(),
  /** Slack's fixed addresses (catalog/slack.ts), overridden only to point at a simulator. */
  TETHER_SLACK_API_BASE_URL: z.url().optional(),
  TETHER_SLACK_SCIM_BASE_URL: z.url().optional(),
  TETHER_SLACK_AUTHORIZE_URL: z.url().optional(),
  /** Hosts besides a Halo instance's own that may serve its token endpoint (its client secret goes there). */
  TETHER_HALO_AUTH_HOSTS: z.string().max(4096).optional(),
  /** Provisioning jobs: how long one waits for a connection that is linking, degraded or paused. */
  TETHER_JOB_CONNECTION_WAIT_MS: int(DEFAULT_JOB_POLICY.connectionWaitMs),
  TETHER_JOB_CONNECTION_POLL_MS: int(DEFAULT_JOB_POLICY.connectionPollMs),
  /** Attempts at the vendor per job before it fails vendor_unavailable (transient failures only). */
  TETHER_JOB_MAX_ATTEMPTS: int(DEFAULT_JOB_POLICY.retry.maximumAttempts),
  ...quotaVariables,
  /** Lifecycle events: how long a leaver's job waits for a connection or vendor that is down. */
  TETHER_LIFECYCLE_LEAVER_WAIT_MS: int(DEFAULT_LIFECYCLE_POLICY.leaverWaitMs),
  /** Vendor rate limits: `<vendor>.<class>=<requests>/<seconds>[/<burst>]`, comma-separated (README). */
  TETHER_VENDOR_RATE_LIMITS: z.string().default(''),
  /** Token requests (grants, refreshes) per vendor host, across connections and processes. */
  TETHER_TOKEN_REQUESTS_PER_HOST: z.string().default('600/60/20'),
  /** A budget wait up to this long happens in place; a longer one becomes the workflow's timer. */
  TETHER_RATE_BUDGET_INLINE_WAIT_MS: int(2_000),
  /** How far ahead a job or refresh may hold a slot of the budget. */
  TETHER_RATE_BUDGET_HORIZON_MS: int(3_600_000),
});

export type Config = ReturnType<typeof loadConfig>;

/** The worker options the TETHER_WORKER_* variables set (the SDK's names). */
type WorkerTuningKey =
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions';

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const rateLimits = rateLimitSettings(e);
  const policy: Partial<MaintenancePolicy> = {
    healthCheckIntervalMs: e.TETHER_HEALTH_CHECK_INTERVAL_MS,
    failureBackoffBaseMs: e.TETHER_FAILURE_BACKOFF_BASE_MS,
    failureBackoffCapMs: e.TETHER_FAILURE_BACKOFF_CAP_MS,
    rejectionLimit: e.TETHER_REJECTION_LIMIT,
    configurationFaultLimitMs: e.TETHER_CONFIGURATION_FAULT_LIMIT_MS,
    linkDelayedAfterMs: e.TETHER_LINK_DELAYED_AFTER_MS,
    linkDeadlineMs: e.TETHER_LINK_DEADLINE_MS,
  };
  // Names as catalog/slack.ts and catalog/halo.ts read them; unset ones keep the vendor's production URL.
  const vendorEndpoints: VendorEndpoints = {
    'slack.api': e.TETHER_SLACK_API_BASE_URL,
    'slack.scim': e.TETHER_SLACK_SCIM_BASE_URL,
    'slack.authorize': e.TETHER_SLACK_AUTHORIZE_URL,
    'halo.authHosts': e.TETHER_HALO_AUTH_HOSTS,
  };
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TETHER_TASK_QUEUE,
    },
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    encryption: {
      keys: e.TETHER_ENCRYPTION_KEYS,
      activeKeyId: e.TETHER_ACTIVE_KEY_ID,
      decryptOnlyKeys: e.TETHER_DECRYPT_ONLY_KEYS,
    },
    vendorHttp: {
      timeoutMs: e.TETHER_VENDOR_TIMEOUT_MS,
      maxResponseBytes: e.TETHER_VENDOR_MAX_RESPONSE_BYTES,
      allowInsecureLoopback: e.TETHER_ALLOW_INSECURE_LOOPBACK,
    },
    policy,
    publicUrl: e.TETHER_PUBLIC_URL && trimTrailingSlashes(e.TETHER_PUBLIC_URL),
    installReturnUrl: e.TETHER_INSTALL_RETURN_URL,
    commandTimeoutMs: e.TETHER_COMMAND_TIMEOUT_MS,
    temporalUiUrl: e.TETHER_TEMPORAL_UI_URL && trimTrailingSlashes(e.TETHER_TEMPORAL_UI_URL),
    workerMetricsAddress: e.TETHER_WORKER_METRICS_ADDRESS,
    workerTuning: Object.fromEntries(
      Object.entries({
        maxCachedWorkflows: e.TETHER_WORKER_MAX_CACHED_WORKFLOWS,
        maxConcurrentWorkflowTaskExecutions: e.TETHER_WORKER_MAX_WORKFLOW_TASKS,
        maxConcurrentActivityTaskExecutions: e.TETHER_WORKER_MAX_ACTIVITIES,
        maxConcurrentLocalActivityExecutions: e.TETHER_WORKER_MAX_LOCAL_ACTIVITIES,
      }).filter(([, v]) => v !== undefined),
    ) as Partial<Record<WorkerTuningKey, number>>,
    reconcileIntervalMs: e.TETHER_RECONCILE_INTERVAL_MS,
    rateLimitPerMinute: e.TETHER_RATE_LIMIT_PER_MINUTE,
    quotas: Object.fromEntries(
      Object.entries(QUOTAS).map(([name, quota]) => [name, e[quota.variable]]),
    ) as Quotas,
    tokenRateLimitPerMinute: e.TETHER_TOKEN_RATE_LIMIT_PER_MINUTE,
    addressRateLimitPerMinute: e.TETHER_ADDRESS_RATE_LIMIT_PER_MINUTE,
    metricsCacheMs: e.TETHER_METRICS_CACHE_MS,
    apiKeyMemoryMs: e.TETHER_API_KEY_MEMORY_MS,
    codec: {
      origins: e.TETHER_CODEC_CORS_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      uiToken: e.TETHER_UI_CODEC_TOKEN,
    },
    vendorEndpoints,
    jobs: {
      connectionWaitMs: e.TETHER_JOB_CONNECTION_WAIT_MS,
      connectionPollMs: e.TETHER_JOB_CONNECTION_POLL_MS,
      retry: { ...DEFAULT_JOB_POLICY.retry, maximumAttempts: e.TETHER_JOB_MAX_ATTEMPTS },
    } satisfies Omit<JobPolicy, 'webhookRetry'>,
    lifecycle: { leaverWaitMs: e.TETHER_LIFECYCLE_LEAVER_WAIT_MS } satisfies LifecyclePolicy,
    rateLimits,
  };
}

function rateLimitSettings(e: z.infer<typeof EnvSchema>): RateLimitSettings {
  const limit = (variable: string, text: string) => {
    const parsed = parseRateLimit(text);
    if ('error' in parsed) throw new Error(`invalid configuration: ${variable}: ${parsed.error}`);
    return parsed;
  };
  const overrides: Record<string, RateLimit> = {};
  for (const entry of e.TETHER_VENDOR_RATE_LIMITS.split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [name, value] = entry.split('=', 2);
    if (!name?.trim() || value === undefined) {
      throw new Error(
        `invalid configuration: TETHER_VENDOR_RATE_LIMITS: "${entry}" is not <vendor>.<class>=<limit>`,
      );
    }
    overrides[name.trim()] = limit('TETHER_VENDOR_RATE_LIMITS', value);
  }
  return {
    overrides,
    tokenRequestsPerHost: limit('TETHER_TOKEN_REQUESTS_PER_HOST', e.TETHER_TOKEN_REQUESTS_PER_HOST),
    inlineWaitMs: e.TETHER_RATE_BUDGET_INLINE_WAIT_MS,
    horizonMs: e.TETHER_RATE_BUDGET_HORIZON_MS,
  };
}

/**
 * What every process says, loudly, while plain-http loopback instance URLs are allowed (they would let
 * a tenant point tether at services on the host itself); undefined when they are refused.
 */
export function insecureLoopbackWarning(config: Config, reason: string): string[] | undefined {
  if (!config.vendorHttp.allowInsecureLoopback) return undefined;
  return [
    `WARNING: plain-http loopback instance URLs are allowed (TETHER_ALLOW_INSECURE_LOOPBACK): ${reason}.`,
    '         For simulators, tests and demos only: never enable that in production.',
  ];
}
