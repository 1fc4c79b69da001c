// Which running workflows still need an encryption key, and moving them onto the active one. A workflow
// replays its history to run, so every key its current run's payloads were encrypted with must stay
// configured (at least as decrypt-only) while it runs. Workflows that wait without a timer (paused,
// needs_reauth, awaiting an install…) may never continue as new by themselves: a connection workflow is
// moved by asking it to continue as new now, which starts a run whose history the active key encrypts.
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { payloadKeyId } from '../platform/payload-codec';
import { continueAsNewNowUpdate } from '../workflows/messages';

export interface WorkflowNeedingKey {
  workflowId: string;
  runId: string;
  type: string;
  /** Every key the run's history needs. */
  keyIds: string[];
}

/** Running workflows whose current run's history holds payloads encrypted with `keyId`. */
export async function workflowsNeedingKey(temporal: Client, keyId: string): Promise<WorkflowNeedingKey[]> {
  const found: WorkflowNeedingKey[] = [];
  for await (const workflow of temporal.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    const history = await temporal.workflow.getHandle(workflow.workflowId, workflow.runId).fetchHistory();
    const keyIds = new Set<string>();
    collectKeyIds(history, keyIds, 0);
    if (!keyIds.has(keyId)) continue;
    found.push({
      workflowId: workflow.workflowId,
      runId: workflow.runId,
      type: workflow.type,
      keyIds: [...keyIds].sort(),
    });
  }
  return found;
}

export type MoveOutcome = { workflowId: string } & ({ moved: true } | { moved: false; why: string });

/**
 * Ask each connection workflow to continue as new at its next pause between steps (its new run is
 * encrypted with the key the workers now use). Other workflows (webhook deliveries) cannot be moved:
 * they finish by themselves within their retry window.
 */
export async function moveToActiveKey(
  temporal: Client,
  workflows: WorkflowNeedingKey[],
): Promise<MoveOutcome[]> {
  const outcomes: MoveOutcome[] = [];
  for (const { workflowId, runId, type } of workflows) {
    if (type !== 'connectionLifecycle') {
      outcomes.push({ workflowId, moved: false, why: `a ${type} workflow finishes by itself; wait for it` });
      continue;
    }
    try {
      await temporal.workflow.getHandle(workflowId, runId).executeUpdate(continueAsNewNowUpdate);
      outcomes.push({ workflowId, moved: true });
    } catch (err) {
      outcomes.push({ workflowId, moved: false, why: (err as Error).message.split('\n')[0] ?? 'failed' });
    }
  }
  return outcomes;
}

/** The key ids of every encrypted payload anywhere in a history (inputs, results, failures, headers). */
function collectKeyIds(value: unknown, into: Set<string>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value)) return;
  if (Array.isArray(value)) {
    for (const item of value) collectKeyIds(item, into, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (record.metadata && typeof record.metadata === 'object' && 'data' in record) {
    const keyId = payloadKeyId(record as Payload);
    if (keyId !== null) into.add(keyId);
  }
  for (const key of Object.keys(record)) collectKeyIds(record[key], into, depth + 1);
}
