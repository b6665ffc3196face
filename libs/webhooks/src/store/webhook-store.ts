import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { WebhookResponse } from '../http/exchange.js';
import { WebhookAttempt, WebhookDelivery, WebhookEvent, type AttemptTrigger, type DeliveryStatus } from '../entities/index.js';
import { newId } from '../ids.js';
import { GroupCommit, type AfterFailedBatch } from '../util/group-commit.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { pgQuery } from './pg-prepared.js';
import { ATTEMPT_COLUMNS, PostgresSql, type Rewrite } from './pg-statements.js';
import { writeEvent, type EventRow, type NewDelivery } from './event-write.js';

export type { EventRow } from './event-write.js';

export interface AttemptRecord {
  deliveryId: string;
  attemptNumber: number;
  trigger: AttemptTrigger;
  requestUrl: string;
  response: WebhookResponse;
  error: string | null;
  nextAttemptAt: Date | null;
  at: Date;
}

export interface DeliveryOutcome {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
}

/**
 * Every write of the outbox and the delivery log, and every move of a delivery from one status to another: the
 * event with its deliveries, the claim of an attempt, its outcome, a new round, a lost attempt taken back. The hot
 * paths use as few round trips as the database allows. On
 * PostgreSQL each operation is one statement of prepared SQL (data-modifying CTEs); elsewhere they go through
 * TypeORM's QueryBuilder. Column names come from the entity metadata, so naming strategies and schemas apply.
 */
@Injectable()
export class WebhookStore {
  private readonly pg: PostgresSql | undefined;
  /** PostgreSQL: claims and finished attempts of concurrent deliveries go together (group commit). */
  private readonly claims: GroupCommit<ClaimValues, boolean> | undefined;
  private readonly finishes: GroupCommit<FinishValues, boolean> | undefined;

