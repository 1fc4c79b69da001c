// Production API process (`npm run api`, `node dist/main/api.js`): the HTTP API on HOST:PORT, against
// an existing (migrated) PostgreSQL and Temporal. The worker runs separately (main/worker.ts).
import { runProcess } from './process';
import { connectTemporalClient, createServices, startApi } from './services';

runProcess('api', async ({ config, logger, shutdown }) => {
  const services = createServices(config, { logger });
  shutdown.add('database', () => services.close());
  const temporal = await connectTemporalClient(config, services);
  shutdown.add('temporal client', () => temporal.close());
  const app = await startApi(config, services, temporal.client, logger);
  // Registered last so it runs first: stop taking requests before closing what they use.
  shutdown.add('http server', () => app.close());
});
