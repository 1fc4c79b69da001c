// Entry point for the worker's workflow bundle.
export { connectionLifecycle } from './connection-lifecycle';
export { provisioningJob } from './provisioning-job';
export { webhookDelivery } from './webhook-delivery';
