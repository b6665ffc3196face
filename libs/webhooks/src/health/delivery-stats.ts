import { In, type DataSource } from 'typeorm';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../entities/index.js';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { idRange, idTime } from '../ids.js';
import { entityColumnSql } from '../store/sql-names.js';
import { timeRange, type TimeRange } from '../util/time-range.js';

/** A report's time range; both ends optional. */
export interface StatsOptions {
  /** From this time (a Date or an ISO 8601 string). @default 24 hours before `until` */
  since?: Date | string;
  /** Up to this time, excluded. @default now */
  until?: Date | string;
}

/** What happened in a time range, per endpoint: from `WebhooksService.deliveryStats()`. */
export interface WebhooksStats extends TimeRange {
  /** The endpoints with deliveries or attempts in the range, most deliveries first. */
  endpoints: EndpointStats[];
  /** The same counts over every endpoint (percentiles over every attempt). */
  total: Omit<EndpointStats, 'endpointId' | 'url' | 'ownerId'>;
}

export interface EndpointStats {
  endpointId: string;
  url: string;
  ownerId: string | null;
  /** Deliveries created in the range, by their status now (`pending` counts those still in flight too). */
  deliveries: { total: number; succeeded: number; failed: number; pending: number };
  /** Succeeded / finished deliveries of the range; null when none finished. */
  successRate: number | null;
  /**
   * HTTP attempts made in the range: how many, how many failed, and their duration in milliseconds (nearest-rank
   * percentiles; null without attempts).
   */
  attempts: { total: number; failed: number; p50Ms: number | null; p95Ms: number | null; maxMs: number | null };
}

export interface ErrorSummaryOptions extends StatsOptions {
  /** How many errors to list, most frequent first, 1 to 100. @default 10 */
  limit?: number;
}

/** The most frequent errors of failed attempts in a time range: from `WebhooksService.errorSummary()`. */
export interface WebhooksErrorSummary extends TimeRange {
  /** Failed attempts in the range, in all. */
  failedAttempts: number;
  /** How many different errors there were (`errors` lists at most `limit`). */
  distinctErrors: number;
  errors: ErrorGroup[];
}

export interface ErrorGroup {
  /** The attempt's error as logged (`HTTP 500`, `connect ECONNREFUSED ...`), without the "; gave up after N attempts" of a last one. */
  error: string;
  /** Failed attempts with this error. */
  count: number;
  /** The endpoints affected, most affected first. */
  endpoints: { endpointId: string; url: string | null; count: number }[];
  /** When the newest of them was made. */
  lastSeenAt: Date;
}

const DAY_MS = 86_400_000;
/** An IN list's length in the endpoint lookups (far below every database's parameter limit). */
const LOOKUP_CHUNK = 500;

type Raw = string | number | null;
const num = (v: Raw | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: Raw | undefined): number | null => (v === null || v === undefined ? null : Number(v));

const col = entityColumnSql;

/**
 * Deliveries and attempts of a time range per endpoint, with the success rate and attempt duration percentiles.
 * Two grouped queries whatever the volume (both ranges are read through the time-ordered primary keys), plus the
 * endpoints' URLs. The percentiles are computed by the database with window functions (PostgreSQL, MySQL 8,
 * MariaDB 10.2, SQLite 3.25 and later), so no attempt row leaves it.
 */
