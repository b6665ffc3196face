import type { DataSource, EntityMetadata } from 'typeorm';
import type { EntityClass } from '../util/entity-class.js';

/** The escaped column name of an entity class's property, for hand-written SQL. */
export function entityColumnSql(dataSource: DataSource, target: EntityClass, property: string): string {
  return columnSql(dataSource, dataSource.getMetadata(target), property);
}

/** The escaped database name of an entity property's column, for hand-written SQL. */
export function columnSql(dataSource: DataSource, metadata: EntityMetadata, property: string): string {
  const column = metadata.findColumnWithPropertyName(property);
  if (!column) throw new Error(`${metadata.name} has no column ${property}`);
  return dataSource.driver.escape(column.databaseName);
}
