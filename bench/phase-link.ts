// Figure 1: link latency (POST /v1/connections over real HTTP → status `active` committed in
// PostgreSQL, seen by LISTEN) against a bare workflow running one no-op activity (the floor issue 12
// measures against), on the same server with the same worker settings. How many activities a real link
// runs is counted from its history and reported beside it.
import { randomUUID } from 'node:crypto';
import { cpuPerUnit, type CpuCost, type CpuWindow } from './cpu';
import { addSegments, readHistory, type HistoryEvent, type Segments } from './history';
import type { Api } from '../main/services';
import type { Harness } from './harness';
import { pool, round, sleep, summarize, type Summary } from './stats';

export interface LinkOptions {
  links: number;
  concurrency: number;
  warmup: number;
  profileSample: number;
}

export interface SegmentRow {
  segment: string;
  meanMs: number;
  share: number;
}

export interface LinkResult {
  options: LinkOptions;
  activitiesPerLink: number;
  activityTypes: string[];
  /** Workflow tasks of the first warm-up link until its first timer (older runs lack it). */
  workflowTasksPerLink?: number;
  /** No-op activities the bare workflow runs: one (results of older runs lack it: activitiesPerLink). */
  bareActivities?: number;
  /** Activity counts seen in the sampled link histories (all must equal activitiesPerLink). */
  activityCountsInSample: Record<string, number>;
  link: Summary;
  /** POST answered (202) — the API's own share. */
  postResponse: Summary;
  bare: Summary;
  ratio: { p50: number; p99: number; mean: number };
  linksPerSecond: number;
  /** CPU of the benchmark's processes per timed link / bare workflow (other work on the machine excluded). */
  cpuPerLink?: CpuCost | null;
  cpuPerBare?: CpuCost | null;
  /** Cores the benchmark's processes used while idle before the phase (subtracted above). */
  idleCpu?: CpuWindow | null;
  bareWorkflowsPerSecond: number;
  linkProfile: SegmentRow[];
  bareProfile: SegmentRow[];
}

/** The link of an InvGate simulator client (its scenario in the client id) with the demo secret. */
export const invgateLink = (h: Harness, clientId: string) => ({
  vendor: 'invgate',
  instanceUrl: h.instanceUrl('invgate'),
  credentials: { clientId, clientSecret: 'demo-secret' },
});

/** Link an InvGate client through an API not listening (one with its own policy), by inject; the id. */
export async function injectLink(h: Harness, api: Api, clientId: string): Promise<string> {
  const res = await api.inject({
    method: 'POST',
    url: '/v1/connections',
    headers: { authorization: `Bearer ${h.apiKey}` },
    payload: invgateLink(h, clientId),
  });
  const id = (res.json() as { id?: string }).id;
  if (res.statusCode !== 202 || !id) throw new Error(`link refused: HTTP ${res.statusCode}`);
  return id;
}

/** Links answered 503 (the API's database or Temporal busy) and sent again, this process's total. */
export const linkRetries = { count: 0 };

/**
 * POST a link over HTTP (to the harness's API, or another replica's URL); returns the connection id and when
 * the answer came (performance.now()). A 503 is retried as a client should: after its Retry-After, with the
 * same Idempotency-Key, so a link the API did store is not stored twice.
 */
