import { getQueueToken } from '@nestjs/bull';
import { Logger } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import type { Job, Queue } from 'bull';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  WEBHOOK_EVENTS,
  WEBHOOKS_QUEUE,
  WebhookAttempt,
  WebhookDelivery,
  WebhooksService,
  type DeliveryFailedEvent,
  type EndpointDisabledEvent,
} from 'nestjs-outgoing-webhooks';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver, type Reply } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('delivery policy (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let service: WebhooksService;
  let dataSource: DataSource;
  const receivers: Receiver[] = [];
  const disabled: EndpointDisabledEvent[] = [];
  const failed: DeliveryFailedEvent[] = [];

  const endpointWith = async (replies: Reply[], extra: { retrySchedule?: number[]; timeoutMs?: number } = {}) => {
    const rx = await Receiver.start();
    rx.replies = replies;
    receivers.push(rx);
    const ep = await service.createEndpoint({ url: rx.url, topics: ['widget.created'], ...extra });
    return { rx, ep };
  };
  const deliveryOf = (endpointId: string) => dataSource.getRepository(WebhookDelivery).findOneByOrFail({ endpointId });
  const attemptsOf = (deliveryId: string) =>
    dataSource.getRepository(WebhookAttempt).find({ where: { deliveryId }, order: { attemptNumber: 'ASC' } });
  const settled = (endpointId: string) =>
    waitUntil(async () => {
      const d = await dataSource.getRepository(WebhookDelivery).findOneBy({ endpointId });
      return d && (d.status === 'succeeded' || d.status === 'failed') ? d : undefined;
    }, `the delivery to ${endpointId} to settle`);

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, {
      webhooksOptions: { retrySchedule: [100], requestTimeoutMs: 2000, onEndpointDisabled: (e) => void disabled.push(e) },
      extra: [EventEmitterModule.forRoot()],
    });
    fixture.app.get(EventEmitter2).on(WEBHOOK_EVENTS.deliveryFailed, (e: DeliveryFailedEvent) => failed.push(e));
    service = fixture.app.get(WebhooksService);
    dataSource = fixture.app.get(DataSource);
  });
  afterAll(async () => {
    await fixture?.close();
    for (const r of receivers) await r.close();
    await db?.drop();
  });

  it('follows the retry schedule within the jitter bound, and the attempt rows match', async () => {
    const schedule = [300, 600, 900];
    const { rx, ep } = await endpointWith([500, 502, 503], { retrySchedule: schedule });
    // jitter 0.2 is the module default
    await Widget.create({ name: 'scheduled' }).save();
    await rx.waitFor(4, 10_000);
    const delivery = await settled(ep.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 4 });
    const gaps = rx.requests.slice(1).map((r, i) => r.at - rx.requests[i].at);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(schedule[i] * 0.8 - 5); // never early
      // Late only by processing overhead: well before the relay (10 s grace) would have picked the retry up. The bound
      // is loose because a busy 2-core machine stalls processes for hundreds of ms now and then (873 ms seen once).
      expect(gap).toBeLessThanOrEqual(schedule[i] * 1.2 + 2500);
    });
    const attempts = await attemptsOf(delivery.id);
    expect(attempts.map((a) => [a.attemptNumber, a.responseStatus, a.trigger])).toEqual([
      [1, 500, 'scheduled'],
      [2, 502, 'scheduled'],
      [3, 503, 'scheduled'],
      [4, 200, 'scheduled'],
    ]);
    attempts.slice(0, 3).forEach((a, i) => {
      const planned = a.nextAttemptAt!.getTime() - a.createdAt.getTime();
      expect(planned).toBeGreaterThanOrEqual(schedule[i] * 0.8 - 1);
      expect(planned).toBeLessThanOrEqual(schedule[i] * 1.2 + 1);
    });
    expect(attempts[3].nextAttemptAt).toBeNull();
  });

  it('applies each status rule', async () => {
    const retried: Array<[string, Reply[], { timeoutMs?: number }?]> = [
      ['500', [500]],
      ['502', [502]],
      ['503', [503]],
      ['504', [504]],
      ['408', [408]],
      ['429 Retry-After', [{ status: 429, headers: { 'retry-after': '2' } }]],
      ['timeout', ['hang'], { timeoutMs: 300 }],
      ['connection reset', ['reset']],
    ];
    const notRetried: Array<[string, Reply[]]> = [
      ['400', [400]],
      ['401', [401]],
      ['404', [404]],
      ['422', [422]],
    ];
    // One by one: TypeORM races concurrent transactions on SQLite's single connection.
    const retry = [];
    for (const [name, replies, extra] of retried) retry.push({ name, ...(await endpointWith(replies, extra)) });
    const fail = [];
    for (const [name, replies] of notRetried) fail.push({ name, ...(await endpointWith(replies)) });
    const redirect = await endpointWith([]);
    redirect.rx.replies = [{ status: 301, headers: { location: redirect.rx.url + '/moved' } }];
    const gone = await endpointWith([410]);

    await Widget.create({ name: 'rules' }).save();

    for (const { name, rx, ep } of retry) {
      const d = await settled(ep.id);
      expect([name, d.status, d.attemptCount]).toEqual([name, 'succeeded', 2]);
      expect(rx.requests).toHaveLength(2);
    }
    const limited = retry.find((r) => r.name === '429 Retry-After')!;
    expect(limited.rx.requests[1].at - limited.rx.requests[0].at).toBeGreaterThanOrEqual(2000 - 5);
    const [timedOut] = await attemptsOf((await deliveryOf(retry.find((r) => r.name === 'timeout')!.ep.id)).id);
    expect(timedOut.error).toContain('ETIMEDOUT');
    const [reset] = await attemptsOf((await deliveryOf(retry.find((r) => r.name === 'connection reset')!.ep.id)).id);
    expect(reset.responseStatus).toBeNull();
    expect(reset.error).toMatch(/ECONNRESET|socket hang up/);

    for (const { name, rx, ep } of [...fail, { name: '301', ...redirect }]) {
      const d = await settled(ep.id);
      expect([name, d.status, d.attemptCount]).toEqual([name, 'failed', 1]);
      expect(rx.requests).toHaveLength(1);
    }
    expect((await deliveryOf(fail[0].ep.id)).lastError).toBe('HTTP 400: not retried');
    expect((await deliveryOf(redirect.ep.id)).lastError).toContain('redirects are not followed');
    expect(redirect.rx.requests.map((r) => r.path)).toEqual(['/hooks']); // the Location was never requested

    const goneDelivery = await settled(gone.ep.id);
    expect(goneDelivery).toMatchObject({ status: 'failed', attemptCount: 1 });
    const goneEndpoint = await service.getEndpoint(gone.ep.id);
    expect(goneEndpoint.active).toBe(false);
    expect(goneEndpoint.health.state).toBe('disabled');
    expect(goneEndpoint.health.disabledReason).toContain('410');
    expect(disabled.map((e) => e.endpointId)).toContain(gone.ep.id);
    await sleep(300);
    expect(gone.rx.requests).toHaveLength(1);

    // Each permanent failure was announced exactly once; nothing for the retried ones.
    const announced = (id: string) => failed.filter((e) => e.endpointId === id).length;
    for (const { ep } of [...fail, redirect, gone]) expect(announced(ep.id)).toBe(1);
    for (const { ep } of retry) expect(announced(ep.id)).toBe(0);
    expect(disabled.filter((e) => e.endpointId === gone.ep.id)).toHaveLength(1);
    for (const { ep } of retry) await service.deleteEndpoint(ep.id);
    for (const { ep } of [...fail, redirect, gone]) await service.deleteEndpoint(ep.id);
  });

  it('an attempt in flight when its endpoint is deleted ends quietly: nothing is recorded, no error, no retry', async () => {
    const { rx, ep } = await endpointWith([{ delayMs: 4000, then: 200 }], { timeoutMs: 10_000 });
    const errors = vi.spyOn(Logger.prototype, 'error');
    const queue = fixture.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    let ended = false;
    const done = new Promise<Job>((resolve) => {
      const onCompleted = (job: Job) => {
        if (job.data?.endpointId !== ep.id) return;
        queue.off('completed', onCompleted);
        ended = true;
        resolve(job);
      };
      queue.on('completed', onCompleted);
    });
    try {
      await Widget.create({ name: 'deleted in flight' }).save();
      await rx.waitFor(1);
      const { id } = await deliveryOf(ep.id);
      await service.deleteEndpoint(ep.id); // its deliveries and their attempts go with it
      expect(ended).toBe(false); // deleted while the attempt waits for its response
      await done; // the attempt ended, its response in
      expect(errors.mock.calls.map((c) => String(c[0])).filter((m) => m.includes(id))).toEqual([]);
      expect(await dataSource.getRepository(WebhookDelivery).countBy({ id })).toBe(0);
      expect(await dataSource.getRepository(WebhookAttempt).countBy({ deliveryId: id })).toBe(0);
      await sleep(300);
      expect(rx.requests).toHaveLength(1);
    } finally {
      errors.mockRestore();
    }
  });

  it('cuts a 50 MB response at the read cap without buffering it, and stores the truncated body', async () => {
    const size = 50 * 1024 * 1024;
    const { rx, ep } = await endpointWith([{ status: 200, streamBytes: size }]);
    const before = process.memoryUsage();
    await Widget.create({ name: 'big answer' }).save();
    const d = await settled(ep.id);
    const after = process.memoryUsage();
    expect(d.status).toBe('succeeded');
    const [attempt] = await attemptsOf(d.id);
    expect(attempt.responseBody).toHaveLength(16_384); // responseBodyStoreLimitBytes
    expect(rx.streamedBytesWritten()).toBeLessThan(size); // the sender hung up long before the end
    expect(after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed)).toBeLessThan(size / 2);
    await service.deleteEndpoint(ep.id);
  });

  it('stores a reply that carries NUL characters (PostgreSQL text refuses them) and the delivery succeeds once', async () => {
    const { rx, ep } = await endpointWith([{ status: 200, body: 'ok\u0000\u0000binary' }]);
    await Widget.create({ name: 'nul answer' }).save();
    const d = await settled(ep.id);
    expect(d.status).toBe('succeeded');
    const [attempt] = await attemptsOf(d.id);
    expect(attempt.responseBody).toBe('ok\uFFFD\uFFFDbinary');
    expect(rx.requests).toHaveLength(1);
    await service.deleteEndpoint(ep.id);
  });

  it('disables an endpoint after ten failed deliveries in a row, then stops sending; enabling resets health', async () => {
    const { rx, ep } = await endpointWith([], { retrySchedule: [] });
    rx.fallback = 500;
    for (let i = 1; i <= 10; i++) {
      await Widget.create({ name: `fail-${i}` }).save();
      await rx.waitFor(i);
      if (i === 4) {
        await waitUntil(async () => (await service.getEndpoint(ep.id)).health.consecutiveFailures === 4, 'four failures');
        expect((await service.getEndpoint(ep.id)).health.state).toBe('warning');
      }
    }
    const off = await waitUntil(async () => {
      const e = await service.getEndpoint(ep.id);
      return e.active ? undefined : e;
    }, 'the endpoint to be disabled');
    expect(off.health).toMatchObject({ state: 'disabled', consecutiveFailures: 10 });
    expect(off.health.disabledReason).toContain('10 deliveries in a row failed');
    // The callbacks follow the disable (and the cache reload after it): wait for them.
    await waitUntil(
      () => disabled.some((e) => e.endpointId === ep.id) && failed.filter((e) => e.endpointId === ep.id).length === 10,
      'the disabled and failed callbacks',
    );
    expect(disabled.filter((e) => e.endpointId === ep.id)).toHaveLength(1);
    expect(failed.filter((e) => e.endpointId === ep.id)).toHaveLength(10);

    await Widget.create({ name: 'after-disable' }).save();
    await sleep(400);
    expect(rx.requests).toHaveLength(10);

    const on = await service.enable(ep.id);
    expect(on.active).toBe(true);
    expect(on.health).toMatchObject({ state: 'untested', consecutiveFailures: 0, lastFailureAt: null, disabledAt: null });
    rx.fallback = 200;
    await Widget.create({ name: 'after-enable' }).save();
    await rx.waitFor(11);
    // The control saved after enabling arrives; what was saved while disabled never does.
    expect(rx.requests.slice(10).map((r) => JSON.parse(r.body).data.name)).toEqual(['after-enable']);
    const healthy = await waitUntil(async () => {
      const e = await service.getEndpoint(ep.id);
      return e.health.state === 'healthy' ? e : undefined;
    }, 'a healthy endpoint');
    expect(healthy.health.recent).toEqual({ succeeded: 1, failed: 10 });
    expect(healthy.health.successRate).toBeCloseTo(1 / 11);
    expect((await service.listEndpoints()).find((e) => e.id === ep.id)?.health.successRate).toBeCloseTo(1 / 11);
    await service.deleteEndpoint(ep.id);
  });
});

