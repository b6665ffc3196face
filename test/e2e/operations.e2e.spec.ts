import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { OutboxRelay, WebhookDelivery, WebhooksService } from 'nestjs-outgoing-webhooks';
import { OutboxService } from '../../libs/webhooks/src/outbox/outbox.service.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('operations: test send, redeliver, recover (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  let customerId: number;

  const endpoint = (topics = ['order.created']) => example.receiverEndpoint({ topics });
  const deliveries = async (endpointId: string) =>
    (await example.api('GET', `/api/webhook-endpoints/${endpointId}/deliveries`)).body as any[];
  const order = async () =>
    expect((await example.api('POST', '/api/orders', { customerId, total: '1.00', status: 'pending' })).status).toBe(201);

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db, { webhooks: { retrySchedule: [] } });
    customerId = (await example.api('POST', '/api/customers', { name: 'Ops', email: 'ops@example.com' })).body.id;
  });
  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('sends a signed test event synchronously and reports the answer', async () => {
    const { rx, ep } = await endpoint();
    rx.replies = [{ status: 200, body: 'pong' }];
    const res = await example.api('POST', `/api/webhook-endpoints/${ep.id}/test`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, status: 200, responseBody: 'pong', error: null });
    expect(Number.isInteger(res.body.durationMs)).toBe(true); // and it is the logged attempt's duration (below)
    expect(rx.requests).toHaveLength(1); // already there: the call waited for it
    const sent = new Webhook(ep.secret).verify(rx.requests[0].body, rx.requests[0].headers as Record<string, string>) as any;
    expect(sent).toMatchObject({ type: 'webhook.test', data: { endpointId: ep.id } });

    rx.replies = [{ status: 500, body: 'broken' }];
    const custom = await example.app.get(WebhooksService).sendTest(ep.id, { topic: 'order.created', payload: { id: 42 } });
    expect(custom).toMatchObject({ ok: false, status: 500, responseBody: 'broken' });
    expect(custom.error).toContain('HTTP 500');
    expect(JSON.parse(rx.requests[1].body)).toMatchObject({ type: 'order.created', data: { id: 42 } });
    const log = await deliveries(ep.id);
    // A test is never retried: the failed one is final at once, with no next attempt.
    expect(log.map((d) => [d.status, d.nextAttemptAt, d.attempts.map((a: any) => [a.trigger, a.nextAttemptAt])])).toEqual([
      ['failed', null, [['test', null]]],
      ['succeeded', null, [['test', null]]],
    ]);
    expect(log[1].attempts[0].durationMs).toBe(res.body.durationMs);
    expect(rx.requests).toHaveLength(2);
    const health = (await example.api('GET', `/api/webhook-endpoints/${ep.id}`)).body.health;
    expect(health).toMatchObject({ state: 'untested', consecutiveFailures: 0 }); // tests do not count

    expect((await example.api('POST', `/api/webhook-endpoints/${ep.id}/test`, { topic: 'not a topic' })).status).toBe(400);
    expect((await example.api('POST', `/api/webhook-endpoints/ep_missing/test`, {})).status).toBe(404);
    await example.api('POST', `/api/webhook-endpoints/${ep.id}/disable`);
    const disabled = await example.api('POST', `/api/webhook-endpoints/${ep.id}/test`, {});
    expect(disabled.status).toBe(409);
    expect(disabled.body.message).toContain('is disabled; enable it before sending a test');
    await example.api('DELETE', `/api/webhook-endpoints/${ep.id}`);
  });

  it('fails a test send that its process left unfinished, instead of the relay sending it later', async () => {
    const { rx, ep } = await endpoint();
    const dataSource = example.app.get(DataSource);
    const repo = dataSource.getRepository(WebhookDelivery);
    // Two test sends whose process stopped: one before its attempt (the rows written, no claim), one mid-attempt
    // (claimed, its lease lapsed).
    const write = () =>
      dataSource.transaction((m) =>
        example.app.get(OutboxService).recordFor(m, { topic: 'webhook.test', entityName: null, entityId: null, data: {} }, ep.id, 'test'),
      );
    const unsent = await write();
    const midway = await write();
    expect(await repo.findOneBy({ id: unsent.deliveryId })).toMatchObject({ status: 'pending', roundTrigger: 'test' });
    await repo.update({ id: midway.deliveryId }, { status: 'delivering', attemptCount: 1, nextAttemptAt: new Date(Date.now() - 1000) });

    const relay = example.app.get(OutboxRelay);
    expect(await relay.sweepLost()).toMatchObject({ enqueued: 0 });
    await relay.run();
    for (const id of [unsent.deliveryId, midway.deliveryId]) {
      expect(await repo.findOneBy({ id })).toMatchObject({
        status: 'failed',
        nextAttemptAt: null,
        lastError: expect.stringContaining('test send'),
      });
    }
    const attempts = (await example.api('GET', `/api/deliveries/${midway.deliveryId}`)).body.attempts;
    expect(attempts.map((a: any) => [a.attemptNumber, a.trigger, a.error])).toEqual([
      [1, 'test', expect.stringContaining('did not finish')],
    ]);
    expect((await example.api('GET', `/api/deliveries/${unsent.deliveryId}`)).body.attempts).toEqual([]);
    await sleep(300);
    expect(rx.requests).toHaveLength(0);
    await example.api('DELETE', `/api/webhook-endpoints/${ep.id}`);
  });

  it('redelivers a finished delivery with the same webhook-id', async () => {
    const { rx, ep } = await endpoint();
    await order();
    await rx.waitFor(1);
    const [first] = await waitUntil(async () => {
      const list = await deliveries(ep.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    }, 'the first delivery');

    const res = await example.api('POST', `/api/deliveries/${first.id}/redeliver`);
    expect(res.status).toBe(202);
    await rx.waitFor(2);
    expect(rx.requests[1].headers['webhook-id']).toBe(rx.requests[0].headers['webhook-id']);
    expect(rx.requests[1].body).toBe(rx.requests[0].body);
    const again = await waitUntil(async () => {
      const d = (await example.api('GET', `/api/deliveries/${first.id}`)).body;
      return d.status === 'succeeded' && d.attempts.length === 2 ? d : undefined;
    }, 'the redelivery');
    expect(again.attempts.map((a: any) => [a.attemptNumber, a.trigger, a.responseStatus])).toEqual([
      [1, 'scheduled', 200],
      [2, 'manual', 200],
    ]);
    expect((await example.api('POST', '/api/deliveries/dlv_missing/redeliver')).status).toBe(404);
    await example.api('DELETE', `/api/webhook-endpoints/${ep.id}`);
  });

  it('recovers the failed deliveries of a time window', async () => {
    const { rx, ep } = await endpoint();
    rx.fallback = 400; // fails at once, no retry
    const since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++) await order();
    await rx.waitFor(3);
    await waitUntil(async () => {
      const l = await deliveries(ep.id);
      return (l.length === 3 && l.every((d) => d.status === 'failed')) || undefined;
    }, 'three failures');

    expect((await example.api('POST', `/api/webhook-endpoints/${ep.id}/recover`, { since: 'yesterday' })).status).toBe(400);
    const none = await example.api('POST', `/api/webhook-endpoints/${ep.id}/recover`, {
      since: '2020-01-01T00:00:00Z',
      until: '2020-01-02T00:00:00Z',
    });
    expect(none.body).toEqual({ count: 0 });

    rx.fallback = 200;
    const res = await example.api('POST', `/api/webhook-endpoints/${ep.id}/recover`, { since });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ count: 3 });
    await rx.waitFor(6);
    const list = await waitUntil(async () => {
      const l = await deliveries(ep.id);
      return l.length === 3 && l.every((d) => d.status === 'succeeded') ? l : undefined;
    }, 'recovered deliveries to succeed');
    expect(list).toHaveLength(3);
    for (const d of list)
      expect(d.attempts.map((a: any) => [a.trigger, a.responseStatus])).toEqual([
        ['scheduled', 400],
        ['recover', 200],
      ]);
    await sleep(300);
    expect(rx.requests).toHaveLength(6);
    await example.api('DELETE', `/api/webhook-endpoints/${ep.id}`);
  });
});
