// docker-compose.yml wires what `npm start` wires: OAuth redirects to TETHER_PUBLIC_URL, the Temporal
// UI decoding payloads through the API's codec endpoint (token and CORS origin matching), the worker's
// metrics, and in the demo override the simulators the way npm start points tether at them. Checked on
// the files as Compose reads them (YAML merge keys, ${VAR:-default} / ${VAR:?error} from .env), with
// each process's environment run through tether's own config validation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { slackEndpointsAt } from '../catalog/slack';
import { loadConfig } from '../platform/config';

const REPO = path.resolve(__dirname, '..');

interface Service {
  environment?: Record<string, string | number>;
  ports?: string[];
  network_mode?: string;
  command?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
}

/** .env as docker/env.example describes it, each REPLACE_ME filled in. */
function exampleEnv(): Record<string, string> {
  const fills: Record<string, string> = {
    POSTGRES_PASSWORD: 'pw0123456789',
    TETHER_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    TETHER_UI_CODEC_TOKEN: 'codec-token-0123456789abcdef',
  };
  const env: Record<string, string> = {};
  for (const line of readFileSync(path.join(REPO, 'docker/env.example'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2] === 'REPLACE_ME' ? fills[match[1]!]! : match[2]!;
  }
  return env;
}

/** Compose's interpolation, the forms these files use: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}/g,
    (_all, name: string, op?: string, arg?: string) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (op === ':-') return arg ?? '';
      if (op === ':?') throw new Error(`required variable ${name}: ${arg}`);
      return '';
    },
  );
}

function load(file: string, env: Record<string, string>): ComposeFile {
  const text = interpolate(readFileSync(path.join(REPO, file), 'utf8'), env);
  expect(text).not.toMatch(/\$\{/);
  return parse(text, { merge: true }) as ComposeFile;
}

/** Compose's merge of an override file: services' environment maps merged, lists appended. */
function withOverride(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services = { ...base.services };
  for (const [name, extra] of Object.entries(override.services)) {
    const own = services[name] ?? {};
    services[name] = {
      ...own,
      ...extra,
      environment: { ...own.environment, ...extra.environment },
      ports: [...(own.ports ?? []), ...(extra.ports ?? [])],
    };
  }
  return { services };
}

const envOf = (service: Service) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** host:port on the host for a container port, from '127.0.0.1:3000:3000'. */
function published(service: Service, containerPort: number): string | undefined {
  for (const spec of service.ports ?? []) {
    const [host, hostPort, port] = spec.split(':');
    if (Number(port) === containerPort) return `${host}:${hostPort}`;
  }
  return undefined;
}

test('every variable the compose files require is in docker/env.example', () => {
  for (const file of ['docker-compose.yml', 'docker/compose.demo.yml']) {
    const required = [...readFileSync(path.join(REPO, file), 'utf8').matchAll(/\$\{([A-Z0-9_]+):\?/g)].map(
      (m) => m[1],
    );
    for (const name of required) expect(Object.keys(exampleEnv())).toContain(name);
  }
  expect(() => load('docker-compose.yml', { ...exampleEnv(), TETHER_UI_CODEC_TOKEN: '' })).toThrow(
    /TETHER_UI_CODEC_TOKEN/,
  );
});

test('the worker and the API get a valid configuration, with the public URL, codec and metrics wired', () => {
  const { services } = load('docker-compose.yml', exampleEnv());
  const api = envOf(services.api!);
  const worker = envOf(services.worker!);
  const apiConfig = loadConfig(api);
  const workerConfig = loadConfig(worker);

  // Same database, Temporal, task queue and keys on both sides.
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TETHER_TASK_QUEUE', 'TETHER_ENCRYPTION_KEYS']) {
    expect(worker[key]).toBe(api[key]);
  }
  // OAuth redirects go to where the API is published.
  expect(apiConfig.publicUrl).toBe(`http://${published(services.api!, 3000)}`);
  expect(workerConfig.publicUrl).toBe(apiConfig.publicUrl);

  // The UI's codec endpoint is the API's token route, and the UI's origin may call it.
  const ui = envOf(services['temporal-ui']!);
  expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe(`${apiConfig.publicUrl}/codec/t/${apiConfig.codec.uiToken}`);
  expect(apiConfig.codec.origins).toContain(`http://${published(services['temporal-ui']!, 8080)}`);

  // Worker metrics on, and published.
  const metricsPort = Number(workerConfig.workerMetricsAddress?.split(':').pop());
  expect(metricsPort).toBeGreaterThan(0);
  expect(published(services.worker!, metricsPort)).toBe(`127.0.0.1:${metricsPort}`);

  // Production by default: no loopback vendor URLs, Slack's real endpoints.
  expect(apiConfig.vendorHttp.allowInsecureLoopback).toBe(false);
  expect(workerConfig.vendorHttp.allowInsecureLoopback).toBe(false);
  expect(Object.values(workerConfig.vendorEndpoints).filter(Boolean)).toEqual([]);
  expect(services.simulators).toBeUndefined();
});

test('the demo override points the worker and the API at the simulators as npm start does', () => {
  const env = exampleEnv();
  const { services } = withOverride(load('docker-compose.yml', env), load('docker/compose.demo.yml', env));
  const simulators = services.simulators!;
  // In the worker's network namespace: its 127.0.0.1:<SIMULATOR_PORT> is the worker's loopback.
  expect(simulators.network_mode).toBe('service:worker');
  const simulatorsUrl = `http://127.0.0.1:${envOf(simulators).SIMULATOR_PORT}`;
  for (const name of ['worker', 'api']) {
    const config = loadConfig(envOf(services[name]!));
    expect(config.vendorHttp.allowInsecureLoopback).toBe(true);
    expect(config.vendorEndpoints).toEqual(slackEndpointsAt(`${simulatorsUrl}/slack`));
    // Everything else as without the demo.
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  }
});
