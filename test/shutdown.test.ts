// Graceful shutdown of the production processes (main/worker.ts, main/api.ts) as real child processes:
// SIGTERM while work is in flight lets that work finish, the process exits 0, and nothing is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createApiKey } from '../platform/api-keys';
import { loadConfig, type Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import {
  connectTemporalClient,
  createApi,
  createServices,
  startWorker,
  type Services,
  type TemporalClient,
} from '../main/services';
import { freePort } from '../dev/temporal-dev-server';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import { connectionWorkflowId } from '../workflows/ids';
import { createTestDatabase, type TestDatabase } from './support/database';
import { serviceEnvironment } from './support/environment';
import { eventually } from './support/eventually';
import { TEST_POLICY } from './support/stack';

const REPO = path.resolve(__dirname, '..');
/** Longer than a 2 s vendor call, far shorter than the processes' own 30 s forced exit. */
const GRACE_MS = 15_000;

let database: TestDatabase;
let sim: RunningSimulators;
let env: Record<string, string>;
let config: Config;
let services: Services;
let temporal: TemporalClient;
const children: RunningChild[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  database = await createTestDatabase();
  sim = await startSimulators();
  env = {
    ...serviceEnvironment({
      databaseUrl: database.url,
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
      taskQueue: `shutdown-${randomUUID()}`,
      encryptionKeys: `shutdown:${randomBytes(32).toString('base64')}`,
      simulatorsUrl: sim.baseUrl,
      policy: TEST_POLICY,
    }),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
  };
  // This test's view of the same service: same database, keys and task queue as the children.
  config = loadConfig(env);
  services = createServices(config, { logger: createLogger('silent', 'test') });
  temporal = await connectTemporalClient(config, services);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await temporal?.close();
  await services?.close();
  await sim?.close();
  await database?.drop();
});

interface RunningChild {
  process: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** `node --import tsx <entry>` in its own process group, its output kept for assertions. */
function startProcess(entry: string, extraEnv: Record<string, string> = {}): RunningChild {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO,
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const w of [...waiters]) {
      if (w.pattern.test(output)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running: RunningChild = {
    process: child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      if (pattern.test(output)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`${entry}: no ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-3000)}`),
            ),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${entry} exited (${signal ?? code}) before ${pattern}; output:\n${output.slice(-3000)}`,
            ),
          );
        });
      });
    },
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // gone
      }
    },
  };
  children.push(running);
  return running;
}

/** SIGTERM, then how the process ended and how long it took. */
async function terminate(
  child: RunningChild,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; tookMs: number }> {
  const started = Date.now();
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS + 10_000);
  const result = await child.exited;
  clearTimeout(timer);
  return { ...result, tookMs: Date.now() - started };
}

const waitForStatus = (id: string, status: string, timeoutMs = 60_000) =>
  eventually(
    () => services.db.connection.findUniqueOrThrow({ where: { id } }),
    (row) => row.status === status,
    { what: `connection ${id} ${status}`, timeoutMs, intervalMs: 200 },
  );

const link = (vendor: 'invgate' | 'ninjaone', clientId: string) => ({
  vendor,
  instanceUrl: `${sim.baseUrl}/${vendor}`,
  credentials: { clientId, clientSecret: 'demo-secret' },
});

test('worker: SIGTERM mid-activity lets the activity finish, exits 0, and a new worker carries on', async () => {
  const app = await createApi(config, services, temporal.client);
  try {
    const { key } = await createApiKey(services.db, { name: 'shutdown', tenantId: 'shutdown' });
    const first = startProcess('main/worker.ts');
    await first.waitFor(/"msg":"worker running"/);

    // NinjaOne: a token request and one probe, each answered after 2 s.
    const clientId = 'demo-slow-2000.worker-shutdown';
    const res = await app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${key}` },
      payload: link('ninjaone', clientId),
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;

    // Stop the worker while the token activity is in flight at the slow vendor.
    await first.waitFor(/"activityType":"obtainToken"[^\n]*"msg":"Activity started"/);
    const stopped = await terminate(first);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.tookMs).toBeLessThan(GRACE_MS);
    expect(first.output()).toMatch(/"activityType":"obtainToken"[^\n]*"msg":"Activity completed"/);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    // The vendor answered the request the old worker made, and Temporal recorded its result: no retry.
    expect(sim.control.stats('ninjaone', clientId).tokenRequests).toBe(1);
    const history = await temporal.client.workflow.getHandle(connectionWorkflowId(id)).fetchHistory();
    // A link at the floor requests its token in a local activity: its result is the workflow task's marker.
    const completed = history.events!.filter(
      (e) =>
        e.activityTaskCompletedEventAttributes ||
        e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    );
    expect(completed.length).toBeGreaterThanOrEqual(1);
    expect(
      history.events!.some(
        (e) => e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes,
      ),
    ).toBe(false);

    // A new worker picks the lifecycle up where it stopped: scopes verified, active.
    const second = startProcess('main/worker.ts');
    await second.waitFor(/"msg":"worker running"/);
    const row = await waitForStatus(id, 'active', 90_000);
    expect(row.grantedScopes.length).toBeGreaterThan(0);
    expect(sim.control.stats('ninjaone', clientId).tokenRequests).toBe(1);
    const again = await terminate(second);
    expect(again).toMatchObject({ code: 0, signal: null });
  } finally {
    await app.close();
  }
});

test('API: SIGTERM stops taking requests, lets the one in flight finish, exits 0', async () => {
  // The workflows run on an in-process worker here; the API under test is the child process.
  const worker = await startWorker(config, services, {
    workflowBundle: { code: readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8') },
  });
  try {
    const port = await freePort();
    const api = startProcess('main/api.ts', { PORT: String(port), LOG_LEVEL: 'info' });
    await api.waitFor(/Server listening at/);
    const base = `http://127.0.0.1:${port}`;
    const { key } = await createApiKey(services.db, { name: 'shutdown-api', tenantId: 'shutdown' });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const linked = await fetch(`${base}/v1/connections`, {
      method: 'POST',
      headers,
      body: JSON.stringify(link('invgate', 'demo-all-scopes.api-shutdown')),
    });
    expect(linked.status).toBe(202);
    const { id } = (await linked.json()) as { id: string };
    await waitForStatus(id, 'active');

    // A rotation answers only once the new credentials are verified: ~8 s against a 1 s-per-call vendor.
    const rotation = fetch(`${base}/v1/connections/${id}/credentials`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({
        credentials: { clientId: 'demo-slow-1000.api-shutdown', clientSecret: 'demo-secret' },
      }),
    });
    await new Promise((r) => setTimeout(r, 1_500));
    const stopping = terminate(api);
    await new Promise((r) => setTimeout(r, 300));
    // No new requests once it is stopping.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();

    const answer = await rotation;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ outcome: 'accepted', connection: { status: 'active' } });
    const stopped = await stopping;
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.tookMs).toBeLessThan(GRACE_MS);
    expect(api.output()).toMatch(/"msg":"stopped"/);
    expect(await services.secrets.readCredentials(id)).toEqual({
      clientId: 'demo-slow-1000.api-shutdown',
      clientSecret: 'demo-secret',
    });
  } finally {
    await worker.stop();
  }
});
