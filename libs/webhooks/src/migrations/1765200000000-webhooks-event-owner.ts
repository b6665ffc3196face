import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { tablePath } from './dialect.js';

const TABLE = 'webhook_event';
const COLUMNS = ['ownerId', 'createdAt'];

/**
 * An index on the events' owner and time: an owner's events (and, through them, its deliveries) newest first, as the
 * admin's owner filters and the event log of one tenant read them, without a scan of every event.
 */
export class WebhooksEventOwner1765200000000 implements MigrationInterface {
  name = 'WebhooksEventOwner1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const path = tablePath(queryRunner, this.name, TABLE);
    // The name the entity's @Index gets from the naming strategy, so synchronize and the migrations agree.
    const name = queryRunner.connection.namingStrategy.indexName(TABLE, COLUMNS);
    if (!(await queryRunner.getTable(path))?.indices.some((i) => i.name === name)) {
      await queryRunner.createIndex(path, new TableIndex({ name, columnNames: COLUMNS }));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const path = tablePath(queryRunner, this.name, TABLE);
    const name = queryRunner.connection.namingStrategy.indexName(TABLE, COLUMNS);
    if ((await queryRunner.getTable(path))?.indices.some((i) => i.name === name)) await queryRunner.dropIndex(path, name);
  }
}
