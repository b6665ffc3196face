import type { DataSource } from 'typeorm';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../entities/index.js';
import { idFloor } from '../ids.js';
import { entityColumnSql } from '../store/sql-names.js';
import { withTimeout } from '../util/timeout.js';
import { deliveryLatency, type DeliveryLatency } from './latency.js';
import { sqlDialect } from '../util/sql-dialect.js';
import { healthState, healthStateSql, type HealthState } from '../endpoints/endpoint-health.js';

/** What an operator needs at a glance: the AdminJS dashboard's data, usable by any other UI too. */
export interface WebhooksOverview {
  /** When these figures were read. */
  at: Date;
  /** Endpoints by health state, and in all. */
  endpoints: Record<HealthState, number> & { total: number };
  /** Endpoints whose last deliveries failed, most failures first, with the newest error. */
  failing: FailingEndpoint[];
  /** How many endpoints are failing in all (`failing` lists at most `failingLimit`). */
  failingTotal: number;
  /** Delivery attempts per minute over the last hour, oldest minute first (60 entries). */
  attemptsPerMinute: { minute: Date; succeeded: number; failed: number }[];
  /**
   * The last hour: commit-to-delivered percentiles of the deliveries created in it that succeeded, and the share of
   * its attempts that failed (null without attempts).
   */
  lastHour: DeliveryLatency & { attempts: number; errorRate: number | null };
  /** Deliveries not finished yet, by the database (the outbox is the source of truth). */
  outbox: { pending: number; delivering: number };
  /** The Bull queue's counts, or null with the reason when Redis did not answer in time. */
  queue: { waiting: number; active: number; delayed: number; failed: number } | null;
  queueError: string | null;
}

export interface FailingEndpoint {
  id: string;
  url: string;
  /** The endpoint's owner (tenant); null: an operator endpoint. */
  ownerId: string | null;
  state: HealthState;
  consecutiveFailures: number;
  failingSince: Date | null;
  lastFailureAt: Date | null;
  lastError: string | null;
  lastResponseStatus: number | null;
}

export interface OverviewOptions {
  /** How many failing endpoints to list. @default 10 */
  failingLimit?: number;
  /** Now, for tests and for a fixed reading. */
  now?: Date;
}

interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

const MINUTES = 60;
const QUEUE_TIMEOUT_MS = 1500;

/**
 * Reads the overview with aggregate queries only: a handful of statements whatever the number of endpoints and
 * attempts (the attempts of the last hour are counted by the database, found through the primary key).
 */
export async function readOverview(
  dataSource: DataSource,
  queueCounts: () => Promise<JobCounts>,
  options: OverviewOptions = {},
): Promise<WebhooksOverview> {
  const now = options.now ?? new Date();
  const failingLimit = options.failingLimit ?? 10;
  const [endpoints, failing, perMinute, latency, outbox, queue] = await Promise.all([
    countByState(dataSource),
    failingEndpoints(dataSource, failingLimit),
    attemptsPerMinute(dataSource, now),
    deliveryLatency(dataSource, new Date(now.getTime() - MINUTES * 60_000)),
    outboxCounts(dataSource),
    withTimeout(queueCounts(), QUEUE_TIMEOUT_MS, `no answer within ${QUEUE_TIMEOUT_MS} ms`).then(
      (counts) => ({ counts, error: null }),
      (error: Error) => ({ counts: null, error: `The queue did not answer: ${error.message}` }),
    ),
  ]);
  return {
    at: now,
    endpoints,
    failing: failing.rows,
    failingTotal: failing.total,
    attemptsPerMinute: perMinute,
    lastHour: { ...latency, ...errorRate(perMinute) },
    outbox,
    queue: queue.counts && {
      waiting: queue.counts.waiting,
      active: queue.counts.active,
      delayed: queue.counts.delayed,
      failed: queue.counts.failed,
    },
    queueError: queue.error,
  };
}

function errorRate(perMinute: WebhooksOverview['attemptsPerMinute']): { attempts: number; errorRate: number | null } {
  const failed = perMinute.reduce((n, m) => n + m.failed, 0);
  const attempts = perMinute.reduce((n, m) => n + m.succeeded + m.failed, 0);
  return { attempts, errorRate: attempts === 0 ? null : failed / attempts };
}

const col = entityColumnSql;

export async function countByState(dataSource: DataSource): Promise<WebhooksOverview['endpoints']> {
  const rows = await dataSource
    .getRepository(WebhookEndpoint)
    .createQueryBuilder('e')
    .select(healthStateSql(dataSource, 'e'), 'state')
    .addSelect('COUNT(*)', 'count')
    .groupBy('state')
    .getRawMany<{ state: HealthState; count: string | number }>();
  const counts = { untested: 0, healthy: 0, warning: 0, critical: 0, disabled: 0, total: 0 };
  for (const row of rows) {
    counts[row.state] = Number(row.count);
    counts.total += Number(row.count);
  }
  return counts;
}

