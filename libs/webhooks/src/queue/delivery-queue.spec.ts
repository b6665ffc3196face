import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AWAITING_MAX, DeliveryQueue, deliveryJobId } from './delivery-queue.js';

describe('deliveryJobId', () => {
  it('is the same for the same attempt, so enqueueing it twice adds one job', () => {
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 })).toBe('dlv_1-2');
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 })).toBe(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 }));
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 3 })).not.toBe(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 }));
  });

  it('names a job the gate puts back by its hold: one job per hold, another for the next hold', () => {
    // Not the plain id: the held job may still be finishing under it.
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true, hold: 1 })).toBe('dlv_1-2-r1');
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true, hold: 2 })).toBe('dlv_1-2-r2');
  });

  it('is new each time for a job put back without its hold number (by a gate that kept none)', () => {
    const a = deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true });
    const b = deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true });
    expect(a).toMatch(/^dlv_1-2-r[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});

describe('DeliveryQueue background enqueues', () => {
  /** A Bull queue whose adds never get an answer (a hung connection), with the client in `status`. */
  function hungQueue(status: string) {
    const added: unknown[] = [];
    const never = () => new Promise<never>(() => undefined);
    const queue = {
      client: Object.assign(new EventEmitter(), { status }),
      setWorkerName: async () => undefined,
      add: (_name: string, data: unknown) => (added.push(data), never()),
      addBulk: (jobs: Array<{ data: unknown }>) => (added.push(...jobs.map((j) => j.data)), never()),
    };
    return { queue: new DeliveryQueue(queue as never), added, client: queue.client };
  }
  const jobs = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ deliveryId: `dlv_${i}`, eventId: 'evt_1', endpointId: 'ep_1', attempt: 1 }));
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('sends at most AWAITING_MAX jobs that wait for an answer; the rest are left to the relay', async () => {
    const { queue, added } = hungQueue('ready');
    for (let i = 0; i < AWAITING_MAX / 500 + 3; i++) {
      queue.enqueueInBackground(jobs(500));
      await nextTurn();
    }
    expect(added).toHaveLength(AWAITING_MAX);
  });

  it('sends nothing while the connection is lost, and sends again once it is back', async () => {
    const { queue, added, client } = hungQueue('reconnecting');
    queue.enqueueInBackground(jobs(3));
    await nextTurn();
    expect(added).toHaveLength(0);
    // Trying again is not being back: only a connection ready again is.
    client.status = 'connecting';
    queue.enqueueInBackground(jobs(2));
    await nextTurn();
    expect(added).toHaveLength(0);
    client.status = 'ready';
    client.emit('ready');
    queue.enqueueInBackground(jobs(2));
    await nextTurn();
    expect(added).toHaveLength(2);
  });
});
