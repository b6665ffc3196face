import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { DeliveryQueue, deliveryJobId, type DeliveryJob } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { waitUntil } from '../support/wait.js';

// Acquires and releases of concurrent attempts go to Redis together (one script for those of one turn of the event
// loop and those that come while one call is in flight); each must still act as if it ran alone, in the order
// they came.
describe('endpoint gate calls made together', () => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let gate: EndpointGate;
  let service: WebhooksService;
  let queue: DeliveryQueue;
  let n = 0;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    fixture = await startFixture(db, { webhooksOptions: { worker: false, maxInFlightPerEndpoint: 3 } });
    gate = fixture.app.get(EndpointGate);
    service = fixture.app.get(WebhooksService);
    queue = fixture.app.get(DeliveryQueue);
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  const endpoint = async () => (await service.createEndpoint({ url: `https://hooks.example/${++n}`, topics: ['widget.created'] })).id;
  const job = (endpointId: string): DeliveryJob => ({ deliveryId: `dlv_${++n}`, eventId: `evt_${n}`, endpointId, attempt: 1 });
  const lease = () => new Date(Date.now() + 60_000);

  it('admits exactly the cap of acquires that come together, per endpoint, and holds the rest', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const jobs = [...Array.from({ length: 8 }, () => job(a)), ...Array.from({ length: 2 }, () => job(b))];
    const results = await Promise.all(jobs.map((j) => gate.acquire(j, lease())));
    expect(results.slice(0, 8).filter((r) => r.admitted)).toHaveLength(3);
    expect(results.slice(0, 3).every((r) => r.admitted)).toBe(true); // in the order they came
    expect(results.slice(8).every((r) => r.admitted)).toBe(true); // another endpoint's cap is its own
    const states = await gate.states([a, b]);
    expect(states.get(a)).toMatchObject({ inFlight: 3, held: 5 });
    expect(states.get(b)).toMatchObject({ inFlight: 2, held: 0 });

    // Two attempts finish together: held jobs go back to the queue for their slots (at least one each: a release
    // counts the free slots, not the jobs put back before it that are still on their way).
    const waiting = (await queue.counts()).waiting;
    const tokens = results.slice(0, 2).map((r) => (r.admitted ? r.token : ''));
    await Promise.all([
      gate.release(b, results[8].admitted ? results[8].token : '', { kind: 'answered' }),
      ...tokens.map((t) => gate.release(a, t, { kind: 'answered' })),
    ]);
    expect((await queue.counts()).waiting - waiting).toBeGreaterThanOrEqual(2);
    const after = await gate.states([a, b]);
    expect(after.get(a)).toMatchObject({ inFlight: 1, held: 5 }); // put back: still held, in transit until admitted
    expect(after.get(b)).toMatchObject({ inFlight: 1 });
  });

  it('a batch that Redis refuses fails each of its calls, without running them again one by one', async () => {
    const a = await endpoint();
    const first = gate.acquire(job(a), lease());
    await new Promise((resolve) => setImmediate(resolve)); // the first is in flight alone: the next three go together
    const client = (gate as unknown as { redis(): Record<string, (...args: unknown[]) => Promise<unknown>> }).redis();
    const refuse = vi.spyOn(client, 'webhooksGateMany').mockRejectedValueOnce(new Error('Connection is closed.'));
    const single = vi.spyOn(client, 'webhooksGateAcquire');
    const together = await Promise.allSettled([job(a), job(a), job(a)].map((j) => gate.acquire(j, lease())));
    expect((await first).admitted).toBe(true);
    expect(together.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(refuse).toHaveBeenCalledTimes(1);
    expect(single).not.toHaveBeenCalled();
    refuse.mockRestore();
    single.mockRestore();
    // Nothing of the refused batch was applied; the gate works on.
    expect((await gate.states([a])).get(a)).toMatchObject({ inFlight: 1, held: 0 });
    expect((await gate.acquire(job(a), lease())).admitted).toBe(true);
  });

  it('lets another probe go once a half-open circuit’s probe lapsed (its worker died), and holds the rest meanwhile', async () => {
    const a = await endpoint();
    const t0 = Date.now();
    // Five connection errors in a row open the circuit (the module's default: 5 errors, then 30 s).
    for (let i = 0; i < 5; i++) {
      const attempt = await gate.acquire(job(a), new Date(t0 + 60_000), t0);
      expect(attempt.admitted).toBe(true);
      await gate.release(a, attempt.admitted ? attempt.token : '', { kind: 'unreachable' }, t0);
    }
    expect((await gate.states([a], t0)).get(a)?.circuit).toBe('open');
    // After the backoff one probe goes, leased for 5 s; a delivery that comes meanwhile is held behind it.
    const t1 = t0 + 30_001;
    expect((await gate.acquire(job(a), new Date(t1 + 5000), t1)).admitted).toBe(true);
    const waiting = job(a);
    expect(await gate.acquire(waiting, new Date(t1 + 65_000), t1 + 1000)).toMatchObject({ admitted: false, wakeAt: 0 });
    // No release came and the probe's lease lapsed. The relay's release of the endpoint (nothing else asks about
    // it meanwhile) puts the held delivery back, and it probes instead.
    const t2 = t1 + 6000;
    const enqueue = vi.spyOn(queue, 'enqueue');
    await gate.release(a, null, { kind: 'none' }, t2);
    const back = enqueue.mock.calls.flatMap(([jobs]) => jobs);
    enqueue.mockRestore();
    expect(back.map((j) => j.deliveryId)).toEqual([waiting.deliveryId]);
    expect((await gate.acquire(back[0], new Date(t2 + 5000), t2)).admitted).toBe(true);
    expect((await gate.states([a], t2)).get(a)).toMatchObject({ circuit: 'half-open', inFlight: 1, held: 0 });
  });

  it("holds an open circuit's probe while attempts in flight fill the cap (lowered since they began), until one ends", async () => {
    const a = await endpoint(); // the module's cap: 3
    const t0 = Date.now();
    const token = (r: Awaited<ReturnType<EndpointGate['acquire']>>) => (r.admitted ? r.token : '');
    // Two attempts hang; five others find the endpoint unreachable, and the circuit opens.
    const hanging = [await gate.acquire(job(a), new Date(t0 + 120_000), t0), await gate.acquire(job(a), new Date(t0 + 120_000), t0)];
    expect(hanging.map((h) => h.admitted)).toEqual([true, true]);
    for (let i = 0; i < 5; i++) {
      const attempt = await gate.acquire(job(a), new Date(t0 + 60_000), t0);
      expect(attempt.admitted).toBe(true);
      await gate.release(a, token(attempt), { kind: 'unreachable' }, t0);
    }
    expect((await gate.states([a], t0)).get(a)).toMatchObject({ circuit: 'open', inFlight: 2 });
    await service.updateEndpoint(a, { maxInFlight: 2 });
    await waitUntil(() => gate.limits(a).maxInFlight === 2 || undefined, 'the lowered cap');

    // The backoff is over, but the two in flight fill the cap: the probe waits for a slot, parked, with a wake-up
    // when the first of their leases ends (were their worker dead, nothing else might come to let it go).
    const t1 = t0 + 30_001;
    const probe = job(a);
    expect(await gate.acquire(probe, new Date(t1 + 5000), t1)).toMatchObject({ admitted: false, wakeAt: t0 + 120_000 });
    expect((await gate.states([a], t1)).get(a)).toMatchObject({ circuit: 'open', inFlight: 2, held: 1 });
    // A wake-up or the relay asks meanwhile: nothing goes back, and the wake-up stays.
    const enqueue = vi.spyOn(queue, 'enqueue');
    const wake = vi.spyOn(queue, 'wake');
    await gate.release(a, null, { kind: 'none' }, t1 + 50);
    expect(enqueue).not.toHaveBeenCalled();
    expect(wake.mock.calls.map(([id, , jobId]) => [id, jobId])).toEqual([[a, `wake-${a}-${t0 + 120_000}`]]);
    wake.mockRestore();
    // One ends (unreachable too): the probe goes back to the queue, and goes.
    await gate.release(a, token(hanging[0]), { kind: 'unreachable' }, t1 + 100);
    const back = enqueue.mock.calls.flatMap(([jobs]) => jobs);
    enqueue.mockRestore();
    expect(back.map((j) => j.deliveryId)).toEqual([probe.deliveryId]);
    expect((await gate.acquire(back[0], new Date(t1 + 5100), t1 + 100)).admitted).toBe(true);
    expect((await gate.states([a], t1 + 100)).get(a)).toMatchObject({ circuit: 'half-open', inFlight: 2, held: 0 });
  });

  it('puts back a held job once per hold while it waits in the queue (no worker takes it), not once per release', async () => {
    const { id: a } = await service.createEndpoint({ url: `https://hooks.example/${++n}`, topics: ['widget.created'], maxInFlight: 1 });
    const t0 = Date.now();
    const [first, ...held] = [job(a), job(a), job(a)];
    const admitted = await gate.acquire(first, new Date(t0 + 60_000), t0);
    for (const j of held) expect((await gate.acquire(j, new Date(t0 + 60_000), t0)).admitted).toBe(false);
    const enqueue = vi.spyOn(queue, 'enqueue');
    // The slot frees; then, each time a job put back has waited past its transit time, a relay pass releases again.
    await gate.release(a, admitted.admitted ? admitted.token : '', { kind: 'answered' }, t0 + 1);
    for (const t of [t0 + 61_000, t0 + 122_000, t0 + 183_000]) await gate.release(a, null, { kind: 'none' }, t);
    const ids = enqueue.mock.calls.flatMap(([jobs]) => jobs).map((j) => deliveryJobId(j));
    enqueue.mockRestore();
    expect(ids.length).toBeGreaterThanOrEqual(3); // both held jobs, one of them at least twice
    expect(new Set(ids)).toEqual(new Set(held.map((j) => `${j.deliveryId}-1-r1`)));
    // Held again (the endpoint still full), the next put-back is a new job.
    // (the other one came back first and took the slot)
    expect((await gate.acquire({ ...held[1], released: true, hold: 1 }, new Date(t0 + 300_000), t0 + 200_000)).admitted).toBe(true);
    expect((await gate.acquire({ ...held[0], released: true, hold: 1 }, new Date(t0 + 300_000), t0 + 200_001)).admitted).toBe(false);
    const again = vi.spyOn(queue, 'enqueue');
    await gate.release(a, null, { kind: 'none' }, t0 + 400_000); // the slot's lease lapsed: free again
    const next = again.mock.calls.flatMap(([jobs]) => jobs).map((j) => deliveryJobId(j));
    again.mockRestore();
    expect(next).toContain(`${held[0].deliveryId}-1-r2`);
  });

  it('puts back no more held jobs than the rate window lets through, and says when it frees', async () => {
    const a = (
      await service.createEndpoint({
        url: `https://hooks.example/${++n}`,
        topics: ['widget.created'],
        rateLimit: { max: 2, perMs: 60_000 },
      })
    ).id;
    const t0 = Date.now();
    const jobs = [job(a), job(a), job(a), job(a)];
    const asked = await Promise.all(jobs.map((j) => gate.acquire(j, lease(), t0)));
    expect(asked.map((r) => r.admitted)).toEqual([true, true, false, false]); // the window is full: two held
    const enqueue = vi.spyOn(queue, 'enqueue');
    const wake = vi.spyOn(queue, 'wake');
    // Both attempts end: their slots free (the cap is 3), but the window lets nothing through before t0 + 60 s.
    for (const r of asked.slice(0, 2)) await gate.release(a, r.admitted ? r.token : '', { kind: 'answered' }, t0 + 100);
    expect(enqueue).not.toHaveBeenCalled();
    expect(wake.mock.calls.at(-1)?.slice(0, 2)).toEqual([a, 60_000 - 100]);
    // Once the window has moved on, both go back.
    await gate.release(a, null, { kind: 'none' }, t0 + 60_001);
    expect(enqueue.mock.calls.flatMap(([back]) => back).map((j) => j.deliveryId)).toEqual(jobs.slice(2).map((j) => j.deliveryId));
    enqueue.mockRestore();
    wake.mockRestore();
  });

  it('a slot given back and the acquire that takes it in the same turn go in one script, in that order', async () => {
    const a = await endpoint();
    const full = await Promise.all([job(a), job(a), job(a)].map((j) => gate.acquire(j, lease())));
    expect(full.every((r) => r.admitted)).toBe(true);
    expect(full.map((r) => r.admitted && r.inFlight)).toEqual([1, 2, 3]); // each admission counts what is in flight
    const client = (gate as unknown as { redis(): Record<string, (...args: unknown[]) => Promise<unknown>> }).redis();
    const many = vi.spyOn(client, 'webhooksGateMany');
    const [, next] = await Promise.all([
      gate.release(a, full[0].admitted ? full[0].token : '', { kind: 'answered' }),
      gate.acquire(job(a), lease()),
    ]);
    expect(many).toHaveBeenCalledTimes(1);
    many.mockRestore();
    expect(next).toMatchObject({ admitted: true, inFlight: 3 });
  });
});

