import type { DataSource, EntityMetadata } from 'typeorm';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent } from '../entities/index.js';
import { columnSql } from './sql-names.js';

// The PostgreSQL statements of the hot path: built once from the entity metadata (naming strategies and schemas
// apply), each run as one statement per operation (data-modifying CTEs; `unnest` for many rows at once).

/** The PostgreSQL array type of each `finishAttempt` parameter, in order (attempt columns, then the delivery's). */
export const FINISH_PARAMETER_TYPES = [
  'varchar',
  'varchar',
  'int',
  'varchar',
  'varchar',
  'int',
  'text',
  'text',
  'int',
  'text',
  'timestamptz',
  'timestamptz',
  'varchar',
  'timestamptz',
  'int',
  'text',
];

/**
 * The attempt columns in the order of the PostgreSQL statement's parameters: `finishAttempt` refers to deliveryId
 * as $2, attemptNumber as $3 and createdAt as $12.
 */
export const ATTEMPT_COLUMNS = [
  'id',
  'deliveryId',
  'attemptNumber',
  'trigger',
  'requestUrl',
  'responseStatus',
  'responseBody',
  'responseHeaders',
  'durationMs',
  'error',
  'nextAttemptAt',
  'createdAt',
] as const satisfies ReadonlyArray<keyof WebhookAttempt>;

/**
 * A one-row write (a claim, a finished attempt) written again after a write of the same values whose answer never
 * came, which may have landed. `sql` applies it only if the lost write did not, and answers `moved` (this write moved
 * the row) and `landed` (the lost write had). `landedSql` (with `landedValues` of the write's values) asks again on
 * a fresh snapshot, for when `sql` waited for a lost write still running: it then found the row moved and did
 * nothing, while its own snapshot, taken before the wait, showed the row as it was.
 */
export interface Rewrite {
  sql: string;
  landedSql: string;
  landedValues(values: unknown[]): unknown[];
  /** The attempt the values write, as a key (repeats of one attempt in a batch share it). */
  key(values: unknown[]): string;
}

/** Statements built once from the entity metadata. */
export class PostgresSql {
  readonly claim: string;
  /** `claim` for many deliveries: each parameter is an array; returns the ids and attempts claimed. */
  readonly claims: string;
  /** `claim` written again after a write whose answer never came (see `Rewrite`). */
  readonly claimAgain: Rewrite;
  readonly finishAttempt: string;
  /**
   * `finishAttempt` written again after a write whose answer never came (see `Rewrite`): the attempt row is inserted
   * unless it is there already (its id is the lost write's), and the delivery moved only along with it; landed when
   * that attempt row is there and the delivery shows its outcome.
   */
  readonly finishAttemptAgain: Rewrite;
  /** `finishAttempt` for many attempts: each parameter is an array (one element per attempt); returns owned ids. */
  readonly finishAttempts: string;
  private readonly eventInsert: string;
  private readonly deliveryTable: string;
  private readonly deliveryColumns: string;
  private readonly endpointTable: string;
  private readonly endpointId: string;
  private readonly deliveryId: string;
  private readonly insertEventCache = new Map<number, string>();

