// A connection stored while Temporal was down, and never retried with its Idempotency-Key: the API
// answered 503 after storing the row, so only the workers' reconciler (worker/reconciler.ts) can start its
// workflow. It is linked under a tenant of its own, so the main checks' one-row-per-link rule is untouched.
import { Client, Connection } from '@temporalio/client';
import type { Client as TemporalClient } from '@temporalio/client';
import { buildApp } from '../../api/app';
import type { Config } from '../../platform/config';
import { createApiKey } from '../../platform/api-keys';
import { encryptedDataConverter } from '../../platform/payload-codec';
import type { Services } from '../../main/services';
import { connectionWorkflowId } from '../../workflows/ids';
import type { Violation } from './checks';

const CHECK = 'a connection stored while Temporal was down gets its workflow';
const TENANT = 'chaos-orphans';

export interface StoredOrphan {
  /** Null when the API did not answer 503 with the row stored (reported by the check). */
  id: string | null;
  problem?: string;
}

/** POST a link to an API whose Temporal is unreachable: 503, with the connection stored. */
export async function storeOrphan(
  config: Config,
  services: Services,
  simulatorUrl: string,
): Promise<StoredOrphan> {
  const unreachable = new Client({
    // No retries: the start fails at once, as when the server is down for longer than they last.
    connection: Connection.lazy({ address: '127.0.0.1:1', interceptors: [] }),
    dataConverter: encryptedDataConverter(services.codec),
  });
  const app = await buildApp({
    db: services.db,
    temporal: unreachable,
    secrets: services.secrets,
    taskQueue: config.temporal.taskQueue,
    urlPolicy: { allowInsecureLoopback: true },
    policy: config.policy,
  });
  try {
    const { key } = await createApiKey(services.db, { name: 'chaos-orphans', tenantId: TENANT });
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${key}` },
      payload: {
        vendor: 'invgate',
        instanceUrl: `${simulatorUrl}/invgate`,
        credentials: { clientId: 'demo-all-scopes.orphan', clientSecret: 'demo-secret' },
      },
    });
    const row = await services.db.connection.findFirst({ where: { tenantId: TENANT } });
    if (answer.statusCode !== 503 || !row) {
      return {
        id: null,
        problem: `expected 503 with the row stored, got ${answer.statusCode} (row: ${!!row})`,
      };
    }
    return { id: row.id };
  } finally {
    await app.close();
  }
}

/** The stored connection has its workflow and is active: waits up to `timeoutMs` for the reconciler. */
export async function checkOrphan(
  orphan: StoredOrphan,
  deps: { services: Services; temporal: TemporalClient },
  timeoutMs = 30_000,
): Promise<Violation[]> {
  if (!orphan.id) return [{ check: CHECK, detail: orphan.problem ?? 'not stored' }];
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const row = await deps.services.db.connection.findUnique({ where: { id: orphan.id } });
    const running = await deps.temporal.workflow
      .getHandle(connectionWorkflowId(orphan.id))
      .describe()
      .then(
        (d) => d.status.name === 'RUNNING',
        () => false,
      );
    if (running && row?.status === 'active') return [];
    last = `workflow ${running ? 'running' : 'missing'}, status ${row?.status ?? 'no row'}`;
    if (Date.now() > deadline) return [{ check: CHECK, connection: orphan.id, detail: last }];
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
