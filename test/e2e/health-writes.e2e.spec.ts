import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookEndpoint, WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointHealth, healthState } from '../../libs/webhooks/src/endpoints/endpoint-health.js';
import { HealthWrites } from '../../libs/webhooks/src/endpoints/health-writes.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';

// Successes of many endpoints are written together; each endpoint's health writes stay in the order they came in.
describe.each(databaseKinds())('health writes of endpoints (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let health: EndpointHealth;
  let service: WebhooksService;
  let ds: DataSource;
  // Distinct instants a few ms apart, in the past (so none is throttled by another test's success).
  let clock = Date.now() - 60_000;
  const at = () => new Date((clock += 7));

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { webhooksOptions: { worker: false } });
    health = fixture.app.get(EndpointHealth);
    service = fixture.app.get(WebhooksService);
    ds = fixture.app.get(DataSource);
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  // One after another: SQLite has one connection, and concurrent transactions on it collide.
  const endpoints = async (count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++)
      ids.push((await service.createEndpoint({ url: `https://hooks.example/${i}`, topics: ['widget.created'] })).id);
    return ids;
  };
  const row = (id: string) => ds.getRepository(WebhookEndpoint).findOneByOrFail({ id });
  const failure = (id: string) => ({
    deliveryId: `dlv_${id}`,
    eventId: `evt_${id}`,
    topic: 'widget.created',
    attempts: 1,
    reason: 'HTTP 500',
  });
  const time = (d: Date | null) => d?.getTime() ?? null;

  it('writes successes of endpoints that succeed together in one statement, each row right', async () => {
    const ids = await endpoints(6);
    // Two of them were failing: a success ends their streak.
    for (const id of ids.slice(0, 2)) {
      await health.failed(id, at(), failure(id));
      await health.failed(id, at(), failure(id));
    }
    const failedAt = await Promise.all(ids.slice(0, 2).map(async (id) => (await row(id)).lastFailureAt));
    const before = await Promise.all(ids.map(async (id) => (await row(id)).updatedAt));
    const writes = vi.spyOn(HealthWrites.prototype as unknown as { writeSuccesses: (b: unknown[]) => Promise<void> }, 'writeSuccesses');
    const times = ids.map(() => at());
    await Promise.all(ids.map((id, i) => health.succeeded(id, times[i])));
    // The first goes alone; the five that came while it was written go together.
    const batches = writes.mock.calls.map(([batch]) => batch.length);
    writes.mockRestore();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(6);
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(Math.max(...batches)).toBeGreaterThan(1);
    for (const [i, id] of ids.entries()) {
      const e = await row(id);
      expect({ failures: e.consecutiveFailures, since: e.failingSince, success: time(e.lastSuccessAt), state: healthState(e) }).toEqual({
        failures: 0,
        since: null,
        success: times[i].getTime(),
        state: 'healthy',
      });
      expect(time(e.lastFailureAt)).toBe(i < 2 ? time(failedAt[i]) : null);
      expect(e.updatedAt.getTime()).toBe(before[i].getTime()); // health is not an edit of the endpoint
    }
  });

  it('a failure that comes while an earlier success waits for its batch counts after that success', async () => {
    const [busy, id] = await endpoints(2);
    const succeededAt = at();
    const failedAt = at();
    // The first success is being written when the second arrives, so the second waits for the next batch; the
    // failure must not be written before it (the success would then wipe it out).
    await Promise.all([health.succeeded(busy, at()), health.succeeded(id, succeededAt), health.failed(id, failedAt, failure(id))]);
    const e = await row(id);
    expect({
      failures: e.consecutiveFailures,
      since: time(e.failingSince),
      success: time(e.lastSuccessAt),
      failure: time(e.lastFailureAt),
      state: healthState(e),
    }).toEqual({ failures: 1, since: failedAt.getTime(), success: succeededAt.getTime(), failure: failedAt.getTime(), state: 'warning' });
  });

  it('a success after a failure ends the streak; a reset after a waiting success leaves the endpoint untested', async () => {
    const [busy, recovering, reset, other] = await endpoints(4);
    await health.failed(recovering, at(), failure(recovering));
    const failedAt = at();
    const recoveredAt = at();
    await Promise.all([
      health.succeeded(busy, at()),
      health.failed(recovering, failedAt, failure(recovering)),
      health.succeeded(recovering, recoveredAt),
      health.succeeded(reset, at()),
      health.reset(reset),
      health.succeeded(other, at()),
    ]);
    const r = await row(recovering);
    expect({
      failures: r.consecutiveFailures,
      since: r.failingSince,
      success: time(r.lastSuccessAt),
      failure: time(r.lastFailureAt),
    }).toEqual({
      failures: 0,
      since: null,
      success: recoveredAt.getTime(),
      failure: failedAt.getTime(),
    });
    expect(healthState(r)).toBe('healthy');
    const z = await row(reset);
    expect({ failures: z.consecutiveFailures, success: z.lastSuccessAt, failure: z.lastFailureAt, state: healthState(z) }).toEqual({
      failures: 0,
      success: null,
      failure: null,
      state: 'untested',
    });
    expect(healthState(await row(other))).toBe('healthy');
  });

  it('a deleted endpoint in a batch does not keep the others from being written', async () => {
    const [gone, ...rest] = await endpoints(4);
    await service.deleteEndpoint(gone);
    const times = rest.map(() => at());
    await Promise.all([health.succeeded(gone, at()), ...rest.map((id, i) => health.succeeded(id, times[i]))]);
    for (const [i, id] of rest.entries()) expect(time((await row(id)).lastSuccessAt)).toBe(times[i].getTime());
  });
});
