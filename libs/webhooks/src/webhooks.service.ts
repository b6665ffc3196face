import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EndpointInput } from './endpoints/endpoint-input.js';
import type { RotateSecretOptions, RotatedSecret } from './endpoints/endpoint-secrets.js';
import { readOverview, type OverviewOptions, type WebhooksOverview } from './health/overview.js';
import {
  readDeliveryStats,
  readErrorSummary,
  type ErrorSummaryOptions,
  type StatsOptions,
  type WebhooksErrorSummary,
  type WebhooksStats,
} from './health/delivery-stats.js';
import {
  DeliveriesService,
  type DeliverySearchOptions,
  type ListDeliveriesOptions,
  type RecoverOptions,
  type TestSendResult,
} from './management/deliveries.service.js';
import { EndpointsService } from './management/endpoints.service.js';
import { OwnerScope } from './management/owner-scope.js';
import { isOwnerId, ownerIdProblem } from './endpoints/endpoint-input.js';
import { WebhookValidationError } from './errors/webhooks.errors.js';
import type { CreatedEndpoint, DeliveryView, EndpointView } from './management/views.js';
import { CustomEvents, type EmitOptions } from './outbox/custom-events.js';
import { DeliveryQueue } from './queue/delivery-queue.js';
import { EntityRegistry } from './registry/entity-registry.js';
import { isTopicPattern } from './topics/topics.js';
import { eventCatalogue, type WebhookEventType } from './catalogue/event-catalogue.js';

export type { AttemptView, CreatedEndpoint, DeliveryView, EndpointView } from './management/views.js';
export type { EmitOptions } from './outbox/custom-events.js';
export type { WebhookEventType } from './catalogue/event-catalogue.js';

export interface OwnerScopeOptions {
  /**
   * Topic patterns the owner may subscribe to (`['order.*', 'customer.*']`); default every topic. An endpoint's
   * subscription must lie within one of them (`order.*` allows `order.created` and `order.*`, not `*`).
   */
  topics?: readonly string[];
}

function checkTopicPatterns(topics: readonly string[]): readonly string[] {
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string' || !isTopicPattern(t))) {
    throw new WebhookValidationError(
      `forOwner topics must be a list of topics or patterns like "order.*" (got ${JSON.stringify(topics)}).`,
    );
  }
  return [...topics];
}
export { OwnerScope } from './management/owner-scope.js';
export type { ListDeliveriesOptions, RecoverOptions, TestSendResult } from './management/deliveries.service.js';
export type { DeliverySearchOptions } from './management/deliveries.service.js';
export type {
  EndpointStats,
  ErrorGroup,
  ErrorSummaryOptions,
  StatsOptions,
  WebhooksErrorSummary,
  WebhooksStats,
} from './health/delivery-stats.js';

/**
 * The library's API: custom events, endpoint management and the delivery log. A facade: each call is handed to
 * the service that owns it (`CustomEvents`, `EndpointsService`, `DeliveriesService`).
 */
@Injectable()
export class WebhooksService {
  constructor(
    /** The DataSource holding the webhook tables (the admin's read-only log resources read through it). */
    @InjectDataSource() readonly dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly events: CustomEvents,
    private readonly endpoints: EndpointsService,
    private readonly deliveries: DeliveriesService,
    private readonly queue: DeliveryQueue,
  ) {}

  /**
   * Sends a custom event through the outbox: the same subscriptions, filters, signing and retries as entity
   * events. With `manager` (from a transaction) the event commits or rolls back with it and is queued after the
   * commit; without, it is written and queued at once. The topic must be declared (module option `topics` or
   * `@WebhookEntity({ topics })`). Returns the event id, or null when no endpoint gets it (nothing is stored).
   */
  emit(topic: string, data: unknown, options: EmitOptions = {}): Promise<string | null> {
    return this.events.emit(topic, data, options);
  }

  /**
   * The operations of one owner (tenant): its endpoints and their deliveries only. Another owner's ids are "not
   * found", never "forbidden". For an API your customers call themselves, with the owner taken from the request's
   * authentication, never from its body.
   */
  forOwner(ownerId: string, options: OwnerScopeOptions = {}): OwnerScope {
    if (!isOwnerId(ownerId)) {
      throw new WebhookValidationError(`${ownerIdProblem('ownerId', ownerId, false)}.`);
    }
    const topics = options.topics === undefined ? undefined : checkTopicPatterns(options.topics);
    return new OwnerScope(ownerId, this.endpoints, this.deliveries, () => this.topics(), topics);
  }

  /** Every topic endpoints can subscribe to. */
  topics(): string[] {
    return this.registry.topics();
  }

  /**
   * The event catalogue: every topic with a JSON Schema (draft 2020-12) of its body, derived from the entity's
   * columns and field rules (or the schema given with `serialize` or a custom topic). The schemas describe what an
   * endpoint without its own `fields` or `transform` receives.
   */
  eventTypes(): WebhookEventType[] {
    return eventCatalogue(this.registry);
  }

  /** Creates an endpoint with a new signing secret, returned here and never again. */
  createEndpoint(input: EndpointInput): Promise<CreatedEndpoint> {
    return this.endpoints.create(input);
  }

  /**
   * Makes a new secret the endpoint's primary one and returns it (once). The previous secrets keep signing
   * alongside it for `graceSeconds` (default 24 h, at most 7 days), so receivers can switch without a gap; after
   * that they never sign again.
   */
  rotateSecret(endpointId: string, options: RotateSecretOptions = {}): Promise<RotatedSecret> {
    return this.endpoints.rotateSecret(endpointId, options);
  }

