import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EndpointGate, type EndpointDeliveryState } from './delivery/endpoint-gate.js';
import { withTimeout } from './util/timeout.js';
import { Between, DataSource, In, LessThan, type EntityManager } from 'typeorm';
import { OutboxService } from './outbox/outbox.service.js';
import { webhooksSuppressed } from './context/suppression.js';
import { envelope, jsonSafe, resolveActor, stringify } from './payload/envelope.js';
import { EndpointCache } from './endpoints/endpoint-cache.js';
import {
  HIDDEN_HEADER_VALUE,
  validateEndpointInput,
  type EndpointAuth,
  type EndpointInput,
  type EndpointRules,
} from './endpoints/endpoint-input.js';
import { WebhookExtensions } from './extensions/extensions.js';
import { EndpointSecrets, type RotateSecretOptions, type RotatedSecret } from './endpoints/endpoint-secrets.js';
import { NetworkPolicy } from './security/network-policy.js';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from './entities/index.js';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError } from './errors/webhooks.errors.js';
import { DeliveryQueue, type DeliveryJob } from './queue/delivery-queue.js';
import { DeliveryWorker } from './delivery/delivery.worker.js';
import { isTopicPattern } from './topics/topics.js';
import { PayloadCache } from './payload/payload-cache.js';
import { WebhookStore } from './store/webhook-store.js';
import { newId } from './ids.js';
import { EndpointHealth, TEST_TOPIC, healthState, type HealthState } from './endpoints/endpoint-health.js';
import { readOverview, type OverviewOptions, type WebhooksOverview } from './health/overview.js';
import { EntityRegistry } from './registry/entity-registry.js';
import { WEBHOOKS_OPTIONS } from './webhooks.constants.js';
import type { ResolvedWebhooksOptions } from './webhooks.options.js';
import { generateSecret } from './signing/signing.js';

const DISABLED_BY_OPERATOR = 'Disabled by an operator.';

/** How long views wait for the isolation state in Redis. */
const STATE_TIMEOUT_MS = 1000;

const SENSITIVE_HEADER = /auth|cookie|token|secret|key|pass|signature|session|credential|jwt|hmac|sas|bearer|private|sig/i;

/** An endpoint as shown to API callers: never its secrets. */
export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  topics: string[];
  active: boolean;
  retrySchedule: number[] | null;
  timeoutMs: number | null;
  /** Deliveries in flight at most (null: the module's `maxInFlightPerEndpoint`). */
  maxInFlight: number | null;
  /** Requests per window at most (null: the module's `rateLimit`). */
  rateLimit: { max: number; perMs: number } | null;
  /** Custom request headers; values of sensitive ones (authorization, *token*, *key*...) show as `HIDDEN_HEADER_VALUE`. */
  headers: Record<string, string> | null;
  filters: Record<string, unknown> | null;
  method: 'POST' | 'PUT';
  fields: { include?: string[]; exclude?: string[]; redact?: string[] } | null;
  transform: string | null;
  headerProvider: string | null;
  /** OAuth2 settings with `clientSecret` shown as `HIDDEN_HEADER_VALUE`. */
  auth: (Omit<EndpointAuth, 'clientSecret'> & { clientSecret: string }) | null;
  health: {
    state: HealthState;
    consecutiveFailures: number;
    lastSuccessAt: Date | null;
    lastFailureAt: Date | null;
    failingSince: Date | null;
    disabledAt: Date | null;
    disabledReason: string | null;
    /** Succeeded / finished deliveries over the last `healthWindowMs`; null when none finished. */
    successRate: number | null;
    recent: { succeeded: number; failed: number };
  };
  /**
   * The delivery engine's view of the endpoint, shared by all workers: deliveries in flight and held, the circuit
   * (`open` after connection errors and timeouts in a row, with the time of its probe) and a `Retry-After` pause.
   * Null when Redis did not answer in time.
   */
  delivery: EndpointDeliveryState | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The answer to `createEndpoint`: the only time the secret is shown. */
export interface CreatedEndpoint extends EndpointView {
  secret: string;
}

