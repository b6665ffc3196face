import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { dialectOf } from './dialect.js';

/** The per-endpoint overrides of the delivery engine's isolation: `maxInFlight` and `rateLimit` (JSON). */
const COLUMNS = [
  new TableColumn({ name: 'maxInFlight', type: 'integer', isNullable: true }),
  new TableColumn({ name: 'rateLimit', type: 'text', isNullable: true }),
];

/** Adds the endpoint's isolation overrides (both nullable: null follows the module's defaults). */
export class WebhooksIsolation1764800000000 implements MigrationInterface {
  name = 'WebhooksIsolation1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const table = this.table(queryRunner);
    for (const column of COLUMNS) {
      if (!(await queryRunner.hasColumn(table, column.name))) await queryRunner.addColumn(table, column);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const table = this.table(queryRunner);
    for (const column of [...COLUMNS].reverse()) {
      if (await queryRunner.hasColumn(table, column.name)) await queryRunner.dropColumn(table, column.name);
    }
  }

  /** The table path TypeORM's query runner expects (schema-qualified on PostgreSQL when a schema is set). */
  private table(queryRunner: QueryRunner): string {
    const dialect = dialectOf(queryRunner, this.name);
    const schema = dialect === 'postgres' ? (queryRunner.connection.driver.options as { schema?: string }).schema : undefined;
    return schema ? `${schema}.webhook_endpoint` : 'webhook_endpoint';
  }
}
