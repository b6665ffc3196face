// The minimal pipeline's tables: the same order, a plain outbox and a plain attempt log.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { OrderColumns, readConfig, timestampType } from '../lib/config.js';

// Column types depend on the database this process was started for.
const stamp = timestampType(readConfig().db.kind);

@Entity({ name: 'bench_order' })
export class MinimalOrder extends OrderColumns {}

@Entity({ name: 'minimal_outbox' })
export class OutboxRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ type: 'text' }) payload: string;
  @Column({ name: 'created_at', type: stamp, precision: 3 }) createdAt: Date;
}

@Entity({ name: 'minimal_attempt' })
export class AttemptRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ name: 'outbox_id', type: 'varchar', length: 36 }) outboxId: string;
  /** HTTP status; null when no response came. */
  @Column({ type: 'int', nullable: true }) status: number | null;
  @Column({ name: 'duration_ms', type: 'int' }) durationMs: number;
  @Column({ name: 'created_at', type: stamp, precision: 3 }) createdAt: Date;
}

/** One Bull job: one event for one receiver URL. */
export interface MinimalJob {
  outboxId: string;
  payload: string;
  url: string;
}

export const MINIMAL_QUEUE = 'minimal';
