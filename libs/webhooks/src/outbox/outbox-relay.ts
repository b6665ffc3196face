import { type BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, In, LessThanOrEqual, type FindOptionsWhere } from 'typeorm';
import { DeliveryQueue, type DeliveryJob } from '../queue/delivery-queue.js';
import { EndpointGate } from '../delivery/endpoint-gate.js';
import { EndpointHealth } from '../endpoints/endpoint-health.js';
import { WebhookDelivery, WebhookEndpoint, type AttemptTrigger } from '../entities/index.js';
import { WebhookStore } from '../store/webhook-store.js';
import { idsIn } from '../store/id-lists.js';
import { notSent } from '../http/exchange.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

const LOST = 'The worker stopped during this attempt; the outcome is unknown and the delivery was scheduled again.';

const TEST_ABANDONED = 'The test send did not finish (its process stopped); a test is not sent again later.';

/** Upper bound of batches per run, so one run cannot spin forever on a huge backlog. */
const MAX_BATCHES_PER_RUN = 100;

/**
 * Batches per run over the pending rows of endpoints that hold deliveries, and the key (under the queue's prefix)
 * that keeps where the last run stopped, for an hour: a held backlog of 80,000 rows is looked through in 40 runs.
 */
const HELD_BATCHES_PER_RUN = 4;
const HELD_CURSOR = 'relay:held-cursor';
const HELD_CURSOR_TTL_MS = 3_600_000;
/** Held endpoints released, or their state read, at once (the gate writes up to 100 releases in one call). */
const RELEASE_CHUNK = 100;

/** Where a scan stopped: the last row's due time and id (rows are ordered by both). */
interface Cursor {
  at: Date;
  id: string;
}

export interface RelayResult {
  /** Jobs added to the queue: due deliveries that had no job in Redis. */
  enqueued: number;
  /** In-flight attempts whose worker vanished, put back to pending. */
  recovered: number;
  /** Due deliveries whose job was still in Redis (waiting behind a backlog, or running): left as they are. */
  queued: number;
}