  constructor(dataSource: DataSource) {
    const event = dataSource.getMetadata(WebhookEvent);
    const delivery = dataSource.getMetadata(WebhookDelivery);
    const attempt = dataSource.getMetadata(WebhookAttempt);
    const e = columns(dataSource, event);
    const d = columns(dataSource, delivery);
    const a = columns(dataSource, attempt);
    this.eventInsert =
      `INSERT INTO ${table(dataSource, event)} (${e('id', 'topic', 'entityName', 'entityId', 'payload', 'createdAt', 'ownerId')}) ` +
      `VALUES ($1, $2, $3, $4, $5, $6, $7)`;
    this.deliveryTable = table(dataSource, delivery);
    this.endpointTable = table(dataSource, dataSource.getMetadata(WebhookEndpoint));
    this.endpointId = columns(dataSource, dataSource.getMetadata(WebhookEndpoint))('id');
    this.deliveryId = d('id');
    this.deliveryColumns = d('id', 'eventId', 'endpointId', 'topic', 'status', 'attemptCount', 'nextAttemptAt', 'createdAt', 'updatedAt');
    const [id, status, attemptCount, nextAttemptAt, updatedAt, lastResponseStatus, lastError] = [
      'id',
      'status',
      'attemptCount',
      'nextAttemptAt',
      'updatedAt',
      'lastResponseStatus',
      'lastError',
    ].map((p) => d(p));
    this.claim =
      `UPDATE ${this.deliveryTable} SET ${status} = 'delivering', ${attemptCount} = $2, ${nextAttemptAt} = $3, ${updatedAt} = $4 ` +
      `WHERE ${id} = $1 AND ${status} = 'pending' AND ${attemptCount} = $2 - 1`;
    this.claims =
      `UPDATE ${this.deliveryTable} AS d SET ${status} = 'delivering', ${attemptCount} = v.attempt, ${nextAttemptAt} = v.lease, ` +
      `${updatedAt} = v.now FROM unnest($1::varchar[], $2::int[], $3::timestamptz[], $4::timestamptz[]) AS v(id, attempt, lease, now) ` +
      `WHERE d.${id} = v.id AND d.${status} = 'pending' AND d.${attemptCount} = v.attempt - 1 ` +
      `RETURNING d.${id} AS id, d.${attemptCount} AS attempt`;
    // The outer SELECT of a data-modifying CTE sees the table as it was before the statement: `landed` there is the
    // earlier write's doing, never this one's.
    const claimLanded =
      `EXISTS (SELECT 1 FROM ${this.deliveryTable} WHERE ${id} = $1 AND ${status} = 'delivering' AND ${attemptCount} = $2 ` +
      `AND ${nextAttemptAt} = $3 AND ${updatedAt} = $4)`;
    this.claimAgain = {
      sql: `WITH moved AS (${this.claim} RETURNING 1) SELECT EXISTS (SELECT 1 FROM moved) AS moved, ${claimLanded} AS landed`,
      landedSql: `SELECT ${claimLanded} AS landed`,
      landedValues: (values) => values,
      key: (values) => `${values[0] as string}:${values[1] as number}`,
    };
    const attemptTable = table(dataSource, attempt);
    const attemptColumns = a(...ATTEMPT_COLUMNS);
    const attemptInsert =
      `INSERT INTO ${attemptTable} (${attemptColumns}) ` + `VALUES (${ATTEMPT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
    const finishUpdate =
      `UPDATE ${this.deliveryTable} SET ${status} = $13, ${nextAttemptAt} = $14, ${lastResponseStatus} = $15, ` +
      `${lastError} = $16, ${updatedAt} = $12 ` +
      `WHERE ${id} = $2 AND ${status} = 'delivering' AND ${attemptCount} = $3`;
    this.finishAttempt = `WITH logged AS (${attemptInsert}) ${finishUpdate}`;
    const finishShown = (p: { delivery: string; attempt: string; status: string; at: string }) =>
      `EXISTS (SELECT 1 FROM ${this.deliveryTable} WHERE ${id} = ${p.delivery} AND ${attemptCount} = ${p.attempt} ` +
      `AND ${status} = ${p.status} AND ${updatedAt} = ${p.at})`;
    this.finishAttemptAgain = {
      sql:
        `WITH logged AS (${attemptInsert} ON CONFLICT (${a('id')}) DO NOTHING RETURNING 1), ` +
        `moved AS (${finishUpdate} AND EXISTS (SELECT 1 FROM logged) RETURNING 1) ` +
        `SELECT EXISTS (SELECT 1 FROM moved) AS moved, NOT EXISTS (SELECT 1 FROM logged) AND ` +
        `${finishShown({ delivery: '$2', attempt: '$3', status: '$13', at: '$12' })} AS landed`,
      landedSql:
        `SELECT EXISTS (SELECT 1 FROM ${attemptTable} WHERE ${a('id')} = $1) AND ` +
        `${finishShown({ delivery: '$2', attempt: '$3', status: '$4', at: '$5' })} AS landed`,
      // The attempt's id, delivery and number, then the delivery's status and the attempt's time.
      landedValues: (values) => [values[0], values[1], values[2], values[12], values[11]],
      key: (values) => `${values[1] as string}:${values[2] as number}`,
    };
    const names = FINISH_PARAMETER_TYPES.map((_, i) => `c${i + 1}`);
    const unnest = FINISH_PARAMETER_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
    const v = (i: number) => `v.c${i}`;
    this.finishAttempts =
      `WITH v AS (SELECT * FROM unnest(${unnest}) AS t(${names.join(', ')})), ` +
      `logged AS (INSERT INTO ${table(dataSource, attempt)} (${attemptColumns}) SELECT ${names.slice(0, 12).join(', ')} FROM v) ` +
      `UPDATE ${this.deliveryTable} AS d SET ${status} = ${v(13)}, ${nextAttemptAt} = ${v(14)}, ${lastResponseStatus} = ${v(15)}, ` +
      `${lastError} = ${v(16)}, ${updatedAt} = ${v(12)} ` +
      `FROM v WHERE d.${id} = ${v(2)} AND d.${status} = 'delivering' AND d.${attemptCount} = ${v(3)} ` +
      `RETURNING d.${id} AS id, d.${attemptCount} AS attempt`;
  }

  /**
   * Event plus `count` deliveries in one statement; delivery i takes parameters 8 + 2i (id) and 9 + 2i (endpoint).
   * Only the deliveries whose endpoint still exists are written (a process's endpoint cache may not know yet of a
   * deletion: the caller's transaction must not fail for it), their endpoints locked against deletion until the
   * commit as the foreign key would; answers the ids written.
   */
  insertEvent(count: number): string {
    let sql = this.insertEventCache.get(count);
    if (!sql) {
      const rows = Array.from({ length: count }, (_, i) => `($${8 + 2 * i}, $${9 + 2 * i})`);
      const ids = Array.from({ length: count }, (_, i) => `$${9 + 2 * i}`);
      sql =
        `WITH event AS (${this.eventInsert}), ` +
        `live AS (SELECT ${this.endpointId} AS id FROM ${this.endpointTable} WHERE ${this.endpointId} IN (${ids.join(', ')}) FOR KEY SHARE) ` +
        `INSERT INTO ${this.deliveryTable} (${this.deliveryColumns}) ` +
        `SELECT v.id, $1, v.endpoint, $2, 'pending', 0, $6, $6, $6 FROM (VALUES ${rows.join(', ')}) AS v(id, endpoint) ` +
        `JOIN live ON live.id = v.endpoint RETURNING ${this.deliveryId} AS id`;
      if (this.insertEventCache.size < 64) this.insertEventCache.set(count, sql);
    }
    return sql;
  }
}

function table(dataSource: DataSource, metadata: EntityMetadata): string {
  return metadata.tablePath
    .split('.')
    .map((part) => dataSource.driver.escape(part))
    .join('.');
}

function columns(dataSource: DataSource, metadata: EntityMetadata) {
  return (...properties: string[]) => properties.map((p) => columnSql(dataSource, metadata, p)).join(', ');
}
