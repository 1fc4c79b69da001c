// A second API replica for the scale-out phase: a child process of bench/run.ts, wired as main/api.ts wires
// the API (main/services.ts), configured by the same environment variables as the harness's own API, and
// listening on a free loopback port it reports to the parent. Stops on SIGTERM or when the parent is gone.
import { connectTemporalClient, createApi, createServices } from '../main/services';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import type { ApiToParent } from './protocol';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const services = createServices(config, { logger: createLogger('error', 'bench-api') });
  const temporal = await connectTemporalClient(config, services);
  // Without a logger, as the harness's API: the request log is not what is measured.
  const app = await createApi(config, services, temporal.client);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ type: 'listening', port } satisfies ApiToParent);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close().catch(() => undefined);
    await temporal.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
}

main().catch((err: unknown) => {
  console.error('bench API could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
