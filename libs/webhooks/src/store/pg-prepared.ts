import { createHash } from 'node:crypto';
import { QueryRunnerAlreadyReleasedError, type QueryRunner } from 'typeorm';

interface PgResult {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<PgResult>;
  query(text: string, values: unknown[]): Promise<PgResult>;
}

const names = new Map<string, string>();

/** A statement's name, the same for the same text in every process (so a name never means two texts). */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `webhooks_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    if (names.size < 256) names.set(sql, name);
  }
  return name;
}

/**
 * Runs `sql` on the query runner's PostgreSQL connection and answers the driver's rows and row count (TypeORM's
 * `query()` answers neither for data-modifying statements with RETURNING in one shape). `prepared`: as a named
 * (server-side prepared) statement, which PostgreSQL parses and plans once per connection instead of at every call;
 * that counts for the outbox, claim and finish statements run for every event and attempt, and is only for
 * statements whose text is one of a few (built once). Unnamed behind a pooler that cannot keep prepared statements
 * (the `preparedStatements` option). TypeORM's logger sees the statement and its failure as it sees its own.
 */
export async function pgQuery(
  runner: QueryRunner,
  sql: string,
  values: unknown[],
  prepared: boolean,
): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }> {
  // As TypeORM's own query() does: a released runner still holds its connection, which the pool may have given
  // to another caller (and its transaction) by now.
  if (runner.isReleased) throw new QueryRunnerAlreadyReleasedError();
  const client = (await runner.connect()) as PgClient;
  const logger = runner.connection.logger;
  logger.logQuery(sql, values, runner);
  try {
    const result = await (prepared ? client.query({ name: statementName(sql), text: sql, values }) : client.query(sql, values));
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (error) {
    logger.logQueryError(error as Error, sql, values, runner);
    throw error;
  }
}
