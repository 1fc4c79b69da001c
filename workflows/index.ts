// Entry point for the worker's workflow bundle.
export { connectionLifecycle } from './connection-lifecycle';
export { lifecycleEvent } from './lifecycle-event';
export { provisioningJob } from './provisioning-job';
export { webhookDelivery } from './webhook-delivery';
