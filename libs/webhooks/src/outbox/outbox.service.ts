import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager, QueryRunner } from 'typeorm';
import { DeliveryQueue, JOB_PAYLOAD_MAX_CHARS, type DeliveryJob } from '../queue/delivery-queue.js';
import { EndpointCache, type CachedEndpoint } from '../endpoints/endpoint-cache.js';
import { WebhookStore } from '../store/webhook-store.js';
import { newId } from '../ids.js';
import { PayloadCache } from '../payload/payload-cache.js';
import { passesCompiled } from '../endpoints/filters.js';
import { envelope, type Changes } from '../payload/envelope.js';
import { WebhookMetrics } from '../metrics/webhook-metrics.js';
import { recordingSpan, traceparentOf } from '../tracing/tracing.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import { WebhookNotFoundError } from '../errors/webhooks.errors.js';
import { ENTITY_ID_LENGTH } from '../entities/webhook-event.entity.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

/** Jobs waiting for their transaction to commit, kept on the transaction's QueryRunner. */
const PENDING = Symbol('webhooks.pendingJobs');

interface PendingJob {
  job: DeliveryJob;
  /** Transaction depth when recorded: a rollback to a savepoint drops what was recorded inside it. */
  depth: number;
  /** The first job of its event: counts the event once it commits. */
  first: boolean;
}

type RunnerWithPending = QueryRunner & { [PENDING]?: PendingJob[] };

export interface OutboxEvent {
  topic: string;
  entityName: string | null;
  entityId: string | null;
  /** The event's `data` (endpoint filters look at it). */
  data: unknown;
  changes?: Changes;
  actor?: unknown;
  /** The tenant the event belongs to: it goes to that owner's endpoints and the ownerless ones. Null: no owner. */
  owner?: string | null;
  /** An `emit()` topic under an entity's prefix: its data is not the row, so only `ids` filters apply. */
  customOfEntity?: boolean;
}

