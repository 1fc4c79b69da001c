// `npm start`: the whole service on one machine with nothing else installed. Whatever the environment
// does not provide is started here, with its state under ./data (TETHER_DATA_DIR):
// - PostgreSQL: an embedded PGlite server (data/pg) unless DATABASE_URL is set; migrated either way.
// - Temporal: the CLI dev server (data/temporal.db, Web UI) unless TEMPORAL_ADDRESS is set.
// - Vendor simulators on loopback (demo only) unless TETHER_SIMULATORS=off.
// - Encryption: a local key in data/encryption.key unless TETHER_ENCRYPTION_KEYS is set.
// - An API key for tenant "demo" in data/api-key (created once, reused while it stays valid).
// Then the worker and the API in this process. Ctrl-C stops everything in reverse order.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey, verifyApiKey } from '../platform/api-keys';
import { insecureLoopbackWarning, loadConfig } from '../platform/config';
import type { Db } from '../platform/db';
import { startEmbeddedPostgres } from './embedded-postgres';
import { createLogger } from '../platform/logger';
import { migrateDatabase } from './migrate';
import { Shutdown, connectTemporalClient, createServices, startApi, startWorker } from '../main/services';
import { ensureTemporalCli, startTemporalDevServer } from './temporal-dev-server';
import { installTemporalRuntime } from '../platform/temporal-runtime';
import { slackEndpointsAt } from '../catalog/slack';
import { startSimulators } from '../simulators/server';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';

const env = process.env;

