// The README's quick start, checked end to end (`.ci/run` runs it on its clean clone, before anything
// else generates the Prisma client): `npm start`, link the demo connection the way the README shows,
// wait until it is `active`, then Ctrl-C (SIGINT to npm's process group, as a terminal sends it). Passes
// when npm exits 0 within a bounded time and nothing it started is left running. Ports are free ones and
// the data folder a temporary one, so a running tether or another run on this machine is not disturbed.
//
//   node --import tsx scripts/start-smoke.ts [--start-timeout 180] [--keep]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../dev/temporal-dev-server';

const { values: args } = parseArgs({
  options: {
    // Seconds until `npm start` says it is running (the Temporal CLI is expected to be built already).
    'start-timeout': { type: 'string', default: '180' },
    keep: { type: 'boolean', default: false },
  },
});
const START_TIMEOUT_MS = Number(args['start-timeout']) * 1000;
const ACTIVE_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

const REPO = path.resolve(__dirname, '..');
const started = Date.now();
const say = (line: string) =>
  process.stderr.write(`[start-smoke ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class SmokeFailure extends Error {}

/** The promise's value, or undefined after timeoutMs (the timer does not outlive it). */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** True while any process of the group is alive (signal 0 checks without signalling). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'tether-start-smoke-'));
  const dataDir = path.join(workDir, 'data');
  const logFile = path.join(workDir, 'npm-start.log');
  const ports = {
    PORT: await freePort(),
    TETHER_EMBEDDED_PG_PORT: await freePort(),
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    SIMULATOR_PORT: await freePort(),
  };
  const api = `http://127.0.0.1:${ports.PORT}`;
  say(`npm start (data ${dataDir}, API ${api}, log ${logFile})`);

  // The README's environment: nothing set but where things go. Ours may configure tether otherwise.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|TEMPORAL_ADDRESS|TETHER_|HOST$|PORT$)/.test(k),
    ),
  );
  const log = createWriteStream(logFile);
  const child = spawn('npm', ['start'], {
    cwd: REPO,
    env: {
      ...env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      TETHER_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a terminal's foreground job: Ctrl-C is SIGINT to the whole group.
    detached: true,
  });
  const pgid = child.pid!;
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    log.write(chunk);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (exit = e));

  const fail = (message: string): never => {
    throw new SmokeFailure(message);
  };
  try {
    // 1. Running.
    for (
      const deadline = Date.now() + START_TIMEOUT_MS;
      !output.includes('tether is running');
      await sleep(250)
    ) {
      if (exit) fail(`npm start exited (${exit.signal ?? `code ${exit.code}`}) before it was running`);
      if (Date.now() > deadline) fail(`npm start was not running after ${START_TIMEOUT_MS / 1000}s`);
    }
    say('npm start is running');

    // 2. The demo link, as the README shows it.
    const key = readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const res = await fetch(`${api}/v1/connections`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        vendor: 'invgate',
        instanceUrl: `http://127.0.0.1:${ports.SIMULATOR_PORT}/invgate`,
        credentials: { clientId: 'demo-all-scopes', clientSecret: 'demo-secret' },
      }),
    });
    const linked = (await res.json()) as { id?: string };
    if (res.status !== 202 || !linked.id) fail(`link answered ${res.status}: ${JSON.stringify(linked)}`);
    say(`linked connection ${linked.id} (202)`);

    // 3. Active.
    let status = '';
    for (const deadline = Date.now() + ACTIVE_TIMEOUT_MS; status !== 'active'; await sleep(250)) {
      const read = await fetch(`${api}/v1/connections/${linked.id}`, { headers });
      const body = (await read.json()) as { status?: string };
      status = body.status ?? `HTTP ${read.status}`;
      if (!['linking', 'active'].includes(status))
        fail(`connection became ${status}: ${JSON.stringify(body)}`);
      if (status !== 'active' && Date.now() > deadline)
        fail(`connection still ${status} after ${ACTIVE_TIMEOUT_MS / 1000}s`);
    }
    say('connection is active');

    // 4. Ctrl-C: npm exits 0 and nothing of the group stays behind.
    const stopAt = Date.now();
    process.kill(-pgid, 'SIGINT');
    const stopped = await within(exited, STOP_TIMEOUT_MS);
    if (!stopped) return fail(`npm start did not exit within ${STOP_TIMEOUT_MS / 1000}s of SIGINT`);
    if (stopped.code !== 0)
      fail(`npm start exited with ${stopped.signal ?? `code ${stopped.code}`} after SIGINT`);
    say(`SIGINT: npm start exited 0 in ${((Date.now() - stopAt) / 1000).toFixed(1)}s`);
    for (const deadline = Date.now() + 5_000; groupAlive(pgid); await sleep(100)) {
      if (Date.now() > deadline) fail(`processes of npm start's group ${pgid} still running after it exited`);
    }
    for (const [name, port] of Object.entries(ports)) {
      if (await portOpen(port))
        fail(`port ${port} (${name}) still accepts connections after npm start exited`);
    }
    say('nothing left running, every port closed: PASS');
  } catch (err) {
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    say(`FAILED: ${(err as Error).message}`);
    if (!(err instanceof SmokeFailure)) say((err as Error).stack ?? '');
    say(`npm start output (last 60 lines; all of it in ${logFile}):`);
    process.stderr.write(`${output.trimEnd().split('\n').slice(-60).join('\n')}\n`);
    process.exitCode = 1;
    return;
  } finally {
    await new Promise<void>((r) => log.end(() => r()));
  }
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
}

void main().catch((err: unknown) => {
  say(`FAILED: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