async function failingEndpoints(dataSource: DataSource, limit: number): Promise<{ rows: FailingEndpoint[]; total: number }> {
  const repo = dataSource.getRepository(WebhookEndpoint);
  const failures = col(dataSource, WebhookEndpoint, 'consecutiveFailures');
  const [endpoints, total] = await Promise.all([
    repo
      .createQueryBuilder('e')
      .select(['e.id', 'e.url', 'e.ownerId', 'e.active', 'e.consecutiveFailures', 'e.failingSince', 'e.lastFailureAt', 'e.lastSuccessAt'])
      .where(`e.${failures} > 0`)
      .orderBy('e.consecutiveFailures', 'DESC')
      .addOrderBy('e.lastFailureAt', 'DESC')
      .take(limit)
      .getMany(),
    repo.createQueryBuilder('e').where(`e.${failures} > 0`).getCount(),
  ]);
  // One short indexed read per listed endpoint (at most `limit`): its newest delivery that recorded an error.
  const deliveries = dataSource.getRepository(WebhookDelivery);
  const rows = await Promise.all(
    endpoints.map(async (e): Promise<FailingEndpoint> => {
      const last = await deliveries
        .createQueryBuilder('d')
        .select(['d.id', 'd.lastError', 'd.lastResponseStatus'])
        .where('d.endpointId = :id', { id: e.id })
        .andWhere(`d.${col(dataSource, WebhookDelivery, 'lastError')} IS NOT NULL`)
        .orderBy('d.id', 'DESC')
        .limit(1)
        .getOne();
      return {
        id: e.id,
        url: e.url,
        ownerId: e.ownerId,
        state: healthState(e),
        consecutiveFailures: e.consecutiveFailures,
        failingSince: e.failingSince,
        lastFailureAt: e.lastFailureAt,
        lastError: last?.lastError ?? null,
        lastResponseStatus: last?.lastResponseStatus ?? null,
      };
    }),
  );
  return { rows, total };
}

/**
 * Attempts of the last hour by minute. The rows are found through the primary key (attempt ids are time-ordered by
 * their `createdAt`), so the delivery path maintains no extra index for this. The minute is computed by the
 * database relative to `start`, a parameter compared as an instant (the PostgreSQL column is `timestamptz`; on SQLite
 * and MySQL the driver writes the parameter as it writes the column).
 */
async function attemptsPerMinute(dataSource: DataSource, now: Date): Promise<WebhooksOverview['attemptsPerMinute']> {
  const start = new Date(Math.floor(now.getTime() / 60_000) * 60_000 - (MINUTES - 1) * 60_000);
  const createdAt = `a.${col(dataSource, WebhookAttempt, 'createdAt')}`;
  const status = `a.${col(dataSource, WebhookAttempt, 'responseStatus')}`;
  const bucket = minuteBucket(dataSource.options.type, createdAt);
  const rows = await dataSource
    .getRepository(WebhookAttempt)
    .createQueryBuilder('a')
    .select(bucket, 'minute')
    .addSelect(`SUM(CASE WHEN ${status} >= 200 AND ${status} < 300 THEN 1 ELSE 0 END)`, 'succeeded')
    .addSelect(`SUM(CASE WHEN ${status} >= 200 AND ${status} < 300 THEN 0 ELSE 1 END)`, 'failed')
    .where('a.id >= :floor', { floor: idFloor('att', start.getTime()) })
    .setParameter('start', start)
    .groupBy('minute')
    .getRawMany<{ minute: string | number; succeeded: string | number; failed: string | number }>();
  const series = Array.from({ length: MINUTES }, (_, i) => ({ minute: new Date(start.getTime() + i * 60_000), succeeded: 0, failed: 0 }));
  for (const row of rows) {
    const i = Math.floor(Number(row.minute));
    if (i < 0 || i >= MINUTES) continue;
    series[i].succeeded += Number(row.succeeded);
    series[i].failed += Number(row.failed);
  }
  return series;
}

function minuteBucket(type: string, column: string): string {
  switch (sqlDialect(type)) {
    case 'postgres':
    case 'cockroach':
      return `FLOOR(EXTRACT(EPOCH FROM (${column} - CAST(:start AS timestamptz))) / 60)`;
    case 'sqlite':
      return `CAST((julianday(${column}) - julianday(:start)) * 1440 AS INTEGER)`;
    case 'mysql':
      return `FLOOR(TIMESTAMPDIFF(SECOND, :start, ${column}) / 60)`;
    default:
      throw new Error(`The webhooks overview does not know how to group by minute on ${type}.`);
  }
}

export async function outboxCounts(dataSource: DataSource): Promise<WebhooksOverview['outbox']> {
  const rows = await dataSource
    .getRepository(WebhookDelivery)
    .createQueryBuilder('d')
    .select('d.status', 'status')
    .addSelect('COUNT(*)', 'count')
    .where('d.status IN (:...open)', { open: ['pending', 'delivering'] })
    .groupBy('d.status')
    .getRawMany<{ status: 'pending' | 'delivering'; count: string | number }>();
  const counts = { pending: 0, delivering: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}
