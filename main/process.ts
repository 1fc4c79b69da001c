// What both production processes do around their own start: configuration, logger, the loopback warning,
// signal handling with an ordered shutdown, one start-up log line, and exit 1 when start-up fails.
import type { Logger } from 'pino';
import { insecureLoopbackWarning, loadConfig, type Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import { Shutdown, describeDatabaseUrl, requireDatabaseUrl } from './services';

export interface ProcessContext {
  config: Config;
  logger: Logger;
  shutdown: Shutdown;
}

/** Runs `start` as the process `name` (`api`, `worker`); whatever it registers on `shutdown` stops on SIGINT/SIGTERM. */
export function runProcess(name: string, start: (context: ProcessContext) => Promise<void>): void {
  void (async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, `tether-${name}`);
    const shutdown = new Shutdown(logger);
    shutdown.listenForSignals();
    const loopbackWarning = insecureLoopbackWarning(config, 'TETHER_ALLOW_INSECURE_LOOPBACK is set');
    if (loopbackWarning) logger.warn(loopbackWarning.map((line) => line.trim()).join(' '));
    try {
      const databaseUrl = requireDatabaseUrl(config);
      logger.info(
        {
          temporal: config.temporal.address,
          namespace: config.temporal.namespace,
          taskQueue: config.temporal.taskQueue,
          database: describeDatabaseUrl(databaseUrl),
        },
        `starting ${name}`,
      );
      await start({ config, logger, shutdown });
    } catch (err) {
      logger.fatal({ err }, `${name} could not start`);
      await shutdown.exit(1, 'start-up failed');
    }
  })().catch((err: unknown) => {
    // Only configuration errors land here (before a logger exists).
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
