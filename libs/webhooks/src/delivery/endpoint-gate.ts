import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { DeliveryQueue, type DeliveryJob } from '../queue/delivery-queue.js';

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
 * (held deliveries are durable in the outbox); the relay skips endpoints that hold deliveries, and releases them
 * if no completion came to do it (a worker died).
 */

/** What `acquire` answers. */
export type Admission =
  | { admitted: true; token: string }
  /** Held; `wakeAt` (epoch ms) when a timed wait (pause, rate window, circuit backoff) ends, 0 when a completion frees it. */
  | { admitted: false; wakeAt: number };

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
  /** A `Retry-After` pause; null when not paused. */
  pausedUntil: Date | null;
  /** Connection errors and timeouts in a row. */
  consecutiveUnreachable: number;
}

/** The limits in force for one endpoint (its overrides, else the module's). */
export interface EndpointLimits {
  maxInFlight: number;
  rateLimit: { max: number; perMs: number } | null;
}

// Both scripts keep the common case short (a few commands): no pause, closed circuit, under the cap, nothing held.
const ACQUIRE = `
local inflight, held, state, rate, heldIndex = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, token, lease, cap = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rateMax, ratePer, member, job, released = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9] == '1'
local payload, payloadsMax = ARGV[11], tonumber(ARGV[12])
local function hold(wake)
  if released then
    -- Put back but not admitted: due again at once (not parked behind its in-transit mark).
    redis.call('ZADD', held, now, member)
  else
    redis.call('ZADD', held, 'NX', now, member)
  end
  redis.call('HSET', held .. ':jobs', member, job)
  -- The first held jobs of an endpoint keep their payload (no read-back when they go); a long backlog does not.
  if payload ~= '' and redis.call('HLEN', held .. ':payloads') < payloadsMax then
    redis.call('HSET', held .. ':payloads', member, payload)
  end
  redis.call('SADD', heldIndex, ARGV[10])
  return {0, wake}
end
-- Newcomers queue behind held deliveries that are waiting for a slot, so those are not overtaken. Held deliveries
-- already put back (in transit, scored in the future) do not count: a burst must not leave the endpoint holding
-- every later delivery while slots are free.
local heldCount = redis.call('ZCARD', held)
local inHeld = heldCount > 0 and redis.call('ZSCORE', held, member)
if not released and heldCount > 0 and not inHeld and redis.call('ZCOUNT', held, '-inf', now) > 0 then return hold(0) end
local s = redis.call('HMGET', state, 'pausedUntil', 'circuit', 'retryAt', 'probe')
local paused, circuit = tonumber(s[1] or '0'), s[2]
if paused > now then return hold(paused) end
if rateMax > 0 then
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - ratePer)
  if redis.call('ZCARD', rate) >= rateMax then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
    return hold(tonumber(oldest[2]) + ratePer)
  end
end
if circuit == 'open' then
  local retryAt = tonumber(s[3] or '0')
  if retryAt > now then return hold(retryAt) end
  redis.call('HSET', state, 'circuit', 'half-open', 'probe', token)
elseif circuit == 'half-open' then
  if s[4] and redis.call('ZSCORE', inflight, s[4]) then return hold(0) end
  redis.call('HSET', state, 'probe', token)
elseif redis.call('ZCARD', inflight) >= cap then
  -- Leases of dead workers end here.
  redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
  if redis.call('ZCARD', inflight) >= cap then return hold(0) end
end
if rateMax > 0 then
  redis.call('ZADD', rate, now, token)
  redis.call('PEXPIRE', rate, ratePer + 1000)
end
redis.call('ZADD', inflight, lease, token)
if inHeld and redis.call('ZREM', held, member) == 1 then
  redis.call('HDEL', held .. ':jobs', member)
  redis.call('HDEL', held .. ':payloads', member)
  if redis.call('ZCARD', held) == 0 then redis.call('SREM', heldIndex, ARGV[10]) end
end
return {1, 0}
`;

