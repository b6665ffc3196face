import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OutboxRelay, WebhookAttempt, WebhookDelivery, WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { LeaseKeeper } from '../../libs/webhooks/src/delivery/lease-keeper.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import type { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

/**
 * Leases of attempts in flight: a live worker renews its own, so a request slower than the lease is never taken
 * from it; a lease that lapses (its worker died) is taken back by the relay's sweep.
 */
describe.each(databaseKinds())('delivery leases (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  let rx: Receiver;
  let endpointId: string;
  let customerId: number;

  beforeAll(async () => {
    db = await createDatabase(kind);
    // A 3 s lease renewed every second, and requests allowed 10 s.
    example = await startExample(db, { webhooks: { leaseMs: 3000, requestTimeoutMs: 10_000 } });
    const subscribed = await example.receiverEndpoint();
    rx = subscribed.rx;
    endpointId = subscribed.ep.id;
    customerId = (await example.api('POST', '/api/customers', { name: 'Lease', email: 'lease@example.com' })).body.id;
  });
  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  const deliveryRow = async () => {
    const rows = await example.app
      .get(DataSource)
      .getRepository(WebhookDelivery)
      .find({ where: { endpointId }, order: { id: 'DESC' } });
    return rows[0];
  };
  /** The latest delivery row, once it has succeeded. */
  const succeededRow = (what: string) =>
    waitUntil(async () => {
      const row = await deliveryRow();
      return row.status === 'succeeded' ? row : undefined;
    }, what);

  it('keeps renewing the lease of a request slower than the lease, so the sweep leaves it alone and it is sent once', async () => {
    rx.replyFor = (request) => (rx.requests.indexOf(request) === 0 ? { delayMs: 6000, then: 200 } : undefined);
    const order = await example.api('POST', '/api/orders', { customerId, total: '1.00', status: 'pending' });
    expect(order.status).toBe(201);
    await rx.waitFor(1);
    const claimed = await deliveryRow();
    expect(claimed.status).toBe('delivering');
    const firstLease = claimed.nextAttemptAt!.getTime();

    // Past the first lease's end, with the receiver still holding the request: renewed, not lapsed.
    await sleep(firstLease - Date.now() + 1000);
    const during = await deliveryRow();
    expect(during.status).toBe('delivering');
    expect(during.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
    expect((await example.app.get(OutboxRelay).sweepLost()).recovered).toBe(0);
    // Its slot at the endpoint's gate is renewed too: still counted in flight (a lapsed slot leaves the count).
    expect((await example.app.get(WebhooksService).getEndpoint(endpointId)).delivery?.inFlight).toBe(1);

    const done = await succeededRow('the slow delivery to succeed');
    expect(done.attemptCount).toBe(1);
    await sleep(500);
    expect(rx.requests).toHaveLength(1);
    expect(await example.app.get(DataSource).getRepository(WebhookAttempt).countBy({ deliveryId: done.id })).toBe(1);
    rx.replyFor = undefined;
  });

  it('renews the row while Redis does not answer the renewal of its slot, so nothing is taken back or sent twice', async () => {
    // Redis stalls (a failover, a partition) on the renewal of the gate's slots, and answers only at the end.
    let answer!: () => void;
    const stalled = vi.spyOn(example.app.get(EndpointGate), 'renew').mockReturnValue(new Promise((r) => (answer = r)));
    const before = rx.requests.length;
    rx.replyFor = (request) => (rx.requests.indexOf(request) === before ? { delayMs: 9000, then: 200 } : undefined);
    await example.api('POST', '/api/orders', { customerId, total: '3.00', status: 'pending' });
    await rx.waitFor(before + 1);
    const claimed = await deliveryRow();
    // Past the end of the lease the first renewal gave (the one that asked Redis too), the request still waiting.
    await sleep(claimed.nextAttemptAt!.getTime() - Date.now() + 3500);
    expect(stalled).toHaveBeenCalledTimes(1); // asked once, never again while unanswered
    expect((await deliveryRow()).nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
    expect((await example.app.get(OutboxRelay).sweepLost()).recovered).toBe(0);
    answer();
    stalled.mockRestore();
    const done = await succeededRow('the slow delivery to succeed');
    expect(done.attemptCount).toBe(1);
    await sleep(500);
    expect(rx.requests).toHaveLength(before + 1);
    rx.replyFor = undefined;
  });

  it('takes back an attempt whose lease lapsed (its worker stopped renewing) and sends it again', async () => {
    const before = rx.requests.length;
    await example.api('POST', '/api/orders', { customerId, total: '2.00', status: 'pending' });
    await rx.waitFor(before + 1);
    const delivered = await succeededRow('the delivery to succeed');
    // What a killed worker leaves: attempt 2 in flight, its lease a moment past.
    await example.app
      .get(DataSource)
      .getRepository(WebhookDelivery)
      .update({ id: delivered.id }, { status: 'delivering', attemptCount: 2, nextAttemptAt: new Date(Date.now() - 1000) });
    expect(await example.app.get(OutboxRelay).sweepLost()).toEqual({ enqueued: 1, recovered: 1, queued: 0 });
    await rx.waitFor(before + 2);
    const again = await succeededRow('the recovered delivery to succeed');
    expect(again.attemptCount).toBe(3);
    expect((await example.app.get(OutboxRelay).sweepLost()).recovered).toBe(0);
  });

  it('renews only the attempts it holds: a stale attempt of a delivery does not extend the lease of a newer one', async () => {
    const before = rx.requests.length;
    await example.api('POST', '/api/orders', { customerId, total: '4.00', status: 'pending' });
    await rx.waitFor(before + 1);
    const delivered = await succeededRow('the delivery to succeed');
    const repo = example.app.get(DataSource).getRepository(WebhookDelivery);
    // Attempt 2 runs in another process, its lease ending soon; this process still holds attempt 1 (its lease
    // lapsed and the relay took the row back, while the request went on).
    const lease = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    await repo.update({ id: delivered.id }, { status: 'delivering', attemptCount: 2, nextAttemptAt: lease });
    const leases = example.app.get(LeaseKeeper);
    const stale = { deliveryId: delivered.id, attempt: 1, endpointId };
    try {
      leases.hold(stale, null);
      await leases.renew(); // may be a round its timer began before the hold: the next one is after it
      await leases.renew();
      expect((await repo.findOneByOrFail({ id: delivered.id })).nextAttemptAt!.getTime()).toBe(lease.getTime());
    } finally {
      leases.drop(stale);
    }
    const current = { ...stale, attempt: 2 };
    try {
      leases.hold(current, null);
      await leases.renew();
      await leases.renew();
      expect((await repo.findOneByOrFail({ id: delivered.id })).nextAttemptAt!.getTime()).toBeGreaterThan(lease.getTime());
    } finally {
      leases.drop(current);
      await repo.update({ id: delivered.id }, { status: 'succeeded', nextAttemptAt: null });
    }
  });
});
