import { InjectQueue } from '@nestjs/bull';
import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Job, JobOptions, Queue } from 'bull';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AttemptTrigger } from '../entities/index.js';
import { DELIVER_JOB, WEBHOOKS_QUEUE } from '../webhooks.constants.js';
import { withTimeout } from '../util/timeout.js';
import { subscribeWithGaps } from './subscription.js';

/** Data of one Bull job: attempt `attempt` of delivery `deliveryId`. */
export interface DeliveryJob {
  deliveryId: string;
  eventId: string;
  endpointId: string;
  attempt: number;
  /** For notifications; absent on jobs enqueued by versions before it existed. */
  topic?: string;
  /** What started this round of attempts (default `scheduled`); recorded on its first attempt. */
  trigger?: AttemptTrigger;
  /** Attempt number that began this round (a redelivery starts a fresh schedule). Default 1. */
  roundStart?: number;
  /** Set when the endpoint gate put this job back in the queue after holding it (it may pass the held line). */
  released?: boolean;
  /** With `released`: which hold of this attempt it was put back from (its job id's end: see `deliveryJobId`). */
  hold?: number;
  /**
   * The event's payload, carried by jobs the outbox enqueues (up to `JOB_PAYLOAD_MAX_CHARS`), so a worker in another
   * process sends without reading it back, and by the first held jobs the gate puts back. Absent on retries and on
   * jobs from the relay: the worker reads the event.
   */
  payload?: string;
  /**
   * The event's owner (null: ownerless), carried by jobs the outbox enqueues and their retries. Absent on jobs from
   * the relay, redeliveries and earlier versions: the worker reads it from the event when the endpoint has an owner.
   */
  owner?: string | null;
  /** W3C traceparent of the event's recording span, when a tracer provider recorded it: attempts link to it. */
  trace?: string;
}

/** Pub/sub channel (under the queue's prefix) on which instances announce endpoint changes. */
const ENDPOINTS_CHANGED = 'endpoints-changed';

/** Payloads up to this many characters travel in the job; larger ones are read from the event row. */
export const JOB_PAYLOAD_MAX_CHARS = 16_384;

/** Most jobs of one batch of gathered background adds. */
const GATHERED_MAX = 500;

/** Most jobs of background adds waiting for Redis's answer; more are left to the relay (see `accepts`). */
export const AWAITING_MAX = 50_000;

/** Connection states of ioredis in which the connection was lost and commands would wait for it. */
const LOST_STATES = new Set(['reconnecting', 'close', 'end']);

/**
 * For each job i of n, 1 when it is in Redis: KEYS[i] (Bull's hash of the job under its id) exists, or, when
 * ARGV[i] is not empty, the hash KEYS[n + i] has the field ARGV[i] (a held job, kept apart from Bull's).
 */
const JOBS_PRESENT = `local n, out = #ARGV, {}
for i = 1, n do
  local present = redis.call('EXISTS', KEYS[i])
  if present == 0 and ARGV[i] ~= '' then present = redis.call('HEXISTS', KEYS[n + i], ARGV[i]) end
  out[i] = present
end
return out`;

/** Bull job name of an endpoint's wake-up: a timed wait (pause, rate window, circuit backoff) ended. */
export const WAKE_JOB = 'wake';

/**
 * Deterministic job id: enqueueing the same attempt twice (after-commit hook and relay, or two relays) adds one
 * job. The worker's claim on the database row is the final guard against a repeat.
 */
export function deliveryJobId(job: Pick<DeliveryJob, 'deliveryId' | 'attempt' | 'released' | 'hold'>): string {
  if (!job.released) return `${job.deliveryId}-${job.attempt}`;
  // A job the gate puts back may be added while the job that was held still finishes under the plain id, or the one
  // put back before it and held again. Put back again from the same hold (its first return not admitted yet, as
  // while no worker takes jobs), it is the same job: one add. Without a hold number (a gate before it), a new id.
  return `${job.deliveryId}-${job.attempt}-r${job.hold ?? randomUUID().slice(0, 8)}`;
}

/**
 * One attempt of one delivery, as a key: a process's lease of it and its member in the endpoint gate's held set.
 * A stale attempt of a delivery never shares a key with its newer one.
 */
export function attemptKey(job: Pick<DeliveryJob, 'deliveryId' | 'attempt'>): string {
  return `${job.deliveryId}:${job.attempt}`;
}

/** Jobs by state, as the health indicator and the overview report them. */
export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
}