describe('auto-disable by duration', () => {
  it('disables an endpoint whose deliveries have all failed for autoDisableAfterMs', async () => {
    const db = await createDatabase('sqlite');
    const rx = await Receiver.start();
    rx.fallback = 500;
    const fixture = await startFixture(db, {
      webhooksOptions: { retrySchedule: [], autoDisableAfterFailures: 0, autoDisableAfterMs: 300 },
    });
    try {
      const service = fixture.app.get(WebhooksService);
      const ep = await service.createEndpoint({ url: rx.url, topics: ['widget.created'] });
      await Widget.create({ name: 'first failure' }).save();
      await rx.waitFor(1);
      await waitUntil(async () => (await service.getEndpoint(ep.id)).health.failingSince, 'the failure streak to start');
      expect((await service.getEndpoint(ep.id)).active).toBe(true);
      await sleep(350);
      await Widget.create({ name: 'still failing' }).save();
      await rx.waitFor(2);
      const off = await waitUntil(async () => {
        const e = await service.getEndpoint(ep.id);
        return e.active ? undefined : e;
      }, 'the endpoint to be disabled');
      expect(off.health.disabledReason).toContain('every delivery failed for 0.3 seconds');
      expect(off.health.consecutiveFailures).toBe(2);
    } finally {
      await fixture.close();
      await rx.close();
      await db.drop();
    }
  });
});
