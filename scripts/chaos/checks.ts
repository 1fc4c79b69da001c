// The end-of-run verdict: every connection in its right final state, no duplicate rows, a complete
// audit trail matching the workflow's own count, and no workflow stuck.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../../platform/db';
import type { SecretStore } from '../../platform/secret-store';
import { statusQuery } from '../../workflows/messages';
import { connectionWorkflowId } from '../../workflows/ids';
import type { ConnectionView } from '../../domain/connection';
import type { PlannedLink } from './plan';

export interface LinkedConnection {
  plan: PlannedLink;
  /** Set once the API answered 202. */
  id?: string;
}

export interface Violation {
  check: string;
  connection?: string;
  detail: string;
}

export interface CheckReport {
  violations: Violation[];
  statuses: Record<string, number>;
  auditEvents: number;
  workflowEvents: number;
  workflowsRunning: number;
  workflowsCompleted: number;
  /** Audit trails compared with an idle workflow: count equal to eventSeq exactly. */
  auditExact: number;
  /** Compared while the workflow was recording a transition: eventSeq may be one ahead. */
  auditInFlight: number;
  /** Short-lived tokens found expired while their refresh was due or running (late, not stuck). */
  lateRefreshes: number;
  /** The latest of those, in ms past expiry. */
  maxLateMs: number;
}

/** How long past expiry a token may be while its refresh is due or running, before it counts as stuck. */
const LATE_REFRESH_TOLERANCE_MS = 20_000;

