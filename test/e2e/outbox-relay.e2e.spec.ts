import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { OutboxRelay, WEBHOOKS_QUEUE, WebhookAttempt, WebhookDelivery } from 'nestjs-outgoing-webhooks';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('outbox relay (%s)', (kind) => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let producer: RunningExample;
  let relayA: RunningExample;
  let relayB: RunningExample;
  let rx: Receiver;
  const bullPrefix = `relay_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    db = await createDatabase(kind);
    rx = await Receiver.start();
    proxy = await TcpProxy.start(inject('redisUrl'));
    // The producer reaches Redis only through the proxy; the two relay/worker instances reach it directly.
    producer = await startExample(db, { bullPrefix, redisUrl: `redis://127.0.0.1:${proxy.port}`, webhooks: { worker: false } });
    relayA = await startExample(db, { bullPrefix });
    relayB = await startExample(db, { bullPrefix });
  });

  afterAll(async () => {
    proxy?.up();
    await producer?.close();
    await relayA?.close();
    await relayB?.close();
    await proxy?.close();
    await rx?.close();
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('delivers, exactly once, an event committed while Redis was unreachable, when two relays run at once', async () => {
    const endpoint = await producer.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['customer.created'] });
    expect(endpoint.status).toBe(201);
    await waitUntil(async () => {
      const ready = await Promise.all([relayA, relayB].map((r) => r.api('GET', `/api/webhook-endpoints/${endpoint.body.id}`)));
      return ready.every((r) => r.status === 200);
    }, 'the endpoint to be visible to the relays');

    proxy.down();
    const created = await producer.api('POST', '/api/customers', { name: 'Offline', email: 'offline@example.com' });
    expect(created.status).toBe(201); // the save does not wait for Redis

    const dataSource = relayA.app.get(DataSource);
    const delivery = await waitUntil(
      () => dataSource.getRepository(WebhookDelivery).findOneBy({ endpointId: endpoint.body.id }),
      'the outbox delivery row',
    );
    expect(delivery).toMatchObject({ status: 'pending', attemptCount: 0 });
    await sleep(500);
    const queue = relayA.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    expect(await queue.getJob(`${delivery.id}-1`)).toBeNull();
    expect(rx.requests).toHaveLength(0);

    const results = await Promise.all([relayA.app.get(OutboxRelay).run(), relayB.app.get(OutboxRelay).run()]);
    // Each relay enqueues it at most once; the second may find it already claimed by the first one's worker.
    expect(results.every((r) => r.enqueued <= 1)).toBe(true);
    expect(results.some((r) => r.enqueued === 1)).toBe(true);
    await rx.waitFor(1);

    // The producer's own enqueue, if it went before the producer saw the connection lost, arrives now: the
    // worker's claim ignores it.
    proxy.up();
    await sleep(1500);
    expect(rx.requests).toHaveLength(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ type: 'customer.created', data: { name: 'Offline' } });
    const after = await dataSource.getRepository(WebhookDelivery).findOneByOrFail({ id: delivery.id });
    expect(after).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(await dataSource.getRepository(WebhookAttempt).countBy({ deliveryId: delivery.id })).toBe(1);
  });

  it('leaves the jobs of saves made while the connection to Redis is lost to the relay, holding none of them', async () => {
    const lostRx = await Receiver.start();
    const endpoint = await producer.api('POST', '/api/webhook-endpoints', { url: lostRx.url, topics: ['customer.created'] });
    expect(endpoint.status).toBe(201);
    const client = producer.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE)).client;
    const enqueue = vi.spyOn(producer.app.get(DeliveryQueue), 'enqueue');
    proxy.down();
    try {
      await waitUntil(() => client.status === 'reconnecting', 'the producer to see the connection lost');
      const created = await producer.api('POST', '/api/customers', { name: 'Lost', email: 'lost@example.com' });
      expect(created.status).toBe(201);
      const repo = relayA.app.get(DataSource).getRepository(WebhookDelivery);
      const delivery = await waitUntil(() => repo.findOneBy({ endpointId: endpoint.body.id }), 'the outbox delivery row');
      await sleep(300);
      // Nothing waits in the producer for Redis to come back: the row is the only copy.
      expect(enqueue).not.toHaveBeenCalled();
      expect(delivery).toMatchObject({ status: 'pending', attemptCount: 0 });
    } finally {
      enqueue.mockRestore();
      proxy.up();
    }
    await waitUntil(() => client.status === 'ready', 'the producer to reconnect');
    expect((await relayA.app.get(OutboxRelay).run()).enqueued).toBeGreaterThanOrEqual(1);
    await lostRx.waitFor(1);
    await sleep(500);
    expect(lostRx.requests).toHaveLength(1);
    expect(JSON.parse(lostRx.requests[0].body)).toMatchObject({ type: 'customer.created', data: { name: 'Lost' } });
    // The other tests' customers are not this receiver's business.
    expect((await producer.api('DELETE', `/api/webhook-endpoints/${endpoint.body.id}`)).status).toBeLessThan(300);
    await lostRx.close();
  });

  it('puts back and delivers an attempt whose worker died mid-flight', async () => {
    const orders = await Receiver.start();
    const endpoint = await relayA.api('POST', '/api/webhook-endpoints', { url: orders.url, topics: ['order.created'] });
    const dataSource = relayA.app.get(DataSource);
    const customer = await relayA.api('POST', '/api/customers', { name: 'Crash', email: 'crash@example.com' });
    const order = await relayA.api('POST', '/api/orders', { customerId: customer.body.id, total: '5.00', status: 'pending' });
    expect(order.status).toBe(201);
    await orders.waitFor(1);
    const delivery = await dataSource.getRepository(WebhookDelivery).findOneByOrFail({ endpointId: endpoint.body.id });
    // Rewind it to "attempt 2 in flight, lease expired": what a worker killed mid-request leaves behind.
    await dataSource
      .getRepository(WebhookDelivery)
      .update({ id: delivery.id }, { status: 'delivering', attemptCount: 2, nextAttemptAt: new Date(Date.now() - 60_000) });

    const [a, b] = await Promise.all([relayA.app.get(OutboxRelay).run(), relayB.app.get(OutboxRelay).run()]);
    expect(a.recovered + b.recovered).toBe(1);
    await orders.waitFor(2);
    const done = await waitUntil(async () => {
      const row = await dataSource.getRepository(WebhookDelivery).findOneByOrFail({ id: delivery.id });
      return row.status === 'succeeded' ? row : undefined;
    }, 'the recovered delivery to succeed');
    expect(done.attemptCount).toBe(3);
    const attempts = await dataSource
      .getRepository(WebhookAttempt)
      .find({ where: { deliveryId: delivery.id }, order: { attemptNumber: 'ASC' } });
    expect(attempts.map((x) => [x.attemptNumber, x.responseStatus])).toEqual([
      [1, 200],
      [2, null],
      [3, 200],
    ]);
    expect(attempts[1].error).toContain('worker stopped');
    await sleep(300);
    expect(orders.requests).toHaveLength(2);
    await orders.close();
  });

  it('runs the timed pass in one process per period, however many processes run the relay', async () => {
    const prefix = `${bullPrefix}_turn`;
    const started = await Promise.all(
      [1, 2].map(() => startExample(db, { bullPrefix: prefix, webhooks: { worker: false, relayIntervalMs: 60_000 } })),
    );
    try {
      const [one, two] = started.map((x) => x.app.get(OutboxRelay));
      const passes = [one, two].map((relay) => vi.spyOn(relay, 'run'));
      expect(await one.runScheduled()).not.toBeNull();
      expect(await two.runScheduled()).toBeNull();
      expect(await one.runScheduled()).toBeNull();
      expect(passes.map((p) => p.mock.calls.length)).toEqual([1, 0]);
      // The period over (its key lapsed), the next process to ask takes the turn.
      const queue = started[0].app.get(DeliveryQueue);
      await queue.commands().del(queue.key('turn:relay'));
      expect(await two.runScheduled()).not.toBeNull();
      expect(passes.map((p) => p.mock.calls.length)).toEqual([1, 1]);
    } finally {
      await Promise.all(started.map((x) => x.close()));
      await dropBullKeys(prefix);
    }
  });

  it('leaves overdue deliveries whose jobs are still in Redis alone, and adds only the one whose job was lost', async () => {
    const backlog = await Receiver.start();
    const endpoint = await relayA.api('POST', '/api/webhook-endpoints', { url: backlog.url, topics: ['customer.created'] });
    const queue = relayA.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    const repo = relayA.app.get(DataSource).getRepository(WebhookDelivery);
    const spies = [producer, relayA, relayB].map((x) => vi.spyOn(x.app.get(DeliveryQueue), 'enqueue'));
    await queue.pause(); // for every worker: the jobs wait, as behind a backlog
    try {
      for (const i of [1, 2, 3]) {
        const created = await relayA.api('POST', '/api/customers', { name: `Backlog ${i}`, email: `backlog${i}@example.com` });
        expect(created.status).toBe(201);
      }
      const rows = await waitUntil(async () => {
        const found = await repo.findBy({ endpointId: endpoint.body.id });
        return found.length === 3 ? found : undefined;
      }, 'three delivery rows');
      const jobIds = rows.map((r) => `${r.id}-1`);
      await waitUntil(async () => (await Promise.all(jobIds.map((id) => queue.getJob(id)))).every(Boolean), 'their three jobs');
      // All three overdue (past the relay's grace); the first one's job is lost from Redis.
      await repo.update({ endpointId: endpoint.body.id }, { nextAttemptAt: new Date(Date.now() - 60_000) });
      await (await queue.getJob(jobIds[0]))!.remove();
      for (const spy of spies) spy.mockClear();

      const result = await relayA.app.get(OutboxRelay).run();
      // The test apps run no relay on a timer: this pass is the only one. Every other overdue delivery (these two,
      // and those of the other endpoints that take customer.created) still had its job and was not added again.
      expect(result.enqueued).toBe(1);
      expect(result.queued).toBeGreaterThanOrEqual(2);
      const added = spies.flatMap((spy) => spy.mock.calls.flatMap(([jobs]) => jobs.map((j) => j.deliveryId)));
      expect(added).toEqual([rows[0].id]);
      expect(await queue.getJob(jobIds[0])).not.toBeNull();
    } finally {
      for (const spy of spies) spy.mockRestore();
      await queue.resume();
    }
    await backlog.waitFor(3);
    await sleep(500);
    expect(new Set(backlog.requests.map((r) => r.headers['webhook-id'])).size).toBe(3);
    expect(backlog.requests).toHaveLength(3);
    await backlog.close();
  });

  it("continues a redelivery's round, and its trigger, when the relay enqueues its first attempt again", async () => {
    const failing = await Receiver.start();
    failing.fallback = 500;
    const endpoint = await relayA.api('POST', '/api/webhook-endpoints', { url: failing.url, topics: ['customer.created'] });
    const queue = relayA.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    const repo = relayA.app.get(DataSource).getRepository(WebhookDelivery);
    expect((await relayA.api('POST', '/api/customers', { name: 'Round', email: 'round@example.com' })).status).toBe(201);
    // The test apps retry three times: a round is four attempts.
    const failed = await waitUntil(async () => {
      const row = await repo.findOneBy({ endpointId: endpoint.body.id });
      return row?.status === 'failed' ? row : undefined;
    }, 'the first round to fail');
    expect(failed.attemptCount).toBe(4);

    await queue.pause();
    try {
      expect((await relayA.api('POST', `/api/deliveries/${failed.id}/redeliver`)).status).toBe(202);
      await waitUntil(() => queue.getJob(`${failed.id}-5`), "the redelivery's job");
      await (await queue.getJob(`${failed.id}-5`))!.remove(); // lost with Redis's memory
      expect(await repo.findOneBy({ id: failed.id })).toMatchObject({
        status: 'pending',
        attemptCount: 4,
        roundStart: 5,
        roundTrigger: 'manual',
      });
      await relayA.app.get(OutboxRelay).run();
      const again = await queue.getJob(`${failed.id}-5`);
      expect(again?.data).toMatchObject({ deliveryId: failed.id, attempt: 5, roundStart: 5, trigger: 'manual' });
    } finally {
      await queue.resume();
    }
    // The round is the redelivery's: four attempts again (counted from 1, attempt 5 would be the last).
    const done = await waitUntil(async () => {
      const d = (await relayA.api('GET', `/api/deliveries/${failed.id}`)).body;
      return d.status === 'failed' && d.attemptCount === 8 ? d : undefined;
    }, 'the second round to fail');
    expect(done.attempts.map((a: any) => [a.attemptNumber, a.trigger])).toEqual([
      [1, 'scheduled'],
      [2, 'scheduled'],
      [3, 'scheduled'],
      [4, 'scheduled'],
      [5, 'manual'],
      [6, 'scheduled'],
      [7, 'scheduled'],
      [8, 'scheduled'],
    ]);
    expect(failing.requests).toHaveLength(8);
    await relayA.api('DELETE', `/api/webhook-endpoints/${endpoint.body.id}`);
    await failing.close();
  });
});
