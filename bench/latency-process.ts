// The proxy phase's client: a child process of bench/run.ts (the API and the simulators live in the parent),
// sending one request at a time to two targets in turn, the same vendor call directly and through tether, and
// timing each. Alternating (and swapping the order every round) spreads any drift in machine load over both.
// Input: BENCH_LATENCY (JSON: targets without credentials, requests, warmup); the credentials come in
// BENCH_DIRECT_AUTH and BENCH_PROXY_AUTH, never on the command line. Output over IPC: milliseconds per request.
import { Agent, request } from 'undici';
import type { LatencySamples } from './phase-proxy';

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_LATENCY ?? '{}') as {
    directUrl: string;
    proxiedUrl: string;
    requests: number;
    warmup: number;
  };
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const targets = [
    { url: spec.directUrl, authorization: process.env.BENCH_DIRECT_AUTH ?? '' },
    { url: spec.proxiedUrl, authorization: process.env.BENCH_PROXY_AUTH ?? '' },
  ];
  const samples: LatencySamples = { direct: [], proxied: [], non2xx: { direct: 0, proxied: 0 } };
  const once = async (which: 0 | 1, record: boolean) => {
    const started = performance.now();
    const res = await request(targets[which]!.url, {
      headers: { authorization: targets[which]!.authorization },
      dispatcher: agent,
    });
    await res.body.arrayBuffer();
    const elapsed = performance.now() - started;
    if (!record) return;
    const name = which === 0 ? 'direct' : 'proxied';
    samples[name].push(elapsed);
    if (res.statusCode < 200 || res.statusCode >= 300) samples.non2xx[name] += 1;
  };
  for (let i = 0; i < spec.warmup + spec.requests; i++) {
    const record = i >= spec.warmup;
    const first = (i % 2) as 0 | 1;
    await once(first, record);
    await once((1 - first) as 0 | 1, record);
  }
  await agent.close();
  process.send?.(samples);
  process.disconnect?.();
}

main().catch((err: unknown) => {
  console.error('latency client failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
