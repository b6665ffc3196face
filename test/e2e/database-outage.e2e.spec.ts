import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { OutboxRelay, WEBHOOKS_QUEUE, WebhookDelivery } from 'nestjs-outgoing-webhooks';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import type { Receiver } from '../support/receiver.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitUntil } from '../support/wait.js';

/**
 * PostgreSQL goes away (a TCP proxy in front of the shared server cuts every connection and refuses new ones) and
 * comes back: health and writes answer 503 meanwhile, and the event committed before the cut is delivered after.
 */
describe.skipIf(!inject('postgresUrl'))('a database outage (PostgreSQL)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let example: RunningExample;
  let rx: Receiver;
  let customerId: number;

  beforeAll(async () => {
    db = await createDatabase('postgres');
    proxy = await TcpProxy.start(inject('postgresUrl'));
    const url = new URL((db.config as { url: string }).url);
    url.port = String(proxy.port);
    example = await startExample({ ...db, config: { ...db.config, url: url.toString() } as TestDatabase['config'] });
    ({ rx } = await example.receiverEndpoint());
    const customer = await example.api('POST', '/api/customers', { name: 'Outage', email: 'outage@example.com' });
    customerId = customer.body.id;
  });
  afterAll(async () => {
    proxy?.up();
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 from /health and from writes while PostgreSQL is away, and delivers what was committed once it is back', async () => {
    const queue = example.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    const dataSource = example.app.get(DataSource);
    // The order commits while the queue is paused, so its delivery is still to be made when the database goes.
    await queue.pause();
    const committed = await example.api('POST', '/api/orders', { customerId, total: '7.00', status: 'pending' });
    expect(committed.status).toBe(201);
    const delivery = await waitUntil(() => dataSource.getRepository(WebhookDelivery).findOneBy({ status: 'pending' }), 'the outbox row');

    proxy.down();
    const health = await example.api('GET', '/health', undefined, null);
    expect(health.status).toBe(503);
    expect(health.body.error.database.status).toBe('down');
    expect(health.body.error.webhooks).toMatchObject({ status: 'down', redis: 'up', database: 'down', queue: expect.any(Object) });

    const refused = await fetch(`${example.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-token' },
      body: JSON.stringify({ customerId, total: '8.00', status: 'pending' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const body = (await refused.json()) as { message: string };
    expect(body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(body.message).toMatch(/database is unavailable/);
    expect(body.message).not.toContain('127.0.0.1'); // the cause is logged, not sent
    // Reads fail the same way, and the app is still serving.
    expect((await example.api('GET', '/api/orders')).status).toBe(503);

    // The worker takes the job while the database is away: its claim fails, the row stays pending for the relay.
    await queue.resume();
    await waitUntil(async () => {
      const counts = (await queue.getJobCounts()) as unknown as Record<string, number>;
      return counts.waiting + counts.active + (counts.paused ?? 0) === 0;
    }, 'the worker to give the job up');
    expect(rx.requests).toHaveLength(0);

    proxy.up();
    await waitUntil(async () => (await example.api('GET', '/health', undefined, null)).status === 200, 'health to recover', 20_000);
    const relayed = await example.app.get(OutboxRelay).run();
    expect(relayed.enqueued).toBe(1);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ type: 'order.created', data: { id: committed.body.id, total: '7.00' } });
    await waitUntil(
      async () => (await dataSource.getRepository(WebhookDelivery).findOneByOrFail({ id: delivery.id })).status === 'succeeded',
      'the delivery to succeed',
    );
    // The refused write left nothing behind: one order, one delivery.
    const orders = await example.api('GET', '/api/orders');
    expect(orders.body.items ?? orders.body).toHaveLength(1);
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
  });
});