  /** PostgreSQL: run the hot-path statements as named prepared statements (`preparedStatements`). */
  private readonly prepared: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WEBHOOKS_OPTIONS) options: Pick<ResolvedWebhooksOptions, 'preparedStatements'>,
  ) {
    this.prepared = options.preparedStatements;
    if (dataSource.driver.options.type !== 'postgres') return;
    const pg = (this.pg = new PostgresSql(dataSource));
    this.claims = new GroupCommit(
      async (batch) => {
        // The same attempt twice in one batch (a duplicate job): the row is updated once, and only the first wins.
        const owned = new Set((await this.pgRows(pg.claims, columnsOf(batch))).map((r) => `${String(r.id)}:${Number(r.attempt)}`));
        return batch.map(([id, attempt]) => owned.delete(`${id}:${attempt}`));
      },
      (values, again) => this.writeOne(pg.claim, pg.claimAgain, values, again),
    );
    this.finishes = new GroupCommit(
      async (batch) => {
        // By delivery and attempt: a stale finish in the batch of its delivery's current one does not own the row.
        const owned = new Set((await this.pgRows(pg.finishAttempts, columnsOf(batch))).map((r) => `${String(r.id)}:${Number(r.attempt)}`));
        return batch.map((values) => owned.has(`${values[1] as string}:${Number(values[2])}`));
      },
      (values, again) => this.writeOne(pg.finishAttempt, pg.finishAttemptAgain, values, again),
    );
  }

  /**
   * Writes an event and its deliveries (`pending`, due now) with the caller's manager (its transaction), and
   * answers the deliveries written (see `writeEvent`).
   */
  insertEvent(manager: EntityManager, event: EventRow, deliveries: readonly NewDelivery[]): Promise<readonly NewDelivery[]> {
    return writeEvent(manager, this.pg && { sql: this.pg, prepared: this.prepared }, event, deliveries);
  }

  /** An event's stored payload (undefined when the event is gone): for a job that does not carry it. */
  async eventPayload(eventId: string): Promise<string | undefined> {
    const found = await this.dataSource
      .getRepository(WebhookEvent)
      .findOne({ where: { id: eventId }, select: { id: true, payload: true } });
    return found?.payload;
  }

  /** An event's owner (null: ownerless; undefined when the event is gone). */
  async eventOwner(eventId: string): Promise<string | null | undefined> {
    const found = await this.dataSource
      .getRepository(WebhookEvent)
      .findOne({ where: { id: eventId }, select: { id: true, ownerId: true } });
    return found ? found.ownerId : undefined;
  }

  /**
   * Takes attempt `attempt` of a delivery: `pending` with `attempt - 1` attempts made becomes `delivering` with a
   * lease. False when another job got there first (or the delivery moved on).
   */
  async claim(deliveryId: string, attempt: number, leaseUntil: Date, now: Date): Promise<boolean> {
    if (this.claims) return this.claims.submit([deliveryId, attempt, leaseUntil, now]);
    const result = await this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder()
      .update()
      .set({ status: 'delivering', attemptCount: attempt, nextAttemptAt: leaseUntil, updatedAt: now })
      .where({ id: deliveryId, status: 'pending', attemptCount: attempt - 1 })
      .callListeners(false)
      .updateEntity(false)
      .execute();
    return result.affected === 1;
  }

  /**
   * Logs an attempt and moves its delivery on, if the delivery is still `delivering` that attempt. False when it
   * is not (the attempt is logged all the same), or when the delivery is gone (deleted meanwhile: nothing is logged).
   */
  async finishAttempt(record: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean> {
    try {
      return await this.writeFinish(record, outcome);
    } catch (error) {
      // Deleted meanwhile (with its endpoint or event): no row to log the attempt under, and none to move on. A
      // database that is away answers the lookup with an error too: the write's error is the caller's then.
      const gone = await this.dataSource
        .getRepository(WebhookDelivery)
        .exists({ where: { id: record.deliveryId } })
        .then((found) => !found)
        .catch(() => false);
      if (gone) return false;
      throw error;
    }
  }

  private async writeFinish(record: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean> {
    if (this.finishes) {
      return this.finishes.submit([
        ...attemptValues(record),
        outcome.status,
        outcome.nextAttemptAt,
        outcome.lastResponseStatus,
        outcome.lastError,
      ]);
    }
    await this.recordAttempt(record);
    const result = await this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder()
      .update()
      .set({ ...outcome, updatedAt: record.at })
      .where({ id: record.deliveryId, status: 'delivering', attemptCount: record.attemptNumber })
      .callListeners(false)
      .updateEntity(false)
      .execute();
    return result.affected === 1;
  }

  /**
   * Undoes a claim whose attempt did not go (the endpoint gate held it after all): the delivery is `pending` again,
   * due now, with the attempts made before it. Only if this attempt still holds it.
   */
  async unclaim(deliveryId: string, attempt: number, now: Date): Promise<boolean> {
    return this.moveDelivery(
      { id: deliveryId, status: 'delivering', attemptCount: attempt },
      { status: 'pending', attemptCount: attempt - 1, nextAttemptAt: now, updatedAt: now },
    );
  }

  /**
   * A finished delivery back to `pending`, due now, for a new round of attempts (redeliver, recover) that begins with
   * its next attempt. Only if it is still as read: false when it changed meanwhile.
   */
  async reopen(
    delivery: Pick<WebhookDelivery, 'id' | 'status' | 'attemptCount'>,
    trigger: Exclude<AttemptTrigger, 'scheduled' | 'test'>,
    now: Date,
  ): Promise<boolean> {
    return this.moveDelivery(
      { id: delivery.id, status: delivery.status, attemptCount: delivery.attemptCount },
      { status: 'pending', nextAttemptAt: now, roundStart: delivery.attemptCount + 1, roundTrigger: trigger, updatedAt: now },
    );
  }

  /**
   * An attempt in flight past its lease (its worker died) back to `pending`, due now, with the reason as its last
   * error. Only one caller wins (the relays of several instances may find the same row).
   */
  async takeBackLost(
    delivery: Pick<WebhookDelivery, 'id' | 'attemptCount' | 'nextAttemptAt'>,
    reason: string,
    now: Date,
  ): Promise<boolean> {
    return this.moveDelivery(
      { id: delivery.id, status: 'delivering', attemptCount: delivery.attemptCount, nextAttemptAt: delivery.nextAttemptAt ?? undefined },
      { status: 'pending', nextAttemptAt: now, lastError: reason, updatedAt: now },
    );
  }

  /** Marks a delivery just written as a test send's (with the writer's manager, in its transaction). */
  async markTest(manager: EntityManager, deliveryId: string): Promise<void> {
    await manager
      .createQueryBuilder()
      .update(WebhookDelivery)
      .set({ roundTrigger: 'test' })
      .where({ id: deliveryId })
      .callListeners(false)
      .updateEntity(false)
      .execute();
  }

  /**
   * A test send that its process left unfinished (due and never claimed, or its lease lapsed) becomes `failed` with
   * the reason: a test is sent while its caller waits, and never later. Only if the row is still as read.
   */
  async abandonTest(delivery: Pick<WebhookDelivery, 'id' | 'status' | 'attemptCount'>, reason: string, now: Date): Promise<boolean> {
    return this.moveDelivery(
      { id: delivery.id, status: delivery.status, attemptCount: delivery.attemptCount },
      { status: 'failed', nextAttemptAt: null, lastError: reason, updatedAt: now },
    );
  }

  /** Pushes the lease of an attempt in flight to `until`, if the row is still that attempt's. */
  async extendLease(deliveryId: string, attempt: number, until: Date): Promise<boolean> {
    return this.moveDelivery({ id: deliveryId, status: 'delivering', attemptCount: attempt }, { nextAttemptAt: until });
  }

  /** A conditional update of one delivery row: true when it matched. */
  private async moveDelivery(where: Partial<WebhookDelivery>, set: Partial<WebhookDelivery>): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder()
      .update()
      .set(set as never)
      .where(where)
      .callListeners(false)
      .updateEntity(false)
      .execute();
    return result.affected === 1;
  }

  /** Appends one row to the attempt log. */
  async recordAttempt(record: AttemptRecord): Promise<void> {
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(WebhookAttempt)
      .values(attemptRow(record))
      .callListeners(false)
      .updateEntity(false)
      .execute();
  }

  /**
   * PostgreSQL: one claim or finish (`sql`, which moves at most one delivery row), answering whether it moved the
   * row. A write that failed without PostgreSQL reporting why (the connection broke) may have landed all the same,
   * alone or in its batch (`again`, see GroupCommit), so it is written again as `rewrite` (see `writeAgain`). One
   * that PostgreSQL refused did not land: it is written as it is, or its error is the caller's.
   */
  private async writeOne(sql: string, rewrite: Rewrite, values: unknown[], again?: AfterFailedBatch): Promise<boolean> {
    if (again && !reportedByServer(again.error)) return this.writeAgain(rewrite, values, again.taken);
    try {
      return (await this.pgWrite(sql, values)) === 1;
    } catch (error) {
      if (reportedByServer(error)) throw error;
      // Written again once; a database that is away refuses that too, and the caller gets the first error.
      return this.writeAgain(rewrite, values, new Set()).catch(() => Promise.reject(error as Error));
    }
  }

  /**
   * Writes `values` again after a write of them that may have landed: the row moves only if the lost write did not
   * move it, and the caller owns it when either did. `taken`: the attempts owned so far among the items of one failed
   * batch, where a repeat of the same attempt (a duplicate job) may find the landing too: only the first owns it.
   */
  private async writeAgain(rewrite: Rewrite, values: unknown[], taken: Set<string>): Promise<boolean> {
    const [row] = await this.pgRows(rewrite.sql, values);
    const moved = row?.moved === true;
    let landed = row?.landed === true;
    // Neither: the lost write may have been running still, and this one waited for it (see Rewrite).
    if (!moved && !landed) landed = (await this.pgRows(rewrite.landedSql, rewrite.landedValues(values)))[0]?.landed === true;
    const key = rewrite.key(values);
    const owned = moved || (landed && !taken.has(key));
    if (owned) taken.add(key);
    return owned;
  }

  private async pgRows(sql: string, parameters: unknown[]): Promise<Array<Record<string, unknown>>> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await pgQuery(runner, sql, parameters, this.prepared)).rows;
    } finally {
      await runner.release();
    }
  }

  private async pgWrite(sql: string, parameters: unknown[]): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await pgQuery(runner, sql, parameters, this.prepared)).rowCount;
    } finally {
      await runner.release();
    }
  }
}

