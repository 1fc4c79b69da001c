// Exactly once at the vendor: the worker (a real child process, main/worker.ts) is killed after the vendor
// made the user (or the service desk its request or ticket, NinjaOne its end user) and before the job recorded
// it. The retried create, on a new worker, finds and adopts what was made instead of making a second one (by
// externalId or userName, Halo's ticket by the reference it carries, NinjaOne's end user by email), or, where
// the vendor offers no way to find it (InvGate), sends nothing again and says where to look.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createApiKey } from '../platform/api-keys';
import { loadConfig, type Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import {
  connectTemporalClient,
  createApi,
  createServices,
  type Api,
  type Services,
  type TemporalClient,
} from '../main/services';
import { startSimulators, type RunningSimulators } from '../simulators/server';
import { createTestDatabase, type TestDatabase } from './support/database';
import { serviceEnvironment } from './support/environment';
import { eventually } from './support/eventually';
import { TEST_POLICY } from './support/stack';
import { DEMO_SECRET } from '../simulators/scenario';

const REPO = path.resolve(__dirname, '..');
/** The connection's token, which the fault matches; the test reads the directory with another one. */
const TOKEN = 'demo-all-scopes.crash';
const OBSERVER = 'demo-all-scopes.observer';

let database: TestDatabase;
let sim: RunningSimulators;
let env: Record<string, string>;
let config: Config;
let services: Services;
let temporal: TemporalClient;
let app: Api;
let key: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  database = await createTestDatabase();
  sim = await startSimulators();
  env = {
    ...serviceEnvironment({
      databaseUrl: database.url,
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
      taskQueue: `crash-${randomUUID()}`,
      encryptionKeys: `crash:${randomBytes(32).toString('base64')}`,
      simulatorsUrl: sim.baseUrl,
      policy: TEST_POLICY,
    }),
    LOG_LEVEL: 'info',
  };
  config = loadConfig(env);
  services = createServices(config, { logger: createLogger('silent', 'test') });
  temporal = await connectTemporalClient(config, services);
  app = await createApi(config, services, temporal.client);
  key = (
    await createApiKey(services.db, {
      name: 'crash',
      tenantId: 'crash',
      scopes: ['connections:read', 'connections:write', 'provisioning:write'],
    })
  ).key;
});

afterAll(async () => {
  for (const child of children) kill(child);
  await app?.close();
  await temporal?.close();
  await services?.close();
  await sim?.close();
  await database?.drop();
});

function kill(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // gone
  }
}

