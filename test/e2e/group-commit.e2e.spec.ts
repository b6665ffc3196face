import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookAttempt, WebhookDelivery, WebhooksService } from 'nestjs-outgoing-webhooks';
import { newId } from '../../libs/webhooks/src/ids.js';
import { WebhookStore, type AttemptRecord } from '../../libs/webhooks/src/store/webhook-store.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';

// Finished attempts are written in batches on PostgreSQL (one statement for the attempts that finish together).
describe.each(databaseKinds().filter((k) => k === 'postgres'))('attempt group commit (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let store: WebhookStore;
  let ds: DataSource;
  let endpointId: string;

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { webhooksOptions: { worker: false } });
    store = fixture.app.get(WebhookStore);
    ds = fixture.app.get(DataSource);
    endpointId = (await fixture.app.get(WebhooksService).createEndpoint({ url: 'https://hooks.example/in', topics: ['widget.created'] }))
      .id;
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  async function claimedDeliveries(count: number): Promise<string[]> {
    const now = new Date();
    const eventId = newId('evt', now.getTime());
    const ids = Array.from({ length: count }, () => newId('dlv', now.getTime()));
    await store.insertEvent(
      ds.manager,
      { id: eventId, topic: 'widget.created', entityName: 'widget', entityId: '1', payload: '{}', createdAt: now },
      ids.map((id) => ({ id, endpointId })),
    );
    for (const id of ids) expect(await store.claim(id, 1, new Date(now.getTime() + 60_000), now)).toBe(true);
    return ids;
  }

  const record = (deliveryId: string, status = 200): AttemptRecord => ({
    deliveryId,
    attemptNumber: 1,
    trigger: 'scheduled',
    requestUrl: 'https://hooks.example/in',
    response: { status, headers: { 'x-n': deliveryId }, body: `ok ${deliveryId}`, durationMs: 3, error: null },
    error: null,
    nextAttemptAt: null,
    at: new Date(),
  });
  const done = { status: 'succeeded' as const, nextAttemptAt: null, lastResponseStatus: 200, lastError: null };

  it('writes attempts finishing together in one batch, each row and owner right', async () => {
    const ids = await claimedDeliveries(30);
    // A stale finish (not the owner any more) among them: logged, but it does not move its delivery.
    const stale = { ...record(ids[0]), attemptNumber: 7 };
    const batches = vi.spyOn(store as unknown as { pgRows: () => Promise<unknown> }, 'pgRows');
    const results = await Promise.all([store.finishAttempt(stale, done), ...ids.map((id) => store.finishAttempt(record(id), done))]);
    expect(results).toEqual([false, ...ids.map(() => true)]);
    // The first finish goes alone; the 30 that came while it was written go together.
    expect(batches.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(batches.mock.calls.length).toBeLessThanOrEqual(2);
    batches.mockRestore();
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows.every((d) => d.status === 'succeeded' && d.lastResponseStatus === 200)).toBe(true);
    const attempts = await ds.getRepository(WebhookAttempt).findBy(ids.map((deliveryId) => ({ deliveryId })));
    expect(attempts).toHaveLength(31);
    const one = attempts.find((a) => a.deliveryId === ids[5] && a.attemptNumber === 1)!;
    expect(one).toMatchObject({ responseStatus: 200, responseBody: `ok ${ids[5]}`, responseHeaders: { 'x-n': ids[5] }, durationMs: 3 });
  });

  it('a row that cannot be written fails only its own caller', async () => {
    const ids = await claimedDeliveries(10);
    const missing = `dlv_${randomBytes(8).toString('hex')}`; // no such delivery: the attempt's foreign key refuses it
    const results = await Promise.allSettled([
      ...ids.map((id) => store.finishAttempt(record(id), done)),
      store.finishAttempt(record(missing), done),
    ]);
    expect(results.slice(0, 10).every((r) => r.status === 'fulfilled' && r.value === true)).toBe(true);
    expect(results[10].status).toBe('rejected');
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows.filter((d) => d.status === 'succeeded')).toHaveLength(10);
  });
});
