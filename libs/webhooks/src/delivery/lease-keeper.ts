import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { WebhookDelivery } from '../entities/index.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { attemptKey, type DeliveryJob } from '../queue/delivery-queue.js';
import { WebhookStore } from '../store/webhook-store.js';
import { EndpointGate } from './endpoint-gate.js';

/** Ids per renewal statement (a process rarely has more in flight; a longer list is split). */
const RENEW_CHUNK = 500;

/** An attempt, as its job names it. */
type Attempt = Pick<DeliveryJob, 'deliveryId' | 'attempt' | 'endpointId'>;

/** One attempt in flight in this process: its delivery row, and its slot at the endpoint's gate (none for a test). */
interface Held {
  deliveryId: string;
  attempt: number;
  endpointId: string;
  slot: string | null;
}

/**
 * The leases of this process's attempts in flight. An attempt's delivery row is `delivering` until `leaseMs` from
 * its claim, and its gate slot likewise; while the attempt runs, one round every `leaseMs / 3` pushes every lease
 * of this process `leaseMs` ahead: one UPDATE for all the rows and, beside it, one Redis call for all the slots. A worker that
 * dies stops renewing, so its rows lapse within `leaseMs` and the relay's sweep of lapsed leases takes them back;
 * a live worker's attempts, however slow, keep theirs.
 */
@Injectable()
export class LeaseKeeper implements OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  /** By delivery and attempt: a stale attempt that ends must not stop the renewal of a newer one of its delivery. */
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** The gate's renewal of the slots, while Redis has not answered it. */
  private renewingSlots: Promise<void> | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gate: EndpointGate,
    private readonly store: WebhookStore,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  /** The end of a lease taken now. */
  leaseUntil(now = Date.now()): Date {
    return new Date(now + this.options.leaseMs);
  }

  /** This attempt of the delivery is in flight here (its row claimed; `slot` its gate token, if it has one). */
  hold({ deliveryId, attempt, endpointId }: Attempt, slot: string | null): void {
    this.held.set(attemptKey({ deliveryId, attempt }), { deliveryId, attempt, endpointId, slot });
    this.timer ??= setInterval(() => void this.renew(), Math.floor(this.options.leaseMs / 3));
    this.timer.unref();
  }

  /** The attempt is over (its outcome written, or it never got its row). */
  drop(job: Pick<Attempt, 'deliveryId' | 'attempt'>): void {
    this.held.delete(attemptKey(job));
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * Before the send of a row claimed at `claimedAt`, when that was a while ago (its gate took long to answer):
   * pushes its lease ahead if the row is still this attempt's, one conditional UPDATE. False when it is not (the
   * lease lapsed while no renewal landed, and the relay took the row back): nothing may be sent, and this process
   * stops renewing it. Sooner than a renewal period, the renewals keep the lease ahead and nothing is asked. When
   * the UPDATE fails (the database away), the attempt fails and its lease is left to lapse, so the relay takes the
   * row back: renewed on, it would stay `delivering` until the process stops.
   */
  async confirm(job: Attempt, claimedAt: number): Promise<boolean> {
    if (Date.now() - claimedAt < this.options.leaseMs / 3) return true;
    const confirmed = await this.store.extendLease(job.deliveryId, job.attempt, this.leaseUntil()).catch((error: unknown) => {
      this.drop(job);
      throw error;
    });
    if (!confirmed) this.drop(job);
    return confirmed;
  }

  /** One renewal round (rounds do not overlap: a slow one makes the next wait). Never throws. */
  renew(): Promise<void> {
    this.renewing ??= this.round().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async round(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held];
    const until = this.leaseUntil();
    // The slots are renewed beside the rows, not before or after them: a Redis that stalls must not stop the rows'
    // renewals (the relay would take back attempts still in flight and send them twice), nor a database the slots'.
    // A renewal Redis has not answered yet is not sent again.
    const slots = entries.flatMap(([, h]) => (h.slot ? [{ endpointId: h.endpointId, token: h.slot }] : []));
    if (slots.length && !this.renewingSlots) {
      this.renewingSlots = this.gate.renew(slots, until.getTime()).finally(() => (this.renewingSlots = undefined));
    }
    try {
      for (let i = 0; i < entries.length; i += RENEW_CHUNK) {
        // By attempt: a stale attempt still running here must not extend the lease of the delivery's newer one,
        // whose process may have died (the relay would wait for the stale one's end to take the row back).
        const byAttempt = new Map<number, string[]>();
        for (const [, h] of entries.slice(i, i + RENEW_CHUNK)) {
          const ids = byAttempt.get(h.attempt) ?? [];
          byAttempt.set(h.attempt, ids);
          ids.push(h.deliveryId);
        }
        await this.dataSource
          .getRepository(WebhookDelivery)
          .createQueryBuilder()
          .update()
          .set({ nextAttemptAt: until })
          .where([...byAttempt].map(([attemptCount, ids]) => ({ id: In(ids), attemptCount, status: 'delivering' as const })))
          .callListeners(false)
          .updateEntity(false)
          .execute();
      }
    } catch (error) {
      this.logger.warn(`Could not renew the leases of ${entries.length} attempts in flight (${(error as Error).message}).`);
    }
  }
}
