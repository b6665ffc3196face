import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Customers' API keys (digests only), for NODE_ENV=production; as TypeORM generates the table from the entity. */
export class CustomerApiKeys1765100000000 implements MigrationInterface {
  name = 'CustomerApiKeys1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    if (type === 'postgres') {
      const schema = (queryRunner.connection.driver.options as { schema?: string }).schema;
      const t = (name: string) => (schema ? `"${schema}"."${name}"` : `"${name}"`);
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS ${t('customer_api_key')} ("id" SERIAL NOT NULL, "customerId" integer NOT NULL, ` +
          `"keyHash" character varying(64) NOT NULL, "createdAt" TIMESTAMP NOT NULL DEFAULT now(), ` +
          `CONSTRAINT "PK_customer_api_key" PRIMARY KEY ("id"), ` +
          `CONSTRAINT "FK_customer_api_key_customer" FOREIGN KEY ("customerId") REFERENCES ${t('customer')}("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
      );
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_customer_api_key_customer" ON ${t('customer_api_key')} ("customerId")`);
      await queryRunner.query(`CREATE UNIQUE INDEX IF NOT EXISTS "IDX_customer_api_key_hash" ON ${t('customer_api_key')} ("keyHash")`);
    } else if (type === 'mysql' || type === 'mariadb') {
      await queryRunner.query(
        'CREATE TABLE IF NOT EXISTS `customer_api_key` (`id` int NOT NULL AUTO_INCREMENT, `customerId` int NOT NULL, ' +
          '`keyHash` varchar(64) NOT NULL, `createdAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ' +
          'INDEX `IDX_customer_api_key_customer` (`customerId`), UNIQUE INDEX `IDX_customer_api_key_hash` (`keyHash`), PRIMARY KEY (`id`), ' +
          'CONSTRAINT `FK_customer_api_key_customer` FOREIGN KEY (`customerId`) REFERENCES `customer`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION) ENGINE=InnoDB',
      );
    } else if (type === 'better-sqlite3' || type === 'sqlite') {
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS "customer_api_key" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "customerId" integer NOT NULL, ` +
          `"keyHash" varchar(64) NOT NULL, "createdAt" datetime NOT NULL DEFAULT (datetime('now')), ` +
          `CONSTRAINT "FK_customer_api_key_customer" FOREIGN KEY ("customerId") REFERENCES "customer" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
      );
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_customer_api_key_customer" ON "customer_api_key" ("customerId")`);
      await queryRunner.query(`CREATE UNIQUE INDEX IF NOT EXISTS "IDX_customer_api_key_hash" ON "customer_api_key" ("keyHash")`);
    } else {
      throw new Error(`${this.name}: the example supports PostgreSQL, MySQL/MariaDB and SQLite, not "${type}".`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    const schema = (queryRunner.connection.driver.options as { schema?: string }).schema;
    const table =
      type === 'postgres'
        ? schema
          ? `"${schema}"."customer_api_key"`
          : '"customer_api_key"'
        : type === 'mysql' || type === 'mariadb'
          ? '`customer_api_key`'
          : '"customer_api_key"';
    await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