/**
 * Whether PostgreSQL itself reported the error (the driver's DatabaseError: a severity and a SQLSTATE): the statement
 * failed there, and did not land. A broken connection's error (EPIPE, ECONNRESET, "Connection terminated") is not.
 */
function reportedByServer(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** A claim's parameters: delivery id, attempt, lease end, now. */
type ClaimValues = [string, number, Date, Date];

/** A finished attempt's parameters: the attempt columns, then the delivery's (`FINISH_PARAMETER_TYPES`). */
type FinishValues = unknown[];

/** Parameters of many rows as one array per column (for `unnest`). */
function columnsOf(rows: ReadonlyArray<readonly unknown[]>): unknown[][] {
  return rows[0].map((_, c) => rows.map((r) => r[c]));
}

/** The attempt row of a record. */
function attemptRow(r: AttemptRecord) {
  return {
    id: newId('att', r.at.getTime()),
    deliveryId: r.deliveryId,
    attemptNumber: r.attemptNumber,
    trigger: r.trigger,
    requestUrl: r.requestUrl,
    responseStatus: r.response.status,
    responseBody: r.response.body,
    responseHeaders: r.response.headers,
    durationMs: r.response.durationMs,
    error: r.error,
    nextAttemptAt: r.nextAttemptAt,
    createdAt: r.at,
  };
}

/** The attempt values in `ATTEMPT_COLUMNS` order (JSON columns serialised, as TypeORM would). */
function attemptValues(r: AttemptRecord): unknown[] {
  const row = attemptRow(r);
  return ATTEMPT_COLUMNS.map((c) =>
    c === 'responseHeaders' ? (row.responseHeaders ? JSON.stringify(row.responseHeaders) : null) : row[c],
  );
}
