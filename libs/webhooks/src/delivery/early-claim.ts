import type { DeliveryJob } from '../queue/delivery-queue.js';
import type { WebhookStore } from '../store/webhook-store.js';
import type { LeaseKeeper } from './lease-keeper.js';

/**
 * The claim of a delivery row sent while its endpoint's gate is asked (when the gate will most likely admit, so the
 * two round trips overlap). Once it lands, its lease is renewed like that of an attempt in flight, so a gate slow to
 * answer cannot let it lapse. If the gate holds the delivery after all, `undo` puts the row back as it was, for the
 * job's next run.
 */
export class EarlyClaim {
  /** Whether the row was claimed. Never left unhandled: a failure is seen by whoever awaits it after the gate. */
  readonly claimed: Promise<boolean>;

  constructor(
    private readonly store: WebhookStore,
    private readonly leases: LeaseKeeper,
    private readonly job: DeliveryJob,
    lease: Date,
    now: Date,
  ) {
    this.claimed = store.claim(job.deliveryId, job.attempt, lease, now);
    this.claimed.then(
      (ok) => ok && leases.hold(job, null),
      () => undefined,
    );
  }

  /**
   * Not sent after all (held, or the gate failed): the row goes back to `pending` with the attempts made before.
   * True when it did (the row had been claimed).
   */
  async undo(): Promise<boolean> {
    if (!(await this.claimed.catch(() => false))) return false;
    this.leases.drop(this.job);
    await this.store.unclaim(this.job.deliveryId, this.job.attempt, new Date());
    return true;
  }
}
