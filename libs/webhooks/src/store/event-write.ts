import { In, type EntityManager } from 'typeorm';
import { WebhookDelivery, WebhookEndpoint, WebhookEvent } from '../entities/index.js';
import { pgQuery } from './pg-prepared.js';
import type { PostgresSql } from './pg-statements.js';
import { sqlDialect } from '../util/sql-dialect.js';

export interface EventRow {
  id: string;
  topic: string;
  entityName: string | null;
  entityId: string | null;
  ownerId: string | null;
  payload: string;
  createdAt: Date;
}

/** A delivery of a new event, to one endpoint. */
export interface NewDelivery {
  id: string;
  endpointId: string;
}

/**
 * Writes an event and its deliveries (`pending`, due now) with the caller's manager (its transaction), and answers
 * the deliveries written (`deliveries` itself when all were): those whose endpoint still exists. A process's endpoint cache may not have
 * heard of a deletion yet, and the caller's own write must not fail for it. On PostgreSQL one statement, which
 * writes only the deliveries of endpoints it finds (and locks); elsewhere the deliveries' insert is tried as is,
 * and only when it fails are the endpoints looked for.
 */
export async function writeEvent(
  manager: EntityManager,
  pg: { sql: PostgresSql; prepared: boolean } | undefined,
  event: EventRow,
  deliveries: readonly NewDelivery[],
): Promise<readonly NewDelivery[]> {
  if (pg) {
    const sql = pg.sql.insertEvent(deliveries.length);
    const values = [
      event.id,
      event.topic,
      event.entityName,
      event.entityId,
      event.payload,
      event.createdAt,
      event.ownerId,
      ...deliveries.flatMap((d) => [d.id, d.endpointId]),
    ];
    const written = manager.queryRunner
      ? (await pgQuery(manager.queryRunner, sql, values, pg.prepared)).rows
      : ((await manager.query(sql, values)) as Array<Record<string, unknown>>);
    if (written.length === deliveries.length) return deliveries;
    const ids = new Set(written.map((r) => String(r.id)));
    return deliveries.filter((d) => ids.has(d.id));
  }
  if (manager.queryRunner?.isTransactionActive) return writeRows(manager, event, deliveries);
  // Two statements outside a transaction (an emit() without a manager): on MySQL/MariaDB they run in a transaction
  // of their own, on a pooled connection of its own (the caller's runner may be running other statements), so a
  // failure or a crash between them cannot leave an event without its deliveries. TypeORM gives SQLite one
  // connection for the whole process, where a BEGIN while another caller's transaction is open fails: there a
  // failed delivery insert deletes the event again (a crash between the two can still leave it alone).
  if (sqlDialect(manager.connection.options.type) !== 'sqlite') {
    return manager.connection.transaction((inner) => writeRows(inner, event, deliveries));
  }
  return writeRows(manager, event, deliveries).catch(async (error: unknown) => {
    await manager.delete(WebhookEvent, { id: event.id }).catch(() => undefined);
    throw error;
  });
}

async function writeRows(manager: EntityManager, event: EventRow, deliveries: readonly NewDelivery[]): Promise<readonly NewDelivery[]> {
  await manager.createQueryBuilder().insert().into(WebhookEvent).values(event).callListeners(false).updateEntity(false).execute();
  try {
    await insertDeliveries(manager, event, deliveries);
    return deliveries;
  } catch (error) {
    // A statement that failed rolls back alone here (SQLite, MySQL): if an endpoint is gone, write the others.
    const ids = deliveries.map((d) => d.endpointId);
    const found = new Set((await manager.find(WebhookEndpoint, { select: { id: true }, where: { id: In(ids) } })).map((e) => e.id));
    if (found.size === new Set(ids).size) throw error;
    const live = deliveries.filter((d) => found.has(d.endpointId));
    if (live.length) await insertDeliveries(manager, event, live);
    return live;
  }
}

async function insertDeliveries(manager: EntityManager, event: EventRow, deliveries: readonly NewDelivery[]): Promise<void> {
  await manager
    .createQueryBuilder()
    .insert()
    .into(WebhookDelivery)
    .values(
      deliveries.map((d) => ({
        id: d.id,
        eventId: event.id,
        endpointId: d.endpointId,
        topic: event.topic,
        status: 'pending' as const,
        attemptCount: 0,
        nextAttemptAt: event.createdAt,
        createdAt: event.createdAt,
        updatedAt: event.createdAt,
      })),
    )
    .callListeners(false)
    .updateEntity(false)
    .execute();
}
