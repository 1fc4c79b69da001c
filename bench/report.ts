// Renders bench/REPORT.md from one run's results: a fixed template filled with measured values only.
// A baseline run (bench/results/BASELINE names it) adds the before/after table of the optimisation.
import type { CpuWindow } from './cpu';
import type { AttemptRow, FailureScenarioResult } from './phase-failure';
import type { LinkResult, SegmentRow } from './phase-link';
import type { BenchResults } from './run';
import type { Summary } from './stats';
import { SLOT_LATENESS_MS } from '../vendor-kit/rate-limits';

const ms = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)} ms`;
const num = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
const s = (v: number, digits = 1) => `${(v / 1000).toFixed(digits)} s`;
const signed = (v: number) => (v > 0 ? `+${s(v, 2)}` : s(v, 2));

/** What the shortest cycle lacked against the typical one (e.g. no timer when a refresh was already due). */
function cycleDifference(h: {
  min: number;
  p50: number;
  composition: Record<string, number>;
  compositions?: Record<string, Record<string, number>>;
}): string {
  const shortest = h.compositions?.[String(h.min)];
  if (!shortest) return '';
  const missing = Object.entries(h.composition)
    .map(([k, n]) => [k, n - (shortest[k] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .map(([k, d]) => `${d}× ${k}`);
  return missing.length ? ` The shortest cycle (${h.min}) had no ${missing.join(', ')}.` : '';
}

/** No-op activities the bare workflow ran: one since it became the floor, a link's count in older runs. */
const bareCount = (l: LinkResult) => l.bareActivities ?? l.activitiesPerLink;

function cpuText(c: { totalMs: number; byRoleMs: Record<string, number> } | null | undefined): string {
  if (!c) return '–';
  const parts = Object.entries(c.byRoleMs)
    .sort((a, b) => b[1] - a[1])
    .map(([role, v]) => `${role} ${v}`);
  return `${c.totalMs} ms (${parts.join(', ')})`;
}

const quote = (arg: string) => (/^[\w./:=,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function cpuLine(name: string, w: CpuWindow | null | undefined, cores: number): (string | number)[] {
  if (!w) return [name, '–', '–', '–', '–', '–'];
  return [name, `${w.seconds} s`, `${w.machineCores} of ${cores}`, w.benchCores, w.otherCores, w.load1Max];
}

/** The contention table's isolation cells: earlier phases' workflows running at the start, terminated after. */
function isolationCells(x: { runningAtStart?: number; retiredAfter?: number } | undefined): string[] {
  return [String(x?.runningAtStart ?? '–'), String(x?.retiredAfter ?? '–')];
}

function profileTable(rows: SegmentRow[]): string {
  return table(
    ['segment', 'mean', 'share'],
    rows.map((r) => [r.segment, ms(r.meanMs, 1), `${r.share} %`]),
  );
}

function summaryRow(
  name: string,
  x: Summary | undefined,
  f: (v: number) => string = (v) => ms(v),
): (string | number)[] {
  if (!x) return [name, '–', '–', '–', '–', '–'];
  return [name, x.n, f(x.p50), f(x.p90), f(x.p99), f(x.max)];
}

function change(before: number | undefined, after: number | undefined, lowerIsBetter = true): string {
  if (
    before === undefined ||
    after === undefined ||
    !Number.isFinite(before) ||
    !Number.isFinite(after) ||
    before === 0
  )
    return '–';
  const pct = ((after - before) / before) * 100;
  const better = lowerIsBetter ? pct < 0 : pct > 0;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(0)} %${Math.abs(pct) >= 5 ? (better ? ' (better)' : ' (worse)') : ''}`;
}

function attemptsTable(attempts: AttemptRow[]): string {
  return table(
    [
      'attempt',
      'production time of first call',
      'calls',
      'calls spread over',
      'status after',
      'wait scheduled (measured → production)',
    ],
    attempts.map((a, i) => [
      i + 1,
      clock(a.prodStartS),
      a.calls,
      `${a.spanS} s`,
      a.status,
      a.waitMeasuredS === null ? 'none: waits for a human' : `${a.waitMeasuredS} s → ${clock(a.waitProdS!)}`,
    ]),
  );
}

function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = Math.round(seconds % 60);
  return h
    ? `${h} h ${String(m).padStart(2, '0')} min`
    : m
      ? `${m} min ${String(sec).padStart(2, '0')} s`
      : `${sec} s`;
}

function failureSection(f: FailureScenarioResult, scale: number): string {
  const hours = f.callsPerHour.map((h) => `hour ${h.hour}: **${h.calls}**`).join(', ');
  const after =
    f.thenPerHour === 0
      ? ' After that: **0 calls per hour** (the connection waits for a human: no timer runs).'
      : '';
  return `### ${f.name}

Fault: \`${JSON.stringify(f.fault)}\` on the connection's own client (scope \`${f.faultScope}\`), added right after it linked.
Measured in the scaled run: ${f.measured.calls} vendor calls in ${f.measured.attempts} attempts over ${f.measured.wallSeconds} s of wall time;
final status \`${f.measured.finalStatus}\`; stopped because ${f.measured.stoppedBecause}.

- **Calls per production hour, rebuilt from the measured sequence:** ${hours || '–'}.${after}
  Rebuilt production time covered: ${f.coveredHours === 'unbounded' ? 'all of it (no further attempts)' : `${f.coveredHours} h`}.
- Measured count scaled naively (all ${f.measured.calls} calls over ${f.measured.wallSeconds} s × ${scale}): ${f.naiveCallsPerHour} calls per hour.
  This reading is wrong by construction wherever an attempt's own retries dominate: they are not scaled (see method).

${attemptsTable(f.attempts)}
`;
}

export interface Run {
  results: BenchResults;
  file: string;
}

