import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf, tableName } from './dialect.js';

/**
 * MySQL and MariaDB: an event's payload (up to 256 KiB) in a `mediumtext` column; `text` holds 64 KB, so a larger
 * payload failed the save that recorded it. Nothing to do on PostgreSQL and SQLite, whose `text` has no such limit.
 */
export class WebhooksPayloadSize1765600000000 implements MigrationInterface {
  name = 'WebhooksPayloadSize1765600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.payloadType(queryRunner, 'mediumtext');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.payloadType(queryRunner, 'text');
  }

  private async payloadType(queryRunner: QueryRunner, type: 'mediumtext' | 'text'): Promise<void> {
    const dialect = dialectOf(queryRunner, this.name);
    if (dialect !== 'mysql') return;
    await queryRunner.query(`ALTER TABLE ${tableName(queryRunner, dialect, 'webhook_event')} MODIFY \`payload\` ${type} NOT NULL`);
  }
}
