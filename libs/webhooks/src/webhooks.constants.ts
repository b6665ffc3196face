/** Name of the Bull queue the library registers for deliveries. Isolate apps sharing a Redis with Bull's `prefix`. */
export const WEBHOOKS_QUEUE = 'webhooks';
/** Bull job name of a delivery attempt. */
export const DELIVER_JOB = 'deliver';
/** Token of the resolved options (defaults merged). */
export const WEBHOOKS_OPTIONS = 'WEBHOOKS:RESOLVED_OPTIONS';
/** Metadata key set by `@WebhookEntity()`. */
export const WEBHOOK_ENTITY_METADATA = 'webhooks:entity';
/** Bull job name of the (repeatable) retention run. */
export const RETENTION_JOB = 'retention';
