import type { MigrationInterface } from 'typeorm';
import { WebhooksSchema1764000000000 } from './1764000000000-webhooks-schema.js';
import { WebhooksTimestamps1764600000000 } from './1764600000000-webhooks-timestamps.js';
import { WebhooksIsolation1764800000000 } from './1764800000000-webhooks-isolation.js';
import { WebhooksOwners1765000000000 } from './1765000000000-webhooks-owners.js';
import { WebhooksEventOwner1765200000000 } from './1765200000000-webhooks-event-owner.js';
import { WebhooksDeliveryRound1765400000000 } from './1765400000000-webhooks-delivery-round.js';
import { WebhooksPayloadSize1765600000000 } from './1765600000000-webhooks-payload-size.js';

export {
  WebhooksDeliveryRound1765400000000,
  WebhooksEventOwner1765200000000,
  WebhooksIsolation1764800000000,
  WebhooksOwners1765000000000,
  WebhooksPayloadSize1765600000000,
  WebhooksSchema1764000000000,
  WebhooksTimestamps1764600000000,
};

/**
 * The library's migrations, in order, for PostgreSQL, MySQL/MariaDB and SQLite:
 * `migrations: [...WEBHOOK_MIGRATIONS, ...yours]` with `synchronize: false`. They expect TypeORM's default naming
 * strategy (the tables and columns the entities name), and accept a schema that 0.1.0 created with synchronize.
 */
export const WEBHOOK_MIGRATIONS: ReadonlyArray<new () => MigrationInterface> = [
  WebhooksSchema1764000000000,
  WebhooksTimestamps1764600000000,
  WebhooksIsolation1764800000000,
  WebhooksOwners1765000000000,
  WebhooksEventOwner1765200000000,
  WebhooksDeliveryRound1765400000000,
  WebhooksPayloadSize1765600000000,
];
