import { createHash } from 'node:crypto';
import type { QueryRunner } from 'typeorm';

interface PgClient {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
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
 * Runs `sql` on the query runner's PostgreSQL connection as a named (server-side prepared) statement: PostgreSQL
 * parses and plans it once per connection instead of at every call, which counts for the outbox, claim and finish
 * statements run for every event and attempt. Only for statements whose text is one of a few (built once).
 */
export async function preparedQuery(
  runner: QueryRunner,
  sql: string,
  values: unknown[],
): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }> {
  const client = (await runner.connect()) as PgClient;
  const result = await client.query({ name: statementName(sql), text: sql, values });
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}
