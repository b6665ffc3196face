import { Column, CreateDateColumn, UpdateDateColumn, type ColumnOptions, type ColumnType } from 'typeorm';
import { EntityMetadataBuilder } from 'typeorm/metadata-builder/EntityMetadataBuilder.js';
import { sqlDialect } from '../util/sql-dialect.js';

/**
 * The library's date columns hold instants. PostgreSQL's `timestamp` (what TypeORM makes of `Date`) stores a wall
 * clock without zone, so app processes in different time zones would disagree; `timestamp with time zone` does not.
 * TypeORM has no portable column type for that ('timestamptz' is rejected by SQLite and MySQL when metadata is
 * built), and decorators run before any DataSource exists. So the options object below answers `type` (and
 * `precision`) when TypeORM reads them, while it builds the metadata of one DataSource: ColumnMetadata's
 * constructor reads `args.options.type`, and the decorators keep this very object. The driver of that build is
 * recorded by wrapping `EntityMetadataBuilder.prototype.build`, which is synchronous.
 *
 * - PostgreSQL, CockroachDB: `timestamp with time zone` (the spelling TypeORM's value conversions recognise).
 * - MySQL, MariaDB: `datetime`, `datetime(3)` for plain columns: without a precision MySQL drops milliseconds,
 *   which breaks ordering and time comparisons. Create/update columns keep TypeORM's `datetime(6)`. The app should
 *   connect with `timezone: 'Z'` so that values are written and read as UTC.
 * - SQLite: `datetime` (TypeORM stores UTC text).
 * - Any other driver: `Date`, TypeORM's own mapping.
 *
 * The library's migrations create exactly these types.
 */
export function TimestampColumn(options: { nullable?: boolean; auto?: 'create' | 'update' } = {}): PropertyDecorator {
  const columnOptions: ColumnOptions = {
    get type(): ColumnType {
      return timestampType(buildingDriverType());
    },
    get precision(): number | undefined {
      return options.auto ? undefined : timestampPrecision(buildingDriverType());
    },
    ...(options.nullable === undefined ? {} : { nullable: options.nullable }),
  };
  if (options.auto === 'create') return CreateDateColumn(columnOptions);
  if (options.auto === 'update') return UpdateDateColumn(columnOptions);
  return Column(columnOptions);
}

export function timestampType(driverType: string | undefined): ColumnType {
  switch (sqlDialect(driverType)) {
    case 'postgres':
      return 'timestamp with time zone';
    case 'cockroach':
      return 'timestamptz';
    case 'mysql':
    case 'sqlite':
      return 'datetime';
    default:
      return Date;
  }
}

/** Fractional digits of the plain date columns (the migrations use the same). */
export function timestampPrecision(driverType: string | undefined): number | undefined {
  return sqlDialect(driverType) === 'mysql' ? 3 : undefined;
}

interface BuildState {
  drivers: string[];
}

// Kept on the prototype under a registered symbol: every copy of this module (test runners load it once per
// file; a host may bundle two versions) shares one wrapper and one record.
const STATE = Symbol.for('nestjs-outgoing-webhooks.entity-metadata-driver');
type Builder = { connection: { driver: { options: { type: string } } } };
const proto = EntityMetadataBuilder.prototype as unknown as Record<symbol, BuildState | undefined> & {
  build: (this: Builder, ...args: unknown[]) => unknown;
};

function installBuildHook(): BuildState {
  const existing = proto[STATE];
  if (existing) return existing;
  const state: BuildState = { drivers: [] };
  const build = proto.build;
  proto.build = function (this: Builder, ...args: unknown[]) {
    state.drivers.push(this.connection.driver.options.type);
    try {
      return build.apply(this, args);
    } finally {
      state.drivers.pop();
    }
  };
  proto[STATE] = state;
  return state;
}

const buildState = installBuildHook();

/** The driver type of the DataSource whose entity metadata is being built right now; undefined outside a build. */
export function buildingDriverType(): string | undefined {
  return buildState.drivers.at(-1);
}
