export { WebhooksModule } from './webhooks.module.js';
export { WEBHOOKS_MODULE_OPTIONS } from './webhooks.module-definition.js';
export {
  DEFAULT_RETRY_SCHEDULE,
  resolveOptions,
  type DeliveryFailedEvent,
  type EndpointDisabledEvent,
  type ResolvedWebhooksOptions,
  type WebhooksModuleOptions,
} from './webhooks.options.js';
export { DELIVER_JOB, WEBHOOKS_OPTIONS, WEBHOOKS_QUEUE } from './webhooks.constants.js';
export {
  WebhooksService,
  type AttemptView,
  type CreatedEndpoint,
  type DeliveryView,
  type EndpointView,
  type ListDeliveriesOptions,
  type RecoverOptions,
  type TestSendResult,
} from './webhooks.service.js';
export { HIDDEN_HEADER_VALUE, type EndpointInput } from './endpoints/endpoint-input.js';
export {
  DEFAULT_GRACE_SECONDS,
  MAX_GRACE_SECONDS,
  MAX_LIVE_SECRETS,
  type RotateSecretOptions,
  type RotatedSecret,
} from './endpoints/endpoint-secrets.js';
export { BlockedAddressError, NetworkPolicy, type NetworkPolicyOptions } from './security/network-policy.js';
export { parseEncryptionKeys, SecretCipher, type EncryptionKey } from './security/secret-cipher.js';
export { topicMatches } from './endpoints/topics.js';
export {
  WebhookEntity,
  WEBHOOK_ACTIONS,
  type WebhookAction,
  type WebhookEntityOptions,
} from './decorators/webhook-entity.decorator.js';
export * from './entities/index.js';
export {
  WebhookBulkOperationError,
  WebhookConfigurationError,
  WebhookConflictError,
  WebhookNotFoundError,
  WebhookValidationError,
  WebhooksError,
} from './errors/webhooks.errors.js';
export { WebhooksExceptionFilter } from './errors/webhooks-exception.filter.js';
export { generateSecret, sign, signatureHeaders, SECRET_PREFIX } from './signing/signing.js';
export {
  AxiosWebhookHttpClient,
  WEBHOOK_HTTP_CLIENT,
  type WebhookHttpClient,
  type WebhookRequest,
  type WebhookResponse,
} from './delivery/http-client.js';
export { DeliveryWorker } from './delivery/delivery.worker.js';
export { OutboxRelay, type RelayResult } from './outbox/outbox-relay.js';
export { RetentionService, type RetentionResult } from './retention/retention.service.js';
export { WebhooksHealthIndicator } from './health/webhooks.health.js';
export { CRITICAL_AFTER_FAILURES, TEST_TOPIC, WEBHOOK_EVENTS, healthState, type HealthState } from './health/endpoint-health.js';
export type { FailingEndpoint, OverviewOptions, WebhooksOverview } from './health/overview.js';
export { decide, retryAfterMs, type RetryPolicy, type Verdict } from './delivery/retry-policy.js';
export {
  verifyWebhook,
  WebhookVerifier,
  WebhookVerificationError,
  type WebhookVerificationFailure,
  type VerifiedWebhook,
  type WebhookHeaders,
  type VerifyWebhookOptions,
} from './receiver/verify.js';
export {
  MemoryReplayStore,
  RedisReplayStore,
  type WebhookReplayStore,
  type MemoryReplayStoreOptions,
  type RedisSetNxClient,
} from './receiver/replay-store.js';
export {
  VerifyWebhook,
  WebhookMessage,
  type WebhookReceiverOptions,
  type WebhookSecrets,
} from './receiver/webhook-receiver.guard.js';
export {
  WebhookTransformer,
  WebhookHeaderProvider,
  type WebhookTransformerProvider,
  type WebhookHeaderProviderService,
  type WebhookSendContext,
} from './extensions/extensions.js';
export { runWithoutWebhooks, webhooksSuppressed } from './context/suppression.js';
export type { EndpointFilters, EntityFilter, FieldCondition } from './endpoints/filters.js';
export type { EndpointAuth, EndpointFields } from './endpoints/endpoint-input.js';
export { DEFAULT_MASK, DEFAULT_REDACTED_PATTERNS } from './subscriber/shaping.js';
export { OAuth2TokenError } from './delivery/oauth2.js';
