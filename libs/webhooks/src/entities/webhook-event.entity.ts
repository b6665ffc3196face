import { BaseEntity, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from './timestamp-column.js';
import { LongTextColumn } from './long-text-column.js';

/** The longest `entityId` kept on the event row (filters match the whole key; the row keeps its start). */
export const ENTITY_ID_LENGTH = 100;

/**
 * One event (`order.created`), written in the same transaction as the change that caused it (the outbox).
 * `payload` holds the exact JSON body every endpoint receives.
 */
@Entity({ name: 'webhook_event' })
@Index(['createdAt'])
// An owner's events newest first (the admin's owner filters; a tenant's event log).
@Index(['ownerId', 'createdAt'])
export class WebhookEvent extends BaseEntity {
  /** Also the envelope `id` and the `webhook-id` header. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  topic: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  entityName: string | null;

  @Column({ type: 'varchar', length: ENTITY_ID_LENGTH, nullable: true })
  entityId: string | null;

  /** The tenant the event belongs to (`@WebhookEntity({ owner })`, `emit(..., { owner })`); null: no owner. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  ownerId: string | null;

  @LongTextColumn()
  payload: string;

  @TimestampColumn()
  createdAt: Date;
}