export function renderReport(
  r: BenchResults,
  jsonFile: string,
  comparison?: { before: Run[]; after: Run[] },
): string {
  const m = r.machine;
  const v = r.versions;
  const cores = m.cores;
  const out: string[] = [];
  const date = r.startedAt.slice(0, 10);
  out.push(`# Tether benchmark report

Measured on **${date}** (run started ${r.startedAt}, took ${r.durationSeconds} s) by \`npm run bench${r.argv.length ? ` -- ${r.argv.map(quote).join(' ')}` : ''}\`.
Every figure below was measured in that run and written into this template by \`bench/report.ts\`; the raw
numbers are in [\`${jsonFile}\`](${jsonFile}). Method and flags: [bench/README.md](README.md).
${r.label ? `\nRun label: \`${r.label}\`.\n` : ''}
## Machine and versions

${table(
  ['', ''],
  [
    ['CPU', `${m.cpuModel}, ${m.cores} cores`],
    ['memory', `${m.memoryGiB} GiB`],
    ['OS', `${m.os} (${m.kernel})`],
    ['Node.js', v.node],
    ['Temporal CLI (dev server)', v.temporalCli.replace(/\n/g, ' ')],
    ['Temporal TypeScript SDK', v.temporalSdk],
    ['PostgreSQL', v.postgres],
    ['Prisma / Fastify / autocannon', `${v.prisma} / ${v.fastify} / ${v.autocannon}`],
    ['code', `${v.gitCommit}${v.gitDirty ? ' with uncommitted changes' : ''}`],
  ],
)}

## Contention: read this first

Everything runs on this one ${cores}-core machine at once: the Temporal dev server (in-memory SQLite), PostgreSQL,
the worker (a child process), the API with the vendor simulators and the load drivers (the benchmark
process), and autocannon (another child). Nothing is isolated; each figure includes the others' CPU use.
The machine is shared, too: the table shows, per phase, how many cores were busy, how many of those the
benchmark's own processes used (this process, its children, the Temporal server, the PostgreSQL backends of
its database), and the rest, which was other work on the machine.

${table(
  [
    'phase',
    'duration',
    'machine busy (cores)',
    'benchmark',
    'other work',
    '1-min load max',
    ...(r.isolation
      ? ["earlier phases' workflows running at its start", 'workflows terminated after it']
      : []),
  ],
  Object.entries(r.phases).map(([name, p]) => [
    ...cpuLine(name, p.cpu, cores),
    ...(r.isolation ? isolationCells(r.isolation[name]) : []),
  ]),
)}
${
  r.isolation
    ? `
The phases share one Temporal server, task queue and database, and a connection's workflow outlives the phase
that linked it: the next phase's worker would refresh it too. So every workflow still running when a phase ends
is terminated (its rows stay; the API phase reads them; link and failure run side by side and are retired
together), and each phase counts, from the server's visibility store, the workflows running when it begins:
0 means no earlier phase's work is in its figures. The herd phase runs last; its connections end with the server.
`
    : `
This run predates the retiring of each phase's workflows: connections linked by earlier phases were still
running, and refreshed by the later phases' workers.
`
}`);

  if (r.link) {
    const l = r.link;
    const ws = r.workerSettings.link;
    out.push(`## 1. Link latency against a bare workflow

