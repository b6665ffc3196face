/**
 * Remembers which webhooks were received, so that a captured request sent again is refused.
 *
 * The receiver guard uses the key `<route>:<secrets fingerprint>:<webhook-id>.<webhook-timestamp>`: scoped to the
 * route's guard and to the sender whose secrets verified it (one message goes to several endpoints with the same
 * id). An exact replay repeats id and timestamp (they are
 * covered by the signature, so an attacker cannot change them), while a legitimate retry of the same message by
 * the sender is signed again with a new timestamp and so gets a new key. The store therefore only stops replays;
 * it does not make processing idempotent: apps dedupe the work itself by `webhook-id`.
 */
export interface WebhookReplayStore {
  /** true if this key was not seen before (and records it for ttlSeconds) */
  remember(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets a key (the handler failed, so the sender's retry must get through). */
  forget?(key: string): Promise<void>;
}

export interface MemoryReplayStoreOptions {
  /** The most keys kept; past it the oldest are forgotten first. Default 100 000. */
  maxEntries?: number;
  /** The current time in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * A replay store in this process's memory: for a single instance (several instances need a shared store such as
 * `RedisReplayStore`). Expired keys are pruned lazily, oldest first, on each call.
 */
export class MemoryReplayStore implements WebhookReplayStore {
  /** key → expiry time (ms). A Map iterates in insertion order, so its head is the oldest key. */
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer (got ${String(options.maxEntries)}).`);
    }
    this.maxEntries = maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** Keys currently held (expired ones not yet pruned included). */
  get size(): number {
    return this.entries.size;
  }

  async remember(key: string, ttlSeconds: number): Promise<boolean> {
    checkTtl(ttlSeconds);
    const now = this.now();
    this.prune(now);
    const expiresAt = this.entries.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return false;
      this.entries.delete(key); // expired: re-inserted below at the tail
    }
    this.entries.set(key, now + ttlSeconds * 1000);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    return true;
  }

  async forget(key: string): Promise<void> {
    this.entries.delete(key);
  }

  /**
   * Drops expired keys from the head and stops at the first live one. Each key is dropped at most once, so this is
   * amortised O(1) per call. With one TTL (as the guard uses) the head is always the first to expire; with mixed TTLs
   * an expired key behind a live one waits (it is still treated as expired when looked up, and `maxEntries` bounds it).
   */
  private prune(now: number): void {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}

/** The part of an ioredis client `RedisReplayStore` uses: `SET key value EX seconds NX` and `DEL`. */
export interface RedisSetNxClient {
  set(key: string, value: string, expiryMode: 'EX', seconds: number, setMode: 'NX'): Promise<'OK' | null>;
  del(key: string): Promise<number>;
}

/** A replay store in Redis (shared by every instance of the app), one `SET key 1 EX ttl NX` per webhook. */
export class RedisReplayStore implements WebhookReplayStore {
  constructor(
    private readonly client: RedisSetNxClient,
    private readonly keyPrefix = 'webhook-replay:',
  ) {}

  async remember(key: string, ttlSeconds: number): Promise<boolean> {
    checkTtl(ttlSeconds);
    // Redis wants whole seconds; round up so a key never expires early.
    const reply = await this.client.set(this.keyPrefix + key, '1', 'EX', Math.ceil(ttlSeconds), 'NX');
    return reply === 'OK';
  }

  async forget(key: string): Promise<void> {
    await this.client.del(this.keyPrefix + key);
  }
}

function checkTtl(ttlSeconds: number): void {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive number of seconds (got ${String(ttlSeconds)}).`);
  }
}
