import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { WebhookAttempt, WebhookDelivery, WebhookEvent } from '../entities/index.js';
import { RETENTION_JOB, WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

/** Events removed per batch: each batch is three short statements, so no long lock is held. */
const BATCH = 500;
const MAX_BATCHES_PER_RUN = 200;

export interface RetentionResult {
  /** Events deleted. */
  events: number;
  /** Their deliveries and attempts, deleted with them. */
  deliveries: number;
  attempts: number;
}

/** What a retention run would delete now (`RetentionService.preview()`), and by which rules. */
export interface RetentionPreview extends RetentionResult {
  /** Finished history created before this time goes (`retentionDays`); null when `retentionDays` is 0. */
  olderThan: Date | null;
  /** `storeEvents: false`: events whose deliveries all succeeded go at once. */
  succeededAtOnce: boolean;
}

/** One rule of a run: events created before `before` with no delivery in one of `keepIf` statuses go. */
interface Sweep {
  before: Date;
  keepIf: string[];
}

/**
 * Deletes old history: events older than `retentionDays` whose deliveries are all finished, and (with
 * `storeEvents: false`) every event whose deliveries all succeeded. Runs as a Bull repeatable job in worker
 * processes, so one instance does it per interval.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly queue: DeliveryQueue,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.worker || (this.options.retentionDays === 0 && this.options.storeEvents)) return;
    this.queue.process(RETENTION_JOB, 1, () => this.run().catch((e: Error) => this.logger.error(`Retention run failed: ${e.message}`)));
    await this.queue
      .repeat(RETENTION_JOB, this.options.retentionIntervalMs)
      .catch((e: Error) => this.logger.warn(`Could not schedule the retention job: ${e.message}`));
  }

  /** One full pass; returns how many events were deleted, with their deliveries and attempts. */
  async run(now = new Date()): Promise<RetentionResult> {
    const total: RetentionResult = { events: 0, deliveries: 0, attempts: 0 };
    for (const sweep of this.sweeps(now)) {
      const removed = await this.sweep(sweep);
      total.events += removed.events;
      total.deliveries += removed.deliveries;
      total.attempts += removed.attempts;
    }
    if (total.events) this.logger.log(`Retention removed ${total.events} webhook events with their deliveries and attempts.`);
    return total;
  }

  /**
   * What `run(now)` would delete, counted without deleting (three aggregate statements). A run deletes at most
   * 100,000 events; the preview counts them all.
   */
  async preview(now = new Date()): Promise<RetentionPreview> {
    const sweeps = this.sweeps(now);
    const rules = {
      olderThan: this.options.retentionDays > 0 ? sweeps[0].before : null,
      succeededAtOnce: !this.options.storeEvents,
    };
    if (sweeps.length === 0) return { events: 0, deliveries: 0, attempts: 0, ...rules };
    const events = this.candidates(sweeps);
    const deliveries = this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder('dd')
      .select('dd.id')
      .where(`dd.eventId IN (${events.getQuery()})`)
      .setParameters(events.getParameters());
    const attempts = this.dataSource
      .getRepository(WebhookAttempt)
      .createQueryBuilder('aa')
      .where(`aa.deliveryId IN (${deliveries.getQuery()})`)
      .setParameters(deliveries.getParameters());
    const [e, d, a] = await Promise.all([events.getCount(), deliveries.getCount(), attempts.getCount()]);
    return { events: e, deliveries: d, attempts: a, ...rules };
  }

  /** The rules in force: old finished history (`retentionDays`), and succeeded history at once (`storeEvents: false`). */
  private sweeps(now: Date): Sweep[] {
    const sweeps: Sweep[] = [];
    if (this.options.retentionDays > 0) {
      sweeps.push({ before: new Date(now.getTime() - this.options.retentionDays * 86_400_000), keepIf: ['pending', 'delivering'] });
    }
    if (!this.options.storeEvents) sweeps.push({ before: now, keepIf: ['pending', 'delivering', 'failed'] });
    return sweeps;
  }

  /** The events any of `sweeps` deletes (each sweep's conditions, joined by OR); `sweep` deletes them batch by batch. */
  private candidates(sweeps: readonly Sweep[]) {
    const query = this.dataSource.getRepository(WebhookEvent).createQueryBuilder('e').select('e.id', 'id');
    const rules = sweeps.map((sweep, i) => {
      query.setParameter(`before${i}`, sweep.before).setParameter(`keep${i}`, sweep.keepIf);
      const open = this.dataSource
        .getRepository(WebhookDelivery)
        .createQueryBuilder('d')
        .select('1')
        .where('d.eventId = e.id')
        .andWhere(`d.status IN (:...keep${i})`)
        .getQuery();
      return `(e.createdAt < :before${i} AND NOT EXISTS (${open}))`;
    });
    return query.where(rules.join(' OR '));
  }

  /** Deletes, batch by batch, the events `sweep` selects, with their deliveries and attempts. */
  private async sweep(sweep: Sweep): Promise<RetentionResult> {
    const events = this.dataSource.getRepository(WebhookEvent);
    const deliveries = this.dataSource.getRepository(WebhookDelivery);
    const removed: RetentionResult = { events: 0, deliveries: 0, attempts: 0 };
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const rows = await this.candidates([sweep]).orderBy('e.createdAt', 'ASC').limit(BATCH).getRawMany<{ id: string }>();
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      const deliveryIds = (await deliveries.find({ select: { id: true }, where: { eventId: In(ids) } })).map((d) => d.id);
      if (deliveryIds.length) {
        removed.attempts += (await this.dataSource.getRepository(WebhookAttempt).delete({ deliveryId: In(deliveryIds) })).affected ?? 0;
      }
      removed.deliveries += (await deliveries.delete({ eventId: In(ids) })).affected ?? 0;
      await events.delete({ id: In(ids) });
      removed.events += ids.length;
      if (rows.length < BATCH) break;
    }
    return removed;
  }
}
