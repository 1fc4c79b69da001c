// Liveness says the process answers; readiness says its dependencies (PostgreSQL, Temporal) do. Probes are
// unauthenticated, so readiness says only ok or unavailable per dependency; why is in the log.
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../app';
import type { TenantData } from '../tenant-data';

const CHECK_TIMEOUT_MS = 2_000;

export const healthRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  const Check = z.enum(['ok', 'unavailable']);
  const Readiness = z.object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ database: Check, temporal: Check }),
  });
  app.get(
    '/readyz',
    { schema: { tags: ['health'], response: { 200: Readiness, 503: Readiness } } },
    async (request, reply) => {
      const [database, temporal] = await Promise.all([
        check('database', request.log, () => data.operator.ping()),
        check('temporal', request.log, () => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      const ok = database === 'ok' && temporal === 'ok';
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'unavailable', checks: { database, temporal } });
    },
  );
};

async function check(
  name: string,
  log: FastifyBaseLogger,
  probe: () => Promise<unknown>,
): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return 'ok';
  } catch (err) {
    log.warn({ check: name, err }, 'readiness check failed');
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}
