import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WebhookAttempt,
  WebhookDelivery,
  WebhookEvent,
  WebhookNotFoundError,
  WebhookValidationError,
  WebhooksService,
  type DeliveryStatus,
} from 'nestjs-outgoing-webhooks';
import { newId } from '../../libs/webhooks/src/ids.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';

const HOUR = 3_600_000;

/**
 * The delivery log's reports on every database: the search across endpoints, the per-endpoint stats with their
 * percentiles, and the error groups. History is written straight into the tables with time-ordered ids, so every
 * figure is known in advance.
 */
describe.each(databaseKinds())('delivery reports (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let dataSource: DataSource;
  let webhooks: WebhooksService;
  let fast: string;
  let flaky: string;
  let quiet: string;
  const now = Date.now();

  /** A delivery of a new event to `endpointId`, `ageMs` old, with one attempt per entry of `attempts`. */
  const history = async (
    endpointId: string,
    ageMs: number,
    status: DeliveryStatus,
    attempts: Array<{ durationMs: number; status: number | null; error?: string }>,
  ) => {
    const at = new Date(now - ageMs);
    const eventId = newId('evt', at.getTime());
    const deliveryId = newId('dlv', at.getTime());
    await dataSource
      .getRepository(WebhookEvent)
      .insert({ id: eventId, topic: 'widget.created', entityName: 'widget', entityId: '1', payload: '{}', createdAt: at });
    await dataSource.getRepository(WebhookDelivery).insert({
      id: deliveryId,
      eventId,
      endpointId,
      topic: 'widget.created',
      status,
      attemptCount: attempts.length,
      nextAttemptAt: status === 'pending' ? at : null,
      lastError: attempts.at(-1)?.error ?? null,
      createdAt: at,
      updatedAt: at,
    });
    let n = 0;
    for (const a of attempts) {
      const attemptAt = new Date(at.getTime() + ++n);
      await dataSource.getRepository(WebhookAttempt).insert({
        id: newId('att', attemptAt.getTime()),
        deliveryId,
        attemptNumber: n,
        trigger: 'scheduled',
        requestUrl: 'http://127.0.0.1:9/hooks',
        responseStatus: a.status,
        responseBody: null,
        responseHeaders: null,
        durationMs: a.durationMs,
        error: a.error ?? null,
        nextAttemptAt: null,
        createdAt: attemptAt,
      });
    }
    return deliveryId;
  };
  const ok = (durationMs: number) => ({ durationMs, status: 200 });

  let oldFlaky: string;
  let recentFailed: string;

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { webhooksOptions: { worker: false } });
    dataSource = fixture.app.get(DataSource);
    webhooks = fixture.app.get(WebhooksService);
    const create = async (path: string) =>
      (await webhooks.createEndpoint({ url: `http://127.0.0.1:9/${path}`, topics: ['widget.created'] })).id;
    fast = await create('fast');
    flaky = await create('flaky');
    quiet = await create('quiet');
    // fast: 10 deliveries in the last hour, one attempt each, 10..100 ms.
    for (let i = 1; i <= 10; i++) await history(fast, HOUR - i * 60_000, 'succeeded', [ok(i * 10)]);
    // flaky: two failed for good after three attempts (HTTP 500, the last with "gave up"), one succeeded after a reset, one pending.
    const failing = [
      { durationMs: 5, status: 500, error: 'HTTP 500' },
      { durationMs: 7, status: 500, error: 'HTTP 500' },
      { durationMs: 9, status: 500, error: 'HTTP 500; gave up after 3 attempts' },
    ];
    await history(flaky, 2 * HOUR, 'failed', failing);
    recentFailed = await history(flaky, 30 * 60_000, 'failed', failing);
    await history(flaky, 20 * 60_000, 'succeeded', [{ durationMs: 1000, status: null, error: 'read ECONNRESET' }, ok(20)]);
    await history(flaky, 10 * 60_000, 'pending', [{ durationMs: 3, status: 503, error: 'HTTP 503' }]);
    // Outside the default 24 hours.
    oldFlaky = await history(flaky, 30 * HOUR, 'failed', [{ durationMs: 1, status: 404, error: 'HTTP 404: not retried' }]);
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  it('stats: deliveries by status, success rate and nearest-rank attempt percentiles per endpoint', async () => {
    const stats = await webhooks.deliveryStats();
    expect(stats.until.getTime() - stats.since.getTime()).toBe(24 * HOUR);
    expect(stats.endpoints.map((e) => e.endpointId)).toEqual([fast, flaky]); // most deliveries first; quiet had none
    const [f, fl] = stats.endpoints;
    expect(f).toMatchObject({
      url: 'http://127.0.0.1:9/fast',
      ownerId: null,
      deliveries: { total: 10, succeeded: 10, failed: 0, pending: 0 },
      successRate: 1,
      attempts: { total: 10, failed: 0, p50Ms: 50, p95Ms: 100, maxMs: 100 },
    });
    // flaky: 4 deliveries (2 failed, 1 succeeded, 1 pending); 9 attempts: 3, 5, 5, 7, 7, 9, 9, 20, 1000.
    expect(fl).toMatchObject({
      deliveries: { total: 4, succeeded: 1, failed: 2, pending: 1 },
      attempts: { total: 9, failed: 8, p50Ms: 7, p95Ms: 1000, maxMs: 1000 },
    });
    expect(fl.successRate).toBeCloseTo(1 / 3);
    expect(stats.total).toMatchObject({
      deliveries: { total: 14, succeeded: 11, failed: 2, pending: 1 },
      attempts: { total: 19, failed: 8, maxMs: 1000 },
    });
    // 19 attempts sorted: 3,5,5,7,7,9,9,10,20,20,30,...: rank 10 is 20, rank 19 is 1000.
    expect(stats.total.attempts.p50Ms).toBe(20);
    expect(stats.total.attempts.p95Ms).toBe(1000);
  });

  it('stats over a given range, and a clear error for a bad one', async () => {
    const older = await webhooks.deliveryStats({ since: new Date(now - 48 * HOUR), until: new Date(now - 24 * HOUR).toISOString() });
    expect(older.endpoints.map((e) => [e.endpointId, e.deliveries.failed])).toEqual([[flaky, 1]]);
    const empty = await webhooks.deliveryStats({ since: new Date(now + HOUR), until: new Date(now + 2 * HOUR) });
    expect(empty.endpoints).toEqual([]);
    expect(empty.total.attempts).toEqual({ total: 0, failed: 0, p50Ms: null, p95Ms: null, maxMs: null });
    await expect(webhooks.deliveryStats({ since: 'yesterday' })).rejects.toThrow(WebhookValidationError);
    await expect(webhooks.deliveryStats({ since: 'yesterday' })).rejects.toThrow(
      /since must be a date from 1970 to 9999 such as "2026-11-24T00:00:00Z"/,
    );
    await expect(webhooks.deliveryStats({ since: new Date(now), until: new Date(now - 1) })).rejects.toThrow(/since must be before until/);
  });

  it('errors: most frequent first, the last attempt grouped with the others, with the endpoints hit', async () => {
    const summary = await webhooks.errorSummary();
    expect(summary.failedAttempts).toBe(8);
    expect(summary.distinctErrors).toBe(3);
    expect(summary.errors.map((e) => [e.error, e.count])).toEqual([
      ['HTTP 500', 6],
      ['HTTP 503', 1],
      ['read ECONNRESET', 1],
    ]);
    expect(summary.errors[0].endpoints).toEqual([{ endpointId: flaky, url: 'http://127.0.0.1:9/flaky', count: 6 }]);
    // The newest HTTP 500 is the third attempt of the delivery made 30 minutes ago.
    expect(Math.abs(summary.errors[0].lastSeenAt.getTime() - (now - 30 * 60_000 + 3))).toBeLessThan(2);
    expect((await webhooks.errorSummary({ limit: 1 })).errors).toHaveLength(1);
    const old = await webhooks.errorSummary({ since: new Date(now - 48 * HOUR), until: new Date(now - 24 * HOUR) });
    expect(old.errors.map((e) => e.error)).toEqual(['HTTP 404: not retried']);
    await expect(webhooks.errorSummary({ limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 100/);
  });

  it('searches deliveries across endpoints by status, endpoint, topic and time, newest first', async () => {
    const all = await webhooks.searchDeliveries({ limit: 200 });
    expect(all).toHaveLength(15);
    expect(all.map((d) => d.id)).toEqual([...all.map((d) => d.id)].sort().reverse());
    const failed = await webhooks.searchDeliveries({ status: 'failed' });
    expect(failed.map((d) => d.endpointId)).toEqual([flaky, flaky, flaky]);
    expect(failed[0].id).toBe(recentFailed);
    expect(failed[0].attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3]);
    const recent = await webhooks.searchDeliveries({ status: ['failed', 'pending'], since: new Date(now - 24 * HOUR) });
    expect(recent.map((d) => d.status)).toEqual(['pending', 'failed', 'failed']);
    expect((await webhooks.searchDeliveries({ endpointId: fast, limit: 3 })).map((d) => d.endpointId)).toEqual([fast, fast, fast]);
    expect(await webhooks.searchDeliveries({ endpointId: quiet })).toEqual([]);
    expect(await webhooks.searchDeliveries({ topic: 'widget.updated' })).toEqual([]);
    const old = await webhooks.searchDeliveries({ until: new Date(now - 24 * HOUR).toISOString() });
    expect(old.map((d) => d.id)).toEqual([oldFlaky]);
    const page = await webhooks.searchDeliveries({ limit: 5 });
    const next = await webhooks.searchDeliveries({ limit: 5, before: page[4].id });
    expect(next[0].id < page[4].id).toBe(true);
    expect(new Set([...page, ...next].map((d) => d.id)).size).toBe(10);
  });

  it('rejects bad search input and names an unknown endpoint', async () => {
    await expect(webhooks.searchDeliveries({ endpointId: 'ep_nope' })).rejects.toThrow(WebhookNotFoundError);
    await expect(webhooks.searchDeliveries({ endpointId: 'ep_nope' })).rejects.toThrow(/"ep_nope"/);
    await expect(webhooks.searchDeliveries({ status: 'lost' as DeliveryStatus })).rejects.toThrow(
      /status must be one of pending, delivering/,
    );
    await expect(webhooks.searchDeliveries({ since: 'soon' })).rejects.toThrow(/since must be a date/);
    await expect(webhooks.searchDeliveries({ limit: 201 })).rejects.toThrow(/limit must be an integer from 1 to 200/);
  });
});