/**
 * The transactional outbox. `record()` writes the event row and one delivery row per subscribed endpoint with the
 * caller's manager, so they commit or roll back with the change. Their jobs are enqueued after the outermost
 * commit (those of every transaction committed in one turn of the event loop in one write); if that fails the relay
 * enqueues them from the rows.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly endpoints: EndpointCache,
    private readonly queue: DeliveryQueue,
    private readonly payloads: PayloadCache,
    private readonly store: WebhookStore,
    private readonly metrics: WebhookMetrics,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  /** Whether any active endpoint subscribes to a topic (lets callers skip building a payload nobody gets). */
  async routed(topic: string, owner: string | null = null): Promise<boolean> {
    await this.endpoints.ready();
    return this.endpoints.matching(topic, owner).length > 0;
  }

  /**
   * Returns the event id, or null when no active endpoint subscribes to the topic and passes its filters (nothing
   * is written).
   */
  async record(manager: EntityManager, queryRunner: QueryRunner | undefined, event: OutboxEvent): Promise<string | null> {
    await this.endpoints.ready();
    const subscribed = this.endpoints.matching(event.topic, event.owner ?? null);
    if (subscribed.length === 0) return null;
    const targets = subscribed.some((e) => e.compiledFilters) ? this.filtered(subscribed, event) : subscribed;
    if (targets.length === 0) return null;

    const attributes = { 'webhooks.topic': event.topic, 'webhooks.deliveries': targets.length };
    const { eventId, jobs } = await recordingSpan(attributes, async (span) => {
      const written = await this.write(manager, event, targets);
      span.setAttribute('webhooks.event.id', written.eventId);
      const trace = traceparentOf(span);
      if (trace) for (const job of written.jobs) job.trace = trace;
      return written;
    });
    const runner = (queryRunner ?? manager.queryRunner) as RunnerWithPending | undefined;
    if (runner?.isTransactionActive) {
      const depth = transactionDepth(runner);
      (runner[PENDING] ??= []).push(...jobs.map((job, i) => ({ job, depth, first: i === 0 })));
    } else {
      this.metrics.eventsRecorded(event.topic);
      this.queue.enqueueInBackground(jobs); // autocommit: the rows are already committed
    }
    return eventId;
  }

  /**
   * Writes an event for one endpoint, whatever its subscriptions, and hands back its job instead of enqueueing it:
   * a test send, which the caller runs at once through the worker. Give it a transaction's manager: the rows and
   * their mark as a test's commit together.
   */
  async recordFor(manager: EntityManager, event: OutboxEvent, endpointId: string, trigger: DeliveryJob['trigger']): Promise<DeliveryJob> {
    const { jobs } = await this.write(manager, event, [{ id: endpointId }]);
    if (!jobs[0]) throw new WebhookNotFoundError('Webhook endpoint', endpointId);
    // The relay must not send a test later, as an ordinary delivery, if this process stops before it is done.
    if (trigger === 'test') await this.store.markTest(manager, jobs[0].deliveryId);
    return { ...jobs[0], trigger };
  }

  /** The event row, one delivery row per target, the payload cached, and the jobs of their first attempts. */
  private async write(
    manager: EntityManager,
    event: OutboxEvent,
    targets: ReadonlyArray<Pick<CachedEndpoint, 'id'>>,
  ): Promise<{ eventId: string; jobs: DeliveryJob[] }> {
    const now = new Date();
    const id = newId('evt', now.getTime());
    const payload = envelope(id, event.topic, now, event.data, event.changes, event.actor);
    const deliveries = targets.map((endpoint) => ({ id: newId('dlv', now.getTime()), endpointId: endpoint.id }));
    const written = await this.store.insertEvent(
      manager,
      {
        id,
        topic: event.topic,
        entityName: event.entityName,
        // A longer key (a long text or binary key) would fail the caller's own save on the column's length.
        entityId: event.entityId && event.entityId.slice(0, ENTITY_ID_LENGTH),
        ownerId: event.owner ?? null,
        payload,
        createdAt: now,
      },
      deliveries,
    );
    // Fewer than routed: this process's cache has not heard yet of a deleted endpoint.
    if (written.length < deliveries.length) void this.endpoints.refreshIfOlderThan(1000).catch(() => undefined);
    const carried = payload.length <= JOB_PAYLOAD_MAX_CHARS ? payload : undefined;
    const jobs = written.map((d): DeliveryJob => ({
      deliveryId: d.id,
      eventId: id,
      endpointId: d.endpointId,
      attempt: 1,
      topic: event.topic,
      owner: event.owner ?? null,
      payload: carried,
    }));
    // Kept for this process's own worker; a process without one (an API process) would only fill memory with it.
    if (this.options.worker) this.payloads.set(id, payload);
    return { eventId: id, jobs };
  }

  private filtered(endpoints: readonly CachedEndpoint[], event: OutboxEvent): readonly CachedEndpoint[] {
    const subject = {
      prefix: event.entityName ?? event.topic.slice(0, event.topic.indexOf('.')),
      entityId: event.entityId,
      data: event.data,
      idsOnly: event.customOfEntity === true,
    };
    return endpoints.filter((e) => passesCompiled(e.compiledFilters, subject));
  }

  /** After a commit: enqueue once the outermost transaction has committed (a savepoint release is not enough). */
  committed(queryRunner: QueryRunner): void {
    const runner = queryRunner as RunnerWithPending;
    if (!runner[PENDING]?.length) return;
    if (runner.isTransactionActive) {
      // A savepoint was released: what it recorded now belongs to the enclosing level, and only a rollback of
      // that level may drop it.
      const depth = transactionDepth(runner);
      for (const p of runner[PENDING]) if (p.depth > depth) p.depth = depth;
      return;
    }
    const pending = runner[PENDING];
    runner[PENDING] = [];
    const jobs = pending.map((p) => p.job);
    if (this.metrics.enabled) for (const p of pending) if (p.first) this.metrics.eventsRecorded(p.job.topic ?? '');
    this.queue.enqueueInBackground(jobs);
  }

  /** After a rollback: forget what the rolled-back (sub)transaction recorded. */
  rolledBack(queryRunner: QueryRunner): void {
    const runner = queryRunner as RunnerWithPending;
    if (!runner[PENDING]?.length) return;
    const depth = runner.isTransactionActive ? transactionDepth(runner) : 0;
    runner[PENDING] = runner[PENDING].filter((p) => p.depth <= depth);
  }
}

/** TypeORM keeps the savepoint depth in a protected field; 1 inside a plain transaction. */
function transactionDepth(runner: QueryRunner): number {
  return (runner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;
}
