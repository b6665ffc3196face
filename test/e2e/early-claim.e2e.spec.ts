import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OutboxRelay, WebhookDelivery, WebhooksService } from 'nestjs-outgoing-webhooks';
import { DeliveryWorker } from '../../libs/webhooks/src/delivery/delivery.worker.js';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { LeaseKeeper } from '../../libs/webhooks/src/delivery/lease-keeper.js';
import { DeliveryQueue, type DeliveryJob } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { newId } from '../../libs/webhooks/src/ids.js';
import { WebhookStore } from '../../libs/webhooks/src/store/webhook-store.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

// A delivery the gate will most likely admit claims its row while the gate is asked. These are the cases where it
// does not go after all: the claim must be undone, and a claim that fails meanwhile must surface as the attempt's
// error, not as an unhandled rejection.
describe('early claim', () => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;
  let endpointId: string;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
    // The shortest lease (3 s, renewed every second): a slow gate outlasts it.
    fixture = await startFixture(db, { webhooksOptions: { concurrency: 2, leaseMs: 3000 } });
    ds = fixture.app.get(DataSource);
    endpointId = (await fixture.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['widget.created'] })).id;
    // One delivery answered at once: the worker now knows the endpoint as fast.
    await Widget.create({ name: 'first' }).save();
    await rx.waitFor(1);
    await waitUntil(async () => (await deliveries()).every((d) => d.status === 'succeeded'), 'the first delivery');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  const deliveries = () => ds.getRepository(WebhookDelivery).findBy({ endpointId });

  /** A pending delivery of the endpoint that no job runs (written with the worker's queue left alone). */
  async function pendingJob(): Promise<DeliveryJob> {
    const store = fixture.app.get(WebhookStore);
    const eventId = newId('evt');
    // The first widget's event again, under a new id (every payload sent must match its topic's schema).
    const payload = JSON.stringify({ ...(JSON.parse(rx.requests[0].body) as object), id: eventId });
    const job = { deliveryId: newId('dlv'), eventId, endpointId, attempt: 1, topic: 'widget.created', payload };
    await store.insertEvent(
      ds.manager,
      { id: eventId, topic: 'widget.created', entityName: 'widget', entityId: '1', ownerId: null, payload, createdAt: new Date() },
      [{ id: job.deliveryId, endpointId }],
    );
    return job;
  }

  it('undoes the claim of a delivery the gate holds after all (a pause): pending again, no attempt counted', async () => {
    const gate = fixture.app.get(EndpointGate);
    const job = await pendingJob();
    const claim = vi.spyOn(fixture.app.get(WebhookStore), 'claim');
    // The endpoint was paused by another process's 429: this process has not heard of it.
    await gate.release(endpointId, null, { kind: 'answered', pauseUntil: Date.now() + 60_000 });
    expect(await fixture.app.get(DeliveryWorker).attempt(job)).toBeNull();
    expect(claim).toHaveBeenCalledTimes(1); // claimed while the gate was asked
    claim.mockRestore();
    const row = await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: job.deliveryId });
    expect(row).toMatchObject({ status: 'pending', attemptCount: 0 });
    expect((await gate.states([endpointId])).get(endpointId)).toMatchObject({ held: 1, inFlight: 0 });
    const enqueue = vi.spyOn(fixture.app.get(DeliveryQueue), 'enqueue');
    await gate.reset(endpointId); // lift the pause; the held job goes back to the queue and is delivered
    await waitUntil(async () => (await deliveries()).every((d) => d.status === 'succeeded'), 'the held delivery');
    // A hold was unlikely, so the payload did not go to Redis: the job came back without it and read the event.
    const back = enqueue.mock.calls.flatMap(([jobs]) => jobs).filter((j) => j.deliveryId === job.deliveryId);
    enqueue.mockRestore();
    expect(back).toMatchObject([{ released: true }]);
    expect(back[0].payload).toBeUndefined();
    const sent = rx.requests.filter((r) => r.headers['webhook-id'] === job.eventId);
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toBe(job.payload);
  });

  it('puts back a held job whose put-back came, found the row still claimed and left, before the undo landed', async () => {
    const gate = fixture.app.get(EndpointGate);
    const store = fixture.app.get(WebhookStore);
    const job = await pendingJob();
    // Another process's attempt fills the cap (one slot: half of this worker's two); this process has not heard of it.
    const other = await gate.acquire({ ...job, deliveryId: newId('dlv') }, new Date(Date.now() + 60_000));
    if (!other.admitted) throw new Error('the other attempt should take the slot');
    const unclaim = store.unclaim.bind(store);
    store.unclaim = async (...args: Parameters<typeof unclaim>) => {
      store.unclaim = unclaim;
      // Before the undo lands, the other attempt ends: the held job goes back, runs, finds its row claimed, leaves.
      await gate.release(endpointId, other.token, { kind: 'answered' });
      await waitUntil(async () => (await gate.states([endpointId])).get(endpointId)?.held === 0, 'the put-back to run');
      return unclaim(...args);
    };
    expect(await fixture.app.get(DeliveryWorker).attempt(job)).toBeNull();
    await waitUntil(
      async () => (await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: job.deliveryId })).status === 'succeeded',
      'the held delivery',
    );
    expect(sent(job.eventId)).toHaveLength(1);
  });

  it('a claim that fails while the gate is asked fails the attempt once the gate answers, and frees the slot', async () => {
    const gate = fixture.app.get(EndpointGate);
    const store = fixture.app.get(WebhookStore);
    const job = await pendingJob();
    // Replaced by hand: a vi mock would itself handle the rejected promise it returns, hiding an unhandled one.
    const claim = store.claim.bind(store);
    store.claim = () => {
      store.claim = claim;
      return Promise.reject(new Error('the database went away'));
    };
    const acquire = gate.acquire.bind(gate);
    vi.spyOn(gate, 'acquire').mockImplementationOnce(async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the claim fails meanwhile
      return acquire(...args);
    });
    await expect(fixture.app.get(DeliveryWorker).attempt(job)).rejects.toThrow('the database went away');
    vi.restoreAllMocks();
    expect((await gate.states([endpointId])).get(endpointId)).toMatchObject({ inFlight: 0 });
    expect(await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: job.deliveryId })).toMatchObject({ status: 'pending' });
  });

  /** The gate's next answer comes after `ms` (Redis failing over, a partition). */
  const slowGate = (ms: number) => {
    const gate = fixture.app.get(EndpointGate);
    const acquire = gate.acquire.bind(gate);
    return vi.spyOn(gate, 'acquire').mockImplementationOnce(async (...args) => (await sleep(ms), acquire(...args)));
  };
  const sent = (eventId: string) => rx.requests.filter((r) => r.headers['webhook-id'] === eventId);

  it('keeps the lease of a row claimed while the gate is slow to answer, and sends it once', async () => {
    const job = await pendingJob();
    const claim = vi.spyOn(fixture.app.get(WebhookStore), 'claim');
    const slow = slowGate(4000);
    const attempt = fixture.app.get(DeliveryWorker).attempt(job);
    await sleep(3500); // past the lease the claim was made with
    expect(claim).toHaveBeenCalledTimes(1); // claimed while the gate was asked
    expect((await fixture.app.get(OutboxRelay).sweepLost()).recovered).toBe(0); // renewed meanwhile: not lost
    expect((await attempt)?.verdict.action).toBe('succeed');
    claim.mockRestore();
    slow.mockRestore();
    expect(sent(job.eventId)).toHaveLength(1);
  });

  it('leaves the lease to lapse when the claim cannot be confirmed after a slow gate, so the relay sends it once', async () => {
    const store = fixture.app.get(WebhookStore);
    const job = await pendingJob();
    const extendLease = store.extendLease.bind(store);
    store.extendLease = () => {
      store.extendLease = extendLease;
      return Promise.reject(new Error('the database went away'));
    };
    const slow = slowGate(1500); // past a renewal period: the claim is confirmed before the send
    await expect(fixture.app.get(DeliveryWorker).attempt(job)).rejects.toThrow('the database went away');
    slow.mockRestore();
    expect(sent(job.eventId)).toHaveLength(0);
    // Nothing renews the row any more: its lease lapses, the relay takes it back, and the next attempt sends it.
    await waitUntil(async () => {
      await fixture.app.get(OutboxRelay).sweepLost();
      return (await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: job.deliveryId })).status === 'succeeded';
    }, 'the next attempt');
    expect(sent(job.eventId)).toHaveLength(1);
  });

  it('sends nothing when the row was taken back while the gate was slow (its renewals did not land)', async () => {
    const job = await pendingJob();
    const renew = vi.spyOn(fixture.app.get(LeaseKeeper), 'renew').mockResolvedValue(undefined);
    const slow = slowGate(4000);
    const attempt = fixture.app.get(DeliveryWorker).attempt(job);
    await sleep(3500);
    // The lease lapsed: the relay takes the row back and the next attempt goes through the queue.
    expect((await fixture.app.get(OutboxRelay).sweepLost()).recovered).toBe(1);
    renew.mockRestore();
    const row = await waitUntil(async () => {
      const found = await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: job.deliveryId });
      return found.status === 'succeeded' ? found : undefined;
    }, 'the next attempt');
    // The first attempt's gate answers at last: its row is another attempt's now, so it sends nothing.
    expect(await attempt).toBeNull();
    slow.mockRestore();
    expect(sent(job.eventId)).toHaveLength(1);
    expect(row.attemptCount).toBe(2);
  });
});
