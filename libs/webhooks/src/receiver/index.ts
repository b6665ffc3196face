/**
 * `nestjs-outgoing-webhooks/receiver`: verify Standard Webhooks on the receiving side. Needs only Node and, for the
 * guard, `@nestjs/common` and `@nestjs/core`: none of the sender's stack (Bull, TypeORM, axios, AdminJS).
 */
export {
  verifyWebhook,
  WebhookVerifier,
  WebhookVerificationError,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  type WebhookHeaders,
  type WebhookVerificationFailure,
} from './verify.js';
export {
  MemoryReplayStore,
  RedisReplayStore,
  type MemoryReplayStoreOptions,
  type RedisSetNxClient,
  type WebhookReplayStore,
} from './replay-store.js';
export { VerifyWebhook, WebhookMessage, type WebhookReceiverOptions, type WebhookSecrets } from './webhook-receiver.guard.js';
export { WebhookConfigurationError, WebhooksError } from '../errors/webhooks.errors.js';
export { WebhooksExceptionFilter } from '../errors/webhooks-exception.filter.js';
// For receivers' own tests: sign a request the way the sender does.
export { generateSecret, signatureHeaders, SECRET_PREFIX } from '../signing/signing.js';
