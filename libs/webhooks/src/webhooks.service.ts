import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan } from 'typeorm';
import { EndpointCache } from './endpoints/endpoint-cache.js';
import { validateEndpointInput, type EndpointInput } from './endpoints/endpoint-input.js';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret } from './entities/index.js';
import { WebhookNotFoundError, WebhookValidationError } from './errors/webhooks.errors.js';
import { newId } from './ids.js';
import { EndpointHealth, healthState, type HealthState } from './health/endpoint-health.js';
import { EntityRegistry } from './registry/entity-registry.js';
import { WEBHOOKS_OPTIONS } from './webhooks.constants.js';
import type { ResolvedWebhooksOptions } from './webhooks.options.js';
import { generateSecret } from './signing/signing.js';

const DISABLED_BY_OPERATOR = 'Disabled by an operator.';

/** An endpoint as shown to API callers: never its secrets. */
export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  topics: string[];
  active: boolean;
  retrySchedule: number[] | null;
  timeoutMs: number | null;
  health: {
    state: HealthState;
    consecutiveFailures: number;
    lastSuccessAt: Date | null;
    lastFailureAt: Date | null;
    failingSince: Date | null;
    disabledAt: Date | null;
    disabledReason: string | null;
  };
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly cache: EndpointCache,
    private readonly health: EndpointHealth,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  /** Every topic endpoints can subscribe to. */
  topics(): string[] {
    return this.registry.topics();
  }

  /** Creates an endpoint with a new signing secret, returned here and never again. */
  async createEndpoint(input: EndpointInput): Promise<CreatedEndpoint> {
    const fields = validateEndpointInput(input, this.topics(), false, this.limits());
    const secret = generateSecret();
    const endpoint = await this.dataSource.transaction(async (manager) => {
      const row = manager.create(WebhookEndpoint, {
        id: newId('ep'),
        url: fields.url,
        topics: fields.topics,
        description: fields.description ?? null,
        active: fields.active ?? true,
        retrySchedule: fields.retrySchedule ?? null,
        timeoutMs: fields.timeoutMs ?? null,
        disabledAt: fields.active === false ? new Date() : null,
        disabledReason: fields.active === false ? DISABLED_BY_OPERATOR : null,
      });
      await manager.save(row);
      await manager.insert(WebhookSecret, {
        id: newId('whs'),
        endpointId: row.id,
        secret,
        createdAt: new Date(),
        expiresAt: null,
      });
      return row;
    });
    await this.cache.changed();
    return { ...view(endpoint), secret };
  }

  async updateEndpoint(id: string, patch: Partial<EndpointInput>): Promise<EndpointView> {
    const { active, ...fields } = validateEndpointInput(patch, this.topics(), true, this.limits());
    const endpoint = await this.findEndpoint(id);
    if (Object.keys(fields).length) {
      // Only the patched columns: a concurrent auto-disable or health update must not be written back.
      await this.dataSource.getRepository(WebhookEndpoint).update({ id }, fields);
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
    return this.getEndpoint(id);
  }

  /** Deletes the endpoint with its secrets, deliveries and attempts. Disable it instead to keep its history. */
  async deleteEndpoint(id: string): Promise<void> {
    const result = await this.dataSource.getRepository(WebhookEndpoint).delete({ id });
    if (!result.affected) throw new WebhookNotFoundError('Webhook endpoint', id);
    await this.cache.changed();
  }

  async getEndpoint(id: string): Promise<EndpointView> {
    return view(await this.findEndpoint(id));
  }

  async listEndpoints(): Promise<EndpointView[]> {
    const rows = await this.dataSource.getRepository(WebhookEndpoint).find({ order: { createdAt: 'DESC', id: 'DESC' } });
    return rows.map(view);
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

  private limits() {
    return { maxTimeoutMs: this.options.maxRequestTimeoutMs };
  }

  private async findEndpoint(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.dataSource.getRepository(WebhookEndpoint).findOneBy({ id });
    if (!endpoint) throw new WebhookNotFoundError('Webhook endpoint', id);
    return endpoint;
  }
}

function view(e: WebhookEndpoint): EndpointView {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    topics: e.topics,
    active: e.active,
    retrySchedule: e.retrySchedule,
    timeoutMs: e.timeoutMs,
    health: {
      state: healthState(e),
      consecutiveFailures: e.consecutiveFailures,
      lastSuccessAt: e.lastSuccessAt,
      lastFailureAt: e.lastFailureAt,
      failingSince: e.failingSince,
      disabledAt: e.disabledAt,
      disabledReason: e.disabledReason,
    },
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
