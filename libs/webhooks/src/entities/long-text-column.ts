import { Column, type ColumnOptions, type ColumnType } from 'typeorm';
import { sqlDialect } from '../util/sql-dialect.js';
import { buildingDriverType } from './timestamp-column.js';

/**
 * A text column for values up to a few hundred KB (an event's payload, up to 256 KiB): `mediumtext` on MySQL and
 * MariaDB, whose `text` holds 64 KB only (a longer value fails the write in strict mode, and is cut short without
 * it); `text` elsewhere. The type is asked for while TypeORM builds the DataSource's metadata (see TimestampColumn).
 */
export function LongTextColumn(options: Pick<ColumnOptions, 'nullable'> = {}): PropertyDecorator {
  return Column({
    get type(): ColumnType {
      return longTextType(buildingDriverType());
    },
    ...options,
  });
}

export function longTextType(driverType: string | undefined): ColumnType {
  return sqlDialect(driverType) === 'mysql' ? 'mediumtext' : 'text';
}
