// The service's configuration for tests and the benchmark, as the environment variables production
// reads (platform/config.ts validates them the same way): this run's database, Temporal server, task
// queue and keys, with vendors on the loopback simulators.
import { slackEndpointsAt } from '../../catalog/slack';
import type { MaintenancePolicy } from '../../domain/policy';
import { QUOTAS, type QuotaName, type Quotas } from '../../platform/config';

export interface ServiceEnvironmentParts {
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  /** TETHER_ENCRYPTION_KEYS: `<keyId>:<base64 32 bytes>`. */
  encryptionKeys: string;
  /** The simulators' base URL (startSimulators().baseUrl). */
  simulatorsUrl: string;
  /** The policy fields that have a variable; others can only be set on the config object. */
  policy?: Partial<MaintenancePolicy>;
  publicUrl?: string;
  /** TETHER_INSTALL_RETURN_URL. */
  installReturnUrl?: string;
  rateLimitPerMinute?: number;
  /** TETHER_ADDRESS_RATE_LIMIT_PER_MINUTE. */
  addressRateLimitPerMinute?: number;
  /** TETHER_METRICS_CACHE_MS. */
  metricsCacheMs?: number;
  quotas?: Partial<Quotas>;
}

export function serviceEnvironment(parts: ServiceEnvironmentParts): Record<string, string> {
  const slack = slackEndpointsAt(`${parts.simulatorsUrl}/slack`);
  const optional: Record<string, number | string | undefined> = {
    TETHER_HEALTH_CHECK_INTERVAL_MS: parts.policy?.healthCheckIntervalMs,
    TETHER_FAILURE_BACKOFF_BASE_MS: parts.policy?.failureBackoffBaseMs,
    TETHER_FAILURE_BACKOFF_CAP_MS: parts.policy?.failureBackoffCapMs,
    TETHER_REJECTION_LIMIT: parts.policy?.rejectionLimit,
    TETHER_PUBLIC_URL: parts.publicUrl,
    TETHER_INSTALL_RETURN_URL: parts.installReturnUrl,
    TETHER_RATE_LIMIT_PER_MINUTE: parts.rateLimitPerMinute,
    TETHER_ADDRESS_RATE_LIMIT_PER_MINUTE: parts.addressRateLimitPerMinute,
    TETHER_METRICS_CACHE_MS: parts.metricsCacheMs,
    ...Object.fromEntries(
      Object.entries(parts.quotas ?? {}).map(([name, limit]) => [QUOTAS[name as QuotaName].variable, limit]),
    ),
  };
  return {
    DATABASE_URL: parts.databaseUrl,
    TEMPORAL_ADDRESS: parts.temporalAddress,
    TETHER_TASK_QUEUE: parts.taskQueue,
    TETHER_ENCRYPTION_KEYS: parts.encryptionKeys,
    // The simulators speak plain http on loopback, which production refuses.
    TETHER_ALLOW_INSECURE_LOOPBACK: 'true',
    TETHER_VENDOR_TIMEOUT_MS: '5000',
    TETHER_SLACK_API_BASE_URL: slack['slack.api']!,
    TETHER_SLACK_SCIM_BASE_URL: slack['slack.scim']!,
    TETHER_SLACK_AUTHORIZE_URL: slack['slack.authorize']!,
    ...Object.fromEntries(
      Object.entries(optional).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, String(value)]],
      ),
    ),
  };
}