/** main/worker.ts in its own process group; resolves once it polls. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'main/worker.ts'], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('"msg":"worker running"')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${output.slice(-3000)}`)));
  });
  return child;
}

const api = (method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });

async function usersNamed(userName: string): Promise<{ id: string }[]> {
  const filter = encodeURIComponent(`userName eq "${userName}"`);
  const res = await fetch(`${sim.baseUrl}/promapp/api/scim/Users?filter=${filter}`, {
    headers: { authorization: `Bearer ${OBSERVER}` },
  });
  return ((await res.json()) as { Resources: { id: string }[] }).Resources;
}

test('a create whose worker died after the vendor made the user adopts that user on retry: one user, succeeded', async () => {
  const first = await startWorkerProcess();
  const linked = await api('POST', '/v1/connections', {
    vendor: 'promapp',
    instanceUrl: `${sim.baseUrl}/promapp/api/scim`,
    credentials: { token: TOKEN },
  });
  expect(linked.statusCode).toBe(202);
  const connectionId = linked.json().id;
  await eventually(
    async () => (await api('GET', `/v1/connections/${connectionId}`)).json().status,
    (status) => status === 'active',
    { what: 'connection active', timeoutMs: 60_000 },
  );

  // One create matched later by its externalId, one by its userName alone (this job sent its create before).
  let worker = first;
  for (const input of [
    { userName: 'crash.external@example.com', externalId: 'hr-crash-1' },
    { userName: 'crash.plain@example.com' },
  ]) {
    // The vendor acts at once but answers the connection's calls only after 3 s (within the 5 s timeout).
    const fault = sim.control.addFault({
      vendor: 'promapp',
      match: TOKEN,
      scope: 'api',
      fault: { kind: 'delay_answer', ms: 3_000 },
    });
    const res = await api('POST', `/v1/connections/${connectionId}/jobs`, {
      operation: 'create_user',
      input,
    });
    expect(res.statusCode).toBe(202);
    const jobId = res.json().id as string;
    await eventually(
      () => usersNamed(input.userName),
      (users) => users.length === 1,
      {
        what: `${input.userName} created at the vendor`,
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    // The user exists; its answer has not reached the worker, which dies now.
    expect((await api('GET', `/v1/jobs/${jobId}`)).json().status).toBe('running');
    kill(worker);
    sim.control.removeFault(fault);

    worker = await startWorkerProcess();
    const done = await eventually(
      async () => (await api('GET', `/v1/jobs/${jobId}`)).json(),
      (j) => j.status !== 'running' && j.status !== 'queued',
      { what: `job ${jobId} finished`, timeoutMs: 60_000 },
    );
    const users = await usersNamed(input.userName);
    expect(users).toHaveLength(1);
    expect(done).toMatchObject({ status: 'succeeded', vendorId: users[0]!.id, result: { adopted: true } });
  }
  // The vendor saw exactly one create per job.
  expect(sim.control.stats('promapp', TOKEN).byEndpoint['POST /api/scim/Users']).toBe(2);
}, 240_000);

/** A connection of this file's simulators, active. */
async function linkActive(body: object): Promise<string> {
  const linked = await api('POST', '/v1/connections', body);
  expect(linked.statusCode).toBe(202);
  const connectionId = linked.json().id as string;
  await eventually(
    async () => (await api('GET', `/v1/connections/${connectionId}`)).json().status,
    (status) => status === 'active',
    { what: 'connection active', timeoutMs: 60_000 },
  );
  return connectionId;
}

/**
 * Starts the job with the vendor's answer to `endpoint` held back, kills the worker once `made` sees the
 * vendor's work, and returns the job as a fresh worker ends it.
 */
