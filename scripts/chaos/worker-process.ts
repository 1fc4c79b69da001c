// The worker as a real child process (`node --import tsx main/worker.ts`), in its own process group so
// kill -9 takes down everything it started. Output goes to a log file; "worker running" marks ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We asked for it (kill -9 or SIGTERM); otherwise the worker died on its own. */
  expected: boolean;
  at: number;
}

export interface WorkerProcessOptions {
  repoRoot: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** How long a start may take until "worker running" (bundling the workflows takes seconds). */
  readyTimeoutMs?: number;
}

/** Runs one worker process at a time; restarts are explicit. */
export class WorkerProcess {
  private child?: ChildProcess;
  private log: WriteStream;
  private expectingExit = false;
  readonly exits: WorkerExit[] = [];
  starts = 0;
  /** Time from spawn to "worker running", per start. */
  readonly startDurationsMs: number[] = [];
  /** Starts that failed before "worker running" (e.g. Temporal down at that moment). */
  readonly failedStarts: { at: number; error: string }[] = [];
  private ready = false;
  /** When the current worker became ready. */
  readyAt = 0;
  /** Called when a worker that was running exits without being asked to. */
  onUnexpectedExit?: (exit: WorkerExit) => void;

  constructor(private readonly options: WorkerProcessOptions) {
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error('worker already running');
    const started = Date.now();
    this.starts += 1;
    this.log.write(`\n==== chaos: worker start #${this.starts} at ${new Date().toISOString()} ====\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'worker.ts')], {
      cwd: this.options.repoRoot,
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: kill(-pid) reaches any child it has.
      detached: true,
    });
    this.child = child;
    this.expectingExit = false;
    this.ready = false;
    let ready!: () => void;
    let failed!: (err: Error) => void;
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    let seen = '';
    let watching = true;
    child.stdout!.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      if (!watching) return;
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes('"msg":"worker running"')) {
        watching = false;
        ready();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => this.log.write(chunk));
    child.once('error', (err) => failed(err));
    child.once('exit', (code, signal) => {
      const exit: WorkerExit = { code, signal, expected: this.expectingExit, at: Date.now() };
      this.exits.push(exit);
      this.log.write(`\n==== chaos: worker exited (${signal ?? `code ${code}`}) ====\n`);
      failed(
        new Error(
          `worker exited before it was ready (${signal ?? `code ${code}`}); see ${this.options.logFile}`,
        ),
      );
      if (!exit.expected && this.ready) this.onUnexpectedExit?.(exit);
    });
    const timeoutMs = this.options.readyTimeoutMs ?? 120_000;
    const timer = setTimeout(() => failed(new Error(`worker not ready after ${timeoutMs} ms`)), timeoutMs);
    try {
      await readyPromise;
    } catch (err) {
      this.failedStarts.push({ at: Date.now(), error: (err as Error).message });
      this.expectingExit = true;
      const gone = this.exited();
      this.killGroup('SIGKILL');
      await gone;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.ready = true;
    this.readyAt = Date.now();
    this.startDurationsMs.push(Date.now() - started);
  }

  /** kill -9 the worker's process group and wait for it to be gone. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    const gone = this.exited();
    this.killGroup('SIGKILL');
    await gone;
  }

  /** SIGTERM; resolves with the exit once it is gone (SIGKILL after graceMs). */
  async terminate(graceMs: number): Promise<{ exit: WorkerExit; tookMs: number }> {
    if (!this.running) throw new Error('worker not running');
    this.expectingExit = true;
    const started = Date.now();
    const gone = this.exited();
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    try {
      await gone;
    } finally {
      clearTimeout(timer);
    }
    return { exit: this.exits[this.exits.length - 1]!, tookMs: Date.now() - started };
  }

  /** Last resort on any exit path of the chaos run. Synchronous, so it works in process.on('exit'). */
  killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid || !this.running) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  async close(): Promise<void> {
    if (this.running) await this.kill9();
    await new Promise<void>((r) => this.log.end(() => r()));
  }

  private exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }
}
