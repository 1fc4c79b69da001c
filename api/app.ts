// buildApp(deps) returns the Fastify app without listening, so tests drive it with app.inject().
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Db } from '../lib/db';
import type { SecretStore } from '../lib/secret-store';
import type { UrlPolicy } from '../lib/url-policy';
import type { MaintenancePolicy } from '../workflows/types';
import { errorHandler, notFoundHandler } from './errors';
import { connectionRoutes } from './routes/connections';
import { connectorRoutes } from './routes/connectors';
import { healthRoutes } from './routes/health';

export interface AppDeps {
  db: Db;
  temporal: Client;
  secrets: SecretStore;
  taskQueue: string;
  urlPolicy: UrlPolicy;
  /** Overrides of the maintain loop's timings, passed to every new lifecycle workflow. */
  policy: Partial<MaintenancePolicy>;
  defaultTenant: string;
  logger?: Logger | false;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger || undefined,
    logger: deps.logger === undefined ? false : undefined,
    bodyLimit: MAX_BODY_BYTES,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tether API',
        version: '0.1.0',
        description: 'Link SaaS vendor accounts and keep their tokens alive for identity provisioning.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { deps });
  await app.register(connectorRoutes, { prefix: '/v1' });
  await app.register(connectionRoutes, { prefix: '/v1', deps });
  return app;
}