export async function readDeliveryStats(dataSource: DataSource, options: StatsOptions = {}, now = new Date()): Promise<WebhooksStats> {
  const range = timeRange(options, DAY_MS, 'Invalid stats request', now);
  const [deliveries, attempts, overall] = await Promise.all([
    deliveryCounts(dataSource, range),
    attemptFigures(dataSource, range, true),
    attemptFigures(dataSource, range, false),
  ]);
  const ids = [...new Set([...deliveries.keys(), ...attempts.keys()])];
  const endpoints = await endpointRows(dataSource, ids);
  const emptyDeliveries = () => ({ total: 0, succeeded: 0, failed: 0, pending: 0 });
  const emptyAttempts = { total: 0, failed: 0, p50Ms: null, p95Ms: null, maxMs: null };
  const rows = ids.flatMap((id): EndpointStats[] => {
    const endpoint = endpoints.get(id);
    if (!endpoint) return []; // deleted meanwhile
    const d = deliveries.get(id) ?? emptyDeliveries();
    return [
      {
        endpointId: id,
        url: endpoint.url,
        ownerId: endpoint.ownerId,
        deliveries: d,
        successRate: rate(d),
        attempts: attempts.get(id) ?? emptyAttempts,
      },
    ];
  });
  rows.sort(
    (a, b) => b.deliveries.total - a.deliveries.total || b.attempts.total - a.attempts.total || a.endpointId.localeCompare(b.endpointId),
  );
  const totalDeliveries = emptyDeliveries();
  for (const r of rows) {
    totalDeliveries.total += r.deliveries.total;
    totalDeliveries.succeeded += r.deliveries.succeeded;
    totalDeliveries.failed += r.deliveries.failed;
    totalDeliveries.pending += r.deliveries.pending;
  }
  return {
    ...range,
    endpoints: rows,
    total: { deliveries: totalDeliveries, successRate: rate(totalDeliveries), attempts: overall.get('') ?? emptyAttempts },
  };
}

function rate(d: { succeeded: number; failed: number }): number | null {
  return d.succeeded + d.failed ? d.succeeded / (d.succeeded + d.failed) : null;
}

async function deliveryCounts(dataSource: DataSource, range: TimeRange): Promise<Map<string, EndpointStats['deliveries']>> {
  const rows = await dataSource
    .getRepository(WebhookDelivery)
    .createQueryBuilder('d')
    .select('d.endpointId', 'ep')
    .addSelect('d.status', 'status')
    .addSelect('COUNT(*)', 'count')
    .where('d.id >= :fromId AND d.id < :toId', idRange('dlv', range))
    .groupBy('d.endpointId')
    .addGroupBy('d.status')
    .getRawMany<{ ep: string; status: string; count: Raw }>();
  const out = new Map<string, EndpointStats['deliveries']>();
  for (const row of rows) {
    let counts = out.get(row.ep);
    if (!counts) out.set(row.ep, (counts = { total: 0, succeeded: 0, failed: 0, pending: 0 }));
    const n = num(row.count);
    counts.total += n;
    if (row.status === 'succeeded') counts.succeeded += n;
    else if (row.status === 'failed') counts.failed += n;
    else counts.pending += n;
  }
  return out;
}

/**
 * Attempt counts and duration percentiles by endpoint (`perEndpoint`), or over all attempts (key ''). Nearest rank:
 * the p-th percentile is the smallest duration whose rank in its partition is at least p * count.
 */
async function attemptFigures(
  dataSource: DataSource,
  range: TimeRange,
  perEndpoint: boolean,
): Promise<Map<string, EndpointStats['attempts']>> {
  const duration = `a.${col(dataSource, WebhookAttempt, 'durationMs')}`;
  const status = `a.${col(dataSource, WebhookAttempt, 'responseStatus')}`;
  const endpoint = `d.${col(dataSource, WebhookDelivery, 'endpointId')}`;
  const partition = perEndpoint ? `PARTITION BY ${endpoint} ` : '';
  const outer = dataSource
    .createQueryBuilder()
    .select(perEndpoint ? 't.ep' : "''", 'ep')
    .addSelect('COUNT(*)', 'total')
    .addSelect('SUM(t.bad)', 'failed')
    .addSelect('MIN(CASE WHEN t.rn >= 0.5 * t.cnt THEN t.dur END)', 'p50')
    .addSelect('MIN(CASE WHEN t.rn >= 0.95 * t.cnt THEN t.dur END)', 'p95')
    .addSelect('MAX(t.dur)', 'max')
    .from((sub) => {
      const inner = sub
        .from(WebhookAttempt, 'a')
        .select(`${duration}`, 'dur')
        .addSelect(`CASE WHEN ${status} >= 200 AND ${status} < 300 THEN 0 ELSE 1 END`, 'bad')
        .addSelect(`ROW_NUMBER() OVER (${partition}ORDER BY ${duration})`, 'rn')
        .addSelect(`COUNT(*) OVER (${partition.trim()})`, 'cnt')
        .where('a.id >= :fromId AND a.id < :toId', idRange('att', range));
      if (perEndpoint) inner.innerJoin(WebhookDelivery, 'd', 'd.id = a.deliveryId').addSelect(endpoint, 'ep');
      return inner;
    }, 't');
  if (perEndpoint) outer.groupBy('t.ep');
  const rows = await outer.getRawMany<{ ep: string; total: Raw; failed: Raw; p50: Raw; p95: Raw; max: Raw }>();
  const out = new Map<string, EndpointStats['attempts']>();
  for (const row of rows) {
    if (!num(row.total)) continue;
    out.set(row.ep ?? '', {
      total: num(row.total),
      failed: num(row.failed),
      p50Ms: numOrNull(row.p50),
      p95Ms: numOrNull(row.p95),
      maxMs: numOrNull(row.max),
    });
  }
  return out;
}

