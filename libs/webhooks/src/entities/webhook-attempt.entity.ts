import { BaseEntity, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { TimestampColumn } from './timestamp-column.js';
import type { AttemptTrigger } from './attempt-trigger.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';

/** One HTTP try of a delivery: the audit log. */
@Entity({ name: 'webhook_attempt' })
@Index(['deliveryId', 'attemptNumber'])
export class WebhookAttempt extends BaseEntity {
  /** Time-ordered (`newId('att', createdAt)`): ranges by time use the primary key. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  deliveryId: string;

  @ManyToOne(() => WebhookDelivery, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deliveryId' })
  delivery?: Relation<WebhookDelivery>;

  @Column({ type: 'integer' })
  attemptNumber: number;

  @Column({ type: 'varchar', length: 16, default: 'scheduled' })
  trigger: AttemptTrigger;

  @Column({ type: 'varchar', length: 2048 })
  requestUrl: string;

  /** HTTP status; null when no response arrived (network error, timeout). */
  @Column({ type: 'integer', nullable: true })
  responseStatus: number | null;

  /** Response body, truncated to `responseBodyStoreLimitBytes`. */
  @Column({ type: 'text', nullable: true })
  responseBody: string | null;

  @Column({ type: 'simple-json', nullable: true })
  responseHeaders: Record<string, string> | null;

  @Column({ type: 'integer' })
  durationMs: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** When the next attempt was scheduled after this one; null if none. */
  @TimestampColumn({ nullable: true })
  nextAttemptAt: Date | null;

  @TimestampColumn()
  createdAt: Date;
}
