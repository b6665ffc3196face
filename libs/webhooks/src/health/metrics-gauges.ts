import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EndpointGate } from '../delivery/endpoint-gate.js';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { HEALTH_STATES } from '../endpoints/endpoint-health.js';
import { WebhookMetrics } from '../metrics/webhook-metrics.js';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { withTimeout } from '../util/timeout.js';
import { countByState, outboxCounts } from './overview.js';

/** A scrape waits this long for each source (database, Redis) before leaving its gauge empty. */
const SCRAPE_TIMEOUT_MS = 2000;

/**
 * The gauges, read at scrape time with aggregate queries (the same as the overview's): the outbox backlog, the
 * queue's jobs, endpoints by health state and by circuit and pause. Nothing runs between scrapes.
 */
@Injectable()
export class MetricsGauges implements OnModuleInit, OnModuleDestroy {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: WebhookMetrics,
    private readonly queue: DeliveryQueue,
    private readonly endpoints: EndpointCache,
    private readonly gate: EndpointGate,
  ) {}

  onModuleInit(): void {
    if (!this.metrics.enabled) return;
    const timed = <T>(work: Promise<T>) => withTimeout(work, SCRAPE_TIMEOUT_MS, `no answer within ${SCRAPE_TIMEOUT_MS} ms`);
    this.metrics.gauge('outbox_pending', 'Deliveries not finished (the outbox), by status: pending, delivering.', ['status'], async () => {
      const counts = await timed(outboxCounts(this.dataSource));
      return [
        [{ status: 'pending' }, counts.pending],
        [{ status: 'delivering' }, counts.delivering],
      ];
    });
    this.metrics.gauge('queue_jobs', 'Jobs in the delivery queue, by state.', ['state'], async () => {
      const counts = await timed(this.queue.counts());
      return Object.entries(counts).map(([state, count]) => [{ state }, count]);
    });
    this.metrics.gauge(
      'endpoints',
      'Endpoints by health state; circuit_open, circuit_half_open and paused count active endpoints in that delivery state.',
      ['state'],
      async () => {
        const [byHealth, delivery] = await Promise.all([timed(countByState(this.dataSource)), timed(this.deliveryStates())]);
        return [...HEALTH_STATES.map((state): [Record<string, string>, number] => [{ state }, byHealth[state]]), ...delivery];
      },
    );
  }

  onModuleDestroy(): void {
    this.metrics.unregister();
  }

  /** Open and half-open circuits and pauses of the active endpoints, from the gate's state in Redis. */
  private async deliveryStates(): Promise<Array<[Record<string, string>, number]>> {
    const active = this.endpoints.all().filter((e) => e.active);
    const { circuitOpen: open, circuitHalfOpen: halfOpen, paused } = await this.gate.summary(active.map((e) => e.id));
    return [
      [{ state: 'circuit_open' }, open],
      [{ state: 'circuit_half_open' }, halfOpen],
      [{ state: 'paused' }, paused],
    ];
  }
}
