import { In, Not, Raw, type DataSource, type FindOperator } from 'typeorm';
import { sqlDialect } from '../util/sql-dialect.js';

/**
 * Lists longer than this go to the database as one parameter: PostgreSQL takes at most 65,535 bind parameters per
 * statement and SQLite 32,766, and a list of held endpoints of a large multi-tenant install can be longer. (TypeORM
 * writes MySQL's and MariaDB's parameters into the statement text: there a list stays a list.)
 */
const LONG_LIST = 1000;

let named = 0;

/**
 * A find operator for "the column is one of `ids`" (`negate`: none of them), for a list of any length. Short
 * lists, and all on MySQL/MariaDB, are `IN (...)`; long ones one parameter, a PostgreSQL array or, on SQLite, a
 * JSON array read with `json_each`.
 */
export function idsIn(dataSource: DataSource, ids: readonly string[], negate = false): FindOperator<string> {
  const dialect = sqlDialect(dataSource.driver.options.type);
  if (ids.length <= LONG_LIST || (dialect !== 'postgres' && dialect !== 'sqlite')) return negate ? Not(In([...ids])) : In([...ids]);
  const name = `idList${++named % 1_000_000}`;
  if (dialect === 'postgres') {
    return Raw((column) => (negate ? `${column} <> ALL(:${name})` : `${column} = ANY(:${name})`), { [name]: [...ids] });
  }
  return Raw((column) => `${column} ${negate ? 'NOT ' : ''}IN (SELECT value FROM json_each(:${name}))`, { [name]: JSON.stringify(ids) });
}
