import { Command, Option } from 'nest-commander';
import { randomBytes } from 'node:crypto';
import { In } from 'typeorm';
import { MAX_IN_FLIGHT } from '../endpoints/endpoint-checks.js';
import { WebhookEvent } from '../entities/index.js';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import type { WebhooksService } from '../webhooks.service.js';
import { EXIT_FAILURE, parseIntegerOption } from './arguments.js';
import { WebhooksCommand, type CommandOptions } from './command.js';
import { count, fields, ms, type CliOutput } from './output.js';
import { percentile } from '../health/latency.js';
import { PerfReceiver } from './perf-receiver.js';

/** The topic of perf's events (they go to its temporary endpoint only, whatever the subscriptions). */
export const PERF_TOPIC = 'webhook.perf';
/** Events saved at the same time. */
const WRITERS = 8;
/** Events saved but not received yet, at most per worker slot: a bounded backlog, so no delivery waits long. */
const WINDOW_PER_SLOT = 10;
const CLEANUP_CHUNK = 500;

export interface PerfResult {
  events: number;
  received: number;
  duplicates: number;
  url: string;
  endpointId: string;
  concurrency: number;
  maxInFlight: number;
  /** From the first save to the last one. */
  recordSeconds: number;
  /** From the first save to the last receipt. */
  deliverSeconds: number;
  eventsPerSecond: number;
  deliveriesPerSecond: number;
  /** Event saved → received by the receiver, nearest-rank percentiles in milliseconds. */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  /** The HTTP attempts' own duration, as logged. */
  attemptMs: { p50: number | null; p95: number | null };
  /** The run's Bull queue was its own and was removed at the end. */
  isolatedQueue: boolean;
}

@Command({
  name: 'perf',
  description:
    'a load test: events through the outbox, queue and worker to a receiver this command starts on 127.0.0.1 (exit 1 if some do not arrive)',
})
export class PerfCommand extends WebhooksCommand {
  @Option({ flags: '--events <n>', description: 'how many events, 1 to 1000000 (default 1000)' })
  parseEvents(value: string): string {
    return value;
  }

