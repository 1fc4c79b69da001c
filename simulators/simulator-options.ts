export interface SimulatorOptions {
  /** Default 0: a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Fastify request logging; default off. */
  logger?: boolean;
  /** HaloITSM's per-client limit (default 300 requests per rolling 300 s); tests use a small one. */
  haloRateLimit?: { requests: number; windowSeconds: number };
  /** Slack's org-wide SCIM write limit (default 600 per 60 s, 429 with Retry-After); tests use a small one. */
  slackScimWriteLimit?: { requests: number; windowSeconds: number };
  /** Slack's org-wide limit on SCIM user creates, updates and deactivations (default 180 per 60 s). */
  slackScimUserWriteLimit?: { requests: number; windowSeconds: number };
}