${l.options.links} links (after ${l.options.warmup} untimed warm-up links), ${l.options.concurrency} at a time, each
\`POST /v1/connections\` over real HTTP (InvGate simulator, \`demo-all-scopes.<i>\`) until PostgreSQL commits
status \`active\` (seen through LISTEN/NOTIFY from a trigger in the benchmark's database). The bare workflow
runs **${bareCount(l)}** no-op ${bareCount(l) === 1 ? 'activity' : 'activities'}; a real link ran ${l.activitiesPerLink}
(${l.activityTypes.join(', ')})${l.workflowTasksPerLink !== undefined ? ` in ${l.workflowTasksPerLink} workflow tasks` : ''}, counted from the first warm-up link's history
(sampled timed links: ${Object.entries(l.activityCountsInSample)
      .map(([n, c]) => `${c} with ${n}`)
      .join(
        ', ',
      )}). It is bundled separately, served by a second worker in the same worker process on its own task
queue, same server, same payload codec, same concurrency; its latency runs from the start call to the
result.

${table(
  ['', 'n', 'p50', 'p90', 'p99', 'max'],
  [
    summaryRow('link: POST → active in PostgreSQL', l.link),
    summaryRow(
      `bare workflow, ${bareCount(l)} no-op ${bareCount(l) === 1 ? 'activity' : 'activities'}`,
      l.bare,
    ),
    summaryRow('(POST answered 202)', l.postResponse),
  ],
)}

**Ratio link / bare: p50 ${l.ratio.p50}×, p99 ${l.ratio.p99}×** (mean ${l.ratio.mean}×). Throughput at this
concurrency: ${l.linksPerSecond} links/s against ${l.bareWorkflowsPerSecond} bare workflows/s.
CPU used by the benchmark's processes per link, above what they use idle${l.idleCpu ? ` (${l.idleCpu.benchCores} cores, measured for ${l.idleCpu.seconds} s before)` : ''},
other work on the machine excluded: **${cpuText(l.cpuPerLink)}**; per bare workflow: ${cpuText(l.cpuPerBare)}.
(bench = the API, the simulators and the drivers; the failure scenarios ran meanwhile.)

Where a link's time goes, from the histories of ${l.options.profileSample} sampled links (server timestamps
between events, POST start and commit seen on the benchmark's clock; same machine, same clock):

${profileTable(l.linkProfile)}

The bare workflow, for comparison:

${profileTable(l.bareProfile)}
${ws ? `\nWorker: ${workerLine(ws)}.\n` : ''}`);
  }

  if (r.fleet) {
    const f = r.fleet;
    const ws = r.workerSettings.fleet;
    const lt = f.lateness;
    out.push(`## 2. A fleet of ${f.options.fleet} connections in one worker

${f.options.fleet} InvGate connections, each its own simulator client \`demo-ttl-${f.options.ttlSeconds}.<i>\` (tokens
live ${f.options.ttlSeconds} s), linked ${f.options.concurrency} at a time through the API, then run until every one had
refreshed at least ${f.options.cycles} times (${f.window.reachedCycles} of ${f.options.fleet} did${f.window.timedOut ? ': **the limit was reached first**' : ''}).
Production refresh policy (refresh ${'15 %'} of the lifetime ahead, with jitter), as \`DEFAULT_POLICY\` has it.

- Linking: all settled after ${f.linking.seconds} s (${f.linking.activePerSecond} active links/s; POSTs answered at ${f.linking.postsPerSecond}/s${f.linking.retried503 ? `; ${f.linking.retried503} answered 503 and were sent again with the same Idempotency-Key` : ''}).
  Outcomes: ${Object.entries(f.linking.outcomes)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}.${
    f.linking.failures.length
      ? ` **Links that did not become active**, their workflow's audit events: ${f.linking.failures
          .map((x) => `${x.type} ×${x.count} (“${x.message ?? ''}”)`)
          .join('; ')}.`
      : ''
  }
- Maintenance window after the last link settled: ${f.window.seconds} s, ${f.window.refreshes} refreshes, **${f.window.refreshesPerSecond} refreshes/s**.
  A connection's refresh cycle (time between its consecutive refreshes) p50 ${s(f.window.cycle?.p50 ?? NaN)}, p99 ${s(f.window.cycle?.p99 ?? NaN)}:
  the fleet asks for about ${f.window.demandPerSecond ?? '–'} refreshes/s.
  CPU of the benchmark's processes per refresh in this window: **${cpuText(f.window.cpuPerRefresh)}**.
- Audit events of the fleet: ${Object.entries(f.eventsByType)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}.
${ws ? `- Worker: ${workerLine(ws)}.\n` : ''}
### Refresh lateness

Each \`refresh_succeeded\` audit event's time against the expiry of the token it replaced (the expiry the
same transaction overwrote). Negative: before expiry.

${table(
  ['', 'n', 'p50', 'p90', 'p99', 'max'],
  [
    summaryRow('refresh recorded − old token expiry', lt, signed),
    summaryRow('new token requested − old token expiry', f.grantLateness, signed),
  ],
)}

**Refreshes recorded after the old token had expired: ${lt.afterExpiry} of ${lt.total}**
(new token requested after expiry: ${f.grantLateness.afterExpiry}). Lifetime left when refreshed: p50
${num(f.leadFraction.p50 * 100)} %, min ${num(f.leadFraction.min * 100)} % of ${f.options.ttlSeconds} s.

### Worker memory

Sampled every second in the worker process (RSS: the whole process, workflow sandbox thread included; heap:
the main thread's V8 heap, activities and SDK). Steady = median over the maintenance window.

${table(
  ['', 'before linking', 'peak', 'steady'],
  [
    ['RSS', `${f.memory.baselineRssMiB} MiB`, `${f.memory.peakRssMiB} MiB`, `${f.memory.steadyRssMiB} MiB`],
    [
      'heap used (main thread)',
      f.memory.baselineHeapUsedMiB === undefined ? '–' : `${f.memory.baselineHeapUsedMiB} MiB`,
      `${f.memory.peakHeapUsedMiB} MiB`,
      `${f.memory.steadyHeapUsedMiB} MiB`,
    ],
  ],
)}

Steady RSS growth per connection: ${f.memory.rssPerConnectionKiB} KiB (${f.memory.samples} samples).${
      f.memory.window
        ? ` Over the maintenance window: RSS median ${f.memory.window.firstFifthRssMiB} MiB in its first fifth, ${f.memory.window.lastFifthRssMiB} MiB in its last, highest ${f.memory.window.peakRssMiB} MiB.`
        : ''
    }

### History events per refresh cycle

From ${f.historyEventsPerCycle.sampledWorkflows} sampled workflow histories (${f.historyEventsPerCycle.cycles} cycles): events from one
\`refresh_succeeded\` transition's recording to the next one's: **p50 ${num(f.historyEventsPerCycle.p50, 0)}**, min ${num(f.historyEventsPerCycle.min, 0)}, max ${num(f.historyEventsPerCycle.max, 0)}.
A cycle of ${num(f.historyEventsPerCycle.p50, 0)}: ${Object.entries(f.historyEventsPerCycle.composition)
      .map(([k, n]) => `${n}× ${k}`)
      .join(', ')}.${
      f.historyEventsPerCycle.min < f.historyEventsPerCycle.p50
        ? cycleDifference(f.historyEventsPerCycle)
        : ''
    }

### Vendor calls per refresh

From the simulator's per-client counters, after each connection's link until the worker stopped:
**${num(f.vendorCalls.perRefresh, 3)} calls per refresh** (${f.vendorCalls.calls} calls, ${f.vendorCalls.refreshes} refreshes; ${Object.entries(
      f.vendorCalls.byEndpoint,
    )
      .map(([k, n]) => `\`${k}\` ${n}`)
      .join(', ')}).
`);
  }

  if (r.api) {
    const a = r.api;
    out.push(`## 3. API reads under load

The API listening on 127.0.0.1 (real HTTP, production code, tenant API key; its per-key rate limit lifted for
the run), autocannon ${v.autocannon} in a second process: ${a.options.connections} connections, ${a.options.durationSeconds} s per
target after ${a.options.warmupSeconds} s of warm-up. The worker was stopped first; the database held ${a.rowsInDatabase}
connections with their audit trails. A read of one connection is one database query: the connection by its
primary key, the tenant an extra filter on the same row. The API key is verified against the hash kept in the
API process since its first use (dropped by PostgreSQL \`NOTIFY\` on any change to the key: README, "API keys
over HTTP"); before that change each request read its key first, a second query.

${table(
  ['GET', 'req/s', 'p50', 'p90', 'p99', 'max', 'non-2xx / errors'],
  a.targets.map((t) => [
    `\`${t.path}\``,
    num(t.result.requestsPerSecond, 0),
    ms(t.result.latencyMs.p50, 0),
    ms(t.result.latencyMs.p90, 0),
    ms(t.result.latencyMs.p99, 0),
    ms(t.result.latencyMs.max, 0),
    `${t.result.non2xx} / ${t.result.errors + t.result.timeouts}`,
  ]),
)}
`);
  }

  if (r.failure) {
    const f = r.failure;
    const prod = f.productionPolicy;
    out.push(`## 4. Failure policy: vendor calls per hour of a permanently failing connection