/**
 * The library's only door to Bull and its Redis: delivery jobs, wake-ups, the repeatable retention job, job counts,
 * the connection check, keys for the endpoint gate's scripts, and the channel on which instances announce endpoint
 * changes. Nothing else holds the Bull queue.
 */
@Injectable()
export class DeliveryQueue implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Jobs handed to `enqueueInBackground` in this turn of the event loop: they go to Redis together at its end. */
  private gathered: DeliveryJob[] = [];
  /** Jobs of background enqueues sent to Redis and not answered yet. */
  private awaiting = 0;
  /** Jobs left to the relay since Redis stopped taking them (0 while it takes them). */
  private leftToRelay = 0;
  /** Whether the command connection was lost and not ready again since (undefined until first asked). */
  private lost: boolean | undefined;
  /** Whether the command connection is corked until the end of this turn (see `corkForTurn`). */
  private corked = false;

  constructor(@InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<DeliveryJob>) {
    // Bull sends CLIENT SETNAME without awaiting it each time a processor starts, and rethrows its failure: a
    // shutdown right after start-up then leaves an unhandled "Connection is closed" rejection. Keep it handled.
    const q = queue as Queue<DeliveryJob> & { setWorkerName(): Promise<unknown>; closing?: unknown };
    const setWorkerName = q.setWorkerName.bind(q);
    q.setWorkerName = () =>
      setWorkerName().catch((error: Error) => {
        if (!q.closing) this.logger.warn(`Could not name the webhook worker's Redis connection: ${error.message}`);
      });
  }

  /**
   * Adds jobs in one write to Redis. Rejects if Redis refuses one (the others may be added: ids are deterministic,
   * so a caller's retry or the relay adds only what is missing); callers that must not fail use
   * `enqueueInBackground`.
   */
  async enqueue(jobs: readonly DeliveryJob[], delayMs = 0): Promise<void> {
    if (jobs.length === 0) return;
    // Plain adds, not Bull's addBulk: that wraps them in MULTI/EXEC on an ioredis pipeline, which copies every script
    // command defined on the client and costs the process about half as much again as the adds (timed in an API
    // process: 0.13 against 0.09 ms of CPU per job). The connection is corked for this turn of the event loop, so
    // the adds still leave in one write.
    if (jobs.length > 1) this.corkForTurn();
    // Settled, all of them, before answering: a caller that counts jobs awaiting Redis must not stop early.
    const added = await Promise.allSettled(jobs.map((data) => this.queue.add(DELIVER_JOB, data, this.jobOptions(data, delayMs))));
    const refused = added.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (refused) throw refused.reason;
  }

  /**
   * Adds those of `jobs` that no job in Redis holds under their id (waiting, delayed or running), nor `heldAt` (for
   * a job, the hash and field where something else keeps it apart from Bull: the endpoint gate's held jobs), and
   * answers how many it added. One script call looks for them all: over a backlog that is still queued, the relay's
   * pass costs a look per batch, not an add per delivery. A job that leaves Redis between the look and the add is
   * found by the next pass; one that arrives meanwhile is still one job (ids are deterministic).
   */
  async enqueueMissing(
    jobs: readonly DeliveryJob[],
    heldAt: (job: DeliveryJob) => { key: string; field: string } | undefined = () => undefined,
  ): Promise<number> {
    if (jobs.length === 0) return 0;
    const keys = jobs.map((job) => this.queue.toKey(deliveryJobId(job)));
    const held = jobs.map(heldAt);
    const present = await this.scripted<{ webhooksJobsPresent(...keys: Array<string | number>): Promise<number[]> }>({
      webhooksJobsPresent: { lua: JOBS_PRESENT },
    }).webhooksJobsPresent(keys.length * 2, ...keys, ...held.map((h, i) => h?.key ?? keys[i]), ...held.map((h) => h?.field ?? ''));
    const missing = jobs.filter((_, i) => present[i] !== 1);
    await this.enqueue(missing);
    return missing.length;
  }

  /**
   * Whether this caller may run a periodic task shared by every process on this queue: true for the first caller in
   * each `ms` among them all (a key set if absent, expiring after `ms`). Rejects when Redis does not answer.
   */
  async takeTurn(task: string, ms: number): Promise<boolean> {
    return (await this.commands().set(this.key(`turn:${task}`), '1', 'PX', Math.max(1, ms), 'NX')) === 'OK';
  }

  /** A delayed wake-up of an endpoint's held deliveries; one per `jobId` (the gate makes it one per endpoint and moment). */
  async wake(endpointId: string, delayMs: number, jobId: string): Promise<void> {
    const queue = this.queue as unknown as Queue<{ endpointId: string }>;
    await queue.add(WAKE_JOB, { endpointId }, { jobId, delay: Math.max(0, delayMs), removeOnComplete: true, removeOnFail: true });
  }

  /**
   * Enqueues without making the caller wait for Redis (an entity save must not hang on a Redis outage). A failure
   * is logged; the delivery stays `pending` in the database and the relay enqueues it later.
   *
   * Jobs due now wait for the end of the current turn of the event loop, and those of every transaction that
   * committed in that turn go in one write (see `enqueue`: each job keeps its own id, so the relay's re-adds still
   * find it). Under load a turn sees several commits: the API process then writes to Redis less than
   * once per transaction.
   */
  enqueueInBackground(jobs: readonly DeliveryJob[], delayMs = 0): void {
    if (jobs.length === 0 || !this.accepts(jobs.length)) return;
    if (delayMs > 0) return this.enqueueApart(jobs, delayMs);
    if (this.gathered.length === 0) setImmediate(() => this.flushGathered());
    for (const job of jobs) this.gathered.push(job);
  }

  /** Sends what `enqueueInBackground` gathered, in batches of at most GATHERED_MAX jobs (all in one write). */
  private flushGathered(): void {
    const jobs = this.gathered;
    this.gathered = [];
    for (let i = 0; i < jobs.length; i += GATHERED_MAX) this.enqueueApart(jobs.slice(i, i + GATHERED_MAX), 0);
  }

  private enqueueApart(jobs: readonly DeliveryJob[], delayMs: number): void {
    this.awaiting += jobs.length;
    const p = this.enqueue(jobs, delayMs)
      .catch((error: Error) => {
        this.logger.warn(`Could not enqueue ${jobs.length} webhook deliveries (${error.message}); the outbox relay will enqueue them.`);
      })
      .finally(() => {
        this.awaiting -= jobs.length;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  /**
   * Holds what this process writes on the command connection until the end of the current turn of the event loop,
   * then sends it in one write (Node's cork and uncork of the socket). Only while the connection is ready: otherwise
   * ioredis queues commands itself and writes them on reconnect.
   */
  private corkForTurn(): void {
    const client = this.commands();
    const stream = client.stream as (typeof client.stream & { cork?(): void; uncork?(): void }) | undefined;
    if (this.corked || client.status !== 'ready' || !stream?.writable || !stream.cork || !stream.uncork) return;
    this.corked = true;
    stream.cork();
    setImmediate(() => {
      this.corked = false;
      stream.uncork!();
    });
  }

  /**
   * Whether background jobs go to Redis now. Not while the connection is lost (the client would hold every job,
   * payload and all, until it is back: a process saving on through an outage would grow by megabytes a second), nor
   * while AWAITING_MAX jobs wait for Redis's answer (a connection that hangs): their rows are in the database, and
   * the outbox relay enqueues them once Redis takes jobs again. Logged once per spell.
   */
  private accepts(count: number): boolean {
    const lost = this.connectionLost();
    if (!lost && this.awaiting + this.gathered.length + count <= AWAITING_MAX) {
      if (this.leftToRelay > 0) {
        this.logger.log(`Redis takes webhook jobs again; ${this.leftToRelay} deliveries were left to the outbox relay meanwhile.`);
        this.leftToRelay = 0;
      }
      return true;
    }
    if (this.leftToRelay === 0) {
      const why = lost ? 'the connection to Redis is lost' : `${this.awaiting} jobs already wait for Redis to answer`;
      this.logger.warn(`Webhook deliveries are not sent to the queue while ${why}: the outbox relay will enqueue them.`);
    }
    this.leftToRelay += count;
    return false;
  }

  /**
   * Runs `handler` for jobs named `name`, `concurrency` at a time, in this process. The handler must not throw for
   * a job it wants to see again: a failed job keeps its id in Redis (see `jobOptions`).
   */
  process<T>(name: string, concurrency: number, handler: (data: T) => Promise<unknown>): void {
    const queue = this.queue as unknown as Queue<T>;
    void queue
      .process(name, concurrency, (job: Job<T>) => handler(job.data))
      .catch((error?: Error) => {
        // Bull rejects with nothing when the queue is closed on shutdown.
        if (error) this.logger.error(`Webhook ${name} processor stopped: ${error.message}`);
      });
  }

  /**
   * This process takes no more jobs (Bull's local pause; adds go on). Resolves when the jobs it runs have ended, or
   * after `withinMs` (a job cut short later, by the shutdown, is tried again like any failed attempt).
   */
  async stopProcessing(withinMs: number): Promise<void> {
    await withTimeout(this.queue.pause(true), withinMs, `still running after ${withinMs} ms`).catch((error: Error) =>
      this.logger.warn(`Webhook jobs of this process did not end before the shutdown (${error.message}).`),
    );
  }

  /** Schedules a repeatable job (one per name, whatever the number of instances). */
  async repeat(name: string, everyMs: number): Promise<void> {
    const queue = this.queue as unknown as Queue<Record<string, never>>;
    await queue.add(name, {}, { jobId: name, repeat: { every: everyMs }, removeOnComplete: true, removeOnFail: true });
  }

  /** The repeatable jobs scheduled, by name and interval. */
  async repeating(): Promise<Array<{ name: string; everyMs: number }>> {
    return (await this.queue.getRepeatableJobs()).map((j) => ({ name: j.name, everyMs: Number(j.every) }));
  }

  async counts(): Promise<QueueCounts> {
    const { waiting, delayed, active, failed } = await this.queue.getJobCounts();
    return { waiting, delayed, active, failed };
  }

  /** Rejects when Redis does not answer. */
  async ping(): Promise<void> {
    await this.queue.client.ping();
  }

  /** A Redis key under the queue's prefix, for data kept beside the queue (the endpoint gate). */
  key(name: string): string {
    return this.queue.toKey(name);
  }

  /**
   * Whether the command connection closed and has not been ready since. Its state alone would not do: while it
   * retries, ioredis goes from reconnecting to connecting at each try, and commands sent meanwhile wait as well.
   */
  private connectionLost(): boolean {
    if (this.lost === undefined) {
      const client = this.queue.client as unknown as { status?: string; on?(event: string, listener: () => void): unknown };
      this.lost = LOST_STATES.has(client.status ?? '');
      client.on?.('close', () => (this.lost = true));
      client.on?.('ready', () => (this.lost = false));
    }
    return this.lost;
  }

  /**
   * The command connection with these Lua scripts defined on it as commands of those names (once per connection;
   * ioredis runs them by EVALSHA and loads them when Redis lacks them): for the scripts kept beside the queue.
   */
  scripted<T>(scripts: Record<string, { lua: string; numberOfKeys?: number }>): Redis & T {
    const client = this.commands();
    for (const [name, definition] of Object.entries(scripts)) {
      if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, definition);
    }
    return client as Redis & T;
  }

  /** The queue's command connection, for the endpoint gate's scripts. */
  commands(): Redis {
    return this.queue.client as unknown as Redis;
  }

  /** Tells the other instances that endpoints changed (`from`: this instance's id, so it can ignore its own). */
  async announceEndpointsChanged(from: string): Promise<void> {
    await this.queue.client.publish(this.key(ENDPOINTS_CHANGED), from);
  }

  /**
   * Calls `listener` with the announcing instance's id whenever an instance announces an endpoint change, and with
   * null once the subscription is back after its connection dropped (see `subscribeWithGaps`). Answers a function
   * that ends it.
   */
  onEndpointsChanged(listener: (from: string | null) => void): () => Promise<void> {
    return subscribeWithGaps(this.queue.client as unknown as Redis, this.key(ENDPOINTS_CHANGED), listener);
  }

  /**
   * Removes every key of this queue under its prefix (jobs, wake-ups, the gate's state): only for a queue no other
   * process uses, as the perf command's own.
   */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  /** Resolves when every background enqueue started so far (gathered ones included) has settled. */
  async drain(): Promise<void> {
    this.flushGathered();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Before any shutdown hook: the Bull queue closes in its own `onApplicationShutdown`, which runs before this
   * module's when the module is global.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // Give background enqueues a moment; whatever does not make it is picked up by the relay.
    await Promise.race([this.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private jobOptions(data: DeliveryJob, delayMs: number): JobOptions {
    return {
      jobId: deliveryJobId(data),
      delay: delayMs > 0 ? delayMs : undefined,
      // A job the gate put back goes to the head of the queue: it was held in line before the jobs waiting there,
      // and while it travels behind a backlog, newcomers would keep joining the line.
      lifo: data.released === true && !(delayMs > 0),
      attempts: 1,
      // History lives in the database. A job kept in Redis would also keep its id, and block the relay from
      // enqueueing that attempt again.
      removeOnComplete: true,
      removeOnFail: true,
    };
  }
}
