// What the workflow does with each transition the machine returns: persist it (row, audit event and
// webhook outbox in one transaction), mirror the status for operators (search attribute and the Web
// UI's current details), and start the deliveries.
import { startChild, upsertSearchAttributes } from '@temporalio/workflow';
import { store } from './activity-proxies';
import { showTransition } from './current-details';
import { STATUS } from './search-attributes';
import { webhookDelivery } from './webhook-delivery';
import { webhookDeliveryWorkflowId } from './ids';
import type { MaintenancePolicy } from '../domain/policy';
import type { Transition } from '../domain/transition';

export async function persistTransition(
  of: { connectionId: string; tenantId: string; webhookRetry: MaintenancePolicy['webhookRetry'] },
  transition: Transition | null,
): Promise<void> {
  if (!transition) return;
  const { connectionId, tenantId } = of;
  const recorded = await store.recordTransition({ connectionId, tenantId, transition });
  upsertSearchAttributes([{ key: STATUS, value: transition.to }]);
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
