// Figure 5: what the proxy adds. The same vendor call (InvGate simulator, GET /api/v1/categories) made
// directly with the connection's token and through tether's proxy (real HTTP, production code and limits),
// one request at a time from a second process (bench/latency-process.ts), alternating, in one run.
import { fork } from 'node:child_process';
import path from 'node:path';
import { createApiKey } from '../platform/api-keys';
import type { Harness } from './harness';
import { TENANT } from './harness';
import { postLink } from './phase-link';
import { round, summarize, type Summary } from './stats';

export interface ProxyPhaseOptions {
  requests: number;
  warmup: number;
}

export interface LatencySamples {
  direct: number[];
  proxied: number[];
  non2xx: { direct: number; proxied: number };
}

export interface ProxyResult {
  options: ProxyPhaseOptions;
  vendorPath: string;
  direct: Summary;
  proxied: Summary;
  /** proxied / direct, per percentile. */
  ratio: { p50: number; p99: number };
  /** proxied − direct, per percentile (ms). */
  addedMs: { p50: number; p99: number };
  non2xx: { direct: number; proxied: number };
}

const VENDOR_PATH = '/api/v1/categories?page_size=1';

export async function proxyPhase(
  h: Harness,
  options: ProxyPhaseOptions,
  log: (line: string) => void,
): Promise<ProxyResult> {
  const { id } = await postLink(h, {
    vendor: 'invgate',
    instanceUrl: h.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.bench-proxy', clientSecret: 'demo-secret' },
  });
  await h.listener.when(id, 'active');
  const token = await h.secrets.readAccessToken(id);
  if (!token) throw new Error('the proxy phase connection has no token');
  const key = (
    await createApiKey(h.db, { name: 'bench proxy', tenantId: TENANT, scopes: ['connections:proxy'] })
  ).key;
  log(
    `proxy: ${options.requests} requests each way, one at a time, alternating (after ${options.warmup} warm-up pairs)`,
  );
  const samples = await new Promise<LatencySamples>((resolve, reject) => {
    const child = fork(path.join(__dirname, 'latency-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_DIRECT_AUTH: `Bearer ${token}`,
        BENCH_PROXY_AUTH: `Bearer ${key}`,
        BENCH_LATENCY: JSON.stringify({
          directUrl: `${h.instanceUrl('invgate')}${VENDOR_PATH}`,
          proxiedUrl: `${h.apiUrl}/v1/connections/${id}/proxy${VENDOR_PATH}`,
          requests: options.requests,
          warmup: options.warmup,
        }),
      },
    });
    h.childPids.set(child.pid!, 'latency client');
    let result: LatencySamples | undefined;
    child.on('message', (m: LatencySamples) => (result = m));
    child.once('error', reject);
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`latency client exited with ${code}`)),
    );
  });
  const direct = summarize(samples.direct);
  const proxied = summarize(samples.proxied);
  return {
    options,
    vendorPath: VENDOR_PATH,
    direct,
    proxied,
    ratio: { p50: round(proxied.p50 / direct.p50, 2), p99: round(proxied.p99 / direct.p99, 2) },
    addedMs: { p50: round(proxied.p50 - direct.p50, 2), p99: round(proxied.p99 - direct.p99, 2) },
    non2xx: samples.non2xx,
  };
}