Waiting an hour per figure is not practical, so the run uses the code's own \`DEFAULT_POLICY\` (read at run
time) with **every millisecond setting divided by ${f.options.scale}**: ${Object.entries(f.scaledPolicy)
      .map(([k, val]) => `\`${k}\` ${String(prod[k])} → ${String(val)}`)
      .join(', ')}. Counts (\`rejectionLimit\` ${String(prod.rejectionLimit)}) are unchanged.

What is **not** scaled: the activities' own retries (their intervals are fixed in the workflow), HTTP, database,
timer and task latencies. A plain "calls in 1 h / ${f.options.scale} of wall time" would therefore be wrong, so the
production timeline is **rebuilt from the measured sequence**: the simulator's counter for the connection's
client is polled every 5 ms to time each call; each attempt's end and the wait the machine scheduled after it
come from the connection row the workflow writes (\`lastCheckedAt\`, \`nextCheckAt\`, logged by a trigger).
Each scheduled wait is multiplied back by ${f.options.scale}; everything else keeps its measured length. Counted from the
first failing call. The two scenarios ran at the same time as the link measurement.

${f.scenarios.map((x) => failureSection(x, f.options.scale)).join('\n')}`);
  }

  if (r.proxy) {
    const p = r.proxy;
    out.push(`## 5. Proxy overhead

The same vendor call, \`GET ${p.vendorPath}\` on the InvGate simulator, made ${p.options.requests} times directly
(with the connection's token) and ${p.options.requests} times through \`/v1/connections/{id}/proxy\` (a key with
\`connections:proxy\`; the API listening on 127.0.0.1 with production code and limits), one request at a time
from a second process over keep-alive connections, alternating direct and proxied and swapping the order every
pair, after ${p.options.warmup} untimed warm-up pairs. Through tether each call also authenticates the key, checks
its rate limit, reads the connection and its sealed token from PostgreSQL and opens it, and streams the
answer back.

${table(
  ['', 'p50', 'p90', 'p99', 'max', 'mean', 'non-2xx'],
  [
    [
      'direct',
      ms(p.direct.p50, 2),
      ms(p.direct.p90, 2),
      ms(p.direct.p99, 2),
      ms(p.direct.max, 1),
      ms(p.direct.mean, 2),
      p.non2xx.direct,
    ],
    [
      'through tether',
      ms(p.proxied.p50, 2),
      ms(p.proxied.p90, 2),
      ms(p.proxied.p99, 2),
      ms(p.proxied.max, 1),
      ms(p.proxied.mean, 2),
      p.non2xx.proxied,
    ],
    ['ratio (tether / direct)', `×${num(p.ratio.p50, 2)}`, '', `×${num(p.ratio.p99, 2)}`, '', '', ''],
    ['added by tether', ms(p.addedMs.p50, 2), '', ms(p.addedMs.p99, 2), '', '', ''],
  ],
)}

The simulator answers on loopback at once, so the ratio compares tether's work with almost nothing: a real
vendor's network and processing time is added to both paths alike. The added milliseconds, not the ratio,
are the figure to carry over.
`);
  }

  if (r.jobs) {
    const j = r.jobs;
    const limit = (l: { requests: number; windowSeconds: number; burst: number }) =>
      `${l.requests} per ${l.windowSeconds} s (burst ${l.burst})`;
    out.push(`## 6. Provisioning jobs against a vendor's limit

${j.options.jobs} \`create_user\` jobs on one Slack connection, posted through the HTTP API by
${j.options.concurrency} clients at once (all posted in ${s(j.postSeconds * 1000)}), each a Temporal workflow that
looks the user up and creates it over SCIM. The Slack simulator enforced its SCIM limits scaled down by the same
factor (user writes ${limit(j.limits.userWrites)}, all writes ${limit(j.limits.writes)}; Slack's own are 180 and 600 per
minute) and tether's shared budgets were set to the same (\`TETHER_VENDOR_RATE_LIMITS\`). The ceiling is the fastest
the user-writes limit lets ${j.options.jobs} creates through: its burst at once, then one per interval.

${table(
  ['figure', 'value'],
  [
    ['time to the last job finished', s(j.elapsedSeconds * 1000)],
    ['jobs per second', num(j.jobsPerSecond, 2)],
    ["ceiling of the vendor's limit", `${num(j.ceilingJobsPerSecond, 2)} jobs/s`],
    ['share of the ceiling reached', `${Math.round(j.ofCeiling * 100)} %`],
    [
      'job outcomes',
      Object.entries(j.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ...Object.entries(j.vendorRates).map(([name, rate]) => [
      `Slack ${name}: most in one ${rate.windowSeconds} s window / 429s sent`,
      `${rate.peak} of ${rate.requests} / ${rate.refused}`,
    ]),
    ['users at Slack / duplicated / missing', `${j.usersAtVendor} / ${j.duplicateUsers} / ${j.missingUsers}`],
    ["jobs whose vendor id is not their user's", j.mismatchedJobs],
  ],
)}
`);
  }

  if (r.scaleout) out.push(scaleoutSection(r.scaleout));
  if (r.herd) out.push(herdSection(r.herd));

  if (comparison) {
    out.push(optimisationSection(r, jsonFile, comparison.before, comparison.after));
    out.push(repeatsSection(comparison.before, comparison.after));
  }

  out.push(`## Caveats

- One machine, ${cores} cores, for everything (see the contention table); the Temporal server is the CLI's dev
  server with in-memory SQLite, not a production cluster, and PostgreSQL runs with its Debian defaults.
- The vendors are loopback simulators answering in well under a millisecond; real vendors add network time
  to every call, which the link and refresh figures here do not include.
- The benchmark's triggers (two small INSERTs per transition) and the 5 ms counter poll are part of every run.
- Percentiles are nearest-rank over the samples of this run; p99 of ${r.link?.options.links ?? 'a few hundred'} samples rests on the slowest two or three.
- The failure figures cover what the simulator's fault answers (fast 503 / 401); a vendor that hangs until
  the HTTP timeout spreads each attempt's calls further apart.
`);
  return out.join('\n');
}