function portFromEnv(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} is not a port: ${raw}`);
  return port;
}

const say = (line = '') => process.stderr.write(`${line}\n`);

/** Runs one start-up step, saying what it does and how long it took. */
async function step<T>(label: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const took = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  say(`[start] ${label}...`);
  try {
    const result = await run();
    say(`[start] ${label}: done in ${took()}`);
    return result;
  } catch (err) {
    say(`[start] ${label}: FAILED after ${took()}`);
    throw err;
  }
}

function hint(err: unknown, text: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`${message}\n  hint: ${text}`);
}

/**
 * A tenant API key for local use with every scope (the demo tries token access and the proxy too), kept in a
 * file so it survives restarts (only its hash is in the database). One made before a scope existed is replaced.
 */
async function localApiKey(db: Db, file: string): Promise<{ key: string; created: boolean }> {
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    const auth = await verifyApiKey(db, key);
    if (auth && API_KEY_SCOPES.every((s) => auth.scopes.includes(s))) return { key, created: false };
  }
  const { key } = await createApiKey(db, {
    name: 'local (npm start)',
    tenantId: 'demo',
    tenantName: 'Demo',
    scopes: API_KEY_SCOPES,
  });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'tether');
  const shutdown = new Shutdown(logger);
  shutdown.listenForSignals();

  const dataDir = path.resolve(env.TETHER_DATA_DIR || 'data');
  const shownDataDir = path.relative(process.cwd(), dataDir) || '.';
  const inData = (name: string) => path.join(dataDir, name);
  const show = (file: string) => path.join(shownDataDir, path.relative(dataDir, file));

  try {
    const pgPort = portFromEnv('TETHER_EMBEDDED_PG_PORT', 5433);
    const temporalPort = portFromEnv('TEMPORAL_PORT', 7233);
    const temporalUiPort = portFromEnv('TEMPORAL_UI_PORT', 8233);
    const simulatorPort = portFromEnv('SIMULATOR_PORT', 4010);
    const simulatorsOn = env.TETHER_SIMULATORS !== 'off';
    const embeddedDb = !env.DATABASE_URL;
    const devServer = !env.TEMPORAL_ADDRESS;
    const apiHost = ['0.0.0.0', '::', ''].includes(config.http.host) ? '127.0.0.1' : config.http.host;
    const api = `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${config.http.port}`;
    // Temporal payloads are encrypted; the dev server's Web UI decodes them through the API's codec
    // endpoint, authorised by a token in its path (new each run).
    const uiCodecToken = randomBytes(24).toString('base64url');
    // OAuth installs (Slack) send the customer's browser back to this API.
    config.publicUrl ??= api;
    say(`[start] data folder: ${dataDir}`);

    // Database and Temporal are independent: prepared side by side (a first Temporal CLI build takes minutes).
    const database = (async () => {
      let url = config.databaseUrl;
      if (!url) {
        const pg = await step(
          `starting embedded PostgreSQL (PGlite) in ${show(inData('pg'))} on port ${pgPort}`,
          () =>
            startEmbeddedPostgres({ dataDir: inData('pg'), port: pgPort }).catch((err: unknown) => {
              throw hint(
                err,
                'set TETHER_EMBEDDED_PG_PORT to another port, or DATABASE_URL to use your own PostgreSQL',
              );
            }),
        );
        shutdown.add('embedded PostgreSQL', () => pg.stop());
        url = pg.url;
      }
      const migrateUrl = url;
      await step('applying database migrations (prisma migrate deploy)', () => migrateDatabase(migrateUrl));
      return url;
    })();
    const temporal = (async () => {
      if (!devServer) return undefined;
      const cliPath = await step(
        'preparing the Temporal CLI (the first run builds it from source, ~5 min; cached afterwards)',
        () => ensureTemporalCli(),
      );
      const server = await step(`starting the Temporal dev server on port ${temporalPort}`, () =>
        startTemporalDevServer({
          cliPath,
          port: temporalPort,
          uiPort: temporalUiPort,
          dbFile: inData('temporal.db'),
          logFile: inData('temporal.log'),
          searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
          uiCodecEndpoint: `${api}/codec/t/${uiCodecToken}`,
        }).catch((err: unknown) => {
          throw hint(
            err,
            `set TEMPORAL_PORT/TEMPORAL_UI_PORT to free ports, or TEMPORAL_ADDRESS to use a running server; server log: ${show(inData('temporal.log'))}`,
          );
        }),
      );
      shutdown.add('Temporal dev server', () => server.stop());
      return server;
    })();
    // The first failure stops start-up at once; a dev server still starting is killed on exit.
    const [databaseUrl, server] = await Promise.all([database, temporal]);
    config.databaseUrl = databaseUrl;
    if (server) config.temporal.address = server.address;
    // Connections in the API link to their workflow in the dev server's Web UI.
    config.temporalUiUrl ??= server?.uiUrl;

    const loopbackFromEnv = config.vendorHttp.allowInsecureLoopback;
    let simulatorsUrl: string | undefined;
    if (simulatorsOn) {
      const sim = await step(`starting vendor simulators on port ${simulatorPort}`, () =>
        startSimulators({ port: simulatorPort }).catch((err: unknown) => {
          throw hint(err, 'set SIMULATOR_PORT to another port, or TETHER_SIMULATORS=off');
        }),
      );
      shutdown.add('simulators', () => sim.close());
      simulatorsUrl = sim.baseUrl;
      // The simulators speak plain http on loopback; production refuses such instance URLs.
      config.vendorHttp.allowInsecureLoopback = true;
      // Slack's fixed hosts point at its simulator, unless configured explicitly.
      const configured = Object.fromEntries(Object.entries(config.vendorEndpoints).filter(([, url]) => url));
      config.vendorEndpoints = { ...slackEndpointsAt(`${sim.baseUrl}/slack`), ...configured };
    }

    const loopbackWarning = insecureLoopbackWarning(
      config,
      loopbackFromEnv
        ? 'TETHER_ALLOW_INSECURE_LOOPBACK is set in the environment'
        : 'demo mode, for the simulators; TETHER_SIMULATORS=off turns it off',
    );
    if (loopbackWarning) logger.warn(loopbackWarning.map((line) => line.trim()).join(' '));

    installTemporalRuntime(logger, { metricsAddress: config.workerMetricsAddress });
    const services = createServices(config, {
      logger,
      // PGlite serves one connection at a time.
      maxConnections: embeddedDb ? 1 : undefined,
      localKeyFile: inData('encryption.key'),
    });
    shutdown.add('database client and vendor http', () => services.close());
    const apiKeyFile = inData('api-key');
    const apiKey = await localApiKey(services.db, apiKeyFile);

    const worker = await step('starting the worker (bundles the workflow code)', () =>
      startWorker(config, services),
    );
    shutdown.add('worker', () => worker.stop());
    worker.done.catch((err: unknown) => {
      logger.fatal({ err }, 'worker failed');
      void shutdown.exit(1, 'worker failed');
    });

    const temporalClient = await connectTemporalClient(config, services);
    shutdown.add('Temporal client', () => temporalClient.close());
    const app = await step(`starting the API on ${config.http.host}:${config.http.port}`, () =>
      startApi(config, services, temporalClient.client, logger, {
        uiCodec: server
          ? {
              token: uiCodecToken,
              origins: [`http://127.0.0.1:${temporalUiPort}`, `http://localhost:${temporalUiPort}`],
            }
          : undefined,
      }).catch((err: unknown) => {
        throw hint(err, 'set PORT (and HOST) to a free address');
      }),
    );
    shutdown.add('API', () => app.close());

    const lines = [
      '',
      'tether is running. Ctrl-C stops it; state is kept in ' + shownDataDir + '/.',
      `  API          ${api}   (interactive docs: ${api}/docs, OpenAPI: ${api}/openapi.json)`,
      `  Temporal UI  ${server?.uiUrl ?? `(external server at ${config.temporal.address})`}`,
      `  Database     ${embeddedDb ? `embedded PGlite in ${show(inData('pg'))} (${databaseUrl.split('?')[0]})` : 'DATABASE_URL'}`,
    ];
    if (server) lines.push(`  Temporal log ${show(inData('temporal.log'))}`);
    lines.push(`  API key      ${show(apiKeyFile)} (tenant "demo"${apiKey.created ? ', just created' : ''})`);
    if (simulatorsUrl)
      lines.push(`  Simulators   ${simulatorsUrl}   (demo credentials: simulators/README.md)`);
    if (loopbackWarning) lines.push('', ...loopbackWarning);
    if (simulatorsUrl) {
      const body = JSON.stringify({
        vendor: 'invgate',
        instanceUrl: `${simulatorsUrl}/invgate`,
        credentials: { clientId: 'demo-all-scopes', clientSecret: 'demo-secret' },
      });
      lines.push(
        '',
        'Try it: link the InvGate simulator, then watch the connection become active:',
        '',
        `  KEY=$(cat ${apiKeyFile})`,
        `  ID=$(curl -s ${api}/v1/connections -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\`,
        `    -d '${body}' \\`,
        `    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id')`,
        `  curl -s ${api}/v1/connections/$ID -H "authorization: Bearer $KEY"; echo`,
      );
    }
    say(lines.join('\n') + '\n');
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? { message: err.message } : err }, 'start-up failed');
    say(`\n[start] failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown.exit(1, 'start-up failed');
  }
}

void main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