const RELEASE = `
local inflight, held, state, heldIndex = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, token, kind, pauseUntil = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local cap, threshold, baseMs, maxMs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if token ~= '' then redis.call('ZREM', inflight, token) end
-- A held job that will not pass the gate (its endpoint was disabled) leaves the held set, its data with it.
local dropped = ARGV[11]
if dropped ~= '' then
  redis.call('ZREM', held, dropped)
  redis.call('HDEL', held .. ':jobs', dropped)
  redis.call('HDEL', held .. ':payloads', dropped)
end
local s = redis.call('HMGET', state, 'circuit', 'probe', 'unreachable', 'pausedUntil', 'backoff', 'retryAt')
local circuit, unreachable, paused = s[1], tonumber(s[3] or '0'), tonumber(s[4] or '0')
local isProbe = token ~= '' and s[2] == token
if kind == 'answered' then
  if unreachable > 0 then redis.call('HSET', state, 'unreachable', 0) end
  if circuit then redis.call('HDEL', state, 'circuit', 'probe', 'backoff', 'retryAt') circuit = false end
  if pauseUntil > now and pauseUntil > paused then
    redis.call('HSET', state, 'pausedUntil', pauseUntil)
    paused = pauseUntil
  end
elseif kind == 'unreachable' then
  unreachable = redis.call('HINCRBY', state, 'unreachable', 1)
  if isProbe then
    local backoff = math.min(tonumber(s[5] or baseMs) * 2, maxMs)
    redis.call('HSET', state, 'circuit', 'open', 'backoff', backoff, 'retryAt', now + backoff)
    redis.call('HDEL', state, 'probe')
    circuit, s[6] = 'open', now + backoff
  elseif threshold > 0 and unreachable >= threshold and not circuit then
    redis.call('HSET', state, 'circuit', 'open', 'backoff', baseMs, 'retryAt', now + baseMs)
    circuit, s[6] = 'open', now + baseMs
  end
elseif isProbe then
  -- The probe sent nothing: let the next held delivery probe.
  redis.call('HDEL', state, 'probe')
end
-- Which held jobs may go back to the queue now, and when to look again if none may.
if paused > now then return {paused} end
if paused > 0 then redis.call('HDEL', state, 'pausedUntil') end
if redis.call('ZCARD', held) == 0 then
  -- The relay's and wake-ups' calls (no token) keep the index of holding endpoints exact.
  if token == '' then redis.call('SREM', heldIndex, ARGV[9]) end
  return {0}
end
local free
if circuit == 'open' then
  local retryAt = tonumber(s[6] or '0')
  if retryAt > now then return {retryAt} end
  free = 1
elseif circuit == 'half-open' then
  local current = redis.call('HGET', state, 'probe')
  if current and redis.call('ZSCORE', inflight, current) then return {0} end
  free = 1
else
  redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
  free = cap - redis.call('ZCARD', inflight)
end
if free <= 0 then return {0} end
-- Released jobs stay in the held set, marked in transit until transitMs from now, and leave it when admitted: a
-- releaser that dies before re-adding them loses nothing, and a job in transit is not released twice meanwhile.
local members = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, free)
local out = {0}
for _, m in ipairs(members) do
  local job = redis.call('HGET', held .. ':jobs', m)
  if job then
    table.insert(out, job)
    table.insert(out, redis.call('HGET', held .. ':payloads', m) or '')
    redis.call('ZADD', held, 'XX', now + tonumber(ARGV[10]), m)
  else
    redis.call('ZREM', held, m)
    redis.call('HDEL', held .. ':payloads', m)
  end
end
return out
`;

const STATUS = `
local out = {}
local now = tonumber(ARGV[1])
for i = 1, #KEYS, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local s = redis.call('HMGET', KEYS[i + 2], 'circuit', 'retryAt', 'pausedUntil', 'unreachable')
  table.insert(out, {redis.call('ZCARD', KEYS[i]), redis.call('ZCARD', KEYS[i + 1]), s[1] or '', s[2] or '', s[3] or '', s[4] or ''})
end
return out
`;

type GateRedis = Redis & {
  webhooksGateAcquire(...args: (string | number)[]): Promise<[number, number]>;
  webhooksGateRelease(...args: (string | number)[]): Promise<Array<number | string>>;
  webhooksGateStatus(...args: (string | number)[]): Promise<Array<[number, number, string, string, string, string]>>;
};

/**
 * Held jobs of one endpoint that keep their payload in Redis (up to JOB_PAYLOAD_MAX_CHARS each): those go back
 * without a read of the event; the rest of a longer backlog keeps no payload, so Redis stays small.
 */
const HELD_PAYLOADS_MAX = 200;

/** How long a released job may take to be admitted before it counts as lost in transit and may be released again. */
const TRANSIT_MS = 60_000;

@Injectable()
export class EndpointGate {
  private readonly logger = new Logger('Webhooks');
  private redisClient: GateRedis | undefined;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly endpoints: EndpointCache,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  /** The limits in force for an endpoint: its own overrides, else the module's. */
  limits(endpointId: string): EndpointLimits {
    const endpoint = this.endpoints.get(endpointId);
    return {
      maxInFlight: endpoint?.maxInFlight ?? this.options.maxInFlightPerEndpoint,
      rateLimit: endpoint?.rateLimit ?? this.options.rateLimit,
    };
  }

