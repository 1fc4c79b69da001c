// Production worker process (`npm run worker`, `node dist/main/worker.js`): runs the connection
// lifecycle workflows and their activities against an existing PostgreSQL and Temporal.
// Needs DATABASE_URL (migrated), TEMPORAL_ADDRESS and TETHER_ENCRYPTION_KEYS; see README "Configuration".
import { installTemporalRuntime } from '../platform/temporal-runtime';
import { runProcess } from './process';
import { createServices, startWorker } from './services';

runProcess('worker', async ({ config, logger, shutdown }) => {
  installTemporalRuntime(logger, { metricsAddress: config.workerMetricsAddress });
  const services = createServices(config, { logger });
  shutdown.add('database and vendor http', () => services.close());
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
});
