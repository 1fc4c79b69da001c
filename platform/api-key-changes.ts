// Tells an API process, within moments, that an API key changed anywhere (revoked by another replica or by
// the CLI): one PostgreSQL connection LISTENing on the channel the ApiKey triggers notify (migration
// 20261209090000_api_key_change_notify). While it is not listening, nothing may be trusted from memory:
// `live` is false and every loss of the connection counts as a change of every key.
import { Client } from 'pg';
import type { Logger } from 'pino';

const CHANNEL = 'tether_api_key_changed';
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

export interface ApiKeyChanges {
  /** True while notifications are being received: only then may a verified key be kept in memory. */
  readonly live: boolean;
  /**
   * Counts notifications and losses of the connection: a key read before it moved may have changed since,
   * so it must not be kept.
   */
  readonly version: number;
  /** Called with a changed key's prefix, or with null when the connection was lost (any key may have). */
  onChange(listener: (prefix: string | null) => void): void;
  /** Settles once the first LISTEN succeeded or failed (the process runs either way). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Closes a connection no longer listened to; whatever it reports from now on is nobody's concern. */
function discard(client: Client | undefined): Promise<void> {
  if (!client) return Promise.resolve();
  client.removeAllListeners();
  client.on('error', () => undefined);
  return client.end().catch(() => undefined);
}

export function listenForApiKeyChanges(databaseUrl: string, logger: Logger): ApiKeyChanges {
  const listeners: ((prefix: string | null) => void)[] = [];
  let live = false;
  let version = 0;
  let closed = false;
  let client: Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delayMs = RECONNECT_MIN_MS;

  const changed = (prefix: string | null) => {
    version++;
    for (const listener of listeners) listener(prefix);
  };

  let warned = false;
  const lost = (reason: unknown) => {
    if (!warned && !closed) {
      warned = true;
      logger.warn(
        { err: reason },
        'no API key change notifications: every request verifies its key in the database',
      );
    }
    live = false;
    changed(null);
    void discard(client);
    client = undefined;
    if (closed) return;
    retryTimer = setTimeout(() => void connect(), delayMs);
    retryTimer.unref();
    delayMs = Math.min(delayMs * 2, RECONNECT_MAX_MS);
  };

  const connect = async (): Promise<void> => {
    // Prisma-style parameters (?schema=, ?connection_limit=) mean nothing to pg's LISTEN connection.
    const url = new URL(databaseUrl);
    url.search = '';
    const next = new Client({ connectionString: url.toString(), application_name: 'tether-api-key-changes' });
    client = next;
    next.on('error', lost);
    next.on('end', () => lost(new Error('connection ended')));
    next.on('notification', (message) => {
      if (message.channel === CHANNEL) changed(message.payload ?? null);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      if (client !== next) return;
      // Anything that changed while no one listened is unknown: start from an empty memory.
      changed(null);
      live = true;
      delayMs = RECONNECT_MIN_MS;
      if (warned) logger.info('API key change notifications received again');
      warned = false;
    } catch (err) {
      if (client === next) lost(err);
    }
  };

  const ready = connect();
  return {
    get live() {
      return live;
    },
    get version() {
      return version;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    ready,
    async close() {
      closed = true;
      live = false;
      clearTimeout(retryTimer);
      const last = client;
      client = undefined;
      await discard(last);
    },
  };
}