export async function postLink(
  h: Harness,
  payload: object,
  apiUrl = h.apiUrl,
): Promise<{ id: string; answeredAt: number }> {
  const idempotencyKey = randomUUID();
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${apiUrl}/v1/connections`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${h.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify(payload),
    });
    const answeredAt = performance.now();
    const json = (await res.json()) as { id?: string; error?: string; message?: string };
    if (res.status === 503 && attempt < 5) {
      linkRetries.count++;
      await sleep(Math.min(5, Number(res.headers.get('retry-after')) || 1) * 1000);
      continue;
    }
    if (res.status !== 202 || !json.id)
      throw new Error(`link refused: HTTP ${res.status} ${json.error ?? ''} ${json.message ?? ''}`);
    return { id: json.id, answeredAt };
  }
}

const epoch = (perfNow: number) => performance.timeOrigin + perfNow;

/** The activities an event shows scheduled: a regular one, or a local one (its marker). */
const activitiesOf = (e: HistoryEvent): string[] =>
  e.name === 'ActivityTaskScheduled'
    ? [e.activityType ?? '?']
    : e.localActivity
      ? [`${e.localActivity} (local)`]
      : [];

function profileRows(segments: Segments): SegmentRow[] {
  const total = [...segments.total.values()].reduce((a, b) => a + b, 0);
  return [...segments.total.entries()]
    .map(([segment, ms]) => ({
      segment,
      meanMs: round(ms / segments.samples, 2),
      share: round((100 * ms) / total, 1),
    }))
    .filter((r) => Math.abs(r.meanMs) >= 0.05)
    .sort((a, b) => b.meanMs - a.meanMs);
}

/** The benchmark's processes' CPU over a few idle seconds: subtracted from CPU per unit of work. */
export async function measureIdle(h: Harness, ms = 5_000): Promise<CpuWindow | null> {
  const from = Date.now();
  await sleep(ms);
  return h.cpu.window(from, Date.now());
}

export async function linkPhase(
  h: Harness,
  options: LinkOptions,
  log: (line: string) => void,
  idleCpu?: CpuWindow | null,
): Promise<LinkResult> {
  const run = Date.now().toString(36);

  // What the benchmark's processes use doing nothing (server housekeeping, pollers, timers), subtracted
  // from the CPU per link and per bare workflow.
  const idle = idleCpu ?? (await measureIdle(h));
  // Warm-up (untimed): JIT, pools, sticky caches. The first warm-up link's history says how many
  // activities a link runs.
  log(`link: warm-up (${options.warmup} links)`);
  const warm = await pool([...Array(options.warmup).keys()], options.concurrency, async (i) => {
    const { id } = await postLink(h, invgateLink(h, `demo-all-scopes.warm-${run}-${i}`));
    await h.listener.when(id, 'active');
    return id;
  });
  const firstHistory = await readHistory(h.client, `connection:${warm[0]}`);
  const activityTypes = firstHistory.flatMap(activitiesOf);
  const activitiesPerLink = activityTypes.length;
  // Workflow tasks until the link waits for its first check (its timer).
  const waits = firstHistory.findIndex((e) => e.name === 'TimerStarted');
  const workflowTasksPerLink = firstHistory
    .slice(0, waits < 0 ? undefined : waits)
    .filter((e) => e.name === 'WorkflowTaskCompleted').length;
  log(`link: a link runs ${activitiesPerLink} activities (${activityTypes.join(', ')})`);

  const bareRun = async (i: number, tag: string) => {
    const handle = await h.client.workflow.start('bareWorkflow', {
      taskQueue: h.bareTaskQueue,
      workflowId: `bare-${tag}-${run}-${i}`,
    });
    await handle.result();
    return handle.workflowId;
  };
  await pool([...Array(options.warmup).keys()], options.concurrency, (i) => bareRun(i, 'warm'));

  log(`link: ${options.links} links, ${options.concurrency} at a time`);
  const links: { id: string; startedAt: number; answeredAt: number; activeAt: number }[] = [];
  const linkStart = performance.now();
  await pool([...Array(options.links).keys()], options.concurrency, async (i) => {
    const startedAt = performance.now();
    const { id, answeredAt } = await postLink(h, invgateLink(h, `demo-all-scopes.link-${run}-${i}`));
    const activeAt = await h.listener.when(id, 'active');
    links.push({ id, startedAt, answeredAt, activeAt });
  });
  const linkElapsed = performance.now() - linkStart;
  const linkWindow = [epoch(linkStart), epoch(linkStart + linkElapsed)] as const;

  log(`link: ${options.links} bare workflows with one no-op activity`);
  const bares: { id: string; startedAt: number; doneAt: number }[] = [];
  const bareStart = performance.now();
  await pool([...Array(options.links).keys()], options.concurrency, async (i) => {
    const startedAt = performance.now();
    const id = await bareRun(i, 'timed');
    bares.push({ id, startedAt, doneAt: performance.now() });
  });
  const bareElapsed = performance.now() - bareStart;
  const bareWindow = [epoch(bareStart), epoch(bareStart + bareElapsed)] as const;

  const link = summarize(links.map((l) => l.activeAt - l.startedAt));
  const bare = summarize(bares.map((b) => b.doneAt - b.startedAt));

  // Where the time goes: history timestamps (server clock, same machine) between POST and active.
  log(`link: profiling ${options.profileSample} link and bare histories`);
  const step = Math.max(1, Math.floor(links.length / options.profileSample));
  const sampleLinks = links.filter((_, i) => i % step === 0).slice(0, options.profileSample);
  const sampleBares = bares.filter((_, i) => i % step === 0).slice(0, options.profileSample);
  const linkSegments: Segments = { total: new Map(), samples: 0 };
  const counts: Record<string, number> = {};
  for (const l of sampleLinks) {
    const events = await readHistory(h.client, `connection:${l.id}`);
    const n = events.flatMap(activitiesOf).length;
    counts[n] = (counts[n] ?? 0) + 1;
    addSegments(linkSegments, epoch(l.startedAt), events, epoch(l.activeAt), (last: HistoryEvent) =>
      last.name === 'ActivityTaskStarted'
        ? `activity ${last.ofActivity}: run until commit seen`
        : 'until commit seen',
    );
  }
  const bareSegments: Segments = { total: new Map(), samples: 0 };
  for (const b of sampleBares) {
    const events = await readHistory(h.client, b.id);
    addSegments(bareSegments, epoch(b.startedAt), events, epoch(b.doneAt), () => 'result reaches the client');
  }
  // The bare workflow's start has no API in front: name its first segment for what it is.
  const bareProfile = profileRows(bareSegments).map((r) =>
    r.segment.startsWith('API:') ? { ...r, segment: 'client: start workflow RPC' } : r,
  );

  return {
    options,
    activitiesPerLink,
    activityTypes,
    workflowTasksPerLink,
    bareActivities: 1,
    activityCountsInSample: counts,
    link,
    postResponse: summarize(links.map((l) => l.answeredAt - l.startedAt)),
    bare,
    ratio: {
      p50: round(link.p50 / bare.p50, 2),
      p99: round(link.p99 / bare.p99, 2),
      mean: round(link.mean / bare.mean, 2),
    },
    linksPerSecond: round((options.links / linkElapsed) * 1000, 1),
    cpuPerLink: cpuPerUnit(h.cpu.window(...linkWindow), options.links, idle),
    cpuPerBare: cpuPerUnit(h.cpu.window(...bareWindow), options.links, idle),
    idleCpu: idle,
    bareWorkflowsPerSecond: round((options.links / bareElapsed) * 1000, 1),
    linkProfile: profileRows(linkSegments),
    bareProfile,
  };
}
