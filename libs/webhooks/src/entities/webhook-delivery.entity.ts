import { BaseEntity, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { TimestampColumn } from './timestamp-column.js';
import type { AttemptTrigger } from './attempt-trigger.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { WebhookEvent } from './webhook-event.entity.js';

/** A delivery's states: due or retrying, an attempt in flight, and the two final ones. */
export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event to one endpoint. Its attempts are in `webhook_attempt`. */
@Entity({ name: 'webhook_delivery' })
@Index(['status', 'nextAttemptAt'])
@Index(['endpointId', 'id'])
@Index(['eventId'])
export class WebhookDelivery extends BaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  eventId: string;

  @ManyToOne(() => WebhookEvent, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'eventId' })
  event?: Relation<WebhookEvent>;

  @Column({ type: 'varchar', length: 32 })
  endpointId: string;

  @ManyToOne(() => WebhookEndpoint, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'endpointId' })
  endpoint?: Relation<WebhookEndpoint>;

  /** Denormalised from the event so delivery lists filter by topic without a join. */
  @Column({ type: 'varchar', length: 200 })
  topic: string;

  /**
   * `pending` (waiting for its next attempt), `delivering` (an attempt is in flight), `succeeded`, `failed`
   * (no attempts left, or a permanent error).
   */
  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attemptCount: number;

  /**
   * When the next attempt is due. While `delivering`, when the in-flight attempt is considered lost (the relay
   * then schedules it again).
   */
  @TimestampColumn({ nullable: true })
  nextAttemptAt: Date | null;

  /**
   * The attempt that began the current round of attempts: 1, or the first attempt of a redelivery (the retry
   * schedule counts from it). Kept on the row so that a job the relay adds again continues the round.
   */
  @Column({ type: 'integer', default: 1 })
  roundStart: number;

  /**
   * What began the current round when it was not the schedule (`manual`, `recover`), its first attempt records it;
   * `test` marks a test send, which the relay never sends later.
   */
  @Column({ type: 'varchar', length: 16, nullable: true })
  roundTrigger: AttemptTrigger | null;

  @Column({ type: 'integer', nullable: true })
  lastResponseStatus: number | null;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @TimestampColumn()
  createdAt: Date;

  @TimestampColumn()
  updatedAt: Date;
}
