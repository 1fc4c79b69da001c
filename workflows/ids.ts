/** Deterministic workflow id: one lifecycle per connection, and starting it twice is a no-op. */
export function connectionWorkflowId(connectionId: string): string {
  return `connection:${connectionId}`;
}

/** One workflow per provisioning job. */
export function jobWorkflowId(jobId: string): string {
  return `provision:${jobId}`;
}

/** One workflow per lifecycle event; its jobs are its children. */
export function lifecycleEventWorkflowId(eventId: string): string {
  return `lifecycle:${eventId}`;
}

/** One workflow per webhook delivery (a redelivery runs it again, once the earlier run has closed). */
export function webhookDeliveryWorkflowId(deliveryId: string): string {
  return `webhook:${deliveryId}`;
}