// The outbox's adds after commit wait for the end of the event loop's turn: those of every transaction that
// committed in it go to Redis in one write, each job under its own id (so the relay's re-adds still find it).
describe('background enqueues of one turn', () => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let queue: DeliveryQueue;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    fixture = await startFixture(db, { webhooksOptions: { worker: false } });
    queue = fixture.app.get(DeliveryQueue);
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  it('go in one write to Redis, each job under its own id; a re-add of one of them adds nothing', async () => {
    const bull = (queue as unknown as { queue: { addBulk: (...a: unknown[]) => unknown; add: (...a: unknown[]) => unknown } }).queue;
    const socket = queue.commands().stream as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const bulk = vi.spyOn(bull, 'addBulk');
    const single = vi.spyOn(bull, 'add');
    const writes = [vi.spyOn(socket, '_write'), vi.spyOn(socket, '_writev')];
    const written = () => writes.reduce((n, spy) => n + spy.mock.calls.length, 0);
    const job = (i: number): DeliveryJob => ({ deliveryId: `dlv_turn${i}`, eventId: `evt_turn${i}`, endpointId: 'ep_x', attempt: 1 });
    await queue.enqueue([job(0)]); // Bull's add script is loaded on this connection: no NOSCRIPT round below
    const waiting = (await queue.counts()).waiting;
    for (const spy of [single, ...writes]) spy.mockClear();
    queue.enqueueInBackground([job(1)]); // one transaction's job
    queue.enqueueInBackground([job(2), job(3)]); // another's, in the same turn
    await queue.drain();
    expect(single).toHaveBeenCalledTimes(3); // plain adds (no MULTI)...
    expect(bulk).not.toHaveBeenCalled();
    expect(written()).toBe(1); // ...that left in one write
    expect((await queue.counts()).waiting - waiting).toBe(3);
    // The relay's re-add of a gathered job (same deterministic id) is a no-op.
    await queue.enqueue([job(2)]);
    expect((await queue.counts()).waiting - waiting).toBe(3);
    // A job of the next turn goes on its own.
    await new Promise((resolve) => setImmediate(resolve));
    writes.forEach((spy) => spy.mockClear());
    queue.enqueueInBackground([job(4)]);
    await new Promise((resolve) => setImmediate(resolve));
    await queue.drain();
    expect(written()).toBe(1);
    expect((await queue.counts()).waiting - waiting).toBe(4);
    for (const spy of [bulk, single, ...writes]) spy.mockRestore();
  });
});
