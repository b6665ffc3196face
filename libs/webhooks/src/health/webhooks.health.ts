import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThanOrEqual } from 'typeorm';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { EndpointGate } from '../delivery/endpoint-gate.js';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { WebhookEndpoint } from '../entities/index.js';
import { withTimeout } from '../util/timeout.js';
import { CRITICAL_AFTER_FAILURES } from '../endpoints/endpoint-health.js';

const PING_TIMEOUT_MS = 2000;

/** What `isHealthy(key)` answers: the shape `@nestjs/terminus` indicators return (`HealthIndicatorResult`). */
export type WebhooksHealthResult<Key extends string> = Record<Key, { status: 'up' | 'down' } & Record<string, unknown>>;

/**
 * A `@nestjs/terminus` indicator (it returns terminus's result shape without importing terminus, so hosts without
 * terminus can call it too): down when Redis or the database does not answer (within 2 s each; it never throws);
 * otherwise up, with the queue backlog
 * (waiting, delayed, active, failed) and the endpoints that need attention (`critical`: 5+ failed deliveries in a
 * row; `disabled`; `circuitOpen`: unreachable, deliveries held until a probe succeeds; `paused` by `Retry-After`),
 * with `held`, the deliveries the endpoints' gates hold.
 * Use it in a health controller: `health.check([() => webhooks.isHealthy('webhooks')])`.
 */
@Injectable()
export class WebhooksHealthIndicator {
  constructor(
    private readonly queue: DeliveryQueue,
    private readonly gate: EndpointGate,
    private readonly cache: EndpointCache,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async isHealthy<const Key extends string>(key: Key): Promise<WebhooksHealthResult<Key>> {
    const result = (status: 'up' | 'down', details: Record<string, unknown>) =>
      ({ [key]: { status, ...details } }) as WebhooksHealthResult<Key>;
    let queue: Record<string, number>;
    let isolation: { circuitOpen: number; paused: number; held: number } = { circuitOpen: 0, paused: 0, held: 0 };
    try {
      queue = await withTimeout(
        (async () => {
          await this.queue.ping();
          const [{ waiting, delayed, active, failed }, gated] = await Promise.all([
            this.queue.counts(),
            this.gate.summary(
              this.cache
                .all()
                .filter((e) => e.active)
                .map((e) => e.id),
            ),
          ]);
          // circuitOpen counts half-open circuits too: their deliveries wait for a probe all the same.
          isolation = { circuitOpen: gated.circuitOpen + gated.circuitHalfOpen, paused: gated.paused, held: gated.held };
          return { waiting, delayed, active, failed };
        })(),
        PING_TIMEOUT_MS,
        `Redis did not answer within ${PING_TIMEOUT_MS} ms`,
      );
    } catch (error) {
      return result('down', { redis: 'down', message: (error as Error).message });
    }
    // Without the database nothing is recorded or delivered: down, with what Redis told (the backlog waits there).
    let counts: [number, number];
    try {
      const endpoints = this.dataSource.getRepository(WebhookEndpoint);
      counts = await withTimeout(
        Promise.all([
          endpoints.countBy({ active: true, consecutiveFailures: MoreThanOrEqual(CRITICAL_AFTER_FAILURES) }),
          endpoints.countBy({ active: false }),
        ]),
        PING_TIMEOUT_MS,
        `the database did not answer within ${PING_TIMEOUT_MS} ms`,
      );
    } catch (error) {
      return result('down', { redis: 'up', database: 'down', message: (error as Error).message, queue, endpoints: isolation });
    }
    const [critical, disabled] = counts;
    return result('up', { redis: 'up', database: 'up', queue, endpoints: { critical, disabled, ...isolation } });
  }
}
