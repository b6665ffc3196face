import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { WorkerFleet } from '../../libs/webhooks/src/delivery/worker-fleet.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample } from '../support/example-app.js';

// The example registers the module as global: its shutdown hooks run after the Bull queue's, which close the
// queue's connections. The fleet withdraws before any of them.
describe('worker fleet in the example app (a global module)', () => {
  let db: TestDatabase;
  let redis: Redis;
  const bullPrefix = `fleet_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('announces the worker on start and, the last to leave, removes every fleet key on close', async () => {
    const example = await startExample(db, { bullPrefix, webhooks: { concurrency: 7 } });
    const fleet = example.app.get(WorkerFleet);
    const slotsKey = fleet.slotsKey();
    const membersKey = example.app.get(DeliveryQueue).key('workers');
    expect(await fleet.announce()).toBe(7);
    expect(await redis.get(slotsKey)).toBe('7');
    expect(await redis.zcard(membersKey)).toBe(1);
    await example.close();
    expect(await redis.exists(slotsKey, membersKey)).toBe(0);
  });
});
