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
  events: number;
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

  /** One full pass; returns how many events were deleted (with their deliveries and attempts). */
  async run(now = new Date()): Promise<RetentionResult> {
    let events = 0;
    if (this.options.retentionDays > 0) {
      events += await this.sweep(new Date(now.getTime() - this.options.retentionDays * 86_400_000), ['pending', 'delivering']);
    }
    if (!this.options.storeEvents) events += await this.sweep(now, ['pending', 'delivering', 'failed']);
    if (events) this.logger.log(`Retention removed ${events} webhook events with their deliveries and attempts.`);
    return { events };
  }

  /** Deletes events created before `before` that have no delivery in one of `keepIf` statuses. */
  private async sweep(before: Date, keepIf: string[]): Promise<number> {
    const events = this.dataSource.getRepository(WebhookEvent);
    const deliveries = this.dataSource.getRepository(WebhookDelivery);
    let removed = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const rows = await events
        .createQueryBuilder('e')
        .select('e.id', 'id')
        .where('e.createdAt < :before', { before })
        .andWhere(
          `NOT EXISTS (${deliveries
            .createQueryBuilder('d')
            .select('1')
            .where('d.eventId = e.id')
            .andWhere('d.status IN (:...keepIf)')
            .getQuery()})`,
          { keepIf },
        )
        .orderBy('e.createdAt', 'ASC')
        .limit(BATCH)
        .getRawMany<{ id: string }>();
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      const deliveryIds = (await deliveries.find({ select: { id: true }, where: { eventId: In(ids) } })).map((d) => d.id);
      if (deliveryIds.length) await this.dataSource.getRepository(WebhookAttempt).delete({ deliveryId: In(deliveryIds) });
      await deliveries.delete({ eventId: In(ids) });
      await events.delete({ id: In(ids) });
      removed += ids.length;
      if (rows.length < BATCH) break;
    }
    return removed;
  }
}
