// Entry point for the worker's workflow bundle.
export { connectionLifecycle } from './connection-lifecycle';
export { webhookDelivery } from './webhook-delivery';
