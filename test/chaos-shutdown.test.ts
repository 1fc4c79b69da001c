// `npm run chaos` is a test tool: it must stop by itself with its verdict as exit code, stop within a
// bounded time on Ctrl-C, and in both cases leave nothing running (its PostgreSQL cluster, its Temporal
// dev server, its worker) and no run folder behind. The smallest runs that still start every part.
//
// Each run gets its own TMPDIR: the chaos script puts its run folder there and every process it starts
// inherits it, so whatever survives is found by that path in /proc (command line or environment).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand, type RunningCommand } from './support/child-process';

const REPO = path.resolve(__dirname, '..');
const CHAOS = path.join(REPO, 'scripts', 'chaos.ts');

const runs: { chaos: RunningCommand; scratch: string }[] = [];

afterEach(() => {
  // A failed test must not leave its parts running for the next one either.
  for (const { chaos, scratch } of runs.splice(0)) {
    chaos.signalGroup('SIGKILL');
    for (const pid of survivors(scratch)) killQuietly(pid);
    rmSync(scratch, { recursive: true, force: true });
  }
});

function startChaos(options: string[]): { chaos: RunningCommand; scratch: string } {
  const scratch = mkdtempSync(path.join(tmpdir(), 'tether-chaos-test-'));
  // As root the script runs PostgreSQL as `postgres`, which must reach the run folder inside it.
  chmodSync(scratch, 0o755);
  const chaos = runCommand(process.execPath, ['--import', 'tsx', CHAOS, ...options], {
    cwd: REPO,
    env: { ...process.env, TMPDIR: scratch },
  });
  runs.push({ chaos, scratch });
  return { chaos, scratch };
}

/** Live processes (not zombies) whose command line or environment mentions `marker`. */
function survivors(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1];
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (cmdline.includes(marker) || environ.includes(marker)) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

function describeProcesses(pids: number[]): string {
  return pids
    .map((pid) => {
      try {
        return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
      } catch {
        return `${pid}: (gone)`;
      }
    })
    .join('\n');
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

const runFolders = (scratch: string) =>
  readdirSync(scratch).filter((name) => name.startsWith('tether-chaos-'));

/** The processes of a run a moment after it exited (postgres backends take a few ms to go). */
async function leftRunning(scratch: string): Promise<number[]> {
  for (let i = 0; i < 20; i++) {
    if (survivors(scratch).length === 0) return [];
    await new Promise((r) => setTimeout(r, 250));
  }
  return survivors(scratch);
}

// Every kind of fault once, on as little traffic as the script allows (10 s is its shortest run).
const SMALLEST_RUN = [
  ...['--connections', '3', '--duration', '10', '--settle', '60', '--seed', '7'],
  ...[
    '--worker-kills',
    '1',
    '--temporal-restarts',
    '1',
    '--postgres-restarts',
    '1',
    '--postgres-outages',
    '0',
  ],
];

test('a run stops by itself after its verdict, exits 0 on PASS and leaves nothing running', async () => {
  const { chaos, scratch } = startChaos(SMALLEST_RUN);
  // Parts the run started must be seen while it runs, or the check below could not fail.
  await chaos.waitFor(/set-up done/, 120_000);
  expect(survivors(scratch).length).toBeGreaterThanOrEqual(3);

  const exit = await chaos.exitWithin(150_000);
  // The output comes with a wrong exit, to say why.
  expect({ exit, output: exit?.code === 0 ? '' : chaos.output().slice(-3000) }).toEqual({
    exit: { code: 0, signal: null },
    output: '',
  });
  expect(chaos.stdout()).toMatch(/verdict {6}PASS/);
  expect(chaos.output()).not.toMatch(/did not stop within/);
  const left = await leftRunning(scratch);
  expect(describeProcesses(left)).toBe('');
  // The run folder is gone too (kept only on FAIL or --keep); tsx keeps its cache there.
  expect(runFolders(scratch)).toEqual([]);
}, 240_000);

test('Ctrl-C while commands wait on a hung worker stops everything within 20 s and exits 130', async () => {
  const { chaos, scratch } = startChaos([
    ...['--connections', '6', '--duration', '120', '--seed', '11', '--worker-kills', '0'],
    ...['--temporal-restarts', '0', '--postgres-restarts', '0', '--postgres-outages', '0'],
  ]);
  await chaos.waitFor(/set-up done/, 120_000);
  const workerPid = Number(/worker pid (\d+)/.exec(chaos.output())![1]);
  // Mid-run: links made, traffic flowing.
  await chaos.waitFor(/linked [1-6]\/6/, 30_000);
  expect(survivors(scratch).length).toBeGreaterThanOrEqual(3);
  // A worker that stops answering (as one killed and not back yet): the refreshes and commands the run
  // sends from now on wait on Temporal updates nobody runs, and their clients allow 60-90 s.
  process.kill(workerPid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 5_000));

  const signalledAt = Date.now();
  chaos.signalGroup('SIGINT');
  const exit = await chaos.exitWithin(70_000);
  const tookMs = Date.now() - signalledAt;
  expect({ exit, output: exit?.code === 130 ? '' : chaos.output().slice(-3000) }).toEqual({
    exit: { code: 130, signal: null },
    output: '',
  });
  expect(chaos.output()).toMatch(/SIGINT: stopping everything/);
  // The clean path, not the script's last-resort kill after 60 s; a clean stop takes seconds, the
  // commands' own 60-90 s client timeouts must not hold it.
  expect(chaos.output()).not.toMatch(/did not stop within|killing what is left/);
  expect(tookMs).toBeLessThan(20_000);
  const left = await leftRunning(scratch);
  expect(describeProcesses(left)).toBe('');
  expect(runFolders(scratch)).toEqual([]);
}, 240_000);
