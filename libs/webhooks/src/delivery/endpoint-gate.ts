import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { attemptKey, DeliveryQueue, type DeliveryJob } from '../queue/delivery-queue.js';
import { GroupCommit } from '../util/group-commit.js';
import { WorkerFleet } from './worker-fleet.js';
import { ACQUIRE, ACQUIRE_KEYS, GATE_MANY, RELEASE, RELEASE_KEYS, STATUS } from './gate-scripts.js';

/**
 * Per-endpoint isolation across every worker process, kept in Redis next to the queue:
 *
 * - a cap on deliveries in flight (a sorted set of leases: a dead worker's slot frees itself when its lease ends);
 * - a rate limit (a sliding window of send times);
 * - a pause until a time (a 429/503 with `Retry-After` pauses the endpoint, not just that delivery);
 * - a circuit: connection errors and timeouts in a row open it; then the endpoint's deliveries are held, one probe
 *   goes after a backoff (doubling up to a maximum), and any answer from the receiver closes it.
 *
 * A job that may not go now is **held**: its data is parked in the endpoint's held set, and the Bull job ends at
 * once, so it occupies no worker slot and nothing spins. Held jobs go back to the queue when the endpoint can take
 * more: when one of its deliveries finishes, or at the time a pause, rate window or circuit backoff ends (one
 * delayed wake-up job per endpoint, not per delivery). The delivery row stays `pending` in the database all along
 * (held deliveries are durable in the outbox); the relay looks up those endpoints' due rows among the held jobs
 * (adding only rows held nowhere), and releases them if no completion came to do it (a worker died).
 */

/** What `acquire` answers. */
export type Admission =
  /** `inFlight`: the endpoint's attempts in flight in all processes, this one counted; `cap`: the cap applied. */
  | { admitted: true; token: string; inFlight: number; cap: number }
  /**
   * Not admitted; `wakeAt` (epoch ms) when a timed wait (pause, rate window, circuit backoff) ends, 0 when a
   * completion frees it. `parked`: held in the endpoint's held set (false when asked not to park).
   */
  | { admitted: false; wakeAt: number; parked: boolean };

/** What an attempt told about the endpoint. */
export type GateOutcome =
  /** The receiver answered (any status): the endpoint is reachable. */
  | { kind: 'answered'; pauseUntil?: number }
  /** No answer: connection refused, reset, timed out. Counts towards opening the circuit. */
  | { kind: 'unreachable' }
  /** Nothing was sent (stale job, error before sending): no effect but freeing the slot. */
  | { kind: 'none' };

export type CircuitState = 'closed' | 'open' | 'half-open';

/** The isolation state of one endpoint, for views, the admin and the health indicator. */
export interface EndpointDeliveryState {
  inFlight: number;
  held: number;
  circuit: CircuitState;
  /** When an open circuit lets its probe go. */
  circuitRetryAt: Date | null;
  /**
   * When the circuit opened, while it is open or half-open: every attempt since (its probes) found the endpoint
   * unreachable. After `autoDisableAfterMs` of it the endpoint is disabled.
   */
  circuitOpenedAt: Date | null;
  /** A `Retry-After` pause; null when not paused. */
  pausedUntil: Date | null;
  /** Connection errors and timeouts in a row. */
  consecutiveUnreachable: number;
}

/** The limits in force for one endpoint (its overrides, else the module's). */
export interface EndpointLimits {
  /** The cap; with `fleetCap`, this process's estimate of it (the gate's scripts apply the fleet's figure). */
  maxInFlight: number;
  /** The default cap, half of all live worker slots (no cap set for the endpoint or the module). */
  fleetCap: boolean;
  rateLimit: { max: number; perMs: number } | null;
}

type GateRedis = Redis & GateScripts;
interface GateScripts {
  webhooksGateAcquire(...args: (string | number)[]): Promise<[number, number]>;
  webhooksGateRelease(...args: (string | number)[]): Promise<Array<number | string>>;
  webhooksGateMany(...args: (string | number)[]): Promise<unknown[]>;
  webhooksGateStatus(...args: (string | number)[]): Promise<Array<[number, number, string, string, string, string, string]>>;
}