/** Runs `work` over items, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const sameCredentials = (a: Record<string, string> | null, b: Record<string, string>) =>
  !!a && Object.keys(b).length === Object.keys(a).length && Object.entries(b).every(([k, v]) => a[k] === v);

export async function checkAll(deps: {
  db: Db;
  temporal: Client;
  secrets: SecretStore;
  tenantId: string;
  links: LinkedConnection[];
}): Promise<CheckReport> {
  const { db, temporal, secrets, tenantId, links } = deps;
  const violations: Violation[] = [];
  const fail = (check: string, detail: string, connection?: string) =>
    violations.push({ check, detail, connection });
  const statuses: Record<string, number> = {};
  let workflowsRunning = 0;
  let workflowsCompleted = 0;
  let auditExact = 0;
  let auditInFlight = 0;
  let lateRefreshes = 0;
  let maxLateMs = 0;

  // ---- rows: one connection per link, nothing else -------------------------------------------------
  const rows = await db.connection.findMany({ where: { tenantId } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const linkedIds = new Set(links.flatMap((l) => (l.id ? [l.id] : [])));
  for (const link of links) {
    if (!link.id) fail('linked', `link #${link.plan.index} (${link.plan.kind}) never got a 202 from the API`);
  }
  for (const row of rows) {
    if (!linkedIds.has(row.id))
      fail('one row per link', `connection row ${row.id} belongs to no link (duplicate?)`, row.id);
  }
  const keys = await db.idempotencyKey.findMany({ where: { tenantId } });
  const keyCount = new Map<string, number>();
  for (const k of keys) keyCount.set(k.connectionId, (keyCount.get(k.connectionId) ?? 0) + 1);
  for (const id of linkedIds) {
    if ((keyCount.get(id) ?? 0) !== 1)
      fail('one row per link', `idempotency keys for ${id}: ${keyCount.get(id) ?? 0}`, id);
  }

  // ---- duplicates --------------------------------------------------------------------------------
  const dupKeys = await db.$queryRaw<{ dedupeKey: string; n: bigint }[]>`
    SELECT "dedupeKey", count(*) AS n FROM "AuditEvent" WHERE "dedupeKey" IS NOT NULL
    GROUP BY "dedupeKey" HAVING count(*) > 1`;
  for (const d of dupKeys) fail('unique audit dedupe keys', `${d.dedupeKey} appears ${d.n} times`);
  const dupSecrets = await db.$queryRaw<{ connectionId: string; kind: string; n: bigint }[]>`
    SELECT "connectionId", kind::text AS kind, count(*) AS n FROM "ConnectionSecret"
    GROUP BY "connectionId", kind HAVING count(*) > 1`;
  for (const d of dupSecrets) fail('one secret row per kind', `${d.kind} × ${d.n}`, d.connectionId);

  const auditEvents = await db.auditEvent.count({ where: { tenantId } });
  const secretRows = await db.connectionSecret.findMany({ select: { connectionId: true, kind: true } });
  const secretKinds = new Map<string, string[]>();
  for (const s of secretRows)
    secretKinds.set(s.connectionId, [...(secretKinds.get(s.connectionId) ?? []), s.kind]);

  let workflowEvents = 0;
  await eachLimited(
    links.filter((l) => l.id && byId.has(l.id)),
    8,
    async (link) => {
      const id = link.id!;
      const plan = link.plan;

      // Workflow first, then the rows, then the workflow again: a transition it records meanwhile
      // shows as eventSeq moving between the two answers, not as a gap.
      const handle = temporal.workflow.getHandle(connectionWorkflowId(id));
      let state: string | undefined;
      let before: ConnectionView | undefined;
      try {
        state = (await handle.describe()).status.name;
        before = await handle.query(statusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          fail('workflow not stuck', 'no workflow for this connection', id);
        else
          fail('workflow not stuck', `describe/query failed: ${(err as Error).message.split('\n')[0]}`, id);
      }
      const row = (await db.connection.findUnique({ where: { id } })) ?? byId.get(id)!;
      const all = await db.auditEvent.findMany({
        where: { connectionId: id },
        orderBy: { id: 'asc' },
        select: { id: true, type: true, fromStatus: true, toStatus: true, actor: true, dedupeKey: true },
      });
      const now = Date.now();
      const after = before ? await handle.query(statusQuery).catch(() => undefined) : undefined;
      statuses[row.status] = (statuses[row.status] ?? 0) + 1;

      // Final state.
      if (row.status !== plan.expected) {
        fail(
          'final state',
          `${plan.kind} ${plan.vendor}: ${row.status} (${row.statusReason ?? '-'}: ${row.statusMessage ?? ''}), expected ${plan.expected}`,
          id,
        );
      }
      if (plan.expected === 'active' && row.status === 'active') {
        if (plan.vendor === 'promapp') {
          if (row.tokenExpiresAt !== null)
            fail('token valid', `static token with an expiry ${row.tokenExpiresAt.toISOString()}`, id);
        } else if (!row.tokenExpiresAt) {
          fail('token valid', `${plan.kind} ${plan.vendor}: active without a token expiry`, id);
        } else if (row.tokenExpiresAt.getTime() <= now) {
          // A 3 s token is refreshed ~0.5 s ahead: on a busy machine that can be late. Late is fine while
          // the refresh is due or running; an expired token with nothing scheduled is a stuck connection.
          const refreshing =
            before?.busyWith === 'refresh' ||
            before?.busyWith === 'establish' ||
            (before?.nextCheckAt != null && before.nextCheckAt <= now);
          const lateMs = now - row.tokenExpiresAt.getTime();
          if (refreshing && lateMs < LATE_REFRESH_TOLERANCE_MS) {
            lateRefreshes += 1;
            maxLateMs = Math.max(maxLateMs, lateMs);
          } else {
            fail(
              'token valid',
              `${plan.kind} ${plan.vendor}: token expired at ${row.tokenExpiresAt.toISOString()}; workflow ${before ? `busy with ${before.busyWith ?? 'nothing'}, next check ${before.nextCheckAt === null ? 'none' : new Date(before.nextCheckAt).toISOString()}` : 'unknown'}`,
              id,
            );
          }
        }
      }

      // Secrets: what is stored matches what must be live.
      const kinds = secretKinds.get(id) ?? [];
      if (plan.expected === 'revoked') {
        if (kinds.length > 0) fail('secrets wiped', `revoked, still holds ${kinds.join(', ')}`, id);
      } else {
        const live = await secrets.readCredentials(id);
        const wanted = plan.rotateTo ?? plan.credentials;
        if (!sameCredentials(live, wanted)) {
          fail(
            'credentials',
            `${plan.kind}: live credentials are ${plan.rotateTo && sameCredentials(live, plan.credentials) ? 'still the old ones' : 'not the expected ones'}`,
            id,
          );
        }
        if (kinds.includes('staged_credentials'))
          fail('credentials', 'a rotation candidate was left staged', id);
        if (plan.expected === 'active' && plan.vendor !== 'promapp' && !kinds.includes('access_token')) {
          fail('credentials', 'active without a stored access token', id);
        }
      }

      // Workflow: running unless revoked.
      if (state) {
        if (state === 'RUNNING') workflowsRunning += 1;
        if (state === 'COMPLETED') workflowsCompleted += 1;
        const wanted = plan.expected === 'revoked' && row.status === 'revoked' ? 'COMPLETED' : 'RUNNING';
        if (state !== wanted)
          fail('workflow not stuck', `workflow is ${state}, expected ${wanted} (row ${row.status})`, id);
      }

      // Audit: contiguous 1..n of workflow events, in order, chained, ending in the row's status.
      const linkRequested = all.filter((e) => e.type === 'link_requested' && e.actor === 'api');
      if (linkRequested.length !== 1)
        fail('audit complete', `${linkRequested.length} link_requested events`, id);
      const written = all.filter((e) => e.actor === 'workflow');
      workflowEvents += written.length;
      const seqs = written.map((e) => Number(e.dedupeKey?.slice(id.length + 1)));
      const contiguous = seqs.every((seq, i) => seq === i + 1);
      if (!contiguous)
        fail(
          'audit complete',
          `workflow event sequence (by id order) is ${compact(seqs)}, not 1..${seqs.length}`,
          id,
        );
      if (before && after) {
        // Idle and unchanged: exactly eventSeq rows. Otherwise a transition was being recorded: the rows
        // may lack that one (before's), and may already hold ones recorded since (up to after's).
        const idle =
          before.busyWith === null && after.busyWith === null && before.eventSeq === after.eventSeq;
        const lowest = before.eventSeq - (before.busyWith === null ? 0 : 1);
        if (
          idle
            ? written.length !== before.eventSeq
            : written.length < lowest || written.length > after.eventSeq
        ) {
          fail(
            'audit complete',
            `workflow says eventSeq ${before.eventSeq}${idle ? '' : `..${after.eventSeq} (busy with ${before.busyWith ?? after.busyWith})`}, audit has ${written.length} workflow events`,
            id,
          );
        } else if (idle) auditExact += 1;
        else auditInFlight += 1;
      }
      for (let i = 0; i < written.length; i++) {
        const from = written[i]!.fromStatus;
        const before = i === 0 ? 'linking' : written[i - 1]!.toStatus;
        if (from !== before) {
          fail(
            'audit complete',
            `event ${i + 1} (${written[i]!.type}) goes from ${from}, but the one before ended in ${before}`,
            id,
          );
          break;
        }
      }
      const last = written[written.length - 1];
      if ((last?.toStatus ?? 'linking') !== row.status) {
        fail(
          'audit complete',
          `last audit event ends in ${last?.toStatus ?? '(none)'}, the row says ${row.status}`,
          id,
        );
      }
      if (before && after && before.status !== row.status && after.status !== row.status) {
        fail(
          'workflow agrees',
          `workflow says ${before.status}/${after.status}, the row says ${row.status}`,
          id,
        );
      }
    },
  );

  return {
    violations,
    statuses,
    auditEvents,
    workflowEvents,
    workflowsRunning,
    workflowsCompleted,
    auditExact,
    auditInFlight,
    lateRefreshes,
    maxLateMs,
  };
}

/** 1,2,3,5,6 → "1-3,5-6" */
function compact(seqs: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seqs.length;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    parts.push(i === j ? String(seqs[i]) : `${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return parts.join(',') || '(none)';
}