async function crashBetweenAnswerAndRecord(
  connectionId: string,
  job: object,
  hold: { vendor: string; match: string; endpoint: string },
  made: () => Promise<boolean>,
) {
  for (const child of children) kill(child);
  const worker = await startWorkerProcess();
  const fault = sim.control.addFault({ ...hold, fault: { kind: 'delay_answer', ms: 4_000 } });
  const res = await api('POST', `/v1/connections/${connectionId}/jobs`, job);
  expect(res.statusCode).toBe(202);
  const jobId = res.json().id as string;
  await eventually(made, (yes) => yes, {
    what: 'made at the vendor',
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  expect((await api('GET', `/v1/jobs/${jobId}`)).json().status).toBe('running');
  kill(worker);
  sim.control.removeFault(fault);
  await startWorkerProcess();
  return eventually(
    async () => (await api('GET', `/v1/jobs/${jobId}`)).json(),
    (j) => j.status !== 'running' && j.status !== 'queued',
    { what: `job ${jobId} finished`, timeoutMs: 60_000 },
  );
}

/** A token from the simulators' token endpoint at `tokenPath` with `scope`, for reading what was made. */
async function reader(tokenPath: string, scope: string): Promise<string> {
  const res = await fetch(`${sim.baseUrl}/${tokenPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'demo-all-scopes.reader',
      client_secret: DEMO_SECRET,
      scope,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

test('an InvGate request whose answer was lost is not sent again: one request at the vendor, the job names its reference', async () => {
  const client = 'demo-all-scopes.crash';
  const connectionId = await linkActive({
    vendor: 'invgate',
    instanceUrl: `${sim.baseUrl}/invgate`,
    credentials: { clientId: client, clientSecret: DEMO_SECRET },
  });
  const token = await reader('invgate/oauth/v2/0/access_token', 'api.v1.incident:get');
  const firstRequest = () =>
    fetch(`${sim.baseUrl}/invgate/api/v1/incident?id=1`, { headers: { authorization: `Bearer ${token}` } });
  const done = await crashBetweenAnswerAndRecord(
    connectionId,
    {
      operation: 'create_request',
      input: {
        title: 'Laptop for the new hire',
        category: 'Hardware',
        type: 'Service Request',
        priority: 'Low',
        customer: { email: 'ada@example.com' },
      },
    },
    { vendor: 'invgate', match: client, endpoint: 'POST /api/v1/incident' },
    async () => (await firstRequest()).status === 200,
  );
  const reference = `tether-job-${done.id}`;
  expect(done).toMatchObject({ status: 'failed', failure: { reason: 'vendor_outcome_unknown' } });
  expect(done.failure.message).toContain(`search InvGate for ${reference}`);
  expect(((await (await firstRequest()).json()) as { description: string }).description).toContain(reference);
  expect(sim.control.stats('invgate', client).byEndpoint['POST /api/v1/incident']).toBe(1);
}, 240_000);

test('a Halo ticket whose answer was lost is found by its reference and adopted: one ticket, succeeded', async () => {
  const client = 'demo-all-scopes.crash';
  const connectionId = await linkActive({
    vendor: 'halo',
    instanceUrl: `${sim.baseUrl}/halo`,
    credentials: { clientId: client, clientSecret: DEMO_SECRET },
  });
  const token = await reader('halo/auth/token', 'read:tickets');
  const summary = 'Crash test: a laptop for the new hire';
  const tickets = async () => {
    const res = await fetch(`${sim.baseUrl}/halo/api/tickets?search=${encodeURIComponent(summary)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return ((await res.json()) as { tickets: { id: number; third_party_id_string: string }[] }).tickets;
  };
  const done = await crashBetweenAnswerAndRecord(
    connectionId,
    { operation: 'create_ticket', input: { summary, ticketTypeId: 3, user: { id: 10 } } },
    { vendor: 'halo', match: client, endpoint: 'POST /api/tickets' },
    async () => (await tickets()).length > 0,
  );
  const [ticket, ...more] = await tickets();
  expect(more).toEqual([]);
  expect(ticket!.third_party_id_string).toBe(`tether-job-${done.id}`);
  expect(done).toMatchObject({
    status: 'succeeded',
    vendorId: String(ticket!.id),
    result: { adopted: true },
  });
  expect(sim.control.stats('halo', client).byEndpoint['POST /api/tickets']).toBe(1);
}, 240_000);

test('a NinjaOne end user whose answer was lost is found by email and adopted: one end user, succeeded', async () => {
  const client = 'demo-all-scopes.crash';
  const connectionId = await linkActive({
    vendor: 'ninjaone',
    instanceUrl: `${sim.baseUrl}/ninjaone`,
    credentials: { clientId: client, clientSecret: DEMO_SECRET },
  });
  const token = await reader('ninjaone/ws/oauth/token', 'monitoring');
  const email = 'crash.joiner@example.com';
  const endUsers = async () => {
    const res = await fetch(`${sim.baseUrl}/ninjaone/v2/user/end-users`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return ((await res.json()) as { id: number; email: string }[]).filter((u) => u.email === email);
  };
  const done = await crashBetweenAnswerAndRecord(
    connectionId,
    {
      operation: 'create_end_user',
      input: { firstName: 'Crash', lastName: 'Joiner', email, organizationId: 1 },
    },
    { vendor: 'ninjaone', match: client, endpoint: 'POST /v2/user/end-users' },
    async () => (await endUsers()).length > 0,
  );
  const users = await endUsers();
  expect(users).toHaveLength(1);
  expect(done).toMatchObject({
    status: 'succeeded',
    vendorId: String(users[0]!.id),
    result: { adopted: true },
  });
  expect(sim.control.stats('ninjaone', client).byEndpoint['POST /v2/user/end-users']).toBe(1);
}, 240_000);
