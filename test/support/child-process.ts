// A command run as a real child process in its own process group (as a terminal runs a job), its
// output kept apart by stream for assertions, with waits that fail with the output tail.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningCommand {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Both streams, in arrival order. */
  output(): string;
  /** Resolves once the output matches; rejects on timeout or exit, with the output tail. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<ChildExit>;
  /** The exit, or undefined when it did not come within timeoutMs. */
  exitWithin(timeoutMs: number): Promise<ChildExit | undefined>;
  /** Signals the whole process group, like Ctrl-C on a terminal (also what outlived the leader). */
  signalGroup(signal: NodeJS.Signals): void;
}

export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): RunningCommand {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const label = [command, ...args].join(' ');
  let stdout = '';
  let stderr = '';
  let output = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  // 'close': after the pipes drained, so the output is complete when this resolves.
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const tail = () => output.slice(-4000);
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label}: no ${pattern} within ${timeoutMs} ms; output:\n${tail()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (!listeners.has(check)) return;
          cleanup();
          if (pattern.test(output)) resolve();
          else reject(new Error(`${label} exited (${signal ?? code}) before ${pattern}; output:\n${tail()}`));
        });
        check();
      });
    },
    async exitWithin(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>(
        (resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)),
      );
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    signalGroup(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // gone
      }
    },
  };
}
