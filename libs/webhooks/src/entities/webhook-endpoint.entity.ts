import { BaseEntity, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from './timestamp-column.js';

/** A receiver: a URL subscribed to topics. Its signing secrets live in `webhook_secret`. */
@Entity({ name: 'webhook_endpoint' })
@Index(['ownerId'])
export class WebhookEndpoint extends BaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  /** The tenant (your customer) that owns it; null: an operator endpoint, which receives every owner's events. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  ownerId: string | null;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  /** Topics (`order.created`) or patterns (`order.*`, `*`) this endpoint receives. */
  @Column({ type: 'simple-json' })
  topics: string[];

  /** Retry delays (ms) for this endpoint; null uses the module's `retrySchedule`. */
  @Column({ type: 'simple-json', nullable: true })
  retrySchedule: number[] | null;

  /** Request timeout (ms) for this endpoint, capped by `maxRequestTimeoutMs`; null uses `requestTimeoutMs`. */
  @Column({ type: 'integer', nullable: true })
  timeoutMs: number | null;

  /** Deliveries in flight at most, across all workers; null uses the module's `maxInFlightPerEndpoint`. */
  @Column({ type: 'integer', nullable: true })
  maxInFlight: number | null;

  /** At most `max` requests per `perMs` milliseconds; null uses the module's `rateLimit`. */
  @Column({ type: 'simple-json', nullable: true })
  rateLimit: { max: number; perMs: number } | null;

  /**
   * Extra request headers as JSON, encrypted like the secrets (`enc:v1:<keyId>:...`) when `encryptionKeys` is set.
   * Read them through `WebhooksService`, which decrypts them and hides sensitive values.
   */
  @Column({ type: 'text', nullable: true, select: true })
  headers: string | null;

  /** Conditions per entity name (`{ "order": { "bucket": "eu" } }`); null: every event of the topics. */
  @Column({ type: 'simple-json', nullable: true })
  filters: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 8, default: 'POST' })
  method: 'POST' | 'PUT';

  /** include / exclude / redact lists for `data` and `changes`. */
  @Column({ type: 'simple-json', nullable: true })
  fields: { include?: string[]; exclude?: string[]; redact?: string[] } | null;

  /** Name of a registered `@WebhookTransformer()`. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  transform: string | null;

  /** Name of a registered `@WebhookHeaderProvider()`. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  headerProvider: string | null;

  /** OAuth2 client-credentials settings as JSON, encrypted like the secrets. */
  @Column({ type: 'text', nullable: true })
  auth: string | null;

  /** Deliveries that failed in a row (reset by a success or by enabling the endpoint). */
  @Column({ type: 'integer', default: 0 })
  consecutiveFailures: number;

  @TimestampColumn({ nullable: true })
  lastSuccessAt: Date | null;

  @TimestampColumn({ nullable: true })
  lastFailureAt: Date | null;

  /** Since when every delivery has failed; null while the last one succeeded. */
  @TimestampColumn({ nullable: true })
  failingSince: Date | null;

  @TimestampColumn({ nullable: true })
  disabledAt: Date | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  disabledReason: string | null;

  @TimestampColumn({ auto: 'create' })
  createdAt: Date;

  @TimestampColumn({ auto: 'update' })
  updatedAt: Date;
}
