import { WebhookAttempt } from './webhook-attempt.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { WebhookEvent } from './webhook-event.entity.js';
import { WebhookSecret } from './webhook-secret.entity.js';

export { WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookSecret };
export { ATTEMPT_TRIGGERS, type AttemptTrigger } from './attempt-trigger.js';
export { DELIVERY_STATUSES, type DeliveryStatus } from './webhook-delivery.entity.js';

/** The library's entities, for hosts that list entities in `TypeOrmModule.forRoot({ entities })`. */
export const WEBHOOK_ENTITIES = [WebhookEndpoint, WebhookSecret, WebhookEvent, WebhookDelivery, WebhookAttempt];
