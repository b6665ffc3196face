import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DeliveryQueue } from '../delivery/delivery-queue.js';

const PING_TIMEOUT_MS = 2000;

/**
 * A `@nestjs/terminus` indicator: Redis reachable, and the queue backlog. Use it in a health controller:
 * `health.check([() => webhooks.isHealthy('webhooks')])`.
 */
@Injectable()
export class WebhooksHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queue: DeliveryQueue,
  ) {}

  async isHealthy<const Key extends string>(key: Key) {
    const check = this.health.check(key);
    try {
      const counts = await withTimeout(
        (async () => {
          await this.queue.queue.client.ping();
          return this.queue.queue.getJobCounts();
        })(),
        PING_TIMEOUT_MS,
      );
      return check.up({ redis: 'up', queue: counts });
    } catch (error) {
      return check.down({ redis: 'down', message: (error as Error).message });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
