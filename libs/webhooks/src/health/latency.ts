import { MoreThanOrEqual, type DataSource } from 'typeorm';
import { WebhookDelivery } from '../entities/index.js';
import { idFloor } from '../ids.js';

/** Deliveries read at most for the percentiles: the newest of the hour. */
const SAMPLE = 5000;

export interface DeliveryLatency {
  /** Succeeded deliveries the percentiles are taken from (the newest, at most 5,000). */
  samples: number;
  /** Commit to delivered (the delivery's creation, in the event's transaction, to its success), in ms. */
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * Commit-to-delivered of the deliveries created since `since` that succeeded: their rows are found through the
 * primary key (ids are time-ordered), the percentiles computed here from at most 5,000 of the newest.
 */
export async function deliveryLatency(dataSource: DataSource, since: Date): Promise<DeliveryLatency> {
  const rows = await dataSource.getRepository(WebhookDelivery).find({
    select: { id: true, createdAt: true, updatedAt: true },
    where: { id: MoreThanOrEqual(idFloor('dlv', since.getTime())), status: 'succeeded' },
    order: { id: 'DESC' },
    take: SAMPLE,
  });
  const durations = rows.map((r) => Math.max(0, r.updatedAt.getTime() - r.createdAt.getTime())).sort((a, b) => a - b);
  return { samples: durations.length, p50Ms: percentile(durations, 0.5), p95Ms: percentile(durations, 0.95) };
}

/** The nearest-rank percentile of sorted values, or null without any. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
