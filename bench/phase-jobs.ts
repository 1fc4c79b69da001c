// Figure 6: provisioning throughput against a vendor's limit. A burst of SCIM create_user jobs on one
// Slack connection, posted through the real HTTP API as fast as a few clients can, while the Slack
// simulator enforces its SCIM limits (scaled down so the burst takes a couple of minutes, not half an
// hour) and tether's shared budgets are set to the same limits. Jobs per second against the ceiling the
// limit allows, the 429s Slack had to send, and the users at Slack: every job's user exactly once.
import { createApiKey } from '../platform/api-keys';
import type { RateLimit } from '../vendor-kit/rate-limits';
import type { Harness } from './harness';
import { TENANT } from './harness';
import { postLink } from './phase-link';
import { round } from './stats';

export interface JobsPhaseOptions {
  jobs: number;
  /** Clients posting jobs at once. */
  concurrency: number;
}

/** The simulator's Slack SCIM limits and tether's budgets for them, in force for the whole run. */
export interface JobsLimits {
  userWrites: RateLimit;
  writes: RateLimit;
}

export interface JobsResult {
  options: JobsPhaseOptions;
  limits: JobsLimits;
  /** From the first POST to the last job succeeded. */
  elapsedSeconds: number;
  postSeconds: number;
  jobsPerSecond: number;
  /** The fastest the user-writes limit allows for this many jobs: its burst at once, then one per interval. */
  ceilingJobsPerSecond: number;
  /** jobsPerSecond / ceilingJobsPerSecond. */
  ofCeiling: number;
  outcomes: Record<string, number>;
  /** What Slack's limiters saw over the run: most requests admitted in one window, 429s sent. */
  vendorRates: Record<string, { requests: number; windowSeconds: number; peak: number; refused: number }>;
  usersAtVendor: number;
  duplicateUsers: number;
  missingUsers: number;
  /** Jobs whose recorded vendor id is not the id of the user Slack holds for its userName. */
  mismatchedJobs: number;
}

/** The Slack limits, scaled by the same factor: user writes bind first, as they do at Slack. */
export function jobsLimits(userWrites: RateLimit): JobsLimits {
  // Slack: 600 writes and 180 user writes per minute (vendor-kit's catalog), bursts 20 and 10.
  const factor = userWrites.requests / 180 / (userWrites.windowSeconds / 60);
  const writes = Math.round(600 * factor * (userWrites.windowSeconds / 60));
  return {
    userWrites,
    writes: {
      requests: writes,
      windowSeconds: userWrites.windowSeconds,
      burst: Math.min(2 * userWrites.burst, writes - 1),
    },
  };
}

export const limitText = (l: RateLimit) => `${l.requests}/${l.windowSeconds}/${l.burst}`;

export async function jobsPhase(
  h: Harness,
  limits: JobsLimits,
  options: JobsPhaseOptions,
  log: (line: string) => void,
): Promise<JobsResult> {
  const token = 'xoxp-demo-all-scopes.bench-jobs';
  const { id } = await postLink(h, { vendor: 'slack', credentials: { token } });
  await h.listener.when(id, 'active');
  const key = (
    await createApiKey(h.db, { name: 'bench jobs', tenantId: TENANT, scopes: ['provisioning:write'] })
  ).key;
  const rateBefore = h.sim.control.rates('slack');
  log(
    `jobs: ${options.jobs} create_user jobs on one Slack connection, ${options.concurrency} clients, Slack user writes ${limitText(limits.userWrites)}`,
  );

  const started = performance.now();
  const jobIds: string[] = [];
  let next = 0;
  const client = async () => {
    while (next < options.jobs) {
      const i = next++;
      const res = await fetch(`${h.apiUrl}/v1/connections/${id}/jobs`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-job-${i}`,
        },
        body: JSON.stringify({
          operation: 'create_user',
          input: { userName: `bench-${i}@example.com`, externalId: `hr-bench-${i}` },
        }),
      });
      const body = (await res.json()) as { id?: string; error?: string };
      if (res.status !== 202 || !body.id)
        throw new Error(`job ${i} refused: HTTP ${res.status} ${body.error}`);
      jobIds.push(body.id);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const posted = performance.now();

  let outcomes: Record<string, number> = {};
  for (;;) {
    const groups = await h.db.job.groupBy({ by: ['status'], where: { connectionId: id }, _count: true });
    outcomes = Object.fromEntries(groups.map((g) => [g.status, g._count]));
    const finished = (outcomes.succeeded ?? 0) + (outcomes.failed ?? 0) + (outcomes.cancelled ?? 0);
    if (finished >= options.jobs) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const elapsedMs = performance.now() - started;

  const rateAfter = h.sim.control.rates('slack');
  const vendorRates = Object.fromEntries(
    Object.entries(rateAfter).map(([name, rate]) => [
      name,
      { ...rate, refused: rate.refused - (rateBefore[name]?.refused ?? 0) },
    ]),
  );

  // Every user at Slack, read after the run (reads fall under no write limit).
  const users: { id: string; userName: string }[] = [];
  for (let startIndex = 1; ; startIndex += 100) {
    const res = await fetch(`${h.sim.baseUrl}/slack/scim/v2/Users?startIndex=${startIndex}&count=100`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const page = (await res.json()) as { Resources: { id: string; userName: string }[] };
    users.push(...page.Resources);
    if (page.Resources.length < 100) break;
  }
  const benchUsers = users.filter((u) => u.userName.startsWith('bench-'));
  const byName = new Map(benchUsers.map((u) => [u.userName, u.id]));
  const jobs = await h.db.job.findMany({
    where: { id: { in: jobIds } },
    select: { vendorId: true },
  });
  const vendorIds = new Set(benchUsers.map((u) => u.id));
  const mismatchedJobs = jobs.filter((j) => !j.vendorId || !vendorIds.has(j.vendorId)).length;

  const { requests, windowSeconds, burst } = limits.userWrites;
  const intervalSeconds = windowSeconds / (requests - burst);
  const fastestSeconds = Math.max(0, options.jobs - burst) * intervalSeconds;
  const ceilingJobsPerSecond = options.jobs / Math.max(fastestSeconds, intervalSeconds);
  const jobsPerSecond = options.jobs / (elapsedMs / 1000);
  return {
    options,
    limits,
    elapsedSeconds: round(elapsedMs / 1000, 1),
    postSeconds: round((posted - started) / 1000, 1),
    jobsPerSecond: round(jobsPerSecond, 2),
    ceilingJobsPerSecond: round(ceilingJobsPerSecond, 2),
    ofCeiling: round(jobsPerSecond / ceilingJobsPerSecond, 2),
    outcomes,
    vendorRates,
    usersAtVendor: benchUsers.length,
    duplicateUsers: benchUsers.length - byName.size,
    missingUsers: options.jobs - byName.size,
    mismatchedJobs,
  };
}
