import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { WebhookConflictError } from '../errors/webhooks.errors.js';
import { sqlDialect } from '../util/sql-dialect.js';

const LOCK_WAIT_SECONDS = 10;

/** In-process queues per owner: concurrent calls of one process wait here instead of in the database. */
const local = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` in a transaction that holds a lock on one owner's endpoints, so that counting them and adding one is
 * atomic across processes (two concurrent creates cannot both pass `maxEndpointsPerOwner`): PostgreSQL takes an
 * advisory transaction lock, MySQL/MariaDB a named lock held by the connection around the transaction. SQLite has
 * one writer per database and one connection per process: the in-process queue is the lock.
 */
export async function withOwnerLock<T>(dataSource: DataSource, ownerId: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
  const previous = local.get(ownerId) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => locked(dataSource, ownerId, fn));
  const tail = run.catch(() => undefined);
  local.set(ownerId, tail);
  try {
    return await run;
  } finally {
    if (local.get(ownerId) === tail) local.delete(ownerId);
  }
}

async function locked<T>(dataSource: DataSource, ownerId: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
  const key = createHash('sha256').update(ownerId).digest();
  const dialect = sqlDialect(dataSource.options.type);
  if (dialect === 'postgres') {
    return dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [key.readInt32BE(0), key.readInt32BE(4)]);
      return fn(manager);
    });
  }
  if (dialect !== 'mysql') return dataSource.transaction(fn);
  const name = `webhooks_owner_${key.toString('hex', 0, 20)}`;
  const runner = dataSource.createQueryRunner();
  try {
    const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS got', [name, LOCK_WAIT_SECONDS])) as { got: number | string | null }[];
    if (Number(row?.got) !== 1) {
      throw new WebhookConflictError(`Owner ${JSON.stringify(ownerId)}'s endpoints are being changed by another request; try again.`);
    }
    try {
      return await runner.manager.transaction(fn);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [name]);
    }
  } finally {
    await runner.release();
  }
}
