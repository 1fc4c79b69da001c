// Starts and stops a local `temporal server start-dev` (Temporal CLI dev server) for dev and tests.
// The binary comes from scripts/ensure-temporal.sh (pinned build, cached) unless cliPath is given.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readSync, fstatSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface TemporalDevServerOptions {
  /** gRPC frontend port; 0/undefined picks a free port. */
  port?: number;
  /** Web UI port; undefined picks a free port (the CLI's default port+1000 may be taken). */
  uiPort?: number;
  /** Disable the Web UI. */
  headless?: boolean;
  /** Persist to this SQLite file (parent directory is created); omit for in-memory. */
  dbFile?: string;
  /** Namespace to create and wait for; 'default' always exists too. */
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Remote codec the Web UI uses to decode payloads (serves POST /decode). */
  uiCodecEndpoint?: string;
  /** Dynamic config overrides; values are JSON-encoded for `--dynamic-config-value`. */
  dynamicConfig?: Record<string, unknown>;
  /** Server log level: debug | info | warn | error | never (CLI default for start-dev: warn). */
  logLevel?: string;
  /** Append server output to this file; otherwise it is kept in memory for error messages. */
  logFile?: string;
  /** Use this binary instead of running scripts/ensure-temporal.sh. */
  cliPath?: string;
  /** How long to wait for the namespace to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in stop() (default 10 s). */
  stopTimeoutMs?: number;
}

export interface TemporalDevServer {
  /** host:port for `Connection.connect({ address })`. */
  address: string;
  uiUrl?: string;
  namespace: string;
  /** PID of the server process, for diagnostics. */
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const RING_BYTES = 64 * 1024;
const SEARCH_ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Asks the OS for a currently free TCP port (there is a small window before the caller binds it). */
export function freePort(host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Walks up from this file so it works from dev/ (tsx, jest) and from dist/dev/ (tsc output). */
function findEnsureScript(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'scripts', 'ensure-temporal.sh');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`scripts/ensure-temporal.sh not found above ${__dirname}`);
    dir = parent;
  }
}

/**
 * Runs scripts/ensure-temporal.sh and returns the binary path it prints. Its progress (a first build
 * takes minutes) is forwarded to our stderr so a human sees why start-up is slow.
 */
export function ensureTemporalCli(): Promise<string> {
  const script = findEnsureScript();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const errTail = new RingBuffer(8 * 1024);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      errTail.push(d);
      process.stderr.write(d);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const cli = out.trim().split('\n').pop()?.trim();
      if (code === 0 && cli) return resolve(cli);
      reject(
        new Error(
          `${script} failed (${signal ?? `exit ${code}`}); set TEMPORAL_CLI or cliPath to skip it\n${errTail.text()}`,
        ),
      );
    });
  });
}

/** Keeps the last N bytes of server output so a failed start can say why. */
class RingBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

