import { WebhookConfigurationError } from './errors/webhooks.errors.js';

/**
 * Options of `WebhooksModule.forRoot()` / `forRootAsync()`. Every option is optional; the defaults are listed
 * with each and in the README's configuration table.
 */
export interface WebhooksModuleOptions {
  /**
   * Run the delivery worker (the Bull processor) in this process. Set `false` in API-only processes and run a
   * worker-only process on the same Redis and database.
   * @default true
   */
  worker?: boolean;
  /**
   * Deliveries one worker process sends at the same time.
   * @default 20
   */
  concurrency?: number;
  /**
   * Delays in milliseconds before each retry: the first attempt is immediate, then one retry per entry, so
   * `maxAttempts = retrySchedule.length + 1`. The default follows Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
   * @default [5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]
   */
  retrySchedule?: number[];
  /**
   * Random spread applied to each retry delay, as a fraction: 0.2 means each delay is drawn from ±20 %.
   * @default 0.2
   */
  jitter?: number;
  /**
   * Time allowed for one HTTP attempt, from connect to the end of the (capped) response body.
   * @default 15000
   */
  requestTimeoutMs?: number;
  /**
   * Bytes of a response body read and stored on the attempt row; the rest is discarded without buffering.
   * @default 16384
   */
  responseBodyLimitBytes?: number;
  /**
   * `User-Agent` header of deliveries.
   * @default 'nestjs-webhooks/<version>'
   */
  userAgent?: string;
  /**
   * What a bulk `update()`/`delete()`/`softDelete()` by criteria on a `@WebhookEntity` does. TypeORM does not say
   * which rows such a statement changes, so no correct event can be built:
   * - `'reject'`: throw `WebhookBulkOperationError` before the statement runs (nothing changes);
   * - `'skip'`: run the statement and send no event (a conscious choice, logged once per entity).
   * @default 'reject'
   */
  bulkOperations?: 'reject' | 'skip';
  /**
   * Entities expected to be webhook entities. Optional: decorated entities are discovered from the DataSource.
   * When given, start-up fails unless each is decorated and registered with the DataSource.
   * @default undefined
   */
  entities?: Function[];
  /**
   * Run the outbox relay (re-enqueues deliveries that were committed but never reached the queue, or whose worker
   * died mid-attempt) at start-up and then every `relayIntervalMs`. 0 disables the periodic run.
   * @default 30000
   */
  relayIntervalMs?: number;
  /**
   * A delivery is considered lost by the relay when its due time passed more than this long ago.
   * @default 10000
   */
  relayGraceMs?: number;
  /**
   * Deliveries the relay handles per batch (it pages through all of them).
   * @default 500
   */
  relayBatchSize?: number;
  /**
   * Endpoints are cached in memory (no query per event). Changes made through `WebhooksService` refresh the cache
   * at once in this process and, over Redis pub/sub, in every other; this periodic reload is the safety net.
   * @default 30000
   */
  endpointCacheRefreshMs?: number;
  /**
   * Bull jobs kept in Redis after they finish (history lives in the database, not in Redis).
   * @default { completed: 0, failed: 1000 }
   */
  keepJobs?: { completed?: number; failed?: number };
}

export type ResolvedWebhooksOptions = Required<Omit<WebhooksModuleOptions, 'entities' | 'keepJobs'>> & {
  entities: Function[] | undefined;
  keepJobs: { completed: number; failed: number };
};

export const LIBRARY_VERSION = '0.1.0';

export const DEFAULT_RETRY_SCHEDULE = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

export function resolveOptions(options: WebhooksModuleOptions = {}): ResolvedWebhooksOptions {
  const resolved: ResolvedWebhooksOptions = {
    worker: options.worker ?? true,
    concurrency: options.concurrency ?? 20,
    retrySchedule: options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
    jitter: options.jitter ?? 0.2,
    requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
    responseBodyLimitBytes: options.responseBodyLimitBytes ?? 16_384,
    userAgent: options.userAgent ?? `nestjs-webhooks/${LIBRARY_VERSION}`,
    bulkOperations: options.bulkOperations ?? 'reject',
    entities: options.entities,
    relayIntervalMs: options.relayIntervalMs ?? 30_000,
    relayGraceMs: options.relayGraceMs ?? 10_000,
    relayBatchSize: options.relayBatchSize ?? 500,
    endpointCacheRefreshMs: options.endpointCacheRefreshMs ?? 30_000,
    keepJobs: { completed: options.keepJobs?.completed ?? 0, failed: options.keepJobs?.failed ?? 1000 },
  };
  validateOptions(resolved);
  return resolved;
}

function validateOptions(o: ResolvedWebhooksOptions): void {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) problems.push(`${name} must be an integer >= ${min} (got ${v})`);
  };
  positiveInt('concurrency', o.concurrency);
  positiveInt('requestTimeoutMs', o.requestTimeoutMs);
  positiveInt('responseBodyLimitBytes', o.responseBodyLimitBytes, 0);
  positiveInt('relayIntervalMs', o.relayIntervalMs, 0);
  positiveInt('relayGraceMs', o.relayGraceMs, 0);
  positiveInt('relayBatchSize', o.relayBatchSize);
  positiveInt('endpointCacheRefreshMs', o.endpointCacheRefreshMs, 0);
  if (!Array.isArray(o.retrySchedule) || o.retrySchedule.some((d) => !Number.isFinite(d) || d < 0)) {
    problems.push('retrySchedule must be an array of delays in milliseconds (>= 0)');
  }
  if (!(o.jitter >= 0 && o.jitter < 1)) problems.push(`jitter must be in [0, 1) (got ${o.jitter})`);
  if (o.bulkOperations !== 'reject' && o.bulkOperations !== 'skip') {
    problems.push(`bulkOperations must be 'reject' or 'skip' (got ${JSON.stringify(o.bulkOperations)})`);
  }
  if (problems.length) {
    throw new WebhookConfigurationError(`Invalid WebhooksModule options: ${problems.join('; ')}.`);
  }
}
