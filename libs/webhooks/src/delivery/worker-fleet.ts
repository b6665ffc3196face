import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

/** How often a worker process announces itself; an announcement lapses after three of these. */
export const ANNOUNCE_MS = 5_000;
const LAPSE_MS = 3 * ANNOUNCE_MS;

/**
 * Drops lapsed announcements, renews this process's (member `<id>|<slots>`, scored by when it lapses) or takes it
 * out when it leaves, keeps the sum of the slots of every live one in KEYS[2] (which the gate's scripts read), and
 * answers it. Both keys go when the last worker leaves, and lapse when no worker announces any more.
 */
const ANNOUNCE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if ARGV[5] == 'leave' then redis.call('ZREM', KEYS[1], ARGV[3]) else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local slots = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  slots = slots + (tonumber(string.match(member, '|(%d+)$')) or 0)
end
if slots == 0 then
  -- The last one left: nothing of the fleet stays behind.
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[2], slots, 'PX', ARGV[4])
end
return slots
`;

/**
 * The worker slots of every worker process on the queue: each announces its `concurrency` in Redis every
 * ANNOUNCE_MS, and an announcement that is not renewed lapses (a process that died stops counting within
 * LAPSE_MS). The default per-endpoint cap is half of them, so one endpoint never holds more than half of all worker
 * slots, and a worker process added to drain a backlog adds to what one busy endpoint may use.
 */
@Injectable()
export class WorkerFleet implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly member: string;
  private seen: number;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly queue: DeliveryQueue,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {
    this.member = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}|${options.concurrency}`;
    this.seen = options.worker ? options.concurrency : 0;
  }

  /**
   * The worker slots of all live worker processes, as last seen (at least this process's own; before its first
   * announcement is answered, its own alone).
   */
  slots(): number {
    return Math.max(this.seen, this.options.worker ? this.options.concurrency : 1, 1);
  }

  onApplicationBootstrap(): void {
    if (!this.options.worker) return;
    void this.announce();
    this.timer = setInterval(() => void this.announce(), ANNOUNCE_MS);
    this.timer.unref();
  }

  /** Renews this process's announcement and reads the fleet's slots. Never throws: the last count stays. */
  async announce(now = Date.now()): Promise<number> {
    try {
      const slots = Number(
        await this.queue.commands().eval(ANNOUNCE, 2, this.key(), this.slotsKey(), now, now + LAPSE_MS, this.member, LAPSE_MS, 'stay'),
      );
      this.seen = slots;
      if (this.failing) this.logger.log('Worker announcements reach Redis again.');
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.logger.warn(`Could not announce this worker (${(error as Error).message}); the per-endpoint cap stays at its last value.`);
      this.failing = true;
    }
    return this.slots();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.options.worker) return;
    // Out at once, and the sum written without it (else it would count until its announcement lapsed).
    const now = Date.now();
    await this.queue
      .commands()
      .eval(ANNOUNCE, 2, this.key(), this.slotsKey(), now, now, this.member, LAPSE_MS, 'leave')
      .catch(() => undefined);
  }

  /** The key holding the sum of all live worker slots, for the gate's scripts. */
  slotsKey(): string {
    return this.queue.key('workers:slots');
  }

  private key(): string {
    return this.queue.key('workers');
  }
}
