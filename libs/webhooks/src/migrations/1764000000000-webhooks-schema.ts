import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf, tableName, type Dialect } from './dialect.js';

/**
 * The library's tables as release 0.1.0 made them (the DDL TypeORM generated for its entities then; PostgreSQL
 * dates as `timestamp`, MySQL plain dates as `datetime`). Idempotent: a schema 0.1.0 created with
 * `synchronize: true` is left as it is, so apps that used synchronize can switch to migrations. Foreign keys are
 * written inside CREATE TABLE for that reason (PostgreSQL and MySQL have no ADD CONSTRAINT IF NOT EXISTS); MySQL
 * has no CREATE INDEX IF NOT EXISTS either, so its indexes are inline too.
 */
export class WebhooksSchema1764000000000 implements MigrationInterface {
  name = 'WebhooksSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const dialect = dialectOf(queryRunner, this.name);
    const t = (name: string) => tableName(queryRunner, dialect, name);
    for (const sql of STATEMENTS[dialect](t)) await queryRunner.query(sql);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const dialect = dialectOf(queryRunner, this.name);
    for (const table of ['webhook_attempt', 'webhook_delivery', 'webhook_secret', 'webhook_event', 'webhook_endpoint']) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${tableName(queryRunner, dialect, table)}`);
    }
  }
}

type Statements = (t: (name: string) => string) => string[];

const STATEMENTS: Record<Dialect, Statements> = {
  postgres: (t) => [
    `CREATE TABLE IF NOT EXISTS ${t('webhook_endpoint')} ("id" character varying(32) NOT NULL, "url" character varying(2048) NOT NULL, ` +
      `"description" character varying(500), "active" boolean NOT NULL DEFAULT true, "topics" text NOT NULL, "retrySchedule" text, ` +
      `"timeoutMs" integer, "headers" text, "filters" text, "method" character varying(8) NOT NULL DEFAULT 'POST', "fields" text, ` +
      `"transform" character varying(100), "headerProvider" character varying(100), "auth" text, ` +
      `"consecutiveFailures" integer NOT NULL DEFAULT '0', "lastSuccessAt" TIMESTAMP, "lastFailureAt" TIMESTAMP, ` +
      `"failingSince" TIMESTAMP, "disabledAt" TIMESTAMP, "disabledReason" character varying(500), ` +
      `"createdAt" TIMESTAMP NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP NOT NULL DEFAULT now(), ` +
      `CONSTRAINT "PK_6c98112122b2b8a4f3984d2efa8" PRIMARY KEY ("id"))`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_event')} ("id" character varying(32) NOT NULL, "topic" character varying(200) NOT NULL, ` +
      `"entityName" character varying(100), "entityId" character varying(100), "payload" text NOT NULL, "createdAt" TIMESTAMP NOT NULL, ` +
      `CONSTRAINT "PK_0f56d2f40f5ec823acf8e8edad1" PRIMARY KEY ("id"))`,
    `CREATE INDEX IF NOT EXISTS "IDX_f5d98a77bfcdbf049619bd6bce" ON ${t('webhook_event')} ("createdAt")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_delivery')} ("id" character varying(32) NOT NULL, "eventId" character varying(32) NOT NULL, ` +
      `"endpointId" character varying(32) NOT NULL, "topic" character varying(200) NOT NULL, ` +
      `"status" character varying(16) NOT NULL DEFAULT 'pending', "attemptCount" integer NOT NULL DEFAULT '0', "nextAttemptAt" TIMESTAMP, ` +
      `"lastResponseStatus" integer, "lastError" text, "createdAt" TIMESTAMP NOT NULL, "updatedAt" TIMESTAMP NOT NULL, ` +
      `CONSTRAINT "PK_b1ae290239a778f12399db91354" PRIMARY KEY ("id"), ` +
      `CONSTRAINT "FK_1ce7f4ca39804d09d0aaf9c96bb" FOREIGN KEY ("eventId") REFERENCES ${t('webhook_event')}("id") ON DELETE CASCADE ON UPDATE NO ACTION, ` +
      `CONSTRAINT "FK_aa80c1d0b71d372bd9d844ada20" FOREIGN KEY ("endpointId") REFERENCES ${t('webhook_endpoint')}("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_1ce7f4ca39804d09d0aaf9c96b" ON ${t('webhook_delivery')} ("eventId")`,
    `CREATE INDEX IF NOT EXISTS "IDX_4d7c6d966a99fd4312dbcbef37" ON ${t('webhook_delivery')} ("endpointId", "id")`,
    `CREATE INDEX IF NOT EXISTS "IDX_94782787f6d98f21d3cf247962" ON ${t('webhook_delivery')} ("status", "nextAttemptAt")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_attempt')} ("id" character varying(32) NOT NULL, "deliveryId" character varying(32) NOT NULL, ` +
      `"attemptNumber" integer NOT NULL, "trigger" character varying(16) NOT NULL DEFAULT 'scheduled', ` +
      `"requestUrl" character varying(2048) NOT NULL, "responseStatus" integer, "responseBody" text, "responseHeaders" text, ` +
      `"durationMs" integer NOT NULL, "error" text, "nextAttemptAt" TIMESTAMP, "createdAt" TIMESTAMP NOT NULL, ` +
      `CONSTRAINT "PK_e4ff77b66cdd20591ba6189a1f9" PRIMARY KEY ("id"), ` +
      `CONSTRAINT "FK_4492f1e4aced9619843382a4991" FOREIGN KEY ("deliveryId") REFERENCES ${t('webhook_delivery')}("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_c684a5187af5a839746d6612a6" ON ${t('webhook_attempt')} ("deliveryId", "attemptNumber")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_secret')} ("id" character varying(32) NOT NULL, "endpointId" character varying(32) NOT NULL, ` +
      `"secret" text NOT NULL, "createdAt" TIMESTAMP NOT NULL, "expiresAt" TIMESTAMP, ` +
      `CONSTRAINT "PK_5846dcede2111cca14b94f259eb" PRIMARY KEY ("id"), ` +
      `CONSTRAINT "FK_23323c518cf5474d20bbe5a8a26" FOREIGN KEY ("endpointId") REFERENCES ${t('webhook_endpoint')}("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_23323c518cf5474d20bbe5a8a2" ON ${t('webhook_secret')} ("endpointId")`,
  ],

  mysql: (t) => [
    `CREATE TABLE IF NOT EXISTS ${t('webhook_endpoint')} (\`id\` varchar(32) NOT NULL, \`url\` varchar(2048) NOT NULL, ` +
      `\`description\` varchar(500) NULL, \`active\` tinyint NOT NULL DEFAULT 1, \`topics\` text NOT NULL, \`retrySchedule\` text NULL, ` +
      `\`timeoutMs\` int NULL, \`headers\` text NULL, \`filters\` text NULL, \`method\` varchar(8) NOT NULL DEFAULT 'POST', ` +
      `\`fields\` text NULL, \`transform\` varchar(100) NULL, \`headerProvider\` varchar(100) NULL, \`auth\` text NULL, ` +
      `\`consecutiveFailures\` int NOT NULL DEFAULT '0', \`lastSuccessAt\` datetime NULL, \`lastFailureAt\` datetime NULL, ` +
      `\`failingSince\` datetime NULL, \`disabledAt\` datetime NULL, \`disabledReason\` varchar(500) NULL, ` +
      `\`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
      `\`updatedAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), ` +
      `PRIMARY KEY (\`id\`)) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_event')} (\`id\` varchar(32) NOT NULL, \`topic\` varchar(200) NOT NULL, ` +
      `\`entityName\` varchar(100) NULL, \`entityId\` varchar(100) NULL, \`payload\` text NOT NULL, \`createdAt\` datetime NOT NULL, ` +
      `INDEX \`IDX_f5d98a77bfcdbf049619bd6bce\` (\`createdAt\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_delivery')} (\`id\` varchar(32) NOT NULL, \`eventId\` varchar(32) NOT NULL, ` +
      `\`endpointId\` varchar(32) NOT NULL, \`topic\` varchar(200) NOT NULL, \`status\` varchar(16) NOT NULL DEFAULT 'pending', ` +
      `\`attemptCount\` int NOT NULL DEFAULT '0', \`nextAttemptAt\` datetime NULL, \`lastResponseStatus\` int NULL, ` +
      `\`lastError\` text NULL, \`createdAt\` datetime NOT NULL, \`updatedAt\` datetime NOT NULL, ` +
      `INDEX \`IDX_1ce7f4ca39804d09d0aaf9c96b\` (\`eventId\`), INDEX \`IDX_4d7c6d966a99fd4312dbcbef37\` (\`endpointId\`, \`id\`), ` +
      `INDEX \`IDX_94782787f6d98f21d3cf247962\` (\`status\`, \`nextAttemptAt\`), PRIMARY KEY (\`id\`), ` +
      `CONSTRAINT \`FK_1ce7f4ca39804d09d0aaf9c96bb\` FOREIGN KEY (\`eventId\`) REFERENCES ${t('webhook_event')}(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION, ` +
      `CONSTRAINT \`FK_aa80c1d0b71d372bd9d844ada20\` FOREIGN KEY (\`endpointId\`) REFERENCES ${t('webhook_endpoint')}(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION` +
      `) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_attempt')} (\`id\` varchar(32) NOT NULL, \`deliveryId\` varchar(32) NOT NULL, ` +
      `\`attemptNumber\` int NOT NULL, \`trigger\` varchar(16) NOT NULL DEFAULT 'scheduled', \`requestUrl\` varchar(2048) NOT NULL, ` +
      `\`responseStatus\` int NULL, \`responseBody\` text NULL, \`responseHeaders\` text NULL, \`durationMs\` int NOT NULL, ` +
      `\`error\` text NULL, \`nextAttemptAt\` datetime NULL, \`createdAt\` datetime NOT NULL, ` +
      `INDEX \`IDX_c684a5187af5a839746d6612a6\` (\`deliveryId\`, \`attemptNumber\`), PRIMARY KEY (\`id\`), ` +
      `CONSTRAINT \`FK_4492f1e4aced9619843382a4991\` FOREIGN KEY (\`deliveryId\`) REFERENCES ${t('webhook_delivery')}(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION` +
      `) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_secret')} (\`id\` varchar(32) NOT NULL, \`endpointId\` varchar(32) NOT NULL, ` +
      `\`secret\` text NOT NULL, \`createdAt\` datetime NOT NULL, \`expiresAt\` datetime NULL, ` +
      `INDEX \`IDX_23323c518cf5474d20bbe5a8a2\` (\`endpointId\`), PRIMARY KEY (\`id\`), ` +
      `CONSTRAINT \`FK_23323c518cf5474d20bbe5a8a26\` FOREIGN KEY (\`endpointId\`) REFERENCES ${t('webhook_endpoint')}(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION` +
      `) ENGINE=InnoDB`,
  ],

  sqlite: (t) => [
    `CREATE TABLE IF NOT EXISTS ${t('webhook_endpoint')} ("id" varchar(32) PRIMARY KEY NOT NULL, "url" varchar(2048) NOT NULL, ` +
      `"description" varchar(500), "active" boolean NOT NULL DEFAULT (1), "topics" text NOT NULL, "retrySchedule" text, ` +
      `"timeoutMs" integer, "headers" text, "filters" text, "method" varchar(8) NOT NULL DEFAULT ('POST'), "fields" text, ` +
      `"transform" varchar(100), "headerProvider" varchar(100), "auth" text, "consecutiveFailures" integer NOT NULL DEFAULT (0), ` +
      `"lastSuccessAt" datetime, "lastFailureAt" datetime, "failingSince" datetime, "disabledAt" datetime, "disabledReason" varchar(500), ` +
      `"createdAt" datetime NOT NULL DEFAULT (datetime('now')), "updatedAt" datetime NOT NULL DEFAULT (datetime('now')))`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_event')} ("id" varchar(32) PRIMARY KEY NOT NULL, "topic" varchar(200) NOT NULL, ` +
      `"entityName" varchar(100), "entityId" varchar(100), "payload" text NOT NULL, "createdAt" datetime NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS "IDX_f5d98a77bfcdbf049619bd6bce" ON ${t('webhook_event')} ("createdAt")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_delivery')} ("id" varchar(32) PRIMARY KEY NOT NULL, "eventId" varchar(32) NOT NULL, ` +
      `"endpointId" varchar(32) NOT NULL, "topic" varchar(200) NOT NULL, "status" varchar(16) NOT NULL DEFAULT ('pending'), ` +
      `"attemptCount" integer NOT NULL DEFAULT (0), "nextAttemptAt" datetime, "lastResponseStatus" integer, "lastError" text, ` +
      `"createdAt" datetime NOT NULL, "updatedAt" datetime NOT NULL, ` +
      `CONSTRAINT "FK_1ce7f4ca39804d09d0aaf9c96bb" FOREIGN KEY ("eventId") REFERENCES "webhook_event" ("id") ON DELETE CASCADE ON UPDATE NO ACTION, ` +
      `CONSTRAINT "FK_aa80c1d0b71d372bd9d844ada20" FOREIGN KEY ("endpointId") REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_1ce7f4ca39804d09d0aaf9c96b" ON ${t('webhook_delivery')} ("eventId")`,
    `CREATE INDEX IF NOT EXISTS "IDX_4d7c6d966a99fd4312dbcbef37" ON ${t('webhook_delivery')} ("endpointId", "id")`,
    `CREATE INDEX IF NOT EXISTS "IDX_94782787f6d98f21d3cf247962" ON ${t('webhook_delivery')} ("status", "nextAttemptAt")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_attempt')} ("id" varchar(32) PRIMARY KEY NOT NULL, "deliveryId" varchar(32) NOT NULL, ` +
      `"attemptNumber" integer NOT NULL, "trigger" varchar(16) NOT NULL DEFAULT ('scheduled'), "requestUrl" varchar(2048) NOT NULL, ` +
      `"responseStatus" integer, "responseBody" text, "responseHeaders" text, "durationMs" integer NOT NULL, "error" text, ` +
      `"nextAttemptAt" datetime, "createdAt" datetime NOT NULL, ` +
      `CONSTRAINT "FK_4492f1e4aced9619843382a4991" FOREIGN KEY ("deliveryId") REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_c684a5187af5a839746d6612a6" ON ${t('webhook_attempt')} ("deliveryId", "attemptNumber")`,
    `CREATE TABLE IF NOT EXISTS ${t('webhook_secret')} ("id" varchar(32) PRIMARY KEY NOT NULL, "endpointId" varchar(32) NOT NULL, ` +
      `"secret" text NOT NULL, "createdAt" datetime NOT NULL, "expiresAt" datetime, ` +
      `CONSTRAINT "FK_23323c518cf5474d20bbe5a8a26" FOREIGN KEY ("endpointId") REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    `CREATE INDEX IF NOT EXISTS "IDX_23323c518cf5474d20bbe5a8a2" ON ${t('webhook_secret')} ("endpointId")`,
  ],
};
