import { DataSource, In } from 'typeorm';
import { WebhookEndpoint } from '../entities/index.js';
import { columnSql } from '../store/sql-names.js';
import { GroupCommit } from '../util/group-commit.js';
import { sqlDialect } from '../util/sql-dialect.js';

/** A success's write: the endpoint, and when the delivery succeeded. */
type Success = [endpointId: string, at: Date];

/**
 * The writes of endpoints' health counters. Those of one endpoint run one after another, in the order they were
 * asked for (a failure counted after a success lands after it, whatever batch the success waits in). Successes of
 * many endpoints go together: those that come while one success write is in flight are written in the next one,
 * as one statement (group commit). A success sets what every success sets: no failures in a row, no failure
 * streak, `lastSuccessAt`.
 */
export class HealthWrites {
  /** Per endpoint, the last write asked for (settled or not); dropped once settled with nothing after it. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly successes: GroupCommit<Success, void>;
  private readonly statement: string | undefined;

  constructor(private readonly dataSource: DataSource) {
    const metadata = dataSource.getMetadata(WebhookEndpoint);
    const c = (p: string) => columnSql(dataSource, metadata, p);
    if (sqlDialect(dataSource.driver.options.type) === 'postgres') {
      const table = metadata.tablePath
        .split('.')
        .map((part) => dataSource.driver.escape(part))
        .join('.');
      // The rows are locked in id order (the sort runs below the lock), so that two processes' batches over the
      // same endpoints cannot deadlock; `updatedAt` is left alone (health is not an edit of the endpoint).
      this.statement =
        `UPDATE ${table} AS e SET ${c('consecutiveFailures')} = 0, ${c('failingSince')} = NULL, ${c('lastSuccessAt')} = s.at ` +
        `FROM (SELECT x.${c('id')} AS id, v.at FROM ${table} AS x JOIN unnest($1::varchar[], $2::timestamptz[]) AS v(id, at) ` +
        `ON x.${c('id')} = v.id ORDER BY x.${c('id')} FOR UPDATE OF x) AS s WHERE e.${c('id')} = s.id`;
    }
    this.successes = new GroupCommit<Success, void>(
      async (batch) => {
        await this.writeSuccesses(batch);
        return batch.map(() => undefined);
      },
      ([endpointId, at]) => this.writeSuccesses([[endpointId, at]]),
    );
  }

  /** Resets the endpoint's failure counters and sets `lastSuccessAt`, after its writes asked for before. */
  success(endpointId: string, at: Date): Promise<void> {
    return this.inOrder(endpointId, () => this.successes.submit([endpointId, at]));
  }

  /** Runs `write` once every write of this endpoint asked for before it has settled (whether it failed or not). */
  inOrder<T>(endpointId: string, write: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(endpointId);
    const result = previous ? previous.then(write, write) : write();
    const tail = result.catch(() => undefined);
    this.tails.set(endpointId, tail);
    void tail.then(() => {
      if (this.tails.get(endpointId) === tail) this.tails.delete(endpointId);
    });
    return result;
  }

  /** Resolves when every write asked for so far has settled. */
  async settled(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }

  /** One statement for these successes (an endpoint named twice takes its last). */
  private async writeSuccesses(batch: readonly Success[]): Promise<void> {
    const latest = new Map<string, Date>();
    for (const [endpointId, at] of batch) latest.set(endpointId, at);
    const ids = [...latest.keys()].sort();
    if (this.statement) {
      const runner = this.dataSource.createQueryRunner();
      try {
        await runner.query(this.statement, [ids, ids.map((id) => latest.get(id))]);
      } finally {
        await runner.release();
      }
      return;
    }
    const metadata = this.dataSource.getMetadata(WebhookEndpoint);
    const c = (p: string) => columnSql(this.dataSource, metadata, p);
    const qb = this.dataSource.createQueryBuilder().update(WebhookEndpoint);
    // Elsewhere, the same as one UPDATE with a CASE over the ids (one endpoint: its time as a plain value).
    const lastSuccessAt =
      ids.length === 1 ? latest.get(ids[0])! : () => `CASE ${c('id')} ${ids.map((_, i) => `WHEN :id${i} THEN :at${i}`).join(' ')} END`;
    ids.forEach((id, i) => qb.setParameter(`id${i}`, id).setParameter(`at${i}`, latest.get(id)));
    await qb
      .set({ consecutiveFailures: 0, failingSince: null, lastSuccessAt, updatedAt: () => c('updatedAt') })
      .where({ id: ids.length === 1 ? ids[0] : In(ids) })
      .callListeners(false)
      .updateEntity(false)
      .execute();
  }
}
