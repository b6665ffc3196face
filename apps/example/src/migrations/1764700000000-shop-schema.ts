import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The shop's tables (customer, order) as TypeORM generates them from the entities, for NODE_ENV=production. */
export class ShopSchema1764700000000 implements MigrationInterface {
  name = 'ShopSchema1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    if (type === 'postgres') {
      const t = postgresTable(queryRunner);
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS ${t('customer')} ("id" SERIAL NOT NULL, "name" character varying(200) NOT NULL, ` +
          `"email" character varying(320) NOT NULL, "createdAt" TIMESTAMP NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP NOT NULL DEFAULT now(), ` +
          `CONSTRAINT "PK_a7a13f4cacb744524e44dfdad32" PRIMARY KEY ("id"))`,
      );
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS ${t('order')} ("id" SERIAL NOT NULL, "customerId" integer NOT NULL, "total" numeric(12,2) NOT NULL, ` +
          `"status" character varying(20) NOT NULL, "bucket" character varying(50), "createdAt" TIMESTAMP NOT NULL DEFAULT now(), ` +
          `"updatedAt" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_1031171c13130102495201e3e20" PRIMARY KEY ("id"), ` +
          `CONSTRAINT "FK_124456e637cca7a415897dce659" FOREIGN KEY ("customerId") REFERENCES ${t('customer')}("id") ON DELETE RESTRICT ON UPDATE NO ACTION)`,
      );
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_124456e637cca7a415897dce65" ON ${t('order')} ("customerId")`);
    } else if (type === 'mysql' || type === 'mariadb') {
      await queryRunner.query(
        'CREATE TABLE IF NOT EXISTS `customer` (`id` int NOT NULL AUTO_INCREMENT, `name` varchar(200) NOT NULL, `email` varchar(320) NOT NULL, ' +
          '`createdAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ' +
          '`updatedAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
      await queryRunner.query(
        'CREATE TABLE IF NOT EXISTS `order` (`id` int NOT NULL AUTO_INCREMENT, `customerId` int NOT NULL, `total` decimal(12,2) NOT NULL, ' +
          '`status` varchar(20) NOT NULL, `bucket` varchar(50) NULL, `createdAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ' +
          '`updatedAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), ' +
          'INDEX `IDX_124456e637cca7a415897dce65` (`customerId`), PRIMARY KEY (`id`), ' +
          'CONSTRAINT `FK_124456e637cca7a415897dce659` FOREIGN KEY (`customerId`) REFERENCES `customer`(`id`) ON DELETE RESTRICT ON UPDATE NO ACTION) ENGINE=InnoDB',
      );
    } else if (type === 'better-sqlite3' || type === 'sqlite') {
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS "customer" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(200) NOT NULL, ` +
          `"email" varchar(320) NOT NULL, "createdAt" datetime NOT NULL DEFAULT (datetime('now')), "updatedAt" datetime NOT NULL DEFAULT (datetime('now')))`,
      );
      await queryRunner.query(
        `CREATE TABLE IF NOT EXISTS "order" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "customerId" integer NOT NULL, ` +
          `"total" decimal(12,2) NOT NULL, "status" varchar(20) NOT NULL, "bucket" varchar(50), ` +
          `"createdAt" datetime NOT NULL DEFAULT (datetime('now')), "updatedAt" datetime NOT NULL DEFAULT (datetime('now')), ` +
          `CONSTRAINT "FK_124456e637cca7a415897dce659" FOREIGN KEY ("customerId") REFERENCES "customer" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION)`,
      );
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_124456e637cca7a415897dce65" ON "order" ("customerId")`);
    } else {
      throw new Error(`${this.name}: the example supports PostgreSQL, MySQL/MariaDB and SQLite, not "${type}".`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    const t =
      type === 'postgres'
        ? postgresTable(queryRunner)
        : type === 'mysql' || type === 'mariadb'
          ? (n: string) => `\`${n}\``
          : (n: string) => `"${n}"`;
    await queryRunner.query(`DROP TABLE IF EXISTS ${t('order')}`);
    await queryRunner.query(`DROP TABLE IF EXISTS ${t('customer')}`);
  }
}

function postgresTable(queryRunner: QueryRunner) {
  const schema = (queryRunner.connection.driver.options as { schema?: string }).schema;
  return (name: string) => (schema ? `"${schema}"."${name}"` : `"${name}"`);
}
