import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { MemoryReplayStore, RedisReplayStore, type RedisSetNxClient } from './replay-store.js';

describe('MemoryReplayStore', () => {
  it('answers true for a new key and false for a repeat', async () => {
    const store = new MemoryReplayStore();
    expect(await store.remember('msg_1.1700000000', 600)).toBe(true);
    expect(await store.remember('msg_1.1700000000', 600)).toBe(false);
    expect(await store.remember('msg_1.1700000001', 600)).toBe(true);
    expect(await store.remember('msg_2.1700000000', 600)).toBe(true);
  });

  it('forgets a key once its ttl has passed (fake clock)', async () => {
    let clock = 1_000_000;
    const store = new MemoryReplayStore({ now: () => clock });
    expect(await store.remember('a', 10)).toBe(true);
    clock += 9_999;
    expect(await store.remember('a', 10)).toBe(false);
    clock += 1;
    expect(await store.remember('a', 10)).toBe(true); // expired: remembered again, for another 10 s
    clock += 5_000;
    expect(await store.remember('a', 10)).toBe(false);
  });

  it('prunes expired keys lazily as calls come in', async () => {
    let clock = 0;
    const store = new MemoryReplayStore({ now: () => clock });
    for (let i = 0; i < 100; i++) await store.remember(`k${i}`, 1);
    expect(store.size).toBe(100);
    clock += 1_000;
    await store.remember('fresh', 1);
    expect(store.size).toBe(1);
  });

  it('evicts the oldest keys beyond maxEntries', async () => {
    const store = new MemoryReplayStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) expect(await store.remember(key, 600)).toBe(true);
    expect(store.size).toBe(3);
    expect(await store.remember('d', 600)).toBe(false);
    expect(await store.remember('c', 600)).toBe(false);
    expect(await store.remember('b', 600)).toBe(false);
    expect(await store.remember('a', 600)).toBe(true); // 'a' was evicted; now 'b' is
    expect(await store.remember('b', 600)).toBe(true);
  });

  it('rejects bad options and ttls', async () => {
    expect(() => new MemoryReplayStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    await expect(new MemoryReplayStore().remember('a', 0)).rejects.toThrow(/ttlSeconds/);
  });
});

describe('RedisReplayStore', () => {
  it('sends SET <prefix><key> 1 EX <whole seconds> NX and maps the reply', async () => {
    const calls: unknown[][] = [];
    const replies: Array<'OK' | null> = ['OK', null];
    const client: RedisSetNxClient = {
      async set(...args) {
        calls.push(args);
        return replies.shift()!;
      },
      async del(key) {
        calls.push(['del', key]);
        return 1;
      },
    };
    const store = new RedisReplayStore(client);
    expect(await store.remember('msg_1.1700000000', 600)).toBe(true);
    expect(await store.remember('msg_1.1700000000', 0.5)).toBe(false);
    expect(calls).toEqual([
      ['webhook-replay:msg_1.1700000000', '1', 'EX', 600, 'NX'],
      ['webhook-replay:msg_1.1700000000', '1', 'EX', 1, 'NX'],
    ]);
    await new RedisReplayStore(client, 'app:').remember('k', 1);
    expect(calls[2]?.[0]).toBe('app:k');
    await new RedisReplayStore(client, 'app:').forget('k');
    expect(calls[3]).toEqual(['del', 'app:k']);
  });

  it('works with a real ioredis client', async (context) => {
    const url = new URL(inject('redisUrl'));
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) context.skip(); // local Redis only
    const redis = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    const prefix = `test-replay-${randomBytes(5).toString('hex')}:`;
    try {
      const store = new RedisReplayStore(redis, prefix);
      expect(await store.remember('msg_1.1700000000', 60)).toBe(true);
      expect(await store.remember('msg_1.1700000000', 60)).toBe(false);
      expect(await store.remember('msg_1.1700000001', 60)).toBe(true);
      await store.forget('msg_1.1700000001');
      expect(await store.remember('msg_1.1700000001', 60)).toBe(true);
      const ttl = await redis.ttl(`${prefix}msg_1.1700000000`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    } finally {
      await redis.del(`${prefix}msg_1.1700000000`, `${prefix}msg_1.1700000001`).catch(() => undefined);
      redis.disconnect();
    }
  });
});
