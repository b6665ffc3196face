import type { DataSource, ObjectLiteral } from 'typeorm';
import { InsertQueryBuilder } from 'typeorm/query-builder/InsertQueryBuilder.js';

/**
 * What to do with an insert that may update or skip rows instead (`upsert()`, `orUpdate()`, `orIgnore()`) into
 * `target` on `dataSource`: throw (reject), answer true to run it without subscriber events (skip), or false to
 * leave it alone (not a webhook entity of this DataSource).
 */
export type UpsertCheck = (dataSource: DataSource, target: unknown) => boolean;

const checks = new Set<UpsertCheck>();
let wrapped = false;

/**
 * TypeORM reports every value of such an insert as inserted (afterInsert, with the next generated id), whether the
 * row was inserted, updated on a conflict or ignored: a `created` event would name the wrong row, or a row that does
 * not exist. Inserts of that kind therefore go through `check` first, as bulk updates do. Wraps
 * `InsertQueryBuilder.prototype.execute` once per process; answers the function that removes `check`.
 */
export function guardUpserts(check: UpsertCheck): () => void {
  checks.add(check);
  if (!wrapped) {
    wrapped = true;
    const proto = InsertQueryBuilder.prototype as unknown as { execute(this: InsertQueryBuilder<ObjectLiteral>): Promise<unknown> };
    const execute = proto.execute;
    proto.execute = function (this: InsertQueryBuilder<ObjectLiteral>) {
      const map = this.expressionMap;
      if ((map.onUpdate || map.onIgnore || map.onConflict) && map.callListeners && map.mainAlias?.hasMetadata) {
        try {
          for (const guard of checks) {
            if (guard(this.connection, map.mainAlias.metadata.target)) map.callListeners = false;
          }
        } catch (error) {
          return Promise.reject(error as Error); // as execute() fails: a rejection, before any statement
        }
      }
      return execute.call(this);
    };
  }
  return () => checks.delete(check);
}
