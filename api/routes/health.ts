// Liveness says the process answers; readiness says its dependencies (PostgreSQL, Temporal) do.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../app';

const CHECK_TIMEOUT_MS = 2_000;

export const healthRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  const Readiness = z.object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ database: z.string(), temporal: z.string() }),
  });
  app.get(
    '/readyz',
    { schema: { tags: ['health'], response: { 200: Readiness, 503: Readiness } } },
    async (_request, reply) => {
      const [database, temporal] = await Promise.all([
        check(() => deps.db.$queryRaw`SELECT 1`),
        check(() => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      const ok = database === 'ok' && temporal === 'ok';
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks: { database, temporal } });
    },
  );
};

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return `unavailable: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    clearTimeout(timer);
  }
}
