/** The SQL families the library writes dialect-specific SQL and column types for. */
export type SqlDialect = 'postgres' | 'cockroach' | 'mysql' | 'sqlite';

const DIALECTS: Readonly<Record<string, SqlDialect>> = {
  postgres: 'postgres',
  'aurora-postgres': 'postgres',
  cockroachdb: 'cockroach',
  mysql: 'mysql',
  mariadb: 'mysql',
  'aurora-mysql': 'mysql',
  sqlite: 'sqlite',
  'better-sqlite3': 'sqlite',
  sqljs: 'sqlite',
  capacitor: 'sqlite',
  cordova: 'sqlite',
  expo: 'sqlite',
  nativescript: 'sqlite',
  'react-native': 'sqlite',
};

/** The family of a TypeORM driver type (`dataSource.options.type`); undefined for any other database. */
export function sqlDialect(driverType: string | undefined): SqlDialect | undefined {
  return driverType === undefined ? undefined : DIALECTS[driverType];
}
