import { BaseEntity, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { TimestampColumn } from './timestamp-column.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/**
 * A signing secret of an endpoint (`whsec_<base64>`). An endpoint signs with every secret whose `expiresAt` is
 * unset or in the future; rotation gives the old secret an expiry.
 *
 * `secret` holds `enc:v1:<keyId>:<base64>` (AES-256-GCM, bound to this row's id) when `encryptionKeys` is set, and
 * the plain secret otherwise (development).
 */
@Entity({ name: 'webhook_secret' })
@Index(['endpointId'])
export class WebhookSecret extends BaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  endpointId: string;

  @ManyToOne(() => WebhookEndpoint, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'endpointId' })
  endpoint?: Relation<WebhookEndpoint>;

  @Column({ type: 'text' })
  secret: string;

  @TimestampColumn()
  createdAt: Date;

  /** When this secret stops signing; null while it is the primary secret. */
  @TimestampColumn({ nullable: true })
  expiresAt: Date | null;
}
