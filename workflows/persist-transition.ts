// What the workflow does with each transition the machine returns: persist it (row, audit event and
// webhook outbox in one transaction), mirror the status for operators (search attribute and the Web
// UI's current details), and start the deliveries.
import { startChild, upsertSearchAttributes } from '@temporalio/workflow';
import { store, storeLocal } from './activity-proxies';
import { showTransition } from './current-details';
import { STATUS } from './search-attributes';
import { webhookDelivery } from './webhook-delivery';
import { webhookDeliveryWorkflowId } from './ids';
import type { MaintenancePolicy } from '../domain/policy';
import type { Transition } from '../domain/transition';

/**
 * How a transition is persisted. `local`: in a local activity (a refresh at the floor), falling back to the
 * regular activity, which retries until it succeeds (the audit event's dedupe key makes a second write a
 * no-op). `statusShown`: the status the search attribute holds, upserted only when it changes; absent (in
 * histories recorded before REFRESH_AT_THE_FLOOR), upserted on every transition.
 */
export interface PersistMode {
  local?: boolean;
  statusShown?: { value: string };
}

export async function persistTransition(
  of: { connectionId: string; tenantId: string; webhookRetry: MaintenancePolicy['webhookRetry'] },
  transition: Transition | null,
  mode: PersistMode = {},
): Promise<void> {
  if (!transition) return;
  const { connectionId, tenantId } = of;
  const input = { connectionId, tenantId, transition };
  const recorded = mode.local
    ? await storeLocal.recordTransition(input).catch(() => store.recordTransition(input))
    : await store.recordTransition(input);
  const shown = mode.statusShown;
  if (!shown || shown.value !== transition.to) {
    upsertSearchAttributes([{ key: STATUS, value: transition.to }]);
    if (shown) shown.value = transition.to;
  }
  showTransition(transition, Date.now());
  // Each delivery is its own workflow, abandoned by this one: it outlives revocation and
  // continueAsNew, and its retries never hold up the connection's own steps.
  for (const deliveryId of recorded?.deliveries ?? []) {
    await startChild(webhookDelivery, {
      workflowId: webhookDeliveryWorkflowId(deliveryId),
      args: [{ deliveryId, retry: of.webhookRetry }],
      parentClosePolicy: 'ABANDON',
    });
  }
}
