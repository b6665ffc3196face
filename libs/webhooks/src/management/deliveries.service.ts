import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Between, DataSource, In, LessThan } from 'typeorm';
import { DeliveryWorker } from '../delivery/delivery.worker.js';
import { TEST_TOPIC } from '../endpoints/endpoint-health.js';
import { DELIVERY_STATUSES, WebhookAttempt, WebhookDelivery, type DeliveryStatus } from '../entities/index.js';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { MAX_EVENT_PAYLOAD_CHARS, stringify } from '../payload/envelope.js';
import { DeliveryQueue, type DeliveryJob } from '../queue/delivery-queue.js';
import { WebhookStore } from '../store/webhook-store.js';
import { isTopicPattern } from '../topics/topics.js';
import { idFloor } from '../ids.js';
import { parseTime } from '../util/time-range.js';
import { EndpointsService } from './endpoints.service.js';
import { deliveryViews, type DeliveryView } from './views.js';
import { depthOf, MAX_INPUT_DEPTH, shown } from '../util/shown.js';

const RECOVER_BATCH = 500;

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

export interface ListDeliveriesOptions {
  /** Page size, 1 to 200. @default 50 */
  limit?: number;
  /** Return deliveries older than this delivery id (the last id of the previous page). */
  before?: string;
}

export interface DeliverySearchOptions {
  /** Only deliveries in this status (or these): `'failed'` lists the failures. */
  status?: DeliveryStatus | DeliveryStatus[];
  /** Only this endpoint's deliveries (a not-found error when it does not exist). */
  endpointId?: string;
  /** Only this topic. */
  topic?: string;
  /** Created at or after this time (a Date or an ISO 8601 string). */
  since?: Date | string;
  /** Created before this time. */
  until?: Date | string;
  /** Page size, 1 to 200. @default 50 */
  limit?: number;
  /** Return deliveries older than this delivery id (the last id of the previous page). */
  before?: string;
}