function readFileTail(file: string, bytes: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const { size } = fstatSync(fd);
      const len = Math.min(size, bytes);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Output tail for errors; cobra prints usage after "Error: ...", so surface those lines first. */
function summarizeOutput(text: string, n = 40): string {
  const lines = text.trimEnd().split('\n');
  const errors = lines.filter((l) => l.startsWith('Error:'));
  const tail = lines.slice(-n).join('\n');
  return errors.length ? `${errors.join('\n')}\n--- server output (tail) ---\n${tail}` : tail;
}

/** Rejects if something already listens on host:port. */
function assertPortFree(port: number, what: string, host = HOST): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`${what} ${host}:${port} is not available (${err.code ?? err.message})`)),
    );
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function buildArgs(
  o: TemporalDevServerOptions,
  port: number,
  uiPort: number | undefined,
  ns: string,
): string[] {
  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port)];
  if (o.headless) args.push('--headless');
  else {
    // No internet on our machines; the UI must not try to fetch its newsfeed.
    args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
    if (o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  }
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (ns !== 'default') args.push('--namespace', ns);
  for (const [key, type] of Object.entries(o.searchAttributes ?? {})) {
    if (!SEARCH_ATTRIBUTE_KEY.test(key)) throw new Error(`invalid search attribute name: ${key}`);
    args.push('--search-attribute', `${key}=${type}`);
  }
  for (const [key, value] of Object.entries(o.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  if (o.logLevel) args.push('--log-level', o.logLevel);
  return args;
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Resolves once the process has exited (immediately if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
}

/** One readiness probe: frontend answers, namespace exists, requested search attributes are registered. */
async function probe(address: string, namespace: string, searchAttributes: string[]): Promise<void> {
  const conn = Connection.lazy({ address, connectTimeout: 2000 });
  try {
    await conn.ensureConnected();
    await conn.workflowService.describeNamespace({ namespace });
    if (searchAttributes.length) {
      const { customAttributes } = await conn.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributes.filter((k) => !customAttributes || !(k in customAttributes));
      if (missing.length) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

interface Attempt {
  server?: TemporalDevServer;
  /** True when the process died before ready and the port we picked ourselves may be the cause. */
  retryable: boolean;
  error?: Error;
}

async function startOnce(
  o: TemporalDevServerOptions,
  cli: string,
  port: number,
  autoPort: boolean,
): Promise<Attempt> {
  const namespace = o.namespace ?? 'default';
  const uiPort = o.headless ? undefined : o.uiPort || (await freePort());
  const args = buildArgs(o, port, uiPort, namespace);
  if (o.dbFile) mkdirSync(path.dirname(path.resolve(o.dbFile)), { recursive: true });

  const ring = new RingBuffer(RING_BYTES);
  let logFd: number | undefined;
  if (o.logFile) {
    mkdirSync(path.dirname(path.resolve(o.logFile)), { recursive: true });
    logFd = openSync(o.logFile, 'a');
  }
  // Not detached: Ctrl-C on the terminal reaches the server too.
  const child = spawn(cli, args, {
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  child.stdout?.on('data', (d: Buffer) => ring.push(d));
  child.stderr?.on('data', (d: Buffer) => ring.push(d));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const tail = () => summarizeOutput(o.logFile ? readFileTail(o.logFile, RING_BYTES) : ring.text());

  // Last resort if our process exits without stop(): don't leave a server holding ports.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const address = `${HOST}:${port}`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  const gone = exited(child);
  // 'close' comes after the pipes drain; reading the tail at 'exit' can miss the final error line.
  const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let lastErr: unknown;
  for (;;) {
    if (hasExited(child) || spawnError) {
      process.removeListener('exit', killOnExit);
      await Promise.race([drained, sleep(1000)]);
      const how = spawnError
        ? spawnError.message
        : `exited with ${child.signalCode ?? `code ${child.exitCode}`}`;
      const out = tail();
      return {
        retryable:
          autoPort && !spawnError && /address already in use|can't (set|use default) \w* ?port/i.test(out),
        error: new Error(`temporal dev server (${cli} ${args.join(' ')}) ${how} before ready\n${out}`),
      };
    }
    if (Date.now() > deadline) {
      process.removeListener('exit', killOnExit);
      await stopChild(child, 2000);
      return {
        retryable: false,
        error: new Error(
          `temporal dev server not ready on ${address} after ${o.startTimeoutMs ?? 60_000} ms ` +
            `(last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)})\n${tail()}`,
        ),
      };
    }
    try {
      // Race the exit so a crashing server fails fast instead of waiting out the probe timeout.
      await Promise.race([probe(address, namespace, Object.keys(o.searchAttributes ?? {})), gone]);
      if (!hasExited(child)) break;
    } catch (err) {
      lastErr = err;
      await sleep(250);
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    retryable: false,
    server: {
      address,
      uiUrl: uiPort ? `http://${HOST}:${uiPort}` : undefined,
      namespace,
      pid: child.pid!,
      stop() {
        stopping ??= stopChild(child, o.stopTimeoutMs ?? 10_000).finally(() =>
          process.removeListener('exit', killOnExit),
        );
        return stopping;
      },
    },
  };
}

/**
 * Starts `temporal server start-dev` and resolves once the namespace (and any requested search
 * attributes) answer over gRPC. Always call stop(); it sends SIGTERM, then SIGKILL after stopTimeoutMs.
 */
export async function startTemporalDevServer(
  options: TemporalDevServerOptions = {},
): Promise<TemporalDevServer> {
  // A fixed port already served (say, by another dev server) would pass the readiness probe before
  // our process fails to bind, so refuse it up front.
  if (options.port) await assertPortFree(options.port, 'Temporal frontend port');
  if (options.uiPort && !options.headless) await assertPortFree(options.uiPort, 'Temporal UI port');
  const cli = options.cliPath ?? (await ensureTemporalCli());
  const autoPort = !options.port;
  // A port we picked can be taken by someone else before the server binds it; retry with a new one.
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await freePort());
    const result = await startOnce(options, cli, port, autoPort);
    if (result.server) return result.server;
    if (!result.retryable || attempt >= 3) throw result.error;
  }
}