/**
 * Held jobs of one endpoint that keep their payload in Redis (up to JOB_PAYLOAD_MAX_CHARS each): those go back
 * without a read of the event; the rest of a longer backlog keeps no payload, so Redis stays small.
 */
const HELD_PAYLOADS_MAX = 200;

/** How long a released job may take to be admitted before it counts as lost in transit and may be released again. */
const TRANSIT_MS = 60_000;

/** One call of a gate script: acquire ('a') or release ('r'), with its keys and arguments. */
interface GateCall {
  kind: 'a' | 'r';
  keys: string[];
  args: Array<string | number>;
}

@Injectable()
export class EndpointGate {
  private readonly logger = new Logger('Webhooks');
  private redisClient: GateRedis | undefined;
  /**
   * Acquires and releases of concurrent attempts share round trips: those of one turn of the event loop, and those
   * that come while one call is in flight, go together, as one script. So a released slot and the acquire of the
   * delivery that waited here for it go in one script, and no other process takes the slot between them. A failed
   * batch fails each of its calls (as it would have failed alone): it is not run again call by call, since some of
   * its calls may have been applied.
   */
  private readonly calls = new GroupCommit<GateCall, unknown>(
    async (batch) => {
      const keys = batch.flatMap((c) => c.keys);
      const kinds = batch.map((c) => c.kind).join('');
      try {
        return await this.redis().webhooksGateMany(keys.length, ...keys, kinds, ...batch.flatMap((c) => c.args));
      } catch (error) {
        return batch.map(() => error as Error);
      }
    },
    (call) =>
      call.kind === 'a'
        ? this.redis().webhooksGateAcquire(...call.keys, ...call.args)
        : this.redis().webhooksGateRelease(...call.keys, ...call.args),
    100,
    true,
  );

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly endpoints: EndpointCache,
    private readonly fleet: WorkerFleet,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  /** The limits in force for an endpoint: its own overrides, else the module's. */
  limits(endpointId: string): EndpointLimits {
    const endpoint = this.endpoints.get(endpointId);
    const set = endpoint?.maxInFlight ?? this.options.maxInFlightPerEndpoint;
    return {
      maxInFlight: set ?? Math.ceil(this.fleet.slots() / 2),
      fleetCap: set == null,
      rateLimit: endpoint?.rateLimit ?? this.options.rateLimit,
    };
  }

  /**
   * Admits a delivery attempt, or holds its job until the endpoint can take it. `limits`: the endpoint's, when the
   * caller has them already. `keepPayload`: send the job's payload along, for the held set to keep (false when a
   * hold is unlikely: an admitted delivery's payload would cross to Redis for nothing, and a job held after all goes
   * back without it, its payload read from the event).
   */
  async acquire(
    job: DeliveryJob,
    leaseUntil: Date,
    now = Date.now(),
    {
      park = true,
      limits = this.limits(job.endpointId),
      keepPayload = true,
    }: { park?: boolean; limits?: EndpointLimits; keepPayload?: boolean } = {},
  ): Promise<Admission> {
    const member = heldMember(job);
    const token = `${member}:${randomUUID().slice(0, 8)}`;
    const [admitted, wakeAt, parked, inFlight, cap] = (await this.call(
      'a',
      [...this.keys(job.endpointId, 'inflight', 'held', 'state', 'rate'), this.heldIndexKey(), this.fleet.slotsKey()],
      [
        now,
        token,
        leaseUntil.getTime(),
        capArgument(limits),
        limits.rateLimit?.max ?? 0,
        limits.rateLimit?.perMs ?? 0,
        member,
        // The job without its payload, and the payload apart: the script keeps it for the first HELD_PAYLOADS_MAX.
        JSON.stringify({ ...job, released: undefined, hold: undefined, payload: undefined }),
        job.released ? '1' : '0',
        job.endpointId,
        keepPayload ? (job.payload ?? '') : '',
        HELD_PAYLOADS_MAX,
        park ? '1' : '0',
      ],
    )) as [number, number, number, number, number];
    if (admitted === 1) return { admitted: true, token, inFlight: Number(inFlight), cap: Number(cap) };
    if (parked !== 1) return { admitted: false, wakeAt, parked: false };
    if (wakeAt > 0) await this.scheduleWake(job.endpointId, wakeAt, now);
    return { admitted: false, wakeAt, parked: true };
  }

