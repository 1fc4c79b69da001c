// Production API process (`npm run api`, `node dist/main/api.js`): the HTTP API on HOST:PORT, against
// an existing (migrated) PostgreSQL and Temporal. The worker runs separately (main/worker.ts).
import { insecureLoopbackWarning, loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import {
  Shutdown,
  connectTemporalClient,
  createServices,
  describeDatabaseUrl,
  requireDatabaseUrl,
  startApi,
} from './services';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'tether-api');
  const shutdown = new Shutdown(logger);
  shutdown.listenForSignals();
  const loopbackWarning = insecureLoopbackWarning(config, 'TETHER_ALLOW_INSECURE_LOOPBACK is set');
  if (loopbackWarning) logger.warn(loopbackWarning.map((line) => line.trim()).join(' '));
  try {
    const databaseUrl = requireDatabaseUrl(config);
    const services = createServices(config, { logger });
    shutdown.add('database', () => services.close());
    logger.info(
      {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        database: describeDatabaseUrl(databaseUrl),
      },
      'starting API',
    );
    const temporal = await connectTemporalClient(config, services);
    shutdown.add('temporal client', () => temporal.close());
    const app = await startApi(config, services, temporal.client, logger);
    // Registered last so it runs first: stop taking requests before closing what they use.
    shutdown.add('http server', () => app.close());
  } catch (err) {
    logger.fatal({ err }, 'API could not start');
    await shutdown.exit(1, 'start-up failed');
  }
}

void main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
