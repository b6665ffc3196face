import { DataSource } from 'typeorm';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDelivery, WebhookEvent } from 'nestjs-outgoing-webhooks';
import { Order } from '../../apps/example/src/shop/order.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, RawJson, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('example app REST API and webhooks (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  let receivers: Receiver[] = [];
  let customerId: number;

  const receiver = async () => {
    const r = await Receiver.start();
    receivers.push(r);
    return r;
  };
  const endpoint = async (url: string, topics: string[]) => {
    const res = await example.api('POST', '/api/webhook-endpoints', { url, topics });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; secret: string };
  };
  const deliveriesOf = async (endpointId: string) => {
    const res = await example.api('GET', `/api/webhook-endpoints/${endpointId}/deliveries`);
    expect(res.status).toBe(200);
    return res.body as Array<{ status: string; topic: string; attempts: Array<{ responseStatus: number | null }> }>;
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db);
    const res = await example.api('POST', '/api/customers', { name: 'Acme', email: 'acme@example.com' });
    expect(res.status).toBe(201);
    customerId = res.body.id;
  });

  afterEach(async () => {
    // Endpoints of one test must not receive the next test's events.
    for (const e of (await example.api('GET', '/api/webhook-endpoints')).body) {
      await example.api('DELETE', `/api/webhook-endpoints/${e.id}`);
    }
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('answers 400 saying why, never 500, to hostile input, and stores nothing of it', async () => {
    const rx = await receiver();
    const ep = await endpoint(rx.url, ['order.created']);
    // Nested 6,000 levels deep: 12 KB of JSON, which JSON.stringify (in an error message, or storing it) cannot write.
    const deep = (body: string) => new RawJson(body.replace('DEEP', `${'['.repeat(6000)}"x"${']'.repeat(6000)}`));
    const cases: Array<[string, string, unknown, string]> = [
      [
        'POST',
        '/api/webhook-endpoints',
        deep(`{"url":"${rx.url}","topics":["order.created"],"method":DEEP}`),
        'nests deeper than 32 levels',
      ],
      ['PATCH', `/api/webhook-endpoints/${ep.id}`, deep('{"ownerId":DEEP}'), 'ownerId must be the id of an existing customer'],
      ['PATCH', `/api/webhook-endpoints/${ep.id}`, deep('{"filters":{"order":{"fields":{"status":DEEP}}}}'), 'nests deeper than 32 levels'],
      ['POST', `/api/webhook-endpoints/${ep.id}/test`, deep('{"payload":DEEP}'), 'payload nests deeper than 32 levels'],
      ['POST', `/api/webhook-endpoints/${ep.id}/recover`, deep('{"since":DEEP}'), 'since must be a date'],
      ['POST', `/api/webhook-endpoints/${ep.id}/rotate-secret`, deep('{"graceSeconds":DEEP}'), 'graceSeconds must be an integer'],
      [
        'PATCH',
        `/api/webhook-endpoints/${ep.id}`,
        { rateLimit: { max: 5, perMs: 1000, note: 'x'.repeat(5000) } },
        'rateLimit has unknown field "note"',
      ],
      ['POST', `/api/webhook-endpoints/${ep.id}/recover`, { since: '-010000-01-01T00:00:00Z' }, 'since must be a date from 1970 to 9999'],
      ['GET', '/api/webhook-endpoints?ownerId=%00', undefined, 'ownerId must be null or a string'],
      // 93 KB of JSON, beyond what MySQL's text column holds (the write failed there: a 500).
      [
        'PATCH',
        `/api/webhook-endpoints/${ep.id}`,
        { filters: { order: { ids: Array.from({ length: 1000 }, (_, i) => `order-${String(i).padStart(84, '0')}`) } } },
        'filters is longer than 60000 bytes as stored JSON',
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await example.api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(String(res.body.message), `${method} ${path}`).toContain(message);
    }
    const listed = (await example.api('GET', '/api/webhook-endpoints')).body as Array<{ id: string; rateLimit: unknown; filters: unknown }>;
    expect(listed.map((e) => [e.id, e.rateLimit, e.filters])).toEqual([[ep.id, null, null]]);
    expect(rx.requests).toHaveLength(0);
  });

  it('sends order.created, order.updated (with changes) and order.deleted, each verified by standardwebhooks', async () => {
    const rx = await receiver();
    const ep = await endpoint(rx.url, ['order.created', 'order.updated', 'order.deleted']);
    const verifier = new Webhook(ep.secret);

    const created = await example.api('POST', '/api/orders', { customerId, total: '12.5', status: 'pending', bucket: 'eu' });
    expect(created.status).toBe(201);
    expect(created.body.total).toBe('12.50');
    const orderId = created.body.id;
    await rx.waitFor(1);
    expect((await example.api('PATCH', `/api/orders/${orderId}`, { status: 'paid' })).status).toBe(200);
    await rx.waitFor(2);
    expect((await example.api('DELETE', `/api/orders/${orderId}`)).status).toBe(204);
    await rx.waitFor(3);
    await sleep(300);
    expect(rx.requests).toHaveLength(3);

    const payloads = rx.requests.map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as any);
    expect(payloads.map((p) => p.type)).toEqual(['order.created', 'order.updated', 'order.deleted']);
    for (const [i, p] of payloads.entries()) {
      expect(p.id).toBe(rx.requests[i].headers['webhook-id']);
      expect(p.id).toMatch(/^evt_/);
      expect(new Date(p.timestamp).toISOString()).toBe(p.timestamp);
      expect(p.data.id).toBe(orderId);
      expect(rx.requests[i].headers['content-type']).toBe('application/json');
    }
    expect(payloads[0].data).toMatchObject({ customerId, total: '12.50', status: 'pending', bucket: 'eu' });
    expect(payloads[0].data.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(payloads[0].changes).toBeUndefined();
    expect(payloads[1].changes).toEqual({ status: { old: 'pending', new: 'paid' } });
    expect(payloads[1].data).toMatchObject({ status: 'paid', total: '12.50' });
    expect(payloads[2].data).toMatchObject({ id: orderId, status: 'paid' });

    // Each outcome is written just after its answer: wait for the last one.
    const deliveries = await waitUntil(async () => {
      const list = await deliveriesOf(ep.id);
      return list.length === 3 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    }, 'the three deliveries to succeed');
    expect(deliveries.map((d) => [d.topic, d.status, d.attempts.length])).toEqual([
      ['order.deleted', 'succeeded', 1],
      ['order.updated', 'succeeded', 1],
      ['order.created', 'succeeded', 1],
    ]);
  });

  it('writes no event and no delivery for a change in a transaction that rolls back', async () => {
    const rx = await receiver();
    await endpoint(rx.url, ['order.created']);
    const dataSource = example.app.get(DataSource);
    const events = () => dataSource.getRepository(WebhookEvent).countBy({ topic: 'order.created' });
    const before = { events: await events(), deliveries: await dataSource.getRepository(WebhookDelivery).count() };

    await expect(
      dataSource.transaction(async (manager) => {
        await manager.save(manager.create(Order, { customerId, total: '1.00', status: 'pending' }));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await sleep(300);
    expect(await events()).toBe(before.events);
    expect(await dataSource.getRepository(WebhookDelivery).count()).toBe(before.deliveries);
    expect(rx.requests).toHaveLength(0);

    // Control: the same change committed is delivered, once.
    await dataSource.transaction((manager) => manager.save(manager.create(Order, { customerId, total: '2.00', status: 'pending' })));
    await rx.waitFor(1);
    expect(await events()).toBe(before.events + 1);
    expect(JSON.parse(rx.requests[0].body).data.total).toBe('2.00');
  });

  it('sends nothing to an endpoint not subscribed to the topic or inactive', async () => {
    const [customersOnly, inactive, subscribed] = [await receiver(), await receiver(), await receiver()];
    await endpoint(customersOnly.url, ['customer.created']);
    const off = await endpoint(inactive.url, ['order.created']);
    expect((await example.api('PATCH', `/api/webhook-endpoints/${off.id}`, { active: false })).body.active).toBe(false);
    await endpoint(subscribed.url, ['order.*']);

    expect((await example.api('POST', '/api/orders', { customerId, total: '3.00', status: 'pending' })).status).toBe(201);
    await subscribed.waitFor(1);
    await sleep(300);
    expect(subscribed.requests).toHaveLength(1);
    expect(customersOnly.requests).toHaveLength(0);
    expect(inactive.requests).toHaveLength(0);
    expect(await deliveriesOf(off.id)).toEqual([]);
  });

  it('retries a receiver that answers 500 twice, then succeeds: one delivery, three attempts, one webhook-id', async () => {
    const rx = await receiver();
    rx.replies = [500, 500];
    const ep = await endpoint(rx.url, ['order.created']);
    expect((await example.api('POST', '/api/orders', { customerId, total: '4.00', status: 'pending' })).status).toBe(201);
    await rx.waitFor(3);

    const deliveries = await waitUntil(async () => {
      const list = await deliveriesOf(ep.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    }, 'the delivery to succeed');
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].attempts.map((a) => a.responseStatus)).toEqual([500, 500, 200]);
    expect(new Set(rx.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const verifier = new Webhook(ep.secret);
    for (const r of rx.requests) expect(() => verifier.verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    expect(rx.requests).toHaveLength(3);
  });

  it('answers 401 without the token, 400 for invalid input and 404 for unknown ids', async () => {
    expect((await example.api('GET', '/api/orders', undefined, null)).status).toBe(401);
    expect((await example.api('GET', '/api/webhook-endpoints', undefined, 'wrong')).status).toBe(401);

    const bad = await example.api('POST', '/api/webhook-endpoints', { url: 'ftp://x', topics: ['order.craeted'] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('url must use http or https');
    expect(bad.body.message).toContain('"order.craeted" match no known topic');
    const badOrder = await example.api('POST', '/api/orders', { customerId, total: 'ten', status: 'pending' });
    expect(badOrder.status).toBe(400);
    expect(badOrder.body.message).toContain('total must be a decimal string');
    const noCustomer = await example.api('POST', '/api/orders', { customerId: 999999, total: '1.00', status: 'pending' });
    expect(noCustomer.status).toBe(400);

    expect((await example.api('GET', '/api/webhook-endpoints/ep_nope')).status).toBe(404);
    // A NUL character, which PostgreSQL refuses to compare: no id holds one (not a database error).
    expect((await example.api('GET', '/api/webhook-endpoints/ep_%00')).status).toBe(404);
    expect((await example.api('GET', '/api/deliveries/dlv_%00')).status).toBe(404);
    expect((await example.api('PATCH', '/api/orders/999999', { status: 'paid' })).status).toBe(404);
    // Beyond an integer column (PostgreSQL refuses such a number in a query): no row has it.
    expect((await example.api('GET', '/api/customers/99999999999')).status).toBe(404);
    expect((await example.api('DELETE', '/api/orders/2147483648')).status).toBe(404);
    const hugeCustomer = await example.api('POST', '/api/orders', { customerId: 2147483648, total: '1.00', status: 'pending' });
    expect(hugeCustomer.status).toBe(400);
    expect(String(hugeCustomer.body.message)).toContain('customerId must not be greater than 2147483647');
    expect((await example.api('GET', '/api/webhook-endpoints')).body).toEqual([]);
  });

  it('never shows the secret after creation', async () => {
    const ep = await endpoint('http://127.0.0.1:9/hooks', ['order.created']);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const listed = JSON.stringify((await example.api('GET', '/api/webhook-endpoints')).body);
    const shown = JSON.stringify((await example.api('GET', `/api/webhook-endpoints/${ep.id}`)).body);
    expect(listed).not.toContain(ep.secret.slice(6));
    expect(shown).not.toContain(ep.secret.slice(6));
    expect(shown).not.toContain('secret');
  });
});