function scaleoutSection(x: NonNullable<BenchResults['scaleout']>): string {
  const o = x.options;
  const k = x.kill;
  const takers = Object.entries(k.takenOverBy)
    .map(([pid, n]) => `worker ${pid}: ${n}`)
    .join(', ');
  const rehomed = x.windows.some((w) => w.rehomed);
  const idle = x.windows.some((w) => w.idleCpu);
  const idleSeconds = x.windows.find((w) => w.idleCpu)?.idleCpu?.seconds;
  return `## 7. Scale out: several workers, two API processes, one worker killed

${o.workers} worker processes on one task queue and two API processes (the benchmark's own and a child process,
both real HTTP), one Temporal server, one PostgreSQL. ${o.fleet} InvGate connections with tokens that live
${o.ttlSeconds} s (\`demo-ttl-${o.ttlSeconds}.<i>\`), linked through the two APIs in turn (${Object.entries(
    x.linking.byApi,
  )
    .map(([api, n]) => `${api}: ${n}`)
    .join(', ')}), settled in ${x.linking.seconds} s (${Object.entries(x.linking.outcomes)
    .map(([st, n]) => `${st} ${n}`)
    .join(', ')}). The fleet is shared: Temporal hands each workflow task to whichever worker polls.

**Killed mid-run.** ${k.atSeconds} s into the maintenance window one of the ${k.workersBefore} workers was killed
with \`kill -9\` (SIGKILL: no drain, its sticky cache and in-flight tasks lost). From the histories (the worker
identity on each \`WorkflowTaskStarted\`): **${k.connectionsOnKilled} connections** had their last workflow task before
the kill on that worker; **${k.refreshedAfterKill} of them refreshed afterwards**, by the others (${takers || '–'};
by the killed one: ${k.refreshedByKilled}). Their first refresh after the kill, against the old token's expiry:
p50 ${signed(k.lateness.p50)}, max ${signed(k.lateness.max)}; **after expiry: ${k.lateness.afterExpiry}**. Every connection of the
fleet had refreshed after the kill within ${k.recoverySeconds} s${k.recoveryTimedOut ? ' (**the limit was reached first**)' : ''}.

**Refreshes recorded after the old token had expired, whole window: ${x.lateness.afterExpiry} of ${x.lateness.total}**
(p50 ${signed(x.lateness.p50)}, p99 ${signed(x.lateness.p99)}, max ${signed(x.lateness.max)} relative to expiry).

**CPU per refresh as workers are added.** Windows of ${o.windowSeconds} s with N workers alive. ${
    rehomed
      ? `The first begins when the last link settled: each workflow ran its link on one of these workers and is in
its cache. The others follow the kill and the graceful stops of the remaining workers one by one, and each begins
only once every connection has refreshed on the new set of workers: a workflow whose worker is gone is replayed
from its history by whichever worker takes it (the gone worker's sticky cache is lost), once, and that re-homing
is left out of the windows (how long it took is in the table; at most one token lifetime, plus the server's wait
for the gone worker's sticky queue).`
      : `(This run predates the re-homing wait: the windows after the kill and the stops began right after them,
so they include the replays of the moved workflows.)`
  } The refresh rate is what the fleet asks for in that window, not what the workers could do: ${o.fleet} connections,
each refreshing a little before its ${o.ttlSeconds} s token expires, about every 0.8 lifetimes on average; a short window
sees the unevenness the links' pacing and the moves left in that stream. Idle CPU is not subtracted: a worker's pollers are part of what a worker costs. ${
    idle
      ? `It is shown beside: the same processes for ${idleSeconds} s with as many workers alive and nothing due
(measured once each worker had started and gone quiet, before the fleet was linked), and what that comes to per refresh at the window's
rate.`
      : ''
  }

${table(
  [
    'workers alive',
    ...(rehomed ? ['window began after the change'] : []),
    'refreshes',
    'refreshes/s',
    'CPU per refresh',
    ...(idle ? ['idle CPU: cores (workers), per refresh'] : []),
    'rows written per refresh',
    'benchmark cores',
    'other work (cores)',
  ],
  [...x.windows]
    .sort((a, b) => a.workers - b.workers)
    .map((w) => [
      w.workers,
      ...(rehomed ? [rehomedText(w, o.fleet)] : []),
      w.refreshes,
      num(w.refreshesPerSecond, 2),
      cpuText(w.cpuPerRefresh),
      ...(idle ? [idleText(w)] : []),
      rowWritesText(w.rowWritesPerRefresh),
      w.cpu ? num(w.cpu.benchCores, 2) : '–',
      w.cpu ? num(w.cpu.otherCores, 2) : '–',
    ]),
)}

On two cores shared by everything, **absolute throughput cannot grow by adding workers**; what this shows is
whether a refresh costs the same whichever and however many workers run it: if it does, capacity grows with the
cores (and Temporal cluster) that more workers get on real machines. Rows written per refresh come from PostgreSQL's
own statistics (\`pg_stat_user_tables\`, inserts + updates + deletes of tether's tables over the window; the
benchmark's trigger tables left out), divided by the refreshes recorded in it.
`;
}

/** How long after the change of workers a window began, and whether every connection had moved by then. */
function rehomedText(w: NonNullable<BenchResults['scaleout']>['windows'][number], fleet: number): string {
  if (!w.rehomed) return 'none: the fleet was linked on these workers';
  const short = w.rehomed.connections < fleet;
  return `${w.rehomed.seconds} s${short ? ` (**${w.rehomed.connections} of ${fleet} re-homed: the limit came first**)` : ''}`;
}

/** A window's idle CPU: all the benchmark's processes, the workers' share, and per refresh at its rate. */
function idleText(w: NonNullable<BenchResults['scaleout']>['windows'][number]): string {
  const i = w.idleCpu;
  if (!i) return '–';
  const perRefresh = w.refreshesPerSecond > 0 ? (i.benchCores * 1000) / w.refreshesPerSecond : NaN;
  return `${num(i.benchCores, 3)} (${num(i.byRole.worker ?? 0, 3)}), ${ms(perRefresh)}`;
}

/** Rows written per refresh: the total, then by table. */
function rowWritesText(byTable: Record<string, number> | undefined): string {
  if (!byTable || !Object.keys(byTable).length) return '–';
  const total = Object.values(byTable).reduce((a, b) => a + b, 0);
  const parts = Object.entries(byTable)
    .sort((a, b) => b[1] - a[1])
    .map(([table, n]) => `${table} ${n}`);
  return `${num(total, 2)} (${parts.join(', ')})`;
}

function herdSection(x: NonNullable<BenchResults['herd']>): string {
  const o = x.options;
  const cap = `${o.cap.requests}/${o.cap.windowSeconds}/${o.cap.burst}`;
  const capped = x.rounds.find((r) => r.name === 'capped');
  const seconds = (v: number | null) => (v === null ? '**not within the limit**' : `${v} s`);
  return `## 8. No thundering herd: ${o.connections} connections of one vendor host after an outage

${o.connections} InvGate connections, all on the one simulator host, tokens living ${o.ttlSeconds} s
(\`demo-ttl-${o.ttlSeconds}.<i>\`), linked and active. The per-host token cap
\`TETHER_TOKEN_REQUESTS_PER_HOST=${cap}\` (at most ${o.cap.requests} token requests in any ${o.cap.windowSeconds} s, ${o.cap.burst} at once) was set for this
phase's worker alone. Backoff time-scaled by ${o.backoffScale} so the herd forms in seconds: ${Object.entries(
    x.policy,
  )
    .map(([key, v]) => `\`${key}\` ${String(v)} ms`)
    .join(
      ', ',
    )}. Then the token endpoint answered 503 to every client for ${o.outageSeconds} s (longer than a token's
lifetime: every connection's refresh fell in it); then the outage ended at once. Token requests are counted as the
simulator received them (its numbered request log, read every 50 ms; arrivals the log dropped unread:
${x.missedArrivals}). Peak = most arrivals in any 1 s (any 10 s) window. The cap's GCRA lets out at most
${o.cap.requests} in any ${o.cap.windowSeconds} s and ${x.capPer10Seconds} in any 10 s (a request leaves within ${SLOT_LATENESS_MS} ms of its
slot, or takes another). The simulator timestamps arrivals in the benchmark's process, which stalled for up to
${x.maxReadGapMs} ms on this loaded machine: requests sent on time but received within such a stall bunch in the 1 s
figure; the 10 s figure is barely moved by it.

Linking (capped): ${x.linking.seconds} s, ${x.linking.tokenRequests} token requests, peak **${x.linking.peakPerSecond}/s**
(${Object.entries(x.linking.outcomes)
    .map(([st, n]) => `${st} ${n}`)
    .join(', ')}).

${table(
  [
    'round',
    'cap per host',
    'outage',
    'statuses when it ended',
    'outage: token requests / peak per 1 s / per 10 s',
    'after: peak per 1 s / per 10 s',
    'after: all active again',
  ],
  x.rounds.map((r) => [
    r.name,
    `\`${r.tokenRequestsPerHost}\``,
    `${r.outage.seconds} s`,
    `${Object.entries(r.outage.statuses)
      .map(([st, n]) => `${st} ${n}`)
      .join(
        ', ',
      )}${r.outage.activeWithExpiredToken ? ` (${r.outage.activeWithExpiredToken} of them active with an expired token: their refresh had not ended)` : ''}`,
    `${r.outage.tokenRequests} / ${r.outage.peakPerSecond} / ${r.outage.peakPer10Seconds}`,
    `**${r.recovery.peakPerSecond}** / ${r.recovery.peakPer10Seconds}`,
    seconds(r.recovery.allActiveSeconds),
  ]),
)}

${capped ? `**Peak token requests after the outage, capped: ${capped.recovery.peakPerSecond} in 1 s against a cap of ${o.cap.requests} per ${o.cap.windowSeconds} s; ${capped.recovery.peakPer10Seconds} in 10 s against ${x.capPer10Seconds}.**` : ''}
A refresh waiting for a budget slot is not a failure: the connection stays \`active\` (its token expired meanwhile)
until its attempt at the vendor fails, which under the cap can take a good part of the outage.
Token requests per second after the outage ended, second by second:
${x.rounds.map((r) => `\n- ${r.name}: ${r.recovery.perSecond.join(' ')}`).join('')}

**Why a shared budget in PostgreSQL, not Temporal's task-queue rate limits or fairness keys.** The limit is the
vendor host's, and what reaches that host comes from every worker *and* every API replica (the proxy takes
slots of the same budget), across every task queue: a task queue's rate limit (\`maxTaskQueueActivitiesPerSecond\`)
or fairness key spans only that queue's activity dispatch, not the proxy, not local activities (routine refreshes
run as local activities), and would need one queue per vendor host (hosts are per customer for most vendors).
The budget is one GCRA row per host, updated under a row lock on the database's clock (\`take_rate_budget\`), which
every process already reaches; a waiting refresh sleeps on a workflow timer holding its slot, so waiting costs
no worker slot and no retry attempt.
`;
}

function workerLine(ws: NonNullable<BenchResults['workerSettings']['link']>): string {
  return [
    `maxCachedWorkflows ${ws.maxCachedWorkflows}`,
    `maxConcurrentWorkflowTaskExecutions ${ws.maxConcurrentWorkflowTaskExecutions}`,
    `maxConcurrentActivityTaskExecutions ${ws.maxConcurrentActivityTaskExecutions}`,
    `pollers: workflow ${ws.workflowTaskPollers}, activity ${ws.activityTaskPollers}`,
    `V8 heap limit ${ws.v8HeapLimitMiB} MiB`,
    `database pool ${ws.dbPoolSize}`,
    Object.keys(ws.tuningRequested).length
      ? `(set by flags: ${JSON.stringify(ws.tuningRequested)})`
      : '(SDK defaults)',
  ].join(', ');
}

/** Every before/after run's link figures in time order: the spread says how much is noise. */
function repeatsSection(before: Run[], after: Run[]): string {
  const runs = [
    ...before.map((run) => ({ run, side: 'before' })),
    ...after.map((run) => ({ run, side: 'after' })),
  ]
    .filter((x) => x.run.results.link)
    .sort((x, y) => x.run.results.startedAt.localeCompare(y.run.results.startedAt));
  if (runs.length <= 2) return '';
  const medianOf = (side: string, pick: (x: BenchResults) => number | undefined) => {
    const values = runs
      .filter((x) => x.side === side)
      .map((x) => pick(x.run.results))
      .filter((v): v is number => v !== undefined && Number.isFinite(v))
      .sort((a, b) => a - b);
    return values.length ? values[Math.floor((values.length - 1) / 2)]! : NaN;
  };
  const p50 = (x: BenchResults) => x.link!.link.p50;
  const ratio = (x: BenchResults) => x.link!.ratio.p50;
  const cpuLink = (x: BenchResults) => x.link?.cpuPerLink?.totalMs;
  const cpuRefresh = (x: BenchResults) => x.fleet?.window.cpuPerRefresh?.totalMs;
  return `Link latency in every before and after run, in the order they ran (each its own process, server, database
and worker; the repeats ran the link and fleet phases only):

${table(
  [
    'run',
    'code',
    'activities per link',
    'link p50',
    'link p99',
    'bare p50',
    'link / bare p50',
    'CPU per link',
    'CPU per refresh',
    'other work (cores)',
  ],
  runs.map(({ run, side }) => [
    `[${run.results.startedAt.slice(11, 19)}](${run.file})`,
    side,
    run.results.link!.activitiesPerLink,
    ms(run.results.link!.link.p50),
    ms(run.results.link!.link.p99),
    ms(run.results.link!.bare.p50),
    `${run.results.link!.ratio.p50}×`,
    run.results.link!.cpuPerLink
      ? `${run.results.link!.cpuPerLink.totalMs} ms${run.results.link!.idleCpu ? '' : ' (idle not subtracted)'}`
      : '–',
    run.results.fleet?.window.cpuPerRefresh ? `${run.results.fleet.window.cpuPerRefresh.totalMs} ms` : '–',
    run.results.phases.link?.cpu?.otherCores ?? '–',
  ]),
)}

Median over the runs of each side: link p50 ${ms(medianOf('before', p50))} before, ${ms(medianOf('after', p50))} after
(${change(medianOf('before', p50), medianOf('after', p50))}); link / bare p50 ${num(medianOf('before', ratio), 2)}× before,
${num(medianOf('after', ratio), 2)}× after; CPU per link ${ms(medianOf('before', cpuLink))} before, ${ms(medianOf('after', cpuLink))} after
(${change(medianOf('before', cpuLink), medianOf('after', cpuLink))}); CPU per refresh ${ms(medianOf('before', cpuRefresh))} before,
${ms(medianOf('after', cpuRefresh))} after (${change(medianOf('before', cpuRefresh), medianOf('after', cpuRefresh))}).
`;
}

function optimisationSection(r: BenchResults, thisFile: string, befores: Run[], afters: Run[]): string {
  const before = befores[0]!;
  const after = afters[0];
  const b = before.results;
  const a = after?.results;
  const rows: (string | number)[][] = [];
  const add = (
    name: string,
    pick: (x: BenchResults) => number | undefined,
    fmt: (v: number) => string,
    lowerIsBetter = true,
    // Signed figures (lateness): the difference, not a percentage of a value that may be near zero.
    signedDelta = false,
    // Where the primary pair lacks the figure: the latest run of each side that has it.
    fallback = false,
  ) => {
    const latest = (runs: Run[], primary: BenchResults | undefined) => {
      const v = primary ? pick(primary) : undefined;
      if (v !== undefined || !fallback) return v;
      return [...runs]
        .reverse()
        .map((x) => pick(x.results))
        .find((x) => x !== undefined);
    };
    const vb = latest(befores, b);
    const va = latest(afters, a);
    const vr = pick(r);
    const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : fmt(v));
    const diff =
      vb === undefined || va === undefined
        ? '–'
        : signedDelta
          ? `${va - vb > 0 ? '+' : '−'}${s(Math.abs(va - vb), 2)}${va < vb === lowerIsBetter ? ' (better)' : ' (worse)'}`
          : change(vb, va, lowerIsBetter);
    rows.push([name, f(vb), a ? f(va) : '–', a ? diff : '–', f(vr)]);
  };
  const msf = (x: number) => ms(x);
  const count = (v: number) => String(v);
  const group = (title: string) => rows.push([`**${title}**`, '', '', '', '']);
  group('Exact: counted from histories and counters');
  add('activities per link (from history)', (x) => x.link?.activitiesPerLink, count);
  add('history events per refresh cycle (p50)', (x) => x.fleet?.historyEventsPerCycle.p50, count);
  add(
    'fleet links not active by the settle deadline',
    (x) => (x.fleet ? x.fleet.options.fleet - (x.fleet.linking.outcomes.active ?? 0) : undefined),
    count,
  );
  group("CPU per unit of work: the benchmark's own processes, other work excluded");
  add(
    'CPU per link (net of idle CPU: the latest runs that measured it)',
    (x) => (x.link?.idleCpu ? x.link.cpuPerLink?.totalMs : undefined),
    (v) => `${num(v)} ms`,
    true,
    false,
    true,
  );
  add(
    'CPU per bare workflow (same runs)',
    (x) => (x.link?.idleCpu ? x.link.cpuPerBare?.totalMs : undefined),
    (v) => `${num(v)} ms`,
    true,
    false,
    true,
  );
  add(
    'CPU per refresh',
    (x) => x.fleet?.window.cpuPerRefresh?.totalMs,
    (v) => `${num(v)} ms`,
  );
  add(
    '… of it the worker',
    (x) => x.fleet?.window.cpuPerRefresh?.byRoleMs.worker,
    (v) => `${num(v)} ms`,
  );
  add(
    '… of it the Temporal server',
    (x) => x.fleet?.window.cpuPerRefresh?.byRoleMs.temporal,
    (v) => `${num(v)} ms`,
  );
  add(
    '… of it PostgreSQL',
    (x) => x.fleet?.window.cpuPerRefresh?.byRoleMs.postgres,
    (v) => `${num(v)} ms`,
  );
  group('Wall clock: moves with the other work on the machine (see below)');
  add('link p50', (x) => x.link?.link.p50, msf);
  add('link p99', (x) => x.link?.link.p99, msf);
  add('bare workflow p50', (x) => x.link?.bare.p50, msf);
  add(
    'link / bare, p50',
    (x) => x.link?.ratio.p50,
    (v) => `${v}×`,
  );
  add(
    'fleet: seconds until every link settled',
    (x) => x.fleet?.linking.seconds,
    (v) => `${num(v)} s`,
  );
  add(
    'fleet: refreshes per second (maintenance window)',
    (x) => x.fleet?.window.refreshesPerSecond,
    (v) => num(v),
    false,
  );
  add('fleet: new token requested − old expiry, p50', (x) => x.fleet?.grantLateness.p50, signed, true, true);
  add('fleet: new token requested − old expiry, p99', (x) => x.fleet?.grantLateness.p99, signed, true, true);
  add('fleet: refresh recorded − old expiry, p50', (x) => x.fleet?.lateness.p50, signed, true, true);
  add('fleet: refresh recorded − old expiry, p99', (x) => x.fleet?.lateness.p99, signed, true, true);
  add(
    'fleet: share of refreshes recorded after expiry',
    (x) => (x.fleet ? (100 * x.fleet.lateness.afterExpiry) / x.fleet.lateness.total : undefined),
    (v) => `${num(v, 0)} %`,
  );
  add(
    'fleet: worker steady RSS',
    (x) => x.fleet?.memory.steadyRssMiB,
    (v) => `${v} MiB`,
  );
  for (const [i, t] of (r.api?.targets ?? []).entries()) {
    add(
      `API \`${t.path}\` req/s`,
      (x) => x.api?.targets[i]?.result.requestsPerSecond,
      (v) => num(v, 0),
      false,
    );
  }
  const other = (x: BenchResults) =>
    Object.entries(x.phases)
      .map(([n, p]) => `${n} ${p.cpu?.otherCores ?? '–'}`)
      .join(', ');
  const describe = (run: Run) =>
    `[\`${run.file}\`](${run.file}) (${run.results.startedAt}, label \`${run.results.label || '–'}\`)`;
  // The bare workflow runs no tether code: a change in its cost between runs is the machine's.
  const bareNow = r.link?.cpuPerBare?.totalMs;
  const bareAfter = a?.link?.cpuPerBare?.totalMs;
  const control =
    bareNow !== undefined && bareAfter !== undefined
      ? ` Wall-clock and CPU figures of other phases moved with the machine too: in this run's link phase the bare
workflow, which no tether change touches, cost ${num(bareNow)} ms of CPU against ${num(bareAfter)} ms in the after run.`
      : '';
  return `## 9. Optimisation: before and after

${OPTIMISATION_TEXT}${control}

Before: ${describe(before)}. After: ${after ? describe(after) : '–'}. Both measured with this benchmark, one after
the other, on code that differed only by this change; "this run" is [\`${thisFile}\`](${thisFile}). Other work on the
machine during each (cores, by phase) — before: ${other(b)}; after: ${a ? other(a) : '–'}; this run: ${other(r)}.
Other work took up to half the machine and changed from minute to minute, so wall-clock figures differ
between runs of the same code by tens of per cent (see the repeats below); the counts are exact, and CPU
per unit of work is the comparison that other load disturbs least.

${table(['figure', 'before', 'after', 'change', 'this run'], rows)}
`;
}

