import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { WEBHOOK_MIGRATIONS } from 'nestjs-outgoing-webhooks';
import { mkdirSync } from 'node:fs';
import { sqliteDirectory, type DatabaseConfig } from './config.js';
import { ShopSchema1764700000000 } from './migrations/1764700000000-shop-schema.js';
import { CustomerApiKeys1765100000000 } from './migrations/1765100000000-customer-api-keys.js';

/** Every migration of the example: the library's (`WEBHOOK_MIGRATIONS`), then the shop's. */
export const EXAMPLE_MIGRATIONS = [...WEBHOOK_MIGRATIONS, ShopSchema1764700000000, CustomerApiKeys1765100000000];

/**
 * In development `synchronize: true` creates and updates the tables from the entities. In production the schema
 * comes from migrations, run at startup: the library's (`WEBHOOK_MIGRATIONS`) and the shop's. `migrate` (the CLI's
 * command of that name) lists the migrations and neither synchronizes nor runs them at startup: the command does.
 * `schema: false` (a worker-only process) leaves the schema alone: the API process creates or migrates it.
 */
export function typeOrmOptions(
  database: DatabaseConfig,
  production = false,
  { migrate = false, schema = true } = {},
): TypeOrmModuleOptions {
  const tables =
    migrate || !schema
      ? { synchronize: false, migrations: EXAMPLE_MIGRATIONS, migrationsRun: false }
      : production
        ? { synchronize: false, migrations: EXAMPLE_MIGRATIONS, migrationsRun: true }
        : { synchronize: true };
  if (database.type === 'sqlite') {
    const dir = sqliteDirectory(database);
    if (dir) mkdirSync(dir, { recursive: true });
    return { type: 'better-sqlite3', database: database.path, enableWAL: true, autoLoadEntities: true, ...tables };
  }
  if (database.type === 'mysql' || database.type === 'mariadb') {
    // mysql2 writes and reads DATETIME in the connection's time zone ('local' by default): 'Z' stores UTC, so every
    // app instance agrees on an instant whatever its TZ. (Database-side defaults such as CURRENT_TIMESTAMP follow
    // the server's session time zone: run it in UTC too.)
    return { type: database.type, url: database.url, timezone: 'Z', autoLoadEntities: true, ...tables };
  }
  // A connection that cannot be made within 5 s fails (pg waits forever by default): while the database is away a
  // request answers 503 at once or after 5 s, never hangs.
  return { type: 'postgres', url: database.url, schema: database.schema, connectTimeoutMS: 5000, autoLoadEntities: true, ...tables };
}