async function endpointRows(dataSource: DataSource, ids: readonly string[]): Promise<Map<string, { url: string; ownerId: string | null }>> {
  const out = new Map<string, { url: string; ownerId: string | null }>();
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const rows = await dataSource.getRepository(WebhookEndpoint).find({
      select: { id: true, url: true, ownerId: true },
      where: { id: In(ids.slice(i, i + LOOKUP_CHUNK)) },
    });
    for (const row of rows) out.set(row.id, { url: row.url, ownerId: row.ownerId });
  }
  return out;
}

/** The part of a last attempt's error that says the schedule is used up, left out so it groups with the others. */
const GAVE_UP = /; gave up after \d+ attempts$/;

/**
 * The errors of failed attempts in a time range, most frequent first, with the endpoints they hit. One grouped
 * query by error and endpoint (attempts found through their time-ordered primary key), folded here.
 */
export async function readErrorSummary(
  dataSource: DataSource,
  options: ErrorSummaryOptions = {},
  now = new Date(),
): Promise<WebhooksErrorSummary> {
  const what = 'Invalid errors request';
  const limit = options.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new WebhookValidationError(`${what}: limit must be an integer from 1 to 100 (got ${options.limit}).`);
  }
  const range = timeRange(options, DAY_MS, what, now);
  const error = `a.${col(dataSource, WebhookAttempt, 'error')}`;
  const rows = await dataSource
    .getRepository(WebhookAttempt)
    .createQueryBuilder('a')
    .innerJoin(WebhookDelivery, 'd', 'd.id = a.deliveryId')
    .select(error, 'error')
    .addSelect('d.endpointId', 'ep')
    .addSelect('COUNT(*)', 'count')
    .addSelect('MAX(a.id)', 'last')
    .where('a.id >= :fromId AND a.id < :toId', idRange('att', range))
    .andWhere(`${error} IS NOT NULL`)
    .groupBy(error)
    .addGroupBy('d.endpointId')
    .getRawMany<{ error: string; ep: string; count: Raw; last: string }>();

  const groups = new Map<string, { count: number; last: string; endpoints: Map<string, number> }>();
  let failedAttempts = 0;
  for (const row of rows) {
    const key = row.error.replace(GAVE_UP, '');
    const n = num(row.count);
    failedAttempts += n;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { count: 0, last: row.last, endpoints: new Map() }));
    group.count += n;
    if (row.last > group.last) group.last = row.last;
    group.endpoints.set(row.ep, (group.endpoints.get(row.ep) ?? 0) + n);
  }
  const top = [...groups.entries()]
    .sort(([ka, a], [kb, b]) => b.count - a.count || (b.last > a.last ? 1 : -1) || ka.localeCompare(kb))
    .slice(0, limit);
  const urls = await endpointRows(dataSource, [...new Set(top.flatMap(([, g]) => [...g.endpoints.keys()]))]);
  return {
    ...range,
    failedAttempts,
    distinctErrors: groups.size,
    errors: top.map(([text, g]) => ({
      error: text,
      count: g.count,
      endpoints: [...g.endpoints.entries()]
        .sort(([ia, a], [ib, b]) => b - a || ia.localeCompare(ib))
        .map(([endpointId, count]) => ({ endpointId, url: urls.get(endpointId)?.url ?? null, count })),
      lastSeenAt: new Date(idTime(g.last) ?? range.until.getTime()),
    })),
  };
}
