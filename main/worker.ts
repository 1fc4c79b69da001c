// Production worker process (`npm run worker`, `node dist/main/worker.js`): runs the connection
// lifecycle workflows and their activities against an existing PostgreSQL and Temporal.
// Needs DATABASE_URL (migrated), TEMPORAL_ADDRESS and TETHER_ENCRYPTION_KEYS; see README "Configuration".
import { insecureLoopbackWarning, loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { Shutdown, createServices, describeDatabaseUrl, requireDatabaseUrl, startWorker } from './services';
import { installTemporalRuntime } from '../platform/temporal-runtime';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'tether-worker');
  const shutdown = new Shutdown(logger);
  shutdown.listenForSignals();
  const loopbackWarning = insecureLoopbackWarning(config, 'TETHER_ALLOW_INSECURE_LOOPBACK is set');
  if (loopbackWarning) logger.warn(loopbackWarning.map((line) => line.trim()).join(' '));
  try {
    const databaseUrl = requireDatabaseUrl(config);
    installTemporalRuntime(logger, { metricsAddress: config.workerMetricsAddress });
    const services = createServices(config, { logger });
    shutdown.add('database and vendor http', () => services.close());

    logger.info(
      {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        database: describeDatabaseUrl(databaseUrl),
      },
      'starting worker',
    );
    const running = await startWorker(config, services);
    shutdown.add('worker', () => running.stop());
    logger.info('worker running');
    running.done.then(
      () => void shutdown.exit(0, 'worker stopped'),
      (err: unknown) => {
        logger.fatal({ err }, 'worker failed');
        void shutdown.exit(1, 'worker failed');
      },
    );
  } catch (err) {
    logger.fatal({ err }, 'worker could not start');
    await shutdown.exit(1, 'start-up failed');
  }
}

void main().catch((err: unknown) => {
  // Only configuration errors land here (before a logger exists).
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