  /** Admits a delivery attempt, or holds its job until the endpoint can take it. */
  async acquire(job: DeliveryJob, leaseUntil: Date, now = Date.now()): Promise<Admission> {
    const limits = this.limits(job.endpointId);
    const token = `${job.deliveryId}:${job.attempt}:${randomUUID().slice(0, 8)}`;
    const member = `${job.deliveryId}:${job.attempt}`;
    const [admitted, wakeAt] = await this.redis().webhooksGateAcquire(
      ...this.keys(job.endpointId, 'inflight', 'held', 'state', 'rate'),
      this.heldIndexKey(),
      now,
      token,
      leaseUntil.getTime(),
      limits.maxInFlight,
      limits.rateLimit?.max ?? 0,
      limits.rateLimit?.perMs ?? 0,
      member,
      // The job without its payload, and the payload apart: the script keeps it for the first HELD_PAYLOADS_MAX.
      JSON.stringify({ ...job, released: undefined, payload: undefined }),
      job.released ? '1' : '0',
      job.endpointId,
      job.payload ?? '',
      HELD_PAYLOADS_MAX,
    );
    if (admitted === 1) return { admitted: true, token };
    if (wakeAt > 0) await this.scheduleWake(job.endpointId, wakeAt, now);
    return { admitted: false, wakeAt };
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
      const [wakeAt, ...jobs] = await this.redis().webhooksGateRelease(
        ...this.keys(endpointId, 'inflight', 'held', 'state'),
        this.heldIndexKey(),
        now,
        token ?? '',
        outcome.kind,
        outcome.kind === 'answered' ? (outcome.pauseUntil ?? 0) : 0,
        limits.maxInFlight,
        circuit ? circuit.failures : 0,
        circuit ? circuit.openMs : 0,
        circuit ? circuit.maxOpenMs : 0,
        endpointId,
        TRANSIT_MS,
        dropped ? `${dropped.deliveryId}:${dropped.attempt}` : '',
      );
      if (jobs.length) {
        const back: DeliveryJob[] = [];
        for (let i = 0; i < jobs.length; i += 2) {
          const payload = String(jobs[i + 1]);
          back.push({ ...(JSON.parse(String(jobs[i])) as DeliveryJob), released: true, ...(payload ? { payload } : {}) });
        }
        await this.queue.enqueue(back);
      }
      if (Number(wakeAt) > 0) await this.scheduleWake(endpointId, Number(wakeAt), now);
    } catch (error) {
      this.logger.warn(`Could not release webhook endpoint ${endpointId}'s slot (${(error as Error).message}); its lease frees it.`);
    }
  }

  /** Endpoints that hold deliveries (the relay leaves their rows to the gate, and releases them). */
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
      const [inFlight, held, circuit, retryAt, pausedUntil, unreachable] = rows[i];
      const paused = Number(pausedUntil || 0);
      result.set(id, {
        inFlight: Number(inFlight),
        held: Number(held),
        circuit: circuit === 'open' || circuit === 'half-open' ? circuit : 'closed',
        circuitRetryAt: circuit === 'open' && retryAt ? new Date(Number(retryAt)) : null,
        pausedUntil: paused > now ? new Date(paused) : null,
        consecutiveUnreachable: Number(unreachable || 0),
      });
    });
    return result;
  }

  /** Forgets an endpoint's pause and circuit (an operator reset its health, or enabled it). Held jobs go back. */
  async reset(endpointId: string): Promise<void> {
    await this.redis().del(this.keys(endpointId, 'state')[0]);
    await this.release(endpointId, null, { kind: 'none' });
  }

  /** Drops everything the gate keeps for an endpoint (it was deleted; its rows are gone). */
  async forget(endpointId: string): Promise<void> {
    const keys = this.keys(endpointId, 'inflight', 'held', 'state', 'rate');
    await this.redis().del(...keys, `${keys[1]}:jobs`, `${keys[1]}:payloads`);
    await this.redis().srem(this.heldIndexKey(), endpointId);
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
    if (this.redisClient) return this.redisClient;
    const client = this.queue.commands() as GateRedis;
    if (typeof (client as Partial<GateRedis>).webhooksGateAcquire !== 'function') {
      client.defineCommand('webhooksGateAcquire', { numberOfKeys: 5, lua: ACQUIRE });
      client.defineCommand('webhooksGateRelease', { numberOfKeys: 4, lua: RELEASE });
      client.defineCommand('webhooksGateStatus', { lua: STATUS });
    }
    this.redisClient = client;
    return client;
  }
}