/** The delivery log, and what operators do with it: test sends, redelivery, recovery of a time range. */
@Injectable()
export class DeliveriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly endpoints: EndpointsService,
    private readonly outbox: OutboxService,
    private readonly worker: DeliveryWorker,
    private readonly queue: DeliveryQueue,
    private readonly store: WebhookStore,
  ) {}

  /**
   * `eventOwner` (an owner scope): only deliveries of that owner's events. An endpoint that changed owners keeps its
   * earlier deliveries, and those belong to the events' owners, not to the endpoint's new one.
   */
  async list(endpointId: string, options: ListDeliveriesOptions = {}, eventOwner?: string): Promise<DeliveryView[]> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new WebhookValidationError(`limit must be an integer from 1 to 200 (got ${options.limit}).`);
    }
    if (options.before !== undefined) noNul(options.before, 'before', 'Invalid delivery list');
    await this.endpoints.find(endpointId);
    const deliveries = await this.dataSource.getRepository(WebhookDelivery).find({
      where: {
        endpointId,
        ...(options.before ? { id: LessThan(options.before) } : {}),
        ...(eventOwner !== undefined ? { event: { ownerId: eventOwner } } : {}),
      },
      order: { id: 'DESC' },
      take: limit,
    });
    return this.withAttempts(deliveries);
  }

  /**
   * Deliveries across endpoints, newest first, with their attempts. The time range is read through the primary key
   * (delivery ids are time-ordered), an endpoint's deliveries through its (endpointId, id) index.
   */
  async search(options: DeliverySearchOptions = {}): Promise<DeliveryView[]> {
    const what = 'Invalid delivery search';
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new WebhookValidationError(`${what}: limit must be an integer from 1 to 200 (got ${options.limit}).`);
    }
    const statuses = options.status === undefined ? [] : Array.isArray(options.status) ? options.status : [options.status];
    const unknown = statuses.filter((s) => !(DELIVERY_STATUSES as readonly string[]).includes(s));
    if (unknown.length) {
      throw new WebhookValidationError(`${what}: status must be one of ${DELIVERY_STATUSES.join(', ')} (got ${unknown.join(', ')}).`);
    }
    if (options.topic !== undefined) noNul(options.topic, 'topic', what);
    if (options.before !== undefined) noNul(options.before, 'before', what);
    const since = options.since === undefined ? undefined : parseTime(options.since, 'since', what);
    const until = options.until === undefined ? undefined : parseTime(options.until, 'until', what);
    if (options.endpointId !== undefined) await this.endpoints.find(options.endpointId);
    const query = this.dataSource.getRepository(WebhookDelivery).createQueryBuilder('d').orderBy('d.id', 'DESC').take(limit);
    if (options.endpointId !== undefined) query.andWhere('d.endpointId = :endpointId', { endpointId: options.endpointId });
    if (statuses.length) query.andWhere('d.status IN (:...statuses)', { statuses });
    if (options.topic !== undefined) query.andWhere('d.topic = :topic', { topic: options.topic });
    if (since) query.andWhere('d.id >= :fromId', { fromId: idFloor('dlv', since.getTime()) });
    if (until) query.andWhere('d.id < :toId', { toId: idFloor('dlv', until.getTime()) });
    if (options.before !== undefined) query.andWhere('d.id < :before', { before: options.before });
    return this.withAttempts(await query.getMany());
  }

  async get(deliveryId: string): Promise<DeliveryView> {
    const [view] = await this.withAttempts([await this.find(deliveryId)]);
    return view;
  }

  /**
   * A test event written through the outbox for this endpoint only, then sent at once through the worker (not the
   * queue), so the caller sees what came back. Tried once: no retry, no effect on the endpoint's health.
   */
  async sendTest(endpointId: string, options: { payload?: unknown; topic?: string } = {}): Promise<TestSendResult> {
    const endpoint = await this.endpoints.find(endpointId);
    if (!endpoint.active) {
      throw new WebhookConflictError(`Webhook endpoint ${shown(endpointId)} is disabled; enable it before sending a test.`);
    }
    if (typeof options !== 'object' || options === null) throw new WebhookValidationError('The test request must be a JSON object.');
    const unknown = Object.keys(options).filter((k) => k !== 'payload' && k !== 'topic');
    if (unknown.length) throw new WebhookValidationError(`Invalid test request: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}.`);
    const topic = options.topic ?? TEST_TOPIC;
    if (typeof topic !== 'string' || !isTopicPattern(topic) || topic.includes('*')) {
      throw new WebhookValidationError(`Invalid test request: topic must look like "order.created" (got ${shown(topic)}).`);
    }
    const data =
      options.payload === undefined ? { message: 'A test event sent from the webhook endpoint settings.', endpointId } : options.payload;
    if (depthOf(data) > MAX_INPUT_DEPTH) {
      throw new WebhookValidationError(`Invalid test request: payload nests deeper than ${MAX_INPUT_DEPTH} levels.`);
    }
    if (stringify(data).length > MAX_EVENT_PAYLOAD_CHARS) {
      throw new WebhookValidationError(`Invalid test request: payload is larger than ${MAX_EVENT_PAYLOAD_CHARS / 1024} KiB.`);
    }
    const job = await this.dataSource.transaction((manager) =>
      this.outbox.recordFor(manager, { topic, entityName: null, entityId: null, owner: endpoint.ownerId, data }, endpointId, 'test'),
    );
    const result = await this.worker.attempt(job);
    if (!result) throw new WebhookConflictError('The test delivery was taken by another worker.');
    return {
      ok: result.verdict.action === 'succeed',
      status: result.response.status,
      durationMs: result.response.durationMs,
      responseBody: result.response.body,
      error: result.error,
      deliveryId: job.deliveryId,
      eventId: job.eventId,
    };
  }

  async redeliver(deliveryId: string): Promise<DeliveryView> {
    const delivery = await this.find(deliveryId);
    const endpoint = await this.endpoints.find(delivery.endpointId);
    if (!endpoint.active) throw new WebhookConflictError(`Webhook endpoint ${endpoint.id} is disabled; enable it before redelivering.`);
    if (delivery.status !== 'succeeded' && delivery.status !== 'failed') {
      throw new WebhookConflictError(`Delivery ${deliveryId} is ${delivery.status}: it is already scheduled.`);
    }
    if (endpoint.ownerId !== null && (await this.ownershipOf(deliveryId)).eventOwner !== endpoint.ownerId) {
      throw new WebhookConflictError(
        `Delivery ${deliveryId} is of an event of another owner than its endpoint's (given to its owner after the event); it is not sent there.`,
      );
    }
    const [job] = await this.reschedule([delivery], 'manual');
    if (!job) throw new WebhookConflictError(`Delivery ${deliveryId} changed while being redelivered; try again.`);
    return this.get(deliveryId);
  }

  /** `eventOwner` (an owner scope): only deliveries of that owner's events (see `list`). */
  async recover(endpointId: string, options: RecoverOptions, eventOwner?: string): Promise<{ count: number }> {
    const what = 'Invalid recover request';
    if (typeof options !== 'object' || options === null) throw new WebhookValidationError(`${what}: it must be a JSON object.`);
    // A misspelt field must not widen what is sent again (an unknown "untill" would leave until at now).
    const unknown = Object.keys(options).filter((k) => k !== 'since' && k !== 'until');
    if (unknown.length) throw new WebhookValidationError(`${what}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}.`);
    const since = parseTime(options.since, 'since', what);
    const until = options.until === undefined ? new Date() : parseTime(options.until, 'until', what);
    if (since.getTime() >= until.getTime()) throw new WebhookValidationError('Invalid recover request: since must be before until.');
    const endpoint = await this.endpoints.find(endpointId);
    if (!endpoint.active)
      throw new WebhookConflictError(`Webhook endpoint ${endpointId} is disabled; enable it before recovering deliveries.`);
    // An endpoint given to an owner later keeps its earlier deliveries of other owners' events: never sent to it.
    if (eventOwner === undefined && endpoint.ownerId !== null) eventOwner = endpoint.ownerId;
    const repo = this.dataSource.getRepository(WebhookDelivery);
    let count = 0;
    for (;;) {
      const batch = await repo.find({
        where: {
          endpointId,
          status: 'failed',
          createdAt: Between(since, new Date(until.getTime() - 1)),
          ...(eventOwner !== undefined ? { event: { ownerId: eventOwner } } : {}),
        },
        order: { id: 'ASC' },
        take: RECOVER_BATCH,
      });
      if (batch.length === 0) break;
      count += (await this.reschedule(batch, 'recover')).length;
      if (batch.length < RECOVER_BATCH) break;
    }
    return { count };
  }

  /** Who a delivery belongs to: its endpoint and its event's owner (not-found when the delivery does not exist). */
  async ownershipOf(deliveryId: string): Promise<{ endpointId: string; eventOwner: string | null }> {
    const delivery = await this.find(deliveryId, true);
    return { endpointId: delivery.endpointId, eventOwner: delivery.event?.ownerId ?? null };
  }

  /** The delivery row (with its event's id and owner when `withEvent`), or a not-found error naming the id. */
  private async find(deliveryId: string, withEvent = false): Promise<WebhookDelivery> {
    // findOneBy({ id: undefined }) would match any row; PostgreSQL refuses a NUL character (no id holds one).
    if (typeof deliveryId !== 'string' || deliveryId.includes('\0')) throw new WebhookNotFoundError('Webhook delivery', String(deliveryId));
    const delivery = await this.dataSource.getRepository(WebhookDelivery).findOne({
      where: { id: deliveryId },
      ...(withEvent ? { relations: { event: true }, select: { id: true, endpointId: true, event: { id: true, ownerId: true } } } : {}),
    });
    if (!delivery) throw new WebhookNotFoundError('Webhook delivery', deliveryId);
    return delivery;
  }

  private async withAttempts(deliveries: WebhookDelivery[]): Promise<DeliveryView[]> {
    if (deliveries.length === 0) return [];
    const attempts = await this.dataSource.getRepository(WebhookAttempt).find({
      where: { deliveryId: In(deliveries.map((d) => d.id)) },
      order: { attemptNumber: 'ASC', createdAt: 'ASC' },
    });
    return deliveryViews(deliveries, attempts);
  }

  /** Puts finished deliveries back to `pending` (only those still as read) and enqueues a new round for each. */
  private async reschedule(deliveries: WebhookDelivery[], trigger: 'manual' | 'recover'): Promise<DeliveryJob[]> {
    const now = new Date();
    const jobs: DeliveryJob[] = [];
    for (const d of deliveries) {
      if (!(await this.store.reopen(d, trigger, now))) continue;
      const attempt = d.attemptCount + 1;
      jobs.push({ deliveryId: d.id, eventId: d.eventId, endpointId: d.endpointId, attempt, topic: d.topic, trigger, roundStart: attempt });
    }
    // If Redis refuses, the rows are pending and due: the relay enqueues them.
    this.queue.enqueueInBackground(jobs);
    return jobs;
  }
}

/** Refuses a cursor or filter that is not a string, or holds a NUL character (PostgreSQL refuses those). */
function noNul(value: unknown, name: string, what: string): void {
  if (typeof value !== 'string' || value.includes('\0'))
    throw new WebhookValidationError(`${what}: ${name} must be a string without NUL characters.`);
}
