import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf, postgresSchema, tableName } from './dialect.js';

/** The date columns by table; `auto` marks TypeORM's create/update columns (filled by the database). */
const DATE_COLUMNS: Record<string, Array<{ name: string; nullable: boolean; auto?: boolean }>> = {
  webhook_endpoint: [
    { name: 'lastSuccessAt', nullable: true },
    { name: 'lastFailureAt', nullable: true },
    { name: 'failingSince', nullable: true },
    { name: 'disabledAt', nullable: true },
    { name: 'createdAt', nullable: false, auto: true },
    { name: 'updatedAt', nullable: false, auto: true },
  ],
  webhook_event: [{ name: 'createdAt', nullable: false }],
  webhook_delivery: [
    { name: 'nextAttemptAt', nullable: true },
    { name: 'createdAt', nullable: false },
    { name: 'updatedAt', nullable: false },
  ],
  webhook_attempt: [
    { name: 'nextAttemptAt', nullable: true },
    { name: 'createdAt', nullable: false },
  ],
  webhook_secret: [
    { name: 'createdAt', nullable: false },
    { name: 'expiresAt', nullable: true },
  ],
};

/**
 * Dates become instants (see entities/timestamp-column.ts).
 *
 * PostgreSQL: `timestamp` to `timestamp with time zone`. 0.1.0 wrote wall-clock times in the local time zone of the
 * app process that wrote them (node-postgres sends a Date as local time; `timestamp` drops the offset), so the values
 * are read as times in the migrating process's zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`): run the
 * migration with the TZ your app processes ran with. The endpoint's createdAt/updatedAt were filled by the database
 * (`now()`), in the session's TimeZone, so they are read in that zone. Columns already converted are skipped.
 *
 * MySQL/MariaDB: plain date columns `datetime` to `datetime(3)`, keeping milliseconds from now on (create/update
 * columns already are `datetime(6)`). SQLite: nothing (dates are UTC text already).
 */
export class WebhooksTimestamps1764600000000 implements MigrationInterface {
  name = 'WebhooksTimestamps1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.convert(queryRunner, 'up');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.convert(queryRunner, 'down');
  }

  private async convert(queryRunner: QueryRunner, direction: 'up' | 'down'): Promise<void> {
    const dialect = dialectOf(queryRunner, this.name);
    if (dialect === 'sqlite') return;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone.replace(/'/g, "''");
    const schema = dialect === 'postgres' ? await postgresSchema(queryRunner) : undefined;
    for (const [table, columns] of Object.entries(DATE_COLUMNS)) {
      const changes: string[] = [];
      for (const column of columns) {
        if (dialect === 'postgres') {
          const [from, to] =
            direction === 'up'
              ? ['timestamp without time zone', 'timestamp with time zone']
              : ['timestamp with time zone', 'timestamp without time zone'];
          const rows = await queryRunner.query(
            'SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3 AND data_type = $4',
            [schema, table, column.name, from],
          );
          // timestamp AT TIME ZONE z: the instant of that wall clock in z; timestamptz AT TIME ZONE z: its wall clock in z.
          const written = column.auto ? `current_setting('TimeZone')` : `'${zone}'`;
          if (rows.length) changes.push(`ALTER COLUMN "${column.name}" TYPE ${to} USING "${column.name}" AT TIME ZONE ${written}`);
        } else if (!column.auto) {
          const precision = direction === 'up' ? 3 : 0;
          const rows: Array<{ precision: number | string | null }> = await queryRunner.query(
            'SELECT DATETIME_PRECISION AS `precision` FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
            [table, column.name],
          );
          if (rows.length && Number(rows[0].precision) !== precision) {
            changes.push(`MODIFY \`${column.name}\` datetime${precision ? `(${precision})` : ''} ${column.nullable ? 'NULL' : 'NOT NULL'}`);
          }
        }
      }
      if (changes.length) await queryRunner.query(`ALTER TABLE ${tableName(queryRunner, dialect, table)} ${changes.join(', ')}`);
    }
  }
}