export interface AttemptView {
  id: string;
  attemptNumber: number;
  trigger: string;
  requestUrl: string;
  responseStatus: number | null;
  responseBody: string | null;
  responseHeaders: Record<string, string> | null;
  durationMs: number;
  error: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  endpointId: string;
  topic: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  attempts: AttemptView[];
}

export interface TestSendResult {
  ok: boolean;
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  durationMs: number;
  /** The first `responseBodyStoreLimitBytes` of the response body. */
  responseBody: string | null;
  /** Why it did not succeed; null when ok. */
  error: string | null;
  /** The test is logged like any delivery (topic `webhook.test` unless given). */
  deliveryId: string;
  eventId: string;
}

export interface RecoverOptions {
  /** Failed deliveries created at or after this time (a Date or an ISO 8601 string). */
  since: Date | string;
  /** ...and before this time. Default: now. */
  until?: Date | string;
}

const MAX_TEST_PAYLOAD_CHARS = 256 * 1024;
const RECOVER_BATCH = 500;

export interface ListDeliveriesOptions {
  /** Page size, 1 to 200. @default 50 */
  limit?: number;
  /** Return deliveries older than this delivery id (the last id of the previous page). */
  before?: string;
}

/** Endpoint management and the delivery log. */
@Injectable()
export class WebhooksService {
  constructor(
    /** The DataSource holding the webhook tables (admin resources and reports read through it). */
    @InjectDataSource() readonly dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly cache: EndpointCache,
    private readonly health: EndpointHealth,
    private readonly store: WebhookStore,
    private readonly worker: DeliveryWorker,
    private readonly queue: DeliveryQueue,
    private readonly payloads: PayloadCache,
    private readonly secrets: EndpointSecrets,
    private readonly network: NetworkPolicy,
    private readonly extensions: WebhookExtensions,
    private readonly outbox: OutboxService,
    private readonly gate: EndpointGate,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  private readonly logger = new Logger('Webhooks');

  /**
   * Sends a custom event through the outbox: the same subscriptions, filters, signing and retries as entity
   * events. With `manager` (from a transaction) the event commits or rolls back with it and is queued after the
   * commit; without, it is written and queued at once. The topic must be declared (module option `topics` or
   * `@WebhookEntity({ topics })`). Returns the event id, or null when no endpoint gets it (nothing is stored).
   */
  async emit(topic: string, data: unknown, options: { manager?: EntityManager; entityId?: string | number } = {}): Promise<string | null> {
    if (typeof topic !== 'string' || !this.registry.isCustomTopic(topic)) {
      const declared = this.topics().filter((t) => this.registry.isCustomTopic(t));
      throw new WebhookValidationError(
        `Cannot emit ${JSON.stringify(topic)}: it is not a declared topic. Declare it in WebhooksModule options ` +
          `topics (or @WebhookEntity({ topics })); declared: ${declared.join(', ') || 'none'}.`,
      );
    }
    if (!this.options.enabled || webhooksSuppressed()) return null;
    if (!(await this.outbox.routed(topic))) return null; // nobody subscribes: no work
    const safe = jsonSafe(data);
    if (stringify(safe ?? null).length > MAX_TEST_PAYLOAD_CHARS) {
      throw new WebhookValidationError(`Cannot emit ${topic}: the payload is larger than ${MAX_TEST_PAYLOAD_CHARS / 1024} KiB.`);
    }
    const manager = options.manager ?? this.dataSource.manager;
    const entityId = options.entityId === undefined || options.entityId === null ? null : String(options.entityId);
    return this.outbox.record(manager, manager.queryRunner, {
      topic,
      entityName: null,
      entityId,
      data: safe ?? null,
      actor: resolveActor(this.options.actor, (m) => this.logger.warn(m)),
      customOfEntity: this.registry.byName(topic.slice(0, topic.indexOf('.'))) !== undefined,
    });
  }

  /** Every topic endpoints can subscribe to. */
  topics(): string[] {
    return this.registry.topics();
  }

  /** Creates an endpoint with a new signing secret, returned here and never again. */
  async createEndpoint(input: EndpointInput): Promise<CreatedEndpoint> {
    const fields = validateEndpointInput(input, this.topics(), false, this.rules());
    const secret = generateSecret();
    const id = newId('ep');
    const endpoint = await this.dataSource.transaction(async (manager) => {
      const row = manager.create(WebhookEndpoint, {
        id,
        url: fields.url,
        topics: fields.topics,
        description: fields.description ?? null,
        active: fields.active ?? true,
        retrySchedule: fields.retrySchedule ?? null,
        timeoutMs: fields.timeoutMs ?? null,
        maxInFlight: fields.maxInFlight ?? null,
        rateLimit: fields.rateLimit ?? null,
        headers: this.secrets.seal(id, 'headers', fields.headers),
        filters: (fields.filters as Record<string, unknown> | undefined) ?? null,
        method: fields.method ?? 'POST',
        fields: fields.fields ?? null,
        transform: fields.transform ?? null,
        headerProvider: fields.headerProvider ?? null,
        auth: this.secrets.seal(id, 'auth', fields.auth),
        disabledAt: fields.active === false ? new Date() : null,
        disabledReason: fields.active === false ? DISABLED_BY_OPERATOR : null,
      });
      await manager.save(row);
      await this.secrets.insert(manager, row.id, secret, new Date());
      return row;
    });
    await this.cache.changed();
    return { ...this.view(endpoint, undefined, (await this.deliveryStates([id]))?.get(id)), secret };
  }

  /**
   * Makes a new secret the endpoint's primary one and returns it (once). The previous secrets keep signing
   * alongside it for `graceSeconds` (default 24 h, at most 7 days), so receivers can switch without a gap; after
   * that they never sign again.
   */
  async rotateSecret(endpointId: string, options: RotateSecretOptions = {}): Promise<RotatedSecret> {
    await this.findEndpoint(endpointId);
    const rotated = await this.secrets.rotate(endpointId, options);
    await this.cache.changed();
    return rotated;
  }

  /**
   * The secrets an endpoint signs with now, primary first, in plaintext. For a receiver in the same app (the
   * example's demo receiver, tests); never expose them over an API.
   */
  async signingSecrets(endpointId: string): Promise<string[]> {
    await this.findEndpoint(endpointId);
    return this.secrets.signingSecrets(endpointId);
  }

  /** Re-encrypts stored secrets and headers under the first of `encryptionKeys` (after a key rotation). */
  async reencryptSecrets(): Promise<{ secrets: number; values: number }> {
    const result = await this.secrets.reencrypt();
    await this.cache.changed();
    return result;
  }

  /**
   * Changes the given fields; each replaces the stored value whole (`headers`, `filters`, `fields`, `auth` too).
   * `auth` without `clientSecret` (or with the hidden placeholder) keeps the stored secret, as long as `tokenUrl`
   * and `clientId` are unchanged: the secret is never sent to a token URL it was not given for. A header whose value
   * is the hidden placeholder keeps its stored value, so a view can be edited and sent back as it was shown.
   */
  async updateEndpoint(id: string, patch: Partial<EndpointInput>): Promise<EndpointView> {
    const endpoint = await this.findEndpoint(id);
    patch = this.keepStoredHeaderValues(endpoint, this.keepStoredClientSecret(endpoint, patch));
    const { active, headers, auth, ...fields } = validateEndpointInput(patch, this.topics(), true, this.rules());
    const columns: Record<string, unknown> = { ...fields };
    if (headers !== undefined) columns.headers = this.secrets.seal(id, 'headers', headers);
    if (auth !== undefined) columns.auth = this.secrets.seal(id, 'auth', auth);
    if (Object.keys(columns).length) {
      // Only the patched columns: a concurrent auto-disable or health update must not be written back.
      await this.dataSource.getRepository(WebhookEndpoint).update({ id }, columns as Partial<WebhookEndpoint> as never);
      await this.cache.changed();
    }
    if (active === true && !endpoint.active) await this.enable(id);
    if (active === false && endpoint.active) await this.disable(id);
    return this.getEndpoint(id);
  }

  /** Enables an endpoint and resets its health to `untested`. */
  async enable(id: string): Promise<EndpointView> {
    await this.findEndpoint(id);
    await this.health.enable(id);
    await this.gate.reset(id).catch(() => undefined); // a clean slate: no pause, circuit closed
    return this.getEndpoint(id);
  }

  /** Disables an endpoint; its pending deliveries fail with the reason recorded (recover them after enabling). */
  async disable(id: string, reason = DISABLED_BY_OPERATOR): Promise<EndpointView> {
    await this.findEndpoint(id);
    await this.health.disable(id, reason);
    return this.getEndpoint(id);
  }

  /** Resets the health counters (state `untested`) and leaves `active` as it is. */
  async resetHealth(id: string): Promise<EndpointView> {
    await this.findEndpoint(id);
    await this.health.reset(id);
    await this.gate.reset(id).catch(() => undefined); // also closes the circuit and lifts a pause
    return this.getEndpoint(id);
  }

  /** Deletes the endpoint with its secrets, deliveries and attempts. Disable it instead to keep its history. */
  async deleteEndpoint(id: string): Promise<void> {
    const result = await this.dataSource.getRepository(WebhookEndpoint).delete({ id });
    if (!result.affected) throw new WebhookNotFoundError('Webhook endpoint', id);
    await this.cache.changed();
    await this.gate.forget(id).catch(() => undefined);
  }

  async getEndpoint(id: string): Promise<EndpointView> {
    const endpoint = await this.findEndpoint(id);
    const [outcomes, states] = await Promise.all([this.health.recentOutcomes([id]), this.deliveryStates([id])]);
    return this.view(endpoint, outcomes.get(id), states?.get(id));
  }

  /** The endpoints with these ids, in the order given (ids that do not exist are left out). */
  async getEndpoints(ids: readonly string[]): Promise<EndpointView[]> {
    if (ids.length === 0) return [];
    const [rows, outcomes, states] = await Promise.all([
      this.dataSource.getRepository(WebhookEndpoint).findBy({ id: In([...ids]) }),
      this.health.recentOutcomes([...ids]),
      this.deliveryStates(ids),
    ]);
    const byId = new Map(rows.map((e) => [e.id, e]));
    return ids.flatMap((id) => {
      const e = byId.get(id);
      return e ? [this.view(e, outcomes.get(id), states?.get(id))] : [];
    });
  }

  /**
   * Health at a glance: endpoints by health state, the failing ones with their newest error, attempts per minute
   * over the last hour, and the backlog in the outbox and in the queue. Aggregate queries only.
   */
  async overview(options: OverviewOptions = {}): Promise<WebhooksOverview> {
    return readOverview(this.dataSource, () => this.queue.counts(), options);
  }

  async listEndpoints(): Promise<EndpointView[]> {
    const rows = await this.dataSource.getRepository(WebhookEndpoint).find({ order: { createdAt: 'DESC', id: 'DESC' } });
    const [outcomes, states] = await Promise.all([this.health.recentOutcomes(), this.deliveryStates(rows.map((e) => e.id))]);
    return rows.map((e) => this.view(e, outcomes.get(e.id), states?.get(e.id)));
  }

  /** The endpoints' isolation state from Redis; undefined when Redis does not answer soon (views still load). */
  private async deliveryStates(ids: readonly string[]): Promise<Map<string, EndpointDeliveryState> | undefined> {
    return withTimeout(this.gate.states(ids), STATE_TIMEOUT_MS, 'Redis did not answer').catch(() => undefined);
  }

  /** An endpoint's deliveries, newest first, each with its attempts in order. */
  async listDeliveries(endpointId: string, options: ListDeliveriesOptions = {}): Promise<DeliveryView[]> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new WebhookValidationError(`limit must be an integer from 1 to 200 (got ${options.limit}).`);
    }
    await this.findEndpoint(endpointId);
    const deliveries = await this.dataSource.getRepository(WebhookDelivery).find({
      where: { endpointId, ...(options.before ? { id: LessThan(options.before) } : {}) },
      order: { id: 'DESC' },
      take: limit,
    });
    return this.withAttempts(deliveries);
  }

  /**
   * Sends a signed test event to the endpoint now, bypassing the queue, and reports what came back. It is logged as
   * a delivery with one attempt (trigger `test`); it is not retried and does not change the endpoint's health.
   */
  async sendTest(endpointId: string, options: { payload?: unknown; topic?: string } = {}): Promise<TestSendResult> {
    const endpoint = await this.findEndpoint(endpointId);
    if (!endpoint.active) {
      throw new WebhookConflictError(`Webhook endpoint ${JSON.stringify(endpointId)} is disabled; enable it before sending a test.`);
    }
    if (typeof options !== 'object' || options === null) throw new WebhookValidationError('The test request must be a JSON object.');
    const unknown = Object.keys(options).filter((k) => k !== 'payload' && k !== 'topic');
    if (unknown.length) throw new WebhookValidationError(`Invalid test request: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}.`);
    const topic = options.topic ?? TEST_TOPIC;
    if (typeof topic !== 'string' || !isTopicPattern(topic) || topic.includes('*')) {
      throw new WebhookValidationError(`Invalid test request: topic must look like "order.created" (got ${JSON.stringify(topic)}).`);
    }
    const data =
      options.payload === undefined ? { message: 'A test event sent from the webhook endpoint settings.', endpointId } : options.payload;
    if (stringify(data).length > MAX_TEST_PAYLOAD_CHARS) {
      throw new WebhookValidationError(`Invalid test request: payload is larger than ${MAX_TEST_PAYLOAD_CHARS / 1024} KiB.`);
    }
    const now = new Date();
    const eventId = newId('evt', now.getTime());
    const deliveryId = newId('dlv', now.getTime());
    const body = envelope(eventId, topic, now, data);
    await this.store.insertEvent(
      this.dataSource.manager,
      { id: eventId, topic, entityName: null, entityId: null, payload: body, createdAt: now },
      [{ id: deliveryId, endpointId }],
    );
    this.payloads.set(eventId, body);
    const result = await this.worker.attempt({ deliveryId, eventId, endpointId, attempt: 1, topic, trigger: 'test' });
    if (!result) throw new WebhookConflictError('The test delivery was taken by another worker.');
    return {
      ok: result.verdict.action === 'succeed',
      status: result.response.status,
      durationMs: result.response.durationMs,
      responseBody: result.response.body,
      error: result.error,
      deliveryId,
      eventId,
    };
  }

  /**
   * Sends a finished (succeeded or failed) delivery again, with the same `webhook-id`, as a fresh round of the
   * retry schedule. Its first attempt is logged with trigger `manual`.
   */
  async redeliver(deliveryId: string): Promise<DeliveryView> {
    const delivery = await this.dataSource.getRepository(WebhookDelivery).findOneBy({ id: deliveryId });
    if (!delivery) throw new WebhookNotFoundError('Webhook delivery', deliveryId);
    const endpoint = await this.findEndpoint(delivery.endpointId);
    if (!endpoint.active) throw new WebhookConflictError(`Webhook endpoint ${endpoint.id} is disabled; enable it before redelivering.`);
    if (delivery.status !== 'succeeded' && delivery.status !== 'failed') {
      throw new WebhookConflictError(`Delivery ${deliveryId} is ${delivery.status}: it is already scheduled.`);
    }
    const [job] = await this.reschedule([delivery], 'manual');
    if (!job) throw new WebhookConflictError(`Delivery ${deliveryId} changed while being redelivered; try again.`);
    return this.getDelivery(deliveryId);
  }

  /**
   * Sends again every failed delivery of an endpoint created in [since, until) (after an outage, or after
   * re-enabling it). Each starts a fresh round of the retry schedule, first attempt logged with trigger `recover`.
   * Returns how many were scheduled.
   */
  async recover(endpointId: string, options: RecoverOptions): Promise<{ count: number }> {
    const since = parseDate(options?.since, 'since');
    const until = options?.until === undefined ? new Date() : parseDate(options.until, 'until');
    if (since.getTime() >= until.getTime()) throw new WebhookValidationError('Invalid recover request: since must be before until.');
    const endpoint = await this.findEndpoint(endpointId);
    if (!endpoint.active)
      throw new WebhookConflictError(`Webhook endpoint ${endpointId} is disabled; enable it before recovering deliveries.`);
    const repo = this.dataSource.getRepository(WebhookDelivery);
    let count = 0;
    for (;;) {
      const batch = await repo.find({
        where: { endpointId, status: 'failed', createdAt: Between(since, new Date(until.getTime() - 1)) },
        order: { id: 'ASC' },
        take: RECOVER_BATCH,
      });
      if (batch.length === 0) break;
      count += (await this.reschedule(batch, 'recover')).length;
      if (batch.length < RECOVER_BATCH) break;
    }
    return { count };
  }

  async getDelivery(deliveryId: string): Promise<DeliveryView> {
    const delivery = await this.dataSource.getRepository(WebhookDelivery).findOneBy({ id: deliveryId });
    if (!delivery) throw new WebhookNotFoundError('Webhook delivery', deliveryId);
    const [view] = await this.withAttempts([delivery]);
    return view;
  }

  private async withAttempts(deliveries: WebhookDelivery[]): Promise<DeliveryView[]> {
    if (deliveries.length === 0) return [];
    const attempts = await this.dataSource.getRepository(WebhookAttempt).find({
      where: { deliveryId: In(deliveries.map((d) => d.id)) },
      order: { attemptNumber: 'ASC', createdAt: 'ASC' },
    });
    const byDelivery = new Map<string, AttemptView[]>();
    for (const a of attempts) {
      const list = byDelivery.get(a.deliveryId) ?? [];
      list.push({
        id: a.id,
        attemptNumber: a.attemptNumber,
        trigger: a.trigger,
        requestUrl: a.requestUrl,
        responseStatus: a.responseStatus,
        responseBody: a.responseBody,
        responseHeaders: a.responseHeaders,
        durationMs: a.durationMs,
        error: a.error,
        nextAttemptAt: a.nextAttemptAt,
        createdAt: a.createdAt,
      });
      byDelivery.set(a.deliveryId, list);
    }
    return deliveries.map((d) => ({
      id: d.id,
      eventId: d.eventId,
      endpointId: d.endpointId,
      topic: d.topic,
      status: d.status,
      attemptCount: d.attemptCount,
      nextAttemptAt: d.nextAttemptAt,
      lastResponseStatus: d.lastResponseStatus,
      lastError: d.lastError,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      attempts: byDelivery.get(d.id) ?? [],
    }));
  }

  /** Puts finished deliveries back to `pending` (only those still as read) and enqueues a new round for each. */
  private async reschedule(deliveries: WebhookDelivery[], trigger: 'manual' | 'recover'): Promise<DeliveryJob[]> {
    const now = new Date();
    const jobs: DeliveryJob[] = [];
    for (const d of deliveries) {
      const result = await this.dataSource
        .getRepository(WebhookDelivery)
        .createQueryBuilder()
        .update()
        .set({ status: 'pending', nextAttemptAt: now, updatedAt: now })
        .where({ id: d.id, status: d.status, attemptCount: d.attemptCount })
        .callListeners(false)
        .updateEntity(false)
        .execute();
      if (result.affected !== 1) continue;
      const attempt = d.attemptCount + 1;
      jobs.push({ deliveryId: d.id, eventId: d.eventId, endpointId: d.endpointId, attempt, topic: d.topic, trigger, roundStart: attempt });
    }
    // If Redis refuses, the rows are pending and due: the relay enqueues them.
    this.queue.enqueueInBackground(jobs);
    return jobs;
  }

  private keepStoredClientSecret(endpoint: WebhookEndpoint, patch: Partial<EndpointInput>): Partial<EndpointInput> {
    const given = (patch as { auth?: unknown } | null)?.auth;
    if (!given || typeof given !== 'object' || Array.isArray(given)) return patch;
    const a = given as Partial<EndpointAuth>;
    if (a.clientSecret !== undefined && a.clientSecret !== HIDDEN_HEADER_VALUE) return patch;
    const stored = this.secrets.openAuth(endpoint);
    if (!stored || typeof a.tokenUrl !== 'string' || !URL.canParse(a.tokenUrl)) return patch;
    if (new URL(a.tokenUrl).toString() !== stored.tokenUrl || a.clientId !== stored.clientId) return patch;
    return { ...patch, auth: { ...a, clientSecret: stored.clientSecret } as EndpointAuth };
  }

  /** A header sent back with the placeholder shown for hidden values keeps its stored value (same name). */
  private keepStoredHeaderValues(endpoint: WebhookEndpoint, patch: Partial<EndpointInput>): Partial<EndpointInput> {
    const given = (patch as { headers?: unknown } | null)?.headers;
    if (!given || typeof given !== 'object' || Array.isArray(given)) return patch;
    if (!Object.values(given).includes(HIDDEN_HEADER_VALUE)) return patch;
    const stored = new Map(Object.entries(this.secrets.openHeaders(endpoint) ?? {}).map(([n, v]) => [n.toLowerCase(), v]));
    const headers = Object.fromEntries(
      Object.entries(given as Record<string, unknown>).map(([name, value]) => [
        name,
        value === HIDDEN_HEADER_VALUE && stored.has(name.toLowerCase()) ? stored.get(name.toLowerCase()) : value,
      ]),
    );
    return { ...patch, headers: headers as Record<string, string> };
  }

  private rules(): EndpointRules {
    return {
      maxTimeoutMs: this.options.maxRequestTimeoutMs,
      allowHttp: this.options.allowHttp,
      network: this.network,
      allowedUrls: this.options.allowedUrls,
      fieldsOf: (prefix) => {
        const entity = this.registry.byName(prefix);
        if (entity) return entity.visibleFields ?? undefined;
        return this.topics().some((t) => t.startsWith(`${prefix}.`)) ? undefined : null;
      },
      transformers: new Set(this.extensions.transformers.keys()),
      headerProviders: new Set(this.extensions.headerProviders.keys()),
    };
  }

  /** The endpoint as shown: encrypted columns opened, with sensitive header values and the client secret hidden. */
  private view(e: WebhookEndpoint, recent?: { succeeded: number; failed: number }, delivery?: EndpointDeliveryState): EndpointView {
    const headers = this.secrets.openHeaders(e);
    const auth = this.secrets.openAuth(e);
    return view(
      e,
      {
        headers:
          headers && Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, SENSITIVE_HEADER.test(n) ? HIDDEN_HEADER_VALUE : v])),
        auth: auth && { ...auth, clientSecret: HIDDEN_HEADER_VALUE },
      },
      recent,
      delivery,
    );
  }

  private async findEndpoint(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.dataSource.getRepository(WebhookEndpoint).findOneBy({ id });
    if (!endpoint) throw new WebhookNotFoundError('Webhook endpoint', id);
    return endpoint;
  }
}