  @Option({ flags: '--timeout <seconds>', description: 'how long to wait for the deliveries after the last save (default 120)' })
  parseTimeout(value: string): string {
    return value;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<number> {
    const events = options.events === undefined ? 1000 : parseIntegerOption(options.events, '--events', 1, 1_000_000);
    const timeoutMs = (options.timeout === undefined ? 120 : parseIntegerOption(options.timeout, '--timeout', 1, 86_400)) * 1000;
    const { worker, concurrency } = this.cli.moduleOptions;
    if (!worker) {
      throw new WebhookConfigurationError(
        'perf needs a delivery worker in this process: start the CLI for perf with WebhooksModule option worker: true ' +
          '(webhooksCliSettings() does, with a Bull prefix of its own).',
      );
    }
    const webhooks = this.cli.webhooks;
    const [topic] = webhooks.topics();
    if (!topic)
      throw new WebhookConfigurationError('perf needs at least one topic (a @WebhookEntity or a declared topic) to create its endpoint.');

    const receiver = await PerfReceiver.start();
    const maxInFlight = Math.min(concurrency, MAX_IN_FLIGHT);
    const eventIds: string[] = [];
    let endpointId: string | undefined;
    try {
      const endpoint = await webhooks.createEndpoint({
        url: receiver.url,
        // Subscribed to a real topic with a filter nothing passes: the perf events reach it, no other event does.
        topics: [topic],
        filters: { [topic.slice(0, topic.indexOf('.'))]: { ids: [`perf-${randomBytes(6).toString('hex')}`] } },
        description: 'Temporary endpoint of the perf command (deleted when it ends).',
        maxInFlight,
      });
      endpointId = endpoint.id;
      const result = await this.load(webhooks, endpoint.id, receiver, events, concurrency * WINDOW_PER_SLOT, timeoutMs, eventIds);
      const report: PerfResult = {
        ...result,
        url: receiver.url,
        endpointId: endpoint.id,
        concurrency,
        maxInFlight,
        isolatedQueue: this.isolated,
      };
      out.result(report, () => render(report));
      return report.received === events ? 0 : EXIT_FAILURE;
    } finally {
      await receiver.close();
      if (endpointId) await this.cleanUp(webhooks, endpointId, eventIds);
    }
  }

  private get isolated(): boolean {
    return this.cli.options.isolatedQueue === true;
  }

  /** Saves `events` events for the endpoint (at most `window` not received yet) and waits for them. */
  private async load(
    webhooks: WebhooksService,
    endpointId: string,
    receiver: PerfReceiver,
    events: number,
    window: number,
    timeoutMs: number,
    eventIds: string[],
  ): Promise<Omit<PerfResult, 'url' | 'endpointId' | 'concurrency' | 'maxInFlight' | 'isolatedQueue'>> {
    const outbox = this.cli.get(OutboxService);
    const queue = this.cli.get(DeliveryQueue);
    const manager = webhooks.dataSource.manager;
    const startedAt = new Date();
    const start = Date.now();
    let next = 0;
    const writer = async () => {
      while (next < events) {
        const n = next++;
        if (n >= window && !(await receiver.waitFor(n - window + 1, timeoutMs))) return;
        const job = await outbox.recordFor(
          manager,
          { topic: PERF_TOPIC, entityName: null, entityId: null, owner: null, data: { perf: true, n } },
          endpointId,
          'scheduled',
        );
        eventIds.push(job.eventId);
        await queue.enqueue([job]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITERS, events) }, writer));
    const recordMs = Date.now() - start;
    await receiver.waitFor(events, timeoutMs);
    const deliverMs = Math.max(1, (receiver.received ? receiver.lastAt : Date.now()) - start);
    const sorted = [...receiver.latencies].sort((a, b) => a - b);
    const stats = await webhooks.deliveryStats({ since: new Date(startedAt.getTime() - 1000) });
    const attempts = stats.endpoints.find((e) => e.endpointId === endpointId)?.attempts;
    return {
      events,
      received: receiver.received,
      duplicates: receiver.duplicates,
      recordSeconds: recordMs / 1000,
      deliverSeconds: deliverMs / 1000,
      eventsPerSecond: (eventIds.length / Math.max(recordMs, 1)) * 1000,
      deliveriesPerSecond: (receiver.received / deliverMs) * 1000,
      latencyMs: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? null },
      attemptMs: { p50: attempts?.p50Ms ?? null, p95: attempts?.p95Ms ?? null },
    };
  }

  /**
   * Deletes the endpoint (its deliveries and attempts go with it) once no delivery of it is in flight, then the
   * run's events, and with a queue of its own every key of that queue.
   */
  private async cleanUp(webhooks: WebhooksService, endpointId: string, eventIds: readonly string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await webhooks.searchDeliveries({ endpointId, status: ['delivering'], limit: 1 })).length) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await webhooks.deleteEndpoint(endpointId);
    const repo = webhooks.dataSource.getRepository(WebhookEvent);
    for (let i = 0; i < eventIds.length; i += CLEANUP_CHUNK) await repo.delete({ id: In(eventIds.slice(i, i + CLEANUP_CHUNK)) });
    if (this.isolated) await this.cli.get(DeliveryQueue).obliterate();
  }
}

function render(r: PerfResult): string {
  const l = r.latencyMs;
  return [
    `perf: ${count(r.events)} events to ${r.url} (worker concurrency ${r.concurrency}, ${r.maxInFlight} in flight to the endpoint at most)`,
    fields([
      ['recorded', `${count(r.events)} events in ${r.recordSeconds.toFixed(2)} s (${count(Math.round(r.eventsPerSecond))} events/s)`],
      [
        'delivered',
        `${count(r.received)} in ${r.deliverSeconds.toFixed(2)} s from the first save to the last receipt: ` +
          `${count(Math.round(r.deliveriesPerSecond))} deliveries/s`,
      ],
      ['latency', `save → receipt p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`],
      ['attempts', `HTTP attempt p50 ${ms(r.attemptMs.p50)}, p95 ${ms(r.attemptMs.p95)}`],
    ]),
    ...(r.received < r.events ? [`${count(r.events - r.received)} events did not arrive in time.`] : []),
    ...(r.duplicates ? [`${count(r.duplicates)} events arrived twice.`] : []),
    `Removed the temporary endpoint ${r.endpointId} and its events${r.isolatedQueue ? ', and the run’s queue' : ''}.`,
  ].join('\n');
}