  /**
   * Frees an attempt's slot, applies what it told about the endpoint, and puts back in the queue what the endpoint
   * can take now. Never throws: a failure here is repaired by the lease and by the relay.
   */
  async release(
    endpointId: string,
    token: string | null,
    outcome: GateOutcome,
    now = Date.now(),
    /** A held job put back that will not pass the gate (its endpoint was disabled): it leaves the held set. */
    dropped?: Pick<DeliveryJob, 'deliveryId' | 'attempt'>,
  ): Promise<void> {
    try {
      const limits = this.limits(endpointId);
      const circuit = this.options.circuitBreaker;
      const [wakeAt, ...jobs] = (await this.call(
        'r',
        [
          ...this.keys(endpointId, 'inflight', 'held', 'state'),
          this.heldIndexKey(),
          this.fleet.slotsKey(),
          this.keys(endpointId, 'rate')[0],
        ],
        [
          now,
          token ?? '',
          outcome.kind,
          outcome.kind === 'answered' ? (outcome.pauseUntil ?? 0) : 0,
          capArgument(limits),
          circuit ? circuit.failures : 0,
          circuit ? circuit.openMs : 0,
          circuit ? circuit.maxOpenMs : 0,
          endpointId,
          TRANSIT_MS,
          dropped ? heldMember(dropped) : '',
          limits.rateLimit?.max ?? 0,
          limits.rateLimit?.perMs ?? 0,
        ],
      )) as Array<number | string>;
      if (jobs.length) {
        const back: DeliveryJob[] = [];
        for (let i = 0; i < jobs.length; i += 3) {
          const [payload, hold] = [String(jobs[i + 1]), Number(jobs[i + 2]) || undefined];
          back.push({ ...(JSON.parse(String(jobs[i])) as DeliveryJob), released: true, hold, ...(payload ? { payload } : {}) });
        }
        await this.queue.enqueue(back);
      }
      if (Number(wakeAt) > 0) await this.scheduleWake(endpointId, Number(wakeAt), now);
    } catch (error) {
      this.logger.warn(`Could not release webhook endpoint ${endpointId}'s slot (${(error as Error).message}); its lease frees it.`);
    }
  }

  /**
   * Pushes the leases of these slots to `until` (epoch ms), in one round trip: the attempts holding them are alive.
   * A slot already freed is not taken again (XX). Never throws: a lapsed slot only frees a place early.
   */
  async renew(slots: ReadonlyArray<{ endpointId: string; token: string }>, until: number): Promise<void> {
    try {
      const pipeline = this.redis().pipeline();
      for (const { endpointId, token } of slots) pipeline.zadd(this.keys(endpointId, 'inflight')[0], 'XX', until, token);
      await pipeline.exec();
    } catch (error) {
      this.logger.warn(`Could not renew ${slots.length} endpoint slots (${(error as Error).message}).`);
    }
  }

  /**
   * Where the gate would keep this attempt's job while holding it: its endpoint's hash of held jobs, and its field
   * there (for the relay, which must not add again a job that is held).
   */
  heldEntry(job: Pick<DeliveryJob, 'deliveryId' | 'attempt' | 'endpointId'>): { key: string; field: string } {
    return { key: `${this.keys(job.endpointId, 'held')[0]}:jobs`, field: heldMember(job) };
  }

  /**
   * After an early claim of a held job was undone: if the job left the held set meanwhile (put back, and gone
   * again on finding the row still claimed), it goes back to the queue, or its row would wait for the relay.
   */
  async putBackIfGone(job: DeliveryJob): Promise<void> {
    const { key, field } = this.heldEntry(job);
    if (!(await this.redis().hexists(key, field))) await this.queue.enqueue([{ ...job, released: true, hold: undefined }]);
  }

  /** Endpoints that hold deliveries (the relay releases them, and looks up their due rows among the held jobs). */
  async heldEndpoints(): Promise<string[]> {
    return this.redis().smembers(this.heldIndexKey());
  }

