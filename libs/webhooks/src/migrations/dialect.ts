import type { QueryRunner } from 'typeorm';
import { sqlDialect } from '../util/sql-dialect.js';

export type Dialect = 'postgres' | 'mysql' | 'sqlite';

/** The SQL dialect of the migration's connection; throws for databases the migrations were not written for. */
export function dialectOf(queryRunner: QueryRunner, migration: string): Dialect {
  const type = queryRunner.connection.driver.options.type;
  const dialect = sqlDialect(type);
  if (dialect && dialect !== 'cockroach') return dialect;
  throw new Error(
    `${migration}: the nestjs-outgoing-webhooks migrations support PostgreSQL, MySQL, MariaDB and SQLite, not "${type}". ` +
      'Create the webhook tables with your own migration (or synchronize) on this database.',
  );
}

/**
 * A quoted table name; on PostgreSQL qualified with the connection's `schema` option when it is set (TypeORM's
 * constraint and index names never include the schema).
 */
export function tableName(queryRunner: QueryRunner, dialect: Dialect, name: string): string {
  if (dialect === 'mysql') return `\`${name}\``;
  const schema = dialect === 'postgres' ? (queryRunner.connection.driver.options as { schema?: string }).schema : undefined;
  return schema ? `${quote(schema)}.${quote(name)}` : quote(name);
}

/** The table path TypeORM's query runner expects (`getTable`, `createIndex`): schema-qualified on PostgreSQL when set. */
export function tablePath(queryRunner: QueryRunner, migration: string, table: string): string {
  const dialect = dialectOf(queryRunner, migration);
  const schema = dialect === 'postgres' ? (queryRunner.connection.driver.options as { schema?: string }).schema : undefined;
  return schema ? `${schema}.${table}` : table;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** The PostgreSQL schema the tables live in: the `schema` option, else the connection's current schema. */
export async function postgresSchema(queryRunner: QueryRunner): Promise<string> {
  const schema = (queryRunner.connection.driver.options as { schema?: string }).schema;
  if (schema) return schema;
  const [row] = await queryRunner.query('SELECT current_schema() AS "schema"');
  return row.schema;
}
