import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import type { DatabaseConfig } from '../../apps/example/src/config.js';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';

export interface TestDatabase {
  kind: DatabaseKind;
  config: DatabaseConfig;
  drop(): Promise<void>;
}

/** SQLite always; PostgreSQL and MariaDB too when TEST_POSTGRES_URL / TEST_MARIADB_URL are set. */
export function databaseKinds(): DatabaseKind[] {
  return [
    'sqlite' as const,
    ...(inject('postgresUrl') ? ['postgres' as const] : []),
    ...(inject('mariadbUrl') ? ['mariadb' as const] : []),
  ];
}

/** A fresh, empty database: a temporary SQLite file, a new PostgreSQL schema, or a new MariaDB database. */
export async function createDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'webhooks-test-'));
    return {
      kind,
      config: { type: 'sqlite', path: join(dir, 'test.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `wh_test_${randomBytes(6).toString('hex')}`;
  if (kind === 'mariadb') {
    const server = inject('mariadbUrl');
    await withMysql(server, (c) => c.query(`CREATE DATABASE \`${name}\``));
    const url = new URL(server);
    url.pathname = `/${name}`;
    return {
      kind,
      config: { type: 'mariadb', url: url.toString() },
      drop: () => withMysql(server, (c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => undefined),
    };
  }
  const url = inject('postgresUrl');
  await withClient(url, (c) => c.query(`CREATE SCHEMA "${name}"`));
  return {
    kind,
    config: { type: 'postgres', url, schema: name },
    drop: () => withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)).then(() => undefined),
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function withMysql<T>(url: string, fn: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection(url);
  try {
    return await fn(connection);
  } finally {
    await connection.end();
  }
}