  /** The isolation state of these endpoints, in one round trip. */
  async states(endpointIds: readonly string[], now = Date.now()): Promise<Map<string, EndpointDeliveryState>> {
    const result = new Map<string, EndpointDeliveryState>();
    if (endpointIds.length === 0) return result;
    const keys = endpointIds.flatMap((id) => this.keys(id, 'inflight', 'held', 'state'));
    const rows = await this.redis().webhooksGateStatus(keys.length, ...keys, now);
    endpointIds.forEach((id, i) => {
      const [inFlight, held, circuit, retryAt, pausedUntil, unreachable, openedAt] = rows[i];
      const paused = Number(pausedUntil || 0);
      const tripped = circuit === 'open' || circuit === 'half-open';
      result.set(id, {
        inFlight: Number(inFlight),
        held: Number(held),
        circuit: tripped ? circuit : 'closed',
        circuitRetryAt: circuit === 'open' && retryAt ? new Date(Number(retryAt)) : null,
        circuitOpenedAt: tripped && openedAt ? new Date(Number(openedAt)) : null,
        pausedUntil: paused > now ? new Date(paused) : null,
        consecutiveUnreachable: Number(unreachable || 0),
      });
    });
    return result;
  }

  /** How many of these endpoints have an open or a half-open circuit, or a pause, and the deliveries they hold. */
  async summary(endpointIds: readonly string[]): Promise<{ circuitOpen: number; circuitHalfOpen: number; paused: number; held: number }> {
    const out = { circuitOpen: 0, circuitHalfOpen: 0, paused: 0, held: 0 };
    for (const state of (await this.states(endpointIds)).values()) {
      if (state.circuit === 'open') out.circuitOpen++;
      if (state.circuit === 'half-open') out.circuitHalfOpen++;
      if (state.pausedUntil) out.paused++; // states() gives a pause only while it lasts
      out.held += state.held;
    }
    return out;
  }

  /** Forgets an endpoint's pause and circuit (an operator reset its health, or enabled it). Held jobs go back. */
  async reset(endpointId: string): Promise<void> {
    await this.redis().del(this.keys(endpointId, 'state')[0]);
    await this.release(endpointId, null, { kind: 'none' });
  }

  /** Drops everything the gate keeps for an endpoint (it was deleted; its rows are gone). */
  async forget(endpointId: string): Promise<void> {
    const keys = this.keys(endpointId, 'inflight', 'held', 'state', 'rate');
    await this.redis().del(...keys, `${keys[1]}:jobs`, `${keys[1]}:payloads`, `${keys[1]}:holds`);
    await this.redis().srem(this.heldIndexKey(), endpointId);
  }

  /** Runs one acquire or release, with the calls that come meanwhile. */
  private async call(kind: GateCall['kind'], keys: string[], args: GateCall['args']): Promise<unknown> {
    const result = await this.calls.submit({ kind, keys, args });
    if (result instanceof Error) throw result;
    return result;
  }

  private async scheduleWake(endpointId: string, wakeAt: number, now: number): Promise<void> {
    // Holds that wait for the same moment (a rate window's end, a pause's end) share one wake-up: holding a thousand
    // deliveries adds one delayed job, not a thousand. A wake-up always lies ahead of the one running now.
    await this.queue
      .wake(endpointId, wakeAt - now, `wake-${endpointId}-${wakeAt}`)
      .catch((error: Error) =>
        this.logger.warn(`Could not schedule the wake-up of endpoint ${endpointId} (${error.message}); the relay releases it.`),
      );
  }

  private keys(endpointId: string, ...parts: string[]): string[] {
    return parts.map((p) => this.queue.key(`gate:${endpointId}:${p}`));
  }

  private heldIndexKey(): string {
    return this.queue.key('gate:held-endpoints');
  }

  private redis(): GateRedis {
    this.redisClient ??= this.queue.scripted<GateScripts>({
      webhooksGateAcquire: { numberOfKeys: ACQUIRE_KEYS, lua: ACQUIRE },
      webhooksGateRelease: { numberOfKeys: RELEASE_KEYS, lua: RELEASE },
      webhooksGateStatus: { lua: STATUS },
      webhooksGateMany: { lua: GATE_MANY },
    });
    return this.redisClient;
  }
}

/** An attempt's member in its endpoint's held set (and field in the hash of held jobs). */
const heldMember = attemptKey;

/** The cap as the gate's scripts take it: a set cap as it is; the fleet default negative, with this process's estimate. */
function capArgument(limits: EndpointLimits): number {
  return limits.fleetCap ? -limits.maxInFlight : limits.maxInFlight;
}