/** What the optimisation changed and why (the figures around it are measured). */
const OPTIMISATION_TEXT = `**Where the time went.** Before this change a routine refresh cycle wrote 18 history events: the
timer, then three workflow tasks (one to schedule the token activity, one for its result and the transition
activity, one for that result), two regular activities (scheduled, started, completed each) and a search-attribute
upsert per transition. Each regular activity is a task-queue round trip through the Temporal server, and the server's
share of a refresh's CPU was the largest. A link likewise took three workflow tasks.

**The change.** Behind \`patched('refresh-in-one-workflow-task')\` (\`workflows/patches.ts\`), a refresh or
establish its timer began (a routine refresh, a link, a recheck) runs its token request (grant, scope check, sealed
store: \`obtainToken\` with \`verify\`) and its transition's transaction (\`recordTransition\`) as **local
activities** inside the workflow task that began the step, and the status search attribute is upserted only when the
status changes. Where a local activity's limits do not fit, the regular path stays: one attempt of 5 s each (the
workflow task timeout is 10 s); a failure the regular activity would retry schedules that activity, in the same
workflow task, with the attempts left, so a failing step makes the same 4 vendor calls as before (section 4); a
shared rate budget's long wait sleeps on a timer; steps a command began (refresh now, resume, a retry after a human
acted), rotations, installs and probes keep regular activities, so a command is never held behind a local one.
Histories recorded before it replay the old path (\`test/replay.test.ts\`, fixtures
\`invgate-refresh-at-the-floor\` and \`invgate-link-at-the-floor-budget-wait\` for the new one). The same run's
before column is the commit just before it (7b26ad6) with this benchmark's code.

**Since the after run** ("this run" differs from "after" by these): the API keeps verified API keys in memory,
dropped by PostgreSQL \`NOTIFY\` on any change (a \`GET\` is one query instead of two: section 3); the worker's
sticky cache defaults to 1,000 workflows instead of the SDK's heap-sized 2,310 (a 1,000-connection fleet still
fits; at 10,000 an idle connection's workflow is replayed at its next refresh: README, "Scaling"); shared rate
budgets count a request when it leaves, so a late one takes a fresh slot (section 8); and the benchmark ends every
phase's workflows before the next phase, so the "after" run's later phases (proxy, jobs, scale-out, herd) also ran
the earlier phases' connections, which this run's did not.

**The smaller sticky cache costs the 1,000-connection fleet CPU and memory.** Fleet-only runs of the same day,
other work 0.02–0.04 cores in each: this code with the SDK's cache of 2,310: 26.7 ms per refresh, RSS 640 MiB steady
([\`results/2026-12-01T20-55-58-747Z.json\`](results/2026-12-01T20-55-58-747Z.json)); with 1,100: 47.7 ms, 705 MiB
([\`results/2026-12-01T20-26-31-789Z.json\`](results/2026-12-01T20-26-31-789Z.json)); the code before the budget
change (8e03f59) with 1,000: 36.5 ms, 744 MiB ([\`results/2026-12-01T20-31-10-300Z.json\`](results/2026-12-01T20-31-10-300Z.json)).
So the rise from the after run is the cache default, not the budget change: a cache barely larger than the fleet
still replays workflows. At 10,000 connections the smaller cache lowered RSS (README, "Scaling"); which default
serves both is not settled.`;
