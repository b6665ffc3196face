import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { tablePath } from './dialect.js';

const TABLE = 'webhook_delivery';

/** The delivery's current round of attempts: where it began (1 for every row written before) and what began it. */
const COLUMNS = [
  new TableColumn({ name: 'roundStart', type: 'integer', default: 1 }),
  new TableColumn({ name: 'roundTrigger', type: 'varchar', length: '16', isNullable: true }),
];

/**
 * Keeps a redelivery's round on its row, so that an attempt the relay enqueues again (its job lost with Redis)
 * keeps the round's retry schedule and its first attempt's trigger.
 */
export class WebhooksDeliveryRound1765400000000 implements MigrationInterface {
  name = 'WebhooksDeliveryRound1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const path = tablePath(queryRunner, this.name, TABLE);
    // In one call: on SQLite each call rebuilds the table.
    const missing = [];
    for (const column of COLUMNS) if (!(await queryRunner.hasColumn(path, column.name))) missing.push(column);
    if (missing.length) await queryRunner.addColumns(path, missing);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const path = tablePath(queryRunner, this.name, TABLE);
    const present = [];
    for (const column of COLUMNS) if (await queryRunner.hasColumn(path, column.name)) present.push(column.name);
    if (present.length) await queryRunner.dropColumns(path, present);
  }
}
