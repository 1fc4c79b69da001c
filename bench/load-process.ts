// The API load generator: a child process of bench/run.ts (the API under test lives in the parent),
// running autocannon against one URL. The API key comes in BENCH_API_KEY, never on the command line.
// Input: BENCH_LOAD (JSON: url, connections, durationSeconds, warmupSeconds); output over IPC.
import type { LoadResult } from './phase-api';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- autocannon ships no types
const autocannon = require('autocannon') as Autocannon;

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_LOAD ?? '{}') as {
    url: string;
    connections: number;
    durationSeconds: number;
    warmupSeconds: number;
  };
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    headers: { authorization: `Bearer ${process.env.BENCH_API_KEY ?? ''}` },
    ...(spec.warmupSeconds > 0
      ? { warmup: { connections: spec.connections, duration: spec.warmupSeconds } }
      : {}),
  });
  const out: LoadResult = {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    latencyMs: {
      mean: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
  };
  process.send?.(out);
  process.disconnect?.();
}

main().catch((err: unknown) => {
  console.error('load generator failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
