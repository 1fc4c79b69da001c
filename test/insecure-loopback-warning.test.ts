// TETHER_ALLOW_INSECURE_LOOPBACK lets tenants' instance URLs be plain http on this machine. Every process
// it is set for says so as loudly as the demo does: `npm start` in its banner (also with the simulators
// off, when nothing of the demo explains it), the worker and the API in a warn-level log line.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../dev/temporal-dev-server';
import { runCommand, type RunningCommand } from './support/child-process';
import { createTestDatabase, type TestDatabase } from './support/database';

const REPO = path.resolve(__dirname, '..');
const WARNING = /WARNING: plain-http loopback instance URLs are allowed \(TETHER_ALLOW_INSECURE_LOOPBACK\)/;

let database: TestDatabase;
let dataDir: string;
const running: RunningCommand[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'tether-loopback-warning-'));
});

afterEach(() => {
  for (const child of running.splice(0)) child.signalGroup('SIGKILL');
});

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await database?.drop();
});

async function start(entry: string, extraEnv: Record<string, string>): Promise<RunningCommand> {
  const child = runCommand(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TETHER_TASK_QUEUE: `loopback-warning-${randomUUID()}`,
      TETHER_ENCRYPTION_KEYS: `test:${randomBytes(32).toString('base64')}`,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      ...extraEnv,
    },
  });
  running.push(child);
  return child;
}

test('npm start with the simulators off and TETHER_ALLOW_INSECURE_LOOPBACK=true warns in its banner', async () => {
  const child = await start('dev/start.ts', {
    TETHER_SIMULATORS: 'off',
    TETHER_ALLOW_INSECURE_LOOPBACK: 'true',
    TETHER_DATA_DIR: dataDir,
  });
  await child.waitFor(/tether is running/, 90_000);
  const banner = child.stderr().slice(child.stderr().indexOf('tether is running'));
  expect(banner).toMatch(WARNING);
  expect(banner).toMatch(/is set in the environment\.\n.*never enable that in production/);
  // Also in the JSON log, for whoever reads logs rather than the terminal.
  expect(child.stdout()).toMatch(/"level":40,.*plain-http loopback instance URLs are allowed/);

  child.signalGroup('SIGINT');
  expect(await child.exitWithin(30_000)).toEqual({ code: 0, signal: null });
});

test.each(['main/api.ts', 'main/worker.ts'])(
  '%s warns when the flag is set, and not otherwise',
  async (entry) => {
    const ready = entry === 'main/api.ts' ? /Server listening/ : /worker running/;
    const allowed = await start(entry, { TETHER_ALLOW_INSECURE_LOOPBACK: 'true' });
    await allowed.waitFor(ready, 90_000);
    expect(allowed.stdout()).toMatch(/"level":40,.*WARNING: plain-http loopback instance URLs are allowed/);
    allowed.signalGroup('SIGTERM');
    expect(await allowed.exitWithin(30_000)).toEqual({ code: 0, signal: null });

    const refused = await start(entry, { TETHER_ALLOW_INSECURE_LOOPBACK: 'false' });
    await refused.waitFor(ready, 90_000);
    expect(refused.output()).not.toMatch(/plain-http loopback/);
    refused.signalGroup('SIGTERM');
    expect(await refused.exitWithin(30_000)).toEqual({ code: 0, signal: null });
  },
);
