import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { tablePath } from './dialect.js';

/** Tenants: the owner of an endpoint (indexed: an owner's endpoints are listed and counted) and of an event. */
const COLUMNS: Array<{ table: string; column: TableColumn; indexed: boolean }> = [
  {
    table: 'webhook_endpoint',
    column: new TableColumn({ name: 'ownerId', type: 'varchar', length: '200', isNullable: true }),
    indexed: true,
  },
  {
    table: 'webhook_event',
    column: new TableColumn({ name: 'ownerId', type: 'varchar', length: '200', isNullable: true }),
    indexed: false,
  },
];

/** Adds `ownerId` (nullable: existing endpoints and events have no owner) to endpoints and events. */
export class WebhooksOwners1765000000000 implements MigrationInterface {
  name = 'WebhooksOwners1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { table, column, indexed } of COLUMNS) {
      const path = tablePath(queryRunner, this.name, table);
      if (!(await queryRunner.hasColumn(path, column.name))) await queryRunner.addColumn(path, column);
      if (indexed) {
        // The index name the entity's @Index gets from the naming strategy, so synchronize and the migrations agree.
        const name = queryRunner.connection.namingStrategy.indexName(table, [column.name]);
        const existing = (await queryRunner.getTable(path))?.indices.some((i) => i.name === name);
        if (!existing) await queryRunner.createIndex(path, new TableIndex({ name, columnNames: [column.name] }));
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { table, column, indexed } of [...COLUMNS].reverse()) {
      const path = tablePath(queryRunner, this.name, table);
      if (indexed) {
        const name = queryRunner.connection.namingStrategy.indexName(table, [column.name]);
        if ((await queryRunner.getTable(path))?.indices.some((i) => i.name === name)) await queryRunner.dropIndex(path, name);
      }
      if (await queryRunner.hasColumn(path, column.name)) await queryRunner.dropColumn(path, column.name);
    }
  }
}