/**
 * Finds deliveries that are due but may not be in the queue (committed while Redis was down, the process died
 * before enqueueing, a worker died mid-attempt) and enqueues those that have no job in Redis. Safe to run in many
 * instances at once: job ids are deterministic and the worker claims each row before sending.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private running: Promise<RelayResult> | undefined;
  private sweeping: Promise<RelayResult> | undefined;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly queue: DeliveryQueue,
    private readonly store: WebhookStore,
    private readonly gate: EndpointGate,
    private readonly health: EndpointHealth,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.relayIntervalMs <= 0) return;
    const failed = (error: Error) => this.logger.warn(`Outbox relay run failed: ${error.message}`);
    void this.run().catch(failed); // at start-up whatever the others did: this process may be the only one
    this.timer = setInterval(() => void this.runScheduled().catch(failed), this.options.relayIntervalMs);
    this.timer.unref();
    // Lapsed leases (a dead worker's attempts) are looked for more often than the whole outbox: live workers renew
    // theirs every leaseMs / 3, so a lease in the past is a lost attempt.
    const sweep = () => void this.sweepLost().catch((error: Error) => this.logger.warn(`Lease sweep failed: ${error.message}`));
    this.sweepTimer = setInterval(sweep, Math.floor(this.options.leaseMs / 3));
    this.sweepTimer.unref();
  }

  /**
   * The timer's pass, unless a process sharing the queue (this one included) began one less than 0.8 of
   * `relayIntervalMs` ago: however many processes run the relay, the outbox is scanned about once a period, not
   * once a period per process (behind a backlog, each pass reads every overdue row). Resolves null when skipped.
   */
  async runScheduled(): Promise<RelayResult | null> {
    const turn = await this.queue.takeTurn('relay', Math.floor(this.options.relayIntervalMs * 0.8));
    if (!turn || this.stopped) return null;
    return this.run();
  }

  /** Before any shutdown hook, as the queue's own: a pass still running enqueues through it (see DeliveryQueue). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.sweepTimer);
    await Promise.all([this.running?.catch(() => undefined), this.sweeping?.catch(() => undefined)]);
  }

  /**
   * Takes back the attempts whose lease has lapsed (their worker died: a live one renews) and enqueues them again.
   * One indexed query when there are none. Concurrent calls in one process share the sweep.
   */
  sweepLost(): Promise<RelayResult> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(): Promise<RelayResult> {
    const rows = await this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder('d')
      .select(RELAY_COLUMNS)
      .where({ status: 'delivering', nextAttemptAt: LessThanOrEqual(new Date()) })
      .orderBy('d.nextAttemptAt', 'ASC')
      .take(this.options.relayBatchSize)
      .getMany();
    const jobs: DeliveryJob[] = [];
    for (const row of rows) {
      const job = await this.jobFor(row);
      if (job) jobs.push(job);
    }
    if (jobs.length) {
      await this.queue.enqueue(jobs);
      this.logger.log(`Took back ${jobs.length} attempts whose worker stopped (their lease lapsed) and enqueued them again.`);
    }
    return { enqueued: jobs.length, recovered: jobs.length, queued: 0 };
  }

  /** One pass over every overdue delivery. Concurrent calls in one process share the pass. */
  run(): Promise<RelayResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<RelayResult> {
    const result: RelayResult = { enqueued: 0, recovered: 0, queued: 0 };
    const cutoff = new Date(Date.now() - this.options.relayGraceMs);
    // Deliveries the endpoint gate holds are waiting their turn in Redis, not lost: re-adding them every pass would
    // be a loop of re-adds. Their endpoints are released instead (in case no completion came to do it).
    const held = await this.heldEndpoints();
    for (let i = 0; i < held.length; i += RELEASE_CHUNK) {
      // Together: the gate writes the releases that come at once in one call.
      await Promise.all(held.slice(i, i + RELEASE_CHUNK).map((endpointId) => this.gate.release(endpointId, null, { kind: 'none' })));
    }
    await this.disableUnreachable(held).catch((error: Error) =>
      this.logger.warn(`Could not disable the endpoints that stay unreachable: ${error.message}`),
    );
    // Everything overdue but the pending rows of those endpoints: a long held backlog would fill every pass.
    const others = {
      status: 'pending' as const,
      nextAttemptAt: LessThanOrEqual(cutoff),
      ...(held.length ? { endpointId: idsIn(this.dataSource, held, true) } : {}),
    };
    await this.scan(result, [{ status: 'delivering', nextAttemptAt: LessThanOrEqual(cutoff) }, others], MAX_BATCHES_PER_RUN);
    // Their pending rows: a few batches a pass, from where the last pass stopped, so that a row of theirs with no job
    // in Bull and none held (its enqueue failed, or was left to the relay while Redis was away) is found in time.
    if (held.length)
      await this.scanHeld(result, { status: 'pending', nextAttemptAt: LessThanOrEqual(cutoff), endpointId: idsIn(this.dataSource, held) });
    if (result.enqueued) this.logger.log(`Outbox relay enqueued ${result.enqueued} due deliveries (${result.recovered} lost in flight).`);
    return result;
  }

  /**
   * The endpoints whose deliveries the gate holds. The gate's state of one deleted meanwhile is removed here: its
   * deletion's Redis call failed, another process held a delivery of it just after, or its row was deleted by hand.
   * Each pass would otherwise put its held jobs back to the queue, forever.
   */
  private async heldEndpoints(): Promise<string[]> {
    const held = await this.gate.heldEndpoints();
    const found = new Set<string>();
    for (let i = 0; i < held.length; i += 1000) {
      const ids = held.slice(i, i + 1000);
      const rows = await this.dataSource.getRepository(WebhookEndpoint).find({ select: { id: true }, where: { id: In(ids) } });
      for (const { id } of rows) found.add(id);
    }
    for (const id of held) if (!found.has(id)) await this.gate.forget(id);
    return held.filter((id) => found.has(id));
  }

  /** The held endpoints' rows, HELD_BATCHES_PER_RUN batches on from the cursor kept in Redis (at the end: over). */
  private async scanHeld(result: RelayResult, where: FindOptionsWhere<WebhookDelivery>): Promise<void> {
    const redis = this.queue.commands();
    const key = this.queue.key(HELD_CURSOR);
    const saved = await redis.get(key);
    const from = saved ? (JSON.parse(saved) as { at: string; id: string }) : undefined;
    const stopped = await this.scan(result, [where], HELD_BATCHES_PER_RUN, from && { at: new Date(from.at), id: from.id });
    if (stopped) await redis.set(key, JSON.stringify({ at: stopped.at.toISOString(), id: stopped.id }), 'PX', HELD_CURSOR_TTL_MS);
    else if (saved) await redis.del(key);
  }

  /**
   * Pages through the overdue rows that match `where` (oldest first, after `from`), takes back lost attempts and
   * adds the rows that have no job in Redis, at most `maxBatches` batches. Answers where it stopped when there may
   * be more, undefined when it saw the last row.
   */
  private async scan(
    result: RelayResult,
    where: FindOptionsWhere<WebhookDelivery>[],
    maxBatches: number,
    from?: Cursor,
  ): Promise<Cursor | undefined> {
    const repo = this.dataSource.getRepository(WebhookDelivery);
    let cursor = from;
    for (let batch = 0; batch < maxBatches; batch++) {
      const qb = repo
        .createQueryBuilder('d')
        .select(RELAY_COLUMNS)
        .where(where)
        .orderBy('d.nextAttemptAt', 'ASC')
        .addOrderBy('d.id', 'ASC')
        .take(this.options.relayBatchSize);
      if (cursor) {
        const { at, id } = cursor;
        qb.andWhere(
          new Brackets((w) => w.where('d.nextAttemptAt > :at', { at }).orWhere('d.nextAttemptAt = :at AND d.id > :id', { at, id })),
        );
      }
      const rows = await qb.getMany();
      if (rows.length === 0) return undefined;
      const jobs: DeliveryJob[] = [];
      for (const row of rows) {
        const job = await this.jobFor(row);
        if (!job) continue;
        if (row.status === 'delivering') result.recovered++;
        jobs.push(job);
      }
      // A backlog older than the grace is still in Redis (in Bull, or held by the gate: an endpoint may have begun
      // holding since the pass began): only what is missing there is added.
      const added = await this.queue.enqueueMissing(jobs, (job) => this.gate.heldEntry(job));
      result.enqueued += added;
      result.queued += jobs.length - added;
      const last = rows[rows.length - 1];
      cursor = { at: last.nextAttemptAt!, id: last.id };
      if (rows.length < this.options.relayBatchSize) return undefined;
    }
    return cursor;
  }

  /**
   * Endpoints whose circuit stayed open for `autoDisableAfterMs` are disabled (the count of deliveries failed for
   * good would not come: the circuit holds them), and their gate state is dropped, so the held deliveries go back
   * at once and fail as disabled. Only endpoints that hold deliveries: one that gets none has no failing attempts.
   */
  private async disableUnreachable(endpointIds: string[]): Promise<void> {
    if (endpointIds.length === 0 || !this.health.disablesUnreachable) return;
    const now = new Date();
    for (let i = 0; i < endpointIds.length; i += RELEASE_CHUNK) {
      for (const [endpointId, state] of await this.gate.states(endpointIds.slice(i, i + RELEASE_CHUNK), now.getTime())) {
        if (state.circuitOpenedAt && (await this.health.disableUnreachable(endpointId, state.circuitOpenedAt, now))) {
          await this.gate.reset(endpointId);
        }
      }
    }
  }

  /**
   * The job an overdue row needs, or null: a `delivering` one is taken back first (null when another relay won it);
   * a test send's row is failed instead, as a test is never sent later.
   */
  private async jobFor(row: WebhookDelivery): Promise<DeliveryJob | null> {
    if (row.roundTrigger === 'test') {
      await this.abandonTest(row);
      return null;
    }
    if (row.status === 'delivering' && !(await this.recoverLost(row))) return null;
    return jobOf(row);
  }

  /** A test send's row that its process left: failed (with its lost attempt logged, if one was in flight). */
  private async abandonTest(row: WebhookDelivery): Promise<void> {
    const now = new Date();
    if (!(await this.store.abandonTest(row, TEST_ABANDONED, now)) || row.status !== 'delivering') return;
    await this.logLost(row, 'test', TEST_ABANDONED, null, now);
  }

  /**
   * A `delivering` row past its lease: its worker died mid-attempt, so the outcome is unknown. Put it back to
   * `pending` (only one relay wins the conditional update) and log the lost attempt.
   */
  private async recoverLost(row: WebhookDelivery): Promise<boolean> {
    const now = new Date();
    if (!(await this.store.takeBackLost(row, LOST, now))) return false;
    await this.logLost(row, roundOf(row, row.attemptCount).trigger ?? 'scheduled', LOST, now, now);
    return true;
  }

  /** The attempt a row had in flight when its process stopped, in the attempt log: nothing is known of it. */
  private logLost(row: WebhookDelivery, trigger: AttemptTrigger, reason: string, nextAttemptAt: Date | null, at: Date): Promise<void> {
    return this.store.recordAttempt({
      deliveryId: row.id,
      attemptNumber: row.attemptCount,
      trigger,
      requestUrl: '',
      response: notSent(reason),
      error: reason,
      nextAttemptAt,
      at,
    });
  }
}

/** What the relay reads of a delivery row: enough to make its next attempt's job. */
const RELAY_COLUMNS = [
  'd.id',
  'd.eventId',
  'd.endpointId',
  'd.topic',
  'd.status',
  'd.attemptCount',
  'd.nextAttemptAt',
  'd.roundStart',
  'd.roundTrigger',
];

/** The job of a delivery's next attempt, in the round the row names (its first attempt carries what began it). */
function jobOf(row: WebhookDelivery): DeliveryJob {
  const attempt = row.attemptCount + 1;
  return { deliveryId: row.id, eventId: row.eventId, endpointId: row.endpointId, attempt, topic: row.topic, ...roundOf(row, attempt) };
}

/** The round of attempts an attempt of this row belongs to, as a job names it (nothing for the first round). */
function roundOf(row: WebhookDelivery, attempt: number): Pick<DeliveryJob, 'roundStart' | 'trigger'> {
  const roundStart = row.roundStart ?? 1;
  if (roundStart <= 1) return {};
  return attempt === roundStart && row.roundTrigger ? { roundStart, trigger: row.roundTrigger } : { roundStart };
}
