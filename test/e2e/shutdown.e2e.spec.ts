import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookAttempt, WebhookDelivery, WebhooksModule, WebhooksService } from 'nestjs-outgoing-webhooks';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, FAST_WEBHOOKS } from '../support/example-app.js';
import { startFixture } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

/**
 * A worker shut down while a request is in flight lets it finish and records it, whether the module is global or
 * not (which orders the host's shutdown hooks differently: the HTTP agents could end before Bull's close waited).
 */
describe.each([false, true])('shutdown with a request in flight (isGlobal: %s)', (isGlobal) => {
  let db: TestDatabase;
  let rx: Receiver;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
  });
  afterAll(async () => {
    await rx?.close();
    await db?.drop();
  });

  it('waits for the answer, records the attempt as it went, and takes no other job meanwhile', async () => {
    const fixture = await startFixture(db, { webhooks: WebhooksModule.forRoot({ ...FAST_WEBHOOKS, isGlobal, requestTimeoutMs: 10_000 }) });
    const webhooks = fixture.app.get(WebhooksService, { strict: false });
    const endpoint = await webhooks.createEndpoint({ url: rx.url, topics: ['widget.created'] });
    rx.fallback = { delayMs: 3000, then: 200 };
    await Widget.create({ name: 'in flight' }).save();
    await rx.waitFor(1);
    const stopping = vi.spyOn(fixture.app.get(DeliveryQueue, { strict: false }), 'stopProcessing');
    const closing = fixture.close();
    await waitUntil(() => stopping.mock.calls.length > 0, 'the worker to stop taking jobs');
    // Bull's pause lands within 0.5 s (a fetch already waiting in Redis may take one more job, which is awaited too).
    await sleep(1000);
    // Saved while the worker stops: written to the outbox and queued, and left for another worker (or the next start).
    await Widget.create({ name: 'after' }).save();
    await closing;
    expect(rx.requests).toHaveLength(1);

    // The same database and queue, without a worker.
    const after = await startFixture(db, {
      webhooks: WebhooksModule.forRoot({ ...FAST_WEBHOOKS, worker: false }),
      bullPrefix: fixture.bullPrefix,
    });
    try {
      const ds = after.app.get(DataSource);
      const rows = await ds.getRepository(WebhookDelivery).find({ where: { endpointId: endpoint.id }, order: { id: 'ASC' } });
      expect(rows.map((r) => [r.status, r.attemptCount])).toEqual([
        ['succeeded', 1],
        ['pending', 0],
      ]);
      const attempts = await ds.getRepository(WebhookAttempt).findBy({ deliveryId: rows[0].id });
      expect(attempts).toMatchObject([{ responseStatus: 200, error: null }]);
    } finally {
      await after.close();
      await dropBullKeys(fixture.bullPrefix);
    }
  });
});