  /**
   * The secrets an endpoint signs with now, primary first, in plaintext. For a receiver in the same app (the
   * example's demo receiver, tests); never expose them over an API.
   */
  signingSecrets(endpointId: string): Promise<string[]> {
    return this.endpoints.signingSecrets(endpointId);
  }

  /** Re-encrypts stored secrets and headers under the first of `encryptionKeys` (after a key rotation). */
  reencryptSecrets(): Promise<{ secrets: number; values: number }> {
    return this.endpoints.reencryptSecrets();
  }

  /**
   * Changes the given fields; each replaces the stored value whole (`headers`, `filters`, `fields`, `auth` too).
   * `auth` without `clientSecret` (or with the hidden placeholder) keeps the stored secret, as long as `tokenUrl`
   * and `clientId` are unchanged: the secret is never sent to a token URL it was not given for. A header whose value
   * is the hidden placeholder keeps its stored value, so a view can be edited and sent back as it was shown.
   */
  updateEndpoint(id: string, patch: Partial<EndpointInput>): Promise<EndpointView> {
    return this.endpoints.update(id, patch);
  }

  /** Enables an endpoint and resets its health to `untested`. */
  enable(id: string): Promise<EndpointView> {
    return this.endpoints.enable(id);
  }

  /** Disables an endpoint; its pending deliveries fail with the reason recorded (recover them after enabling). */
  disable(id: string, reason?: string): Promise<EndpointView> {
    return this.endpoints.disable(id, reason);
  }

  /** Resets the health counters (state `untested`) and leaves `active` as it is. */
  resetHealth(id: string): Promise<EndpointView> {
    return this.endpoints.resetHealth(id);
  }

  /** Deletes the endpoint with its secrets, deliveries and attempts. Disable it instead to keep its history. */
  deleteEndpoint(id: string): Promise<void> {
    return this.endpoints.delete(id);
  }

  getEndpoint(id: string): Promise<EndpointView> {
    return this.endpoints.get(id);
  }

  /** The endpoints with these ids, in the order given (ids that do not exist are left out). */
  getEndpoints(ids: readonly string[]): Promise<EndpointView[]> {
    return this.endpoints.getMany(ids);
  }

  /** Every endpoint, newest first; with `ownerId`, only that owner's (null: only the ownerless ones). */
  listEndpoints(options: { ownerId?: string | null } = {}): Promise<EndpointView[]> {
    return this.endpoints.list(options);
  }

  /**
   * Health at a glance: endpoints by health state, the failing ones with their newest error, attempts per minute
   * over the last hour, and the backlog in the outbox and in the queue. Aggregate queries only.
   */
  overview(options: OverviewOptions = {}): Promise<WebhooksOverview> {
    return readOverview(this.dataSource, () => this.queue.counts(), options);
  }

  /** An endpoint's deliveries, newest first, each with its attempts in order. */
  listDeliveries(endpointId: string, options: ListDeliveriesOptions = {}): Promise<DeliveryView[]> {
    return this.deliveries.list(endpointId, options);
  }

  /**
   * Deliveries across endpoints, newest first, each with its attempts: by status (`'failed'`), endpoint, topic and
   * creation time, a page at a time (`before`: the last id of the previous page).
   */
  searchDeliveries(options: DeliverySearchOptions = {}): Promise<DeliveryView[]> {
    return this.deliveries.search(options);
  }

  /**
   * Per endpoint over a time range (default the last 24 hours): deliveries by status, the success rate, and the
   * attempts with their p50 and p95 duration. Aggregate queries only.
   */
  deliveryStats(options: StatsOptions = {}): Promise<WebhooksStats> {
    return readDeliveryStats(this.dataSource, options);
  }

  /**
   * The most frequent errors of failed attempts over a time range (default the last 24 hours), with their counts
   * and the endpoints they hit. Aggregate queries only.
   */
  errorSummary(options: ErrorSummaryOptions = {}): Promise<WebhooksErrorSummary> {
    return readErrorSummary(this.dataSource, options);
  }

  /**
   * Sends a signed test event to the endpoint now, bypassing the queue, and reports what came back. It is logged as
   * a delivery with one attempt (trigger `test`); it is not retried and does not change the endpoint's health.
   */
  sendTest(endpointId: string, options: { payload?: unknown; topic?: string } = {}): Promise<TestSendResult> {
    return this.deliveries.sendTest(endpointId, options);
  }

  /**
   * Sends a finished (succeeded or failed) delivery again, with the same `webhook-id`, as a fresh round of the
   * retry schedule. Its first attempt is logged with trigger `manual`.
   */
  redeliver(deliveryId: string): Promise<DeliveryView> {
    return this.deliveries.redeliver(deliveryId);
  }

  /**
   * Sends again every failed delivery of an endpoint created in [since, until) (after an outage, or after
   * re-enabling it). Each starts a fresh round of the retry schedule, first attempt logged with trigger `recover`.
   * Returns how many were scheduled.
   */
  recover(endpointId: string, options: RecoverOptions): Promise<{ count: number }> {
    return this.deliveries.recover(endpointId, options);
  }

  getDelivery(deliveryId: string): Promise<DeliveryView> {
    return this.deliveries.get(deliveryId);
  }
}
