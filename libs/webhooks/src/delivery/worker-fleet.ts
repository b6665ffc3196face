import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

/** How often a worker process announces itself; an announcement lapses after three of these. */
const ANNOUNCE_MS = 5_000;
const LAPSE_MS = 3 * ANNOUNCE_MS;

/**
 * Drops lapsed announcements, renews this process's (member `<id>|<slots>`, scored by when it lapses) or takes it
 * out when it leaves, keeps the sum of the slots of every live one in KEYS[2] (which the gate's scripts read), and
 * answers it. Both keys go when the last worker leaves, and lapse when no worker announces any more. Times are
 * Redis's own (ARGV[1] moves them ahead, for tests), so processes whose clocks differ agree on what has lapsed.
 * ARGV: ahead ms, member, lapse ms, 'stay' or 'leave'.
 */
const ANNOUNCE = `
-- Writes after TIME need effects replication (the default since Redis 5; asked for on 3.2 and 4).
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] == 'leave' then redis.call('ZREM', KEYS[1], ARGV[2]) else redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local slots = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  slots = slots + (tonumber(string.match(member, '|(%d+)$')) or 0)
end
if slots == 0 then
  -- The last one left: nothing of the fleet stays behind.
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[2], slots, 'PX', ARGV[3])
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
export class WorkerFleet implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly member: string;
  private seen = 0;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly queue: DeliveryQueue,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {
    this.member = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}|${options.concurrency}`;
  }

  /**
   * The worker slots of all live worker processes, as last seen (at least this process's own; before its first
   * announcement is answered, its own alone).
   */
  slots(): number {
    return Math.max(this.seen, this.options.worker ? this.options.concurrency : 1);
  }

  onApplicationBootstrap(): void {
    if (!this.options.worker) return;
    void this.announce();
    this.timer = setInterval(() => void this.announce(), ANNOUNCE_MS);
    this.timer.unref();
  }

  /**
   * Renews this process's announcement and reads the fleet's slots (`aheadMs`: as if that much later, for tests of
   * lapsing). Never throws: the last count stays.
   */
  async announce(aheadMs = 0): Promise<number> {
    try {
      const slots = Number(await this.run(aheadMs, 'stay'));
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

  /**
   * Out at once, and the sum written without it (else it would count until its announcement lapsed). Before any
   * shutdown hook: the Bull queue's connections close in its own, which runs first when this module is global.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.options.worker) return;
    await this.run(0, 'leave').catch((error: Error) =>
      this.logger.warn(`Could not withdraw this worker's announcement (${error.message}); it lapses within ${LAPSE_MS / 1000} s.`),
    );
  }

  private run(aheadMs: number, mode: 'stay' | 'leave'): Promise<unknown> {
    return this.queue
      .scripted<{ webhooksFleetAnnounce(...args: Array<string | number>): Promise<number> }>({
        webhooksFleetAnnounce: { numberOfKeys: 2, lua: ANNOUNCE },
      })
      .webhooksFleetAnnounce(this.key(), this.slotsKey(), aheadMs, this.member, LAPSE_MS, mode);
  }

  /** The key holding the sum of all live worker slots, for the gate's scripts. */
  slotsKey(): string {
    return this.queue.key('workers:slots');
  }

  private key(): string {
    return this.queue.key('workers');
  }
}
