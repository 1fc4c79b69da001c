// Figure 3: API reads under load over real HTTP, from a second process (autocannon in
// bench/load-process.ts) against the API listening in this one.
import { fork } from 'node:child_process';
import path from 'node:path';
import type { Harness } from './harness';

export interface ApiOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
}

export interface ApiResult {
  options: ApiOptions;
  rowsInDatabase: number;
  targets: { name: string; path: string; result: LoadResult }[];
}

function load(h: Harness, url: string, options: ApiOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'load-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_API_KEY: h.apiKey, BENCH_LOAD: JSON.stringify({ url, ...options }) },
    });
    h.childPids.set(child.pid!, 'load');
    let result: LoadResult | undefined;
    child.on('message', (m: LoadResult) => (result = m));
    child.once('error', reject);
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`load generator exited with ${code}`)),
    );
  });
}

export async function apiPhase(
  h: Harness,
  connectionId: string,
  options: ApiOptions,
  log: (line: string) => void,
): Promise<ApiResult> {
  const rowsInDatabase = await h.db.connection.count();
  const targets = [
    { name: 'one connection', path: `/v1/connections/${connectionId}` },
    { name: 'list, 50 per page', path: '/v1/connections?limit=50' },
  ];
  const out: ApiResult['targets'] = [];
  for (const t of targets) {
    log(
      `api: GET ${t.path.replace(connectionId, ':id')} for ${options.durationSeconds} s, ${options.connections} connections`,
    );
    out.push({
      name: t.name,
      path: t.path.replace(connectionId, ':id'),
      result: await load(h, `${h.apiUrl}${t.path}`, options),
    });
  }
  return { options, rowsInDatabase, targets: out };
}
