import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  OutboxRelay,
  WebhookDelivery,
  WebhooksHealthIndicator,
  WebhooksService,
  type EndpointDeliveryState,
  type WebhooksModuleOptions,
} from 'nestjs-outgoing-webhooks';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { WorkerFleet } from '../../libs/webhooks/src/delivery/worker-fleet.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys } from '../support/example-app.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { sleep, waitUntil } from '../support/wait.js';

type Behaviour =
  | { kind: 'ok' }
  | { kind: 'hold' }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' }
  | { kind: 'status'; status: number; headers?: Record<string, string> };

interface Arrival {
  webhookId: string;
  at: number;
  status: number | 'reset' | 'held';
}

/**
 * A receiver on 127.0.0.1 with one behaviour per path, that counts requests in flight (the cap's observer) and
 * keeps every arrival with its time (the rate limit's observer).
 */
class GateReceiver {
  private server!: Server;
  private readonly held: Array<{ res: ServerResponse; arrival: Arrival }> = [];
  readonly behaviours = new Map<string, Behaviour[]>();
  readonly arrivals = new Map<string, Arrival[]>();
  readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();

  static async start(): Promise<GateReceiver> {
    const r = new GateReceiver();
    r.server = createServer((req, res) => r.handle(req, res));
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${path}`;
  }

  /** Behaviours for the next requests to `path`; the last one repeats. */
  set(path: string, ...behaviours: Behaviour[]): void {
    this.behaviours.set(path, behaviours);
  }

  got(path: string): Arrival[] {
    return this.arrivals.get(path) ?? [];
  }

  /** Answers every held request 200 and stops holding. */
  releaseHeld(path: string): void {
    this.set(path, { kind: 'ok' });
    for (const { res, arrival } of this.held.splice(0)) {
      arrival.status = 200;
      this.finish(path, res, 200);
    }
  }

  async close(): Promise<void> {
    for (const { res } of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').slice(1);
    req.resume();
    req.on('end', () => {
      const list = this.behaviours.get(path) ?? [{ kind: 'ok' }];
      const behaviour = list.length > 1 ? list.shift()! : list[0];
      const arrival: Arrival = { webhookId: String(req.headers['webhook-id']), at: Date.now(), status: 200 };
      this.arrivals.set(path, [...this.got(path), arrival]);
      const now = (this.inFlight.get(path) ?? 0) + 1;
      this.inFlight.set(path, now);
      this.maxInFlight.set(path, Math.max(now, this.maxInFlight.get(path) ?? 0));
      if (behaviour.kind === 'reset') {
        arrival.status = 'reset';
        this.inFlight.set(path, now - 1);
        res.socket?.resetAndDestroy();
      } else if (behaviour.kind === 'hold') {
        arrival.status = 'held';
        this.held.push({ res, arrival });
      } else if (behaviour.kind === 'delay') {
        setTimeout(() => this.finish(path, res, 200), behaviour.ms);
      } else if (behaviour.kind === 'status') {
        arrival.status = behaviour.status;
        this.finish(path, res, behaviour.status, behaviour.headers);
      } else {
        this.finish(path, res, 200);
      }
    });
  }

  private finish(path: string, res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    this.inFlight.set(path, (this.inFlight.get(path) ?? 1) - 1);
    res.writeHead(status, headers).end();
  }
}

const BASE: WebhooksModuleOptions = { requestTimeoutMs: 20_000, maxRequestTimeoutMs: 30_000, retrySchedule: [200, 200, 200, 200, 200] };

describe.each(databaseKinds())('endpoint isolation (%s)', (kind) => {
  let db: TestDatabase;
  let rx: GateReceiver;
  const apps: FixtureApp[] = [];
  let prefix: string;

  beforeAll(async () => {
    rx = await GateReceiver.start();
  });
  afterAll(async () => {
    await rx?.close();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await dropBullKeys(prefix);
    await db?.drop();
  });

  /** `count` worker apps on one database and one Redis prefix (each its own queue connections, like processes). */
  async function start(count: number, options: WebhooksModuleOptions): Promise<FixtureApp[]> {
    db = await createDatabase(kind);
    prefix = `iso_${randomBytes(5).toString('hex')}`;
    for (let i = 0; i < count; i++) apps.push(await startFixture(db, { bullPrefix: prefix, webhooksOptions: { ...BASE, ...options } }));
    return apps;
  }

  const service = () => apps[0].app.get(WebhooksService);
  const saveWidgets = async (n: number) => {
    const repo = apps[0].app.get(DataSource).getRepository(Widget);
    for (let i = 0; i < n; i++) await repo.save({ name: `w${i}` });
  };
  /** Waits for the endpoint's gate state to satisfy `test`, and returns it. */
  const gateState = (endpointId: string, test: (state: EndpointDeliveryState) => boolean, what: string) =>
    waitUntil(async () => {
      const state = (await service().getEndpoint(endpointId)).delivery;
      return state && test(state) ? state : undefined;
    }, what);
  const deliveries = (endpointId: string) => apps[0].app.get(DataSource).getRepository(WebhookDelivery).findBy({ endpointId });
  const succeeded = async (endpointId: string) => (await deliveries(endpointId)).filter((d) => d.status === 'succeeded').length;
  /** Each event reached the path exactly once with a 2xx. */
  const exactlyOnce = (path: string, expected: number) => {
    const ok = rx.got(path).filter((a) => a.status === 200);
    expect(new Set(ok.map((a) => a.webhookId)).size).toBe(expected);
    expect(ok).toHaveLength(expected);
  };

  /** An endpoint (cap 1) whose receiver hangs, with one of `saves` deliveries in flight and the others held. */
  const holdingEndpoint = async (path: string, saves: number) => {
    await start(1, { concurrency: 4, maxInFlightPerEndpoint: 1, relayBatchSize: 2 });
    rx.set(path, { kind: 'hold' });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(saves);
    await gateState(endpoint.id, (s) => s.inFlight === 1 && s.held === saves - 1, `one in flight, ${saves - 1} held`);
    return endpoint;
  };
  /** Saves one more whose enqueue after commit Redis refuses: its row is pending, no job in Bull and none held. */
  const saveLost = async (endpointId: string) => {
    const before = new Set((await deliveries(endpointId)).map((d) => d.id));
    const refuse = vi.spyOn(apps[0].app.get(DeliveryQueue), 'enqueue').mockRejectedValueOnce(new Error('refused'));
    await saveWidgets(1);
    await waitUntil(async () => (refuse.mock.calls.length === 1 ? true : undefined), 'the refused enqueue');
    refuse.mockRestore();
    return (await deliveries(endpointId)).find((d) => !before.has(d.id))!;
  };

  it("delivers a healthy endpoint's events while a hanging endpoint holds only its cap of the worker slots", async () => {
    await start(1, { concurrency: 6, maxInFlightPerEndpoint: 2 });
    const hang = `hang-${kind}`;
    const fine = `fine-${kind}`;
    rx.set(hang, { kind: 'hold' });
    const slow = await service().createEndpoint({ url: rx.url(hang), topics: ['widget.created'] });
    const healthy = await service().createEndpoint({ url: rx.url(fine), topics: ['widget.created'] });

    await saveWidgets(20);
    await waitUntil(async () => (await succeeded(healthy.id)) === 20, 'the healthy endpoint to get all 20');
    // Meanwhile the hanging endpoint's first two deliveries are still in flight, and nothing more went there.
    expect(rx.inFlight.get(hang)).toBe(2);
    expect(rx.got(hang)).toHaveLength(2);
    // The last of the hanging endpoint's jobs may still be on its way to being parked.
    const state = await gateState(slow.id, (s) => s.held === 18, 'eighteen held deliveries');
    expect(state).toMatchObject({ inFlight: 2, held: 18, circuit: 'closed' });

    const enqueue = vi.spyOn(apps[0].app.get(DeliveryQueue), 'enqueue');
    rx.releaseHeld(hang);
    await waitUntil(async () => (await succeeded(slow.id)) === 20, 'the slow endpoint to catch up');
    // The held deliveries went back with their payloads (a short backlog keeps them in Redis): no read-back.
    const released = enqueue.mock.calls.flatMap(([jobs]) => jobs).filter((j) => j.released);
    expect(released.length).toBeGreaterThanOrEqual(18);
    expect(released.every((j) => typeof j.payload === 'string' && JSON.parse(j.payload).type === 'widget.created')).toBe(true);
    enqueue.mockRestore();
    expect(rx.maxInFlight.get(hang)).toBe(2);
    exactlyOnce(fine, 20);
    exactlyOnce(hang, 20);
    // The slot goes back just after the outcome is written: wait for it rather than read at once.
    await gateState(slow.id, (s) => s.inFlight === 0 && s.held === 0, 'the slow endpoint to hold no slot and nothing held');
  });

  it('drops the held deliveries of an endpoint disabled meanwhile from Redis; they fail as disabled', async () => {
    const path = `disable-${kind}`;
    const endpoint = await holdingEndpoint(path, 3);
    await service().disable(endpoint.id);
    rx.releaseHeld(path); // the one in flight finishes; its slot frees and puts the held ones back
    await waitUntil(async () => {
      const list = await deliveries(endpoint.id);
      return list.filter((d) => d.status === 'failed').length === 2 ? true : undefined;
    }, 'the two held deliveries to fail as disabled');
    await gateState(endpoint.id, (s) => s.held === 0 && s.inFlight === 0, 'nothing held or in flight');
    const gate = apps[0].app.get(EndpointGate);
    expect(await gate.heldEndpoints()).not.toContain(endpoint.id);
    expect(rx.got(path)).toHaveLength(1);
  });

  it('has the relay add a due delivery of an endpoint that holds others when it has no job anywhere, and only it', async () => {
    const path = `lost-${kind}`;
    const endpoint = await holdingEndpoint(path, 3);
    const lost = await saveLost(endpoint.id);
    expect(lost.status).toBe('pending');

    const queue = apps[0].app.get(DeliveryQueue);
    const enqueue = vi.spyOn(queue, 'enqueue');
    const result = await apps[0].app.get(OutboxRelay).run();
    const added = enqueue.mock.calls.flatMap(([jobs]) => jobs).filter((j) => !j.released);
    enqueue.mockRestore();
    // The held two were found among the held jobs and left there; the lost one was added, and is held in its turn.
    expect(result.enqueued).toBe(1);
    expect(added.map((j) => j.deliveryId)).toEqual([lost.id]);
    await gateState(endpoint.id, (s) => s.inFlight === 1 && s.held === 3, 'one in flight, three held');
    rx.releaseHeld(path);
    await waitUntil(async () => ((await succeeded(endpoint.id)) === 4 ? true : undefined), 'all four delivered');
    exactlyOnce(path, 4);
  });

  it('looks through a long held backlog a few batches a pass, from where the last pass stopped', async () => {
    const path = `backlog-${kind}`;
    const endpoint = await holdingEndpoint(path, 11);
    await saveLost(endpoint.id); // the newest row
    const relay = apps[0].app.get(OutboxRelay);
    // Eleven pending rows of the holding endpoint, two a batch, four batches a pass: the first pass sees eight.
    expect(await relay.run()).toMatchObject({ enqueued: 0, queued: 8 });
    expect(await relay.run()).toMatchObject({ enqueued: 1, queued: 2 }); // on from there, to the end
    await gateState(endpoint.id, (s) => s.held === 11, 'the lost one held in its turn');
    expect(await relay.run()).toMatchObject({ enqueued: 0, queued: 8 }); // from the start again
    rx.releaseHeld(path);
    await waitUntil(async () => ((await succeeded(endpoint.id)) === 12 ? true : undefined), 'all twelve delivered');
    exactlyOnce(path, 12);
  });

  // Several worker processes need a server database (on SQLite, TypeORM keeps one connection per process).
  const acrossWorkers = kind === 'sqlite' ? it.skip : it;

  acrossWorkers('holds an endpoint to its in-flight cap across two worker processes', async () => {
    // Two slots per worker: reaching 3 in flight proves both workers sent at once; the cap keeps it at 3.
    await start(2, { concurrency: 2 });
    const path = `cap-${kind}`;
    rx.set(path, { kind: 'delay', ms: 150 });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'], maxInFlight: 3 });
    expect(endpoint.maxInFlight).toBe(3);
    expect(endpoint.delivery).toMatchObject({ inFlight: 0, held: 0, circuit: 'closed', pausedUntil: null });
    await saveWidgets(24);
    await waitUntil(async () => (await succeeded(endpoint.id)) === 24, 'all 24 deliveries', 30_000);
    expect(rx.maxInFlight.get(path)).toBe(3);
    exactlyOnce(path, 24);
  });

  acrossWorkers(
    'by default lets one endpoint have half of all live worker slots in flight, and counts a worker out when it stops',
    async () => {
      // Three slots per worker, six in all: the default cap is 3 (half of one worker's alone would be 2).
      await start(2, { concurrency: 3 });
      const fleets = apps.map((a) => a.app.get(WorkerFleet));
      // Two rounds: after the first each is announced, after the second each has heard of the other.
      for (let round = 0; round < 2; round++) for (const fleet of fleets) await fleet.announce();
      expect(fleets.map((f) => f.slots())).toEqual([6, 6]);
      const path = `fleet-${kind}`;
      rx.set(path, { kind: 'delay', ms: 150 });
      const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
      expect(endpoint.maxInFlight).toBeNull();
      await saveWidgets(24);
      await waitUntil(async () => (await succeeded(endpoint.id)) === 24, 'all 24 deliveries', 30_000);
      expect(rx.maxInFlight.get(path)).toBe(3);
      exactlyOnce(path, 24);

      // The gate applies the fleet's figure it reads in Redis, not this process's estimate (3); with none, the estimate.
      const gate = apps[0].app.get(EndpointGate);
      const redis = apps[0].app.get(DeliveryQueue).commands();
      const slotsKey = fleets[0].slotsKey();
      const capApplied = async (n: number) => {
        const job = { deliveryId: `dlv_probe${n}`, eventId: 'evt_probe', endpointId: endpoint.id, attempt: 1, topic: 'widget.created' };
        const admission = await gate.acquire(job, new Date(Date.now() + 10_000));
        if (!admission.admitted) throw new Error('the probe was not admitted');
        await gate.release(endpoint.id, admission.token, { kind: 'none' });
        return admission.cap;
      };
      await redis.set(slotsKey, 20, 'PX', 60_000);
      expect(await capApplied(1)).toBe(10);
      await redis.del(slotsKey);
      expect(await capApplied(2)).toBe(3);

      // An announcement not renewed lapses (a worker that died); one that shuts down takes its own back at once.
      expect(await fleets[0].announce(60_000)).toBe(3);
      await fleets[0].announce();
      await fleets[1].announce();
      expect(await fleets[0].announce()).toBe(6);
      await apps.pop()!.close();
      expect(await redis.get(slotsKey)).toBe('3');
      expect(await fleets[0].announce()).toBe(3);
    },
  );

  acrossWorkers('holds an endpoint to its rate limit across two worker processes', async () => {
    await start(2, { concurrency: 5, rateLimit: { max: 3, perMs: 1000 } });
    const path = `rate-${kind}`;
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(9);
    await waitUntil(async () => (await succeeded(endpoint.id)) === 9, 'all 9 deliveries', 20_000);
    const times = rx.got(path).map((a) => a.at);
    // No window of (almost) a second holds more than 3 requests. The gate counts a request when it admits it; the
    // claim and the request itself come after, so the receiver may see them up to a loaded machine's delay apart.
    for (let i = 3; i < times.length; i++) expect(times[i] - times[i - 3], `requests ${i - 3} and ${i}`).toBeGreaterThan(850);
    exactlyOnce(path, 9);
  });

  it('pauses the whole endpoint on a 429 with Retry-After, then delivers everything', async () => {
    await start(1, { concurrency: 5 });
    const path = `throttle-${kind}`;
    rx.set(path, { kind: 'status', status: 429, headers: { 'retry-after': '2' } }, { kind: 'ok' });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(1);
    const paused = await waitUntil(async () => (await service().getEndpoint(endpoint.id)).delivery?.pausedUntil, 'the pause');
    const throttledAt = rx.got(path)[0].at;
    expect(paused.getTime()).toBeGreaterThanOrEqual(throttledAt + 1500);
    await saveWidgets(4);
    await waitUntil(async () => (await succeeded(endpoint.id)) === 5, 'all 5 deliveries', 15_000);
    // Nothing went to the endpoint during the pause, and the throttled delivery came back after it too.
    for (const later of rx.got(path).slice(1)) expect(later.at).toBeGreaterThanOrEqual(paused.getTime() - 50);
    exactlyOnce(path, 5);
  });

  it('opens the circuit after connection errors in a row, holds deliveries, probes once, and closes on an answer', async () => {
    await start(1, { concurrency: 5, circuitBreaker: { failures: 3, openMs: 1500, maxOpenMs: 5000 }, retrySchedule: [60_000] });
    const path = `circuit-${kind}`;
    rx.set(path, { kind: 'reset' });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(3);
    const open = await gateState(endpoint.id, (s) => s.circuit === 'open', 'the circuit to open');
    expect(open.consecutiveUnreachable).toBe(3);
    expect(open.circuitRetryAt).not.toBeNull();
    expect(rx.got(path)).toHaveLength(3);

    // While it is open, new deliveries are held: not attempted, not failed.
    rx.set(path, { kind: 'ok' });
    await saveWidgets(4);
    await gateState(endpoint.id, (s) => s.held === 4, 'four held deliveries');
    expect(rx.got(path)).toHaveLength(3);
    // A delivery claimed while the gate was asked is put back just after the gate holds it: wait for that.
    const held = await waitUntil(async () => {
      const rows = (await deliveries(endpoint.id)).filter((d) => d.attemptCount === 0 && d.status === 'pending');
      return rows.length === 4 ? rows : undefined;
    }, 'four pending deliveries, none attempted');
    expect(held).toHaveLength(4);
    // Operators see it: the endpoint's view and the health indicator.
    const view = (await service().getEndpoint(endpoint.id)).delivery!;
    expect(view).toMatchObject({ circuit: 'open', held: 4, circuitRetryAt: open.circuitRetryAt });
    expect(view.circuitOpenedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    const health = await apps[0].app.get(WebhooksHealthIndicator).isHealthy('webhooks');
    expect(health.webhooks).toMatchObject({ status: 'up', endpoints: { circuitOpen: 1, held: 4 } });

    // After the backoff one probe goes; its answer closes the circuit and the held deliveries follow.
    await waitUntil(async () => (await succeeded(endpoint.id)) === 4, 'the held deliveries', 15_000);
    const afterOpen = rx.got(path).slice(3);
    expect(afterOpen[0].at).toBeGreaterThanOrEqual(open.circuitRetryAt!.getTime() - 50);
    expect((await service().getEndpoint(endpoint.id)).delivery).toMatchObject({ circuit: 'closed', held: 0, consecutiveUnreachable: 0 });
    exactlyOnce(path, 4);
    // The three that met the closed door wait for their own retry (in a minute): failed attempts, not lost.
    const first = (await deliveries(endpoint.id)).filter((d) => d.attemptCount === 1 && d.status === 'pending');
    expect(first.length).toBe(3);
  });

  it('doubles the backoff when the probe fails too', async () => {
    await start(1, { concurrency: 3, circuitBreaker: { failures: 2, openMs: 800, maxOpenMs: 10_000 }, retrySchedule: [60_000] });
    const path = `probe-${kind}`;
    rx.set(path, { kind: 'reset' });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(2);
    const first = await gateState(endpoint.id, (s) => s.circuit === 'open', 'the circuit to open');
    await saveWidgets(1); // held, then sent as the probe, which is refused again
    await waitUntil(() => rx.got(path).length === 3, 'the probe');
    const reopened = await gateState(
      endpoint.id,
      (s) => s.circuit === 'open' && !!s.circuitRetryAt && s.circuitRetryAt > first.circuitRetryAt!,
      'the circuit to open again',
    );
    const probeAt = rx.got(path)[2].at;
    expect(reopened.circuitRetryAt!.getTime() - probeAt).toBeGreaterThanOrEqual(1500); // 2 x 800 ms
    // Still unreachable since the circuit first opened.
    expect(first.circuitOpenedAt).not.toBeNull();
    expect(reopened.circuitOpenedAt).toEqual(first.circuitOpenedAt);
    await sleep(100);
    expect(rx.got(path)).toHaveLength(3);
  });

  it('disables an endpoint whose circuit stayed open for autoDisableAfterMs; its held deliveries fail as disabled', async () => {
    const circuitBreaker = { failures: 2, openMs: 60_000, maxOpenMs: 60_000 };
    await start(1, { concurrency: 3, circuitBreaker, retrySchedule: [60_000], autoDisableAfterMs: 5000 });
    const path = `unreachable-${kind}`;
    rx.set(path, { kind: 'reset' });
    const endpoint = await service().createEndpoint({ url: rx.url(path), topics: ['widget.created'] });
    await saveWidgets(2);
    const open = await gateState(endpoint.id, (s) => s.circuit === 'open', 'the circuit to open');
    await saveWidgets(2);
    await gateState(endpoint.id, (s) => s.held === 2, 'two held deliveries');
    const relay = apps[0].app.get(OutboxRelay);
    // Open for less than autoDisableAfterMs: the relay's pass leaves it as it is.
    await relay.run();
    expect((await service().getEndpoint(endpoint.id)).active).toBe(true);
    await sleep(Math.max(0, open.circuitOpenedAt!.getTime() + 5100 - Date.now()));
    await relay.run();
    const disabled = await service().getEndpoint(endpoint.id);
    expect(disabled.active).toBe(false);
    expect(disabled.health.disabledReason).toMatch(/^Disabled automatically: unreachable for /);
    // The held two went back at once and failed as disabled, without a request; the gate keeps nothing for it.
    await waitUntil(
      async () => ((await deliveries(endpoint.id)).filter((d) => d.status === 'failed').length === 2 ? true : undefined),
      'two failed',
    );
    expect((await service().getEndpoint(endpoint.id)).delivery).toMatchObject({ circuit: 'closed', held: 0 });
    expect(rx.got(path)).toHaveLength(2);
  });
});
