import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RetentionService,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEvent,
  WebhooksService,
  type DeliveryStatus,
} from 'nestjs-outgoing-webhooks';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';

const DAY = 86_400_000;

describe.each(databaseKinds())('retention (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let dataSource: DataSource;
  let endpointId: string;
  let n = 0;

  /** An event with one delivery (in `status`) and one attempt, created `ageDays` ago. */
  const history = async (ageDays: number, status: DeliveryStatus) => {
    const at = new Date(Date.now() - ageDays * DAY);
    const id = `evt_retention_${kind}_${++n}`;
    await dataSource
      .getRepository(WebhookEvent)
      .insert({ id, topic: 'widget.created', entityName: 'widget', entityId: '1', payload: '{}', createdAt: at });
    await dataSource.getRepository(WebhookDelivery).insert({
      id: `dlv_${id}`,
      eventId: id,
      endpointId,
      topic: 'widget.created',
      status,
      attemptCount: 1,
      nextAttemptAt: status === 'pending' ? at : null,
      createdAt: at,
      updatedAt: at,
    });
    await dataSource.getRepository(WebhookAttempt).insert({
      id: `att_${id}`,
      deliveryId: `dlv_${id}`,
      attemptNumber: 1,
      trigger: 'scheduled',
      requestUrl: 'http://127.0.0.1:9/hooks',
      responseStatus: 200,
      responseBody: null,
      responseHeaders: null,
      durationMs: 1,
      error: null,
      nextAttemptAt: null,
      createdAt: at,
    });
    return id;
  };
  const exists = async (eventId: string) => ({
    event: await dataSource.getRepository(WebhookEvent).existsBy({ id: eventId }),
    delivery: await dataSource.getRepository(WebhookDelivery).existsBy({ eventId }),
    attempt: await dataSource.getRepository(WebhookAttempt).existsBy({ deliveryId: `dlv_${eventId}` }),
  });
  const gone = { event: false, delivery: false, attempt: false };
  const kept = { event: true, delivery: true, attempt: true };

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { webhooksOptions: { retentionDays: 30 } });
    dataSource = fixture.app.get(DataSource);
    endpointId = (await fixture.app.get(WebhooksService).createEndpoint({ url: 'http://127.0.0.1:9/hooks', topics: ['widget.created'] }))
      .id;
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  it('schedules itself as one repeatable Bull job', async () => {
    expect(await fixture.app.get(DeliveryQueue).repeating()).toEqual([{ name: 'retention', everyMs: 3_600_000 }]);
  });

  it('deletes finished history older than retentionDays and keeps the rest', async () => {
    const oldSucceeded = await history(40, 'succeeded');
    const oldFailed = await history(31, 'failed');
    const oldPending = await history(40, 'pending'); // still owed to the receiver
    const recent = await history(29, 'succeeded');

    const preview = await fixture.app.get(RetentionService).preview();
    expect(preview).toMatchObject({ events: 2, deliveries: 2, attempts: 2, succeededAtOnce: false });
    expect(Math.abs(preview.olderThan!.getTime() - (Date.now() - 30 * DAY))).toBeLessThan(60_000);
    expect(await exists(oldSucceeded)).toEqual(kept); // a preview deletes nothing

    const result = await fixture.app.get(RetentionService).run();
    expect(result).toEqual({ events: 2, deliveries: 2, attempts: 2 });
    expect(await fixture.app.get(RetentionService).preview()).toMatchObject({ events: 0, deliveries: 0, attempts: 0 });
    expect(await exists(oldSucceeded)).toEqual(gone);
    expect(await exists(oldFailed)).toEqual(gone);
    expect(await exists(oldPending)).toEqual(kept);
    expect(await exists(recent)).toEqual(kept);
  });

  it('with storeEvents: false keeps nothing after success, but keeps failures', async () => {
    await fixture.close();
    fixture = await startFixture(db, { webhooksOptions: { retentionDays: 30, storeEvents: false } });
    dataSource = fixture.app.get(DataSource);
    const succeeded = await history(0, 'succeeded');
    const failed = await history(0, 'failed');
    const pending = await history(0, 'pending');
    const later = new Date(Date.now() + 1000);
    expect(await fixture.app.get(RetentionService).preview(later)).toMatchObject({
      // `succeeded`, and the earlier test's 29-day-old succeeded event: success is not kept at all.
      events: 2,
      deliveries: 2,
      attempts: 2,
      succeededAtOnce: true,
    });
    await fixture.app.get(RetentionService).run(later);
    expect(await exists(succeeded)).toEqual(gone);
    expect(await exists(failed)).toEqual(kept);
    expect(await exists(pending)).toEqual(kept);
  });
});
