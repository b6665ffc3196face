import { BaseEntity, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A receiver: a URL subscribed to topics. Its signing secrets live in `webhook_secret`. */
@Entity({ name: 'webhook_endpoint' })
export class WebhookEndpoint extends BaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  /** Topics (`order.created`) or patterns (`order.*`, `*`) this endpoint receives. */
  @Column({ type: 'simple-json' })
  topics: string[];

  @CreateDateColumn()
  createdAt: Date;

  @UpdateDateColumn()
  updatedAt: Date;
}
