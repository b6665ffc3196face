import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThanOrEqual } from 'typeorm';
import { DeliveryQueue } from '../delivery/delivery-queue.js';
import { WebhookEndpoint } from '../entities/index.js';
import { withTimeout } from '../util/timeout.js';
import { CRITICAL_AFTER_FAILURES } from './endpoint-health.js';

const PING_TIMEOUT_MS = 2000;

/**
 * A `@nestjs/terminus` indicator: down when Redis does not answer; otherwise up, with the queue backlog
 * (waiting, delayed, active, failed) and the endpoints that need attention (`critical`: 5+ failed deliveries in a
 * row; `disabled`). Use it in a health controller: `health.check([() => webhooks.isHealthy('webhooks')])`.
 */
@Injectable()
export class WebhooksHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queue: DeliveryQueue,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async isHealthy<const Key extends string>(key: Key) {
    const check = this.health.check(key);
    let queue: Record<string, number>;
    try {
      queue = await withTimeout(
        (async () => {
          await this.queue.queue.client.ping();
          const { waiting, delayed, active, failed } = await this.queue.queue.getJobCounts();
          return { waiting, delayed, active, failed };
        })(),
        PING_TIMEOUT_MS,
        `Redis did not answer within ${PING_TIMEOUT_MS} ms`,
      );
    } catch (error) {
      return check.down({ redis: 'down', message: (error as Error).message });
    }
    const endpoints = this.dataSource.getRepository(WebhookEndpoint);
    const [critical, disabled] = await Promise.all([
      endpoints.countBy({ active: true, consecutiveFailures: MoreThanOrEqual(CRITICAL_AFTER_FAILURES) }),
      endpoints.countBy({ active: false }),
    ]);
    return check.up({ redis: 'up', queue, endpoints: { critical, disabled } });
  }
}
