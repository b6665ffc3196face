import { Logger } from '@nestjs/common';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';

/** The part of a prom-client `Registry` the library uses (typed here so prom-client stays an optional peer). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** `metrics` module option, resolved. */
export interface ResolvedMetricsOptions {
  registry: MetricsRegistry | undefined;
  endpointLabel: boolean;
  prefix: string;
}

interface Labelled {
  inc(labels: Record<string, string>, value?: number): void;
}
interface Observed {
  observe(labels: Record<string, string>, value: number): void;
}
interface GaugeLike {
  set(labels: Record<string, string>, value: number): void;
  reset(): void;
}
interface PromClient {
  register: MetricsRegistry;
  Counter: new (config: object) => Labelled;
  Histogram: new (config: object) => Observed;
  Gauge: new (config: object) => GaugeLike;
}

/** A gauge's reading: one value per label set. */
export type GaugeReading = Array<[labels: Record<string, string>, value: number]>;

/** Attempt durations from 5 ms to 30 s (the longest request timeout). */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Commit to delivered: milliseconds when all is well, up to the hours of the retry schedule. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000];

/**
 * The library's Prometheus metrics (prom-client), or nothing when the `metrics` option is off: every method is then
 * a no-op. Counters and histograms are updated on the hot paths (a label lookup each); gauges are read at scrape
 * time by the collectors given to `gauge()`.
 */
export class WebhookMetrics {
  private static readonly logger = new Logger('Webhooks');
  private readonly names: string[] = [];
  private readonly events?: Labelled;
  private readonly deliveries?: Labelled;
  private readonly attempts?: Labelled;
  private readonly attemptSeconds?: Observed;
  private readonly commitToDelivery?: Observed;

  private constructor(
    private readonly client?: PromClient,
    private readonly options?: ResolvedMetricsOptions,
  ) {
    if (!client || !options) return;
    const endpoint = options.endpointLabel ? ['endpoint'] : [];
    this.events = this.metric(client.Counter, 'events_recorded_total', 'Events committed to the outbox, by topic.', ['topic']);
    this.deliveries = this.metric(client.Counter, 'deliveries_total', 'Deliveries finished, by outcome (succeeded, failed).', [
      'outcome',
      ...endpoint,
    ]);
    this.attempts = this.metric(
      client.Counter,
      'attempts_total',
      'Delivery attempts, by outcome (succeeded, failed) and status class (2xx ... 5xx, none: no answer).',
      ['outcome', 'status_class', ...endpoint],
    );
    this.attemptSeconds = this.metric(
      client.Histogram,
      'attempt_duration_seconds',
      'Duration of delivery attempts that were sent.',
      endpoint,
      {
        buckets: ATTEMPT_BUCKETS,
      },
    );
    this.commitToDelivery = this.metric(
      client.Histogram,
      'commit_to_delivery_seconds',
      "From an event's recording in its transaction to its endpoint's 2xx, retries included.",
      endpoint,
      { buckets: LATENCY_BUCKETS },
    );
  }

  /** Metrics off. */
  static readonly off = new WebhookMetrics();

  /** Loads prom-client and registers the metrics, or the no-op instance when `options` is false. */
  static async create(options: ResolvedMetricsOptions | false): Promise<WebhookMetrics> {
    if (!options) return WebhookMetrics.off;
    let client: PromClient;
    try {
      const loaded = (await import('prom-client')) as unknown as PromClient & { default?: PromClient };
      client = loaded.Counter ? loaded : loaded.default!;
    } catch (error) {
      throw new WebhookConfigurationError(
        `WebhooksModule option metrics needs prom-client: npm install prom-client (${(error as Error).message}).`,
      );
    }
    return new WebhookMetrics(client, options);
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Events whose transaction committed. */
  eventsRecorded(topic: string, count = 1): void {
    this.events?.inc({ topic }, count);
  }

  /** One attempt: `status` null when no answer came (or nothing was sent: `durationMs` 0). */
  attempt(endpointId: string, succeeded: boolean, status: number | null, durationMs: number): void {
    if (!this.attempts) return;
    const endpoint = this.endpointLabels(endpointId);
    this.attempts.inc({ outcome: succeeded ? 'succeeded' : 'failed', status_class: statusClass(status), ...endpoint });
    if (durationMs > 0) this.attemptSeconds!.observe(endpoint, durationMs / 1000);
  }

  /** A delivery finished: it succeeded, or failed for good (no retry left). */
  delivery(endpointId: string, succeeded: boolean, recordedAt: number | null, at: number): void {
    if (!this.deliveries) return;
    const endpoint = this.endpointLabels(endpointId);
    this.deliveries.inc({ outcome: succeeded ? 'succeeded' : 'failed', ...endpoint });
    if (succeeded && recordedAt !== null && at >= recordedAt) this.commitToDelivery!.observe(endpoint, (at - recordedAt) / 1000);
  }

  /**
   * A gauge read at scrape time. A collector that fails (the database away) leaves the gauge empty for that scrape
   * rather than failing the whole exposition or showing stale values.
   */
  gauge(name: string, help: string, labels: string[], read: () => Promise<GaugeReading>): void {
    if (!this.client) return;
    const full = this.fullName(name);
    this.metric(this.client.Gauge, name, help, labels, {
      async collect(this: GaugeLike) {
        this.reset();
        try {
          for (const [values, value] of await read()) this.set(values, value);
        } catch (error) {
          WebhookMetrics.logger.warn(`Metric ${full} could not be read: ${(error as Error).message}`);
        }
      },
    });
  }

  /** Takes the library's metrics off the registry (the module is closing). */
  unregister(): void {
    if (!this.client) return;
    const registry = this.registry();
    for (const name of this.names) registry.removeSingleMetric(name);
    this.names.length = 0;
  }

  private endpointLabels(endpointId: string): Record<string, string> {
    return this.options!.endpointLabel ? { endpoint: endpointId } : {};
  }

  private registry(): MetricsRegistry {
    return this.options!.registry ?? this.client!.register;
  }

  private fullName(name: string): string {
    return `${this.options!.prefix}${name}`;
  }

  /** Registers a metric, replacing one of the same name (an earlier app in this process, a test). */
  private metric<T>(Kind: new (config: object) => T, name: string, help: string, labelNames: string[], extra: object = {}): T {
    const registry = this.registry();
    const full = this.fullName(name);
    if (registry.getSingleMetric(full)) registry.removeSingleMetric(full);
    this.names.push(full);
    return new Kind({ name: full, help, labelNames, registers: [registry], ...extra });
  }
}

function statusClass(status: number | null): string {
  return status === null ? 'none' : `${Math.floor(status / 100)}xx`;
}
