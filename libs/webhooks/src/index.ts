/**
 * nestjs-outgoing-webhooks: committed TypeORM entity changes become signed webhooks.
 *
 * Entry points: this one (the sender: module, decorators, service, entities, migrations, errors),
 * `nestjs-outgoing-webhooks/admin` (AdminJS dashboard), `nestjs-outgoing-webhooks/cli` (operator commands for
 * nest-commander) and `nestjs-outgoing-webhooks/receiver` (verifying webhooks on the receiving side, with no sender
 * dependency). Everything not exported here is internal.
 */

// Module and options.
export { WebhooksModule } from './webhooks.module.js';
export {
  DEFAULT_RETRY_SCHEDULE,
  type DeliveryFailedEvent,
  type EndpointDisabledEvent,
  type WebhooksModuleOptions,
} from './webhooks.options.js';
export { WEBHOOKS_QUEUE } from './webhooks.constants.js';
export type { MetricsRegistry } from './metrics/webhook-metrics.js';

// Declaring what sends webhooks.
export { WebhookEntity, WEBHOOK_ACTIONS, type WebhookAction, type WebhookEntityOptions } from './decorators/webhook-entity.decorator.js';
export { runWithoutWebhooks, webhooksSuppressed } from './context/suppression.js';
export {
  WebhookHeaderProvider,
  WebhookTransformer,
  type WebhookHeaderProviderService,
  type WebhookSendContext,
  type WebhookTransformerProvider,
} from './extensions/extensions.js';
export { DEFAULT_MASK, DEFAULT_REDACTED_PATTERNS } from './payload/shaping.js';
export type { JsonSchema, WebhookTopic } from './topics/topic-declaration.js';

// Managing endpoints and deliveries.
export {
  OwnerScope,
  WebhooksService,
  type OwnerScopeOptions,
  type AttemptView,
  type EmitOptions,
  type CreatedEndpoint,
  type DeliveryView,
  type EndpointView,
  type ListDeliveriesOptions,
  type RecoverOptions,
  type TestSendResult,
  type DeliverySearchOptions,
  type EndpointStats,
  type ErrorGroup,
  type ErrorSummaryOptions,
  type StatsOptions,
  type WebhooksErrorSummary,
  type WebhooksStats,
  type WebhookEventType,
} from './webhooks.service.js';
export { WebhooksApiModule, type OwnerResolver, type WebhooksApiOptions } from './api/webhooks-api.module.js';
export { HIDDEN_HEADER_VALUE, type EndpointAuth, type EndpointFields, type EndpointInput } from './endpoints/endpoint-input.js';
export type { EndpointFilters, EntityFilter, FieldCondition } from './endpoints/filters.js';
export {
  DEFAULT_GRACE_SECONDS,
  MAX_GRACE_SECONDS,
  MAX_LIVE_SECRETS,
  type RotateSecretOptions,
  type RotatedSecret,
} from './endpoints/endpoint-secrets.js';
export type { CircuitState, EndpointDeliveryState } from './delivery/endpoint-gate.js';
export { OutboxRelay, type RelayResult } from './outbox/outbox-relay.js';
export { RetentionService, type RetentionPreview, type RetentionResult } from './retention/retention.service.js';

// Health and events for the host.
export { WebhooksHealthIndicator, type WebhooksHealthResult } from './health/webhooks.health.js';
export {
  CRITICAL_AFTER_FAILURES,
  HEALTH_STATES,
  TEST_TOPIC,
  WEBHOOK_EVENTS,
  healthState,
  type HealthState,
} from './endpoints/endpoint-health.js';
export type { FailingEndpoint, OverviewOptions, WebhooksOverview } from './health/overview.js';
export type { DeliveryLatency } from './health/latency.js';

// Tables and migrations.
export * from './entities/index.js';
export { WEBHOOK_MIGRATIONS } from './migrations/index.js';

// Errors.
export {
  WebhookBulkOperationError,
  WebhookOwnerError,
  WebhookConfigurationError,
  WebhookConflictError,
  WebhookNotFoundError,
  WebhookValidationError,
  WebhooksError,
} from './errors/webhooks.errors.js';
export { WebhooksExceptionFilter } from './errors/webhooks-exception.filter.js';
export { DatabaseUnavailableFilter, isDatabaseUnavailable } from './errors/database-unavailable.js';
export { BlockedAddressError, type NetworkPolicyOptions } from './security/network-policy.js';
export { OAuth2TokenError } from './delivery/oauth2.js';

// Secrets, signing and the pluggable HTTP client.
export { parseEncryptionKeys, type EncryptionKey } from './security/secret-cipher.js';
export { generateSecret, sign, signatureHeaders, SECRET_PREFIX } from './signing/signing.js';
export { AxiosWebhookHttpClient } from './http/axios-client.js';
export { WEBHOOK_HTTP_CLIENT, type WebhookHttpClient, type WebhookRequest, type WebhookResponse } from './http/exchange.js';