function parseDate(value: unknown, name: string): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new WebhookValidationError(
      `Invalid recover request: ${name} must be a date such as "2026-11-24T00:00:00Z" (got ${JSON.stringify(value)}).`,
    );
  }
  return date;
}

function view(
  e: WebhookEndpoint,
  { headers, auth }: Pick<EndpointView, 'headers' | 'auth'>,
  recent = { succeeded: 0, failed: 0 },
  delivery: EndpointDeliveryState | null = null,
): EndpointView {
  const finished = recent.succeeded + recent.failed;
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    topics: e.topics,
    active: e.active,
    retrySchedule: e.retrySchedule,
    timeoutMs: e.timeoutMs,
    maxInFlight: e.maxInFlight,
    rateLimit: e.rateLimit,
    headers,
    filters: e.filters,
    method: e.method,
    fields: e.fields,
    transform: e.transform,
    headerProvider: e.headerProvider,
    auth,
    health: {
      state: healthState(e),
      consecutiveFailures: e.consecutiveFailures,
      lastSuccessAt: e.lastSuccessAt,
      lastFailureAt: e.lastFailureAt,
      failingSince: e.failingSince,
      disabledAt: e.disabledAt,
      disabledReason: e.disabledReason,
      successRate: finished ? recent.succeeded / finished : null,
      recent,
    },
    delivery,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
