import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerApiKey } from '../../apps/example/src/shop/api-key.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { API_TOKEN, dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

const MAX_PER_CUSTOMER = 3;
const SUBSCRIBABLE = ['customer.*', 'order.*'];

interface Customer {
  id: number;
  apiKey: string;
  owner: string;
}

/**
 * The example's tenants: customers with API keys, their own REST-hooks API under /api/me (the library's
 * WebhooksApiModule, configured), and the operator API's ownerId. Every check goes through HTTP, and deliveries are
 * checked at real receivers.
 */
describe.each(databaseKinds())('example app tenants: customers and their webhook API (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  const receivers: Receiver[] = [];

  const receiver = async () => {
    const r = await Receiver.start();
    receivers.push(r);
    return r;
  };
  const customer = async (name: string): Promise<Customer> => {
    const res = await example.api('POST', '/api/customers', { name, email: `${name.toLowerCase()}@example.com` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id, apiKey: res.body.apiKey, owner: String(res.body.id) };
  };
  /** A call with a customer's key. */
  const me = (c: Customer, method: string, path: string, body?: unknown) => example.api(method, `/api/me${path}`, body, c.apiKey);
  const ownEndpoint = async (c: Customer, url: string, topics = SUBSCRIBABLE) => {
    const res = await me(c, 'POST', '/webhook-endpoints', { url, topics, description: `of ${c.owner}` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; secret: string; ownerId: string };
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db, { webhooks: { maxEndpointsPerOwner: MAX_PER_CUSTOMER } });
  });

  afterAll(async () => {
    await example?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('gives a new customer an API key once, stored only as its digest', async () => {
    const acme = await customer('Acme');
    expect(acme.apiKey).toMatch(/^ck_[A-Za-z0-9_-]{32}$/);
    const stored = await example.app.get(DataSource).getRepository(CustomerApiKey).findBy({ customerId: acme.id });
    expect(stored.map((k) => k.keyHash)).toEqual([createHash('sha256').update(acme.apiKey).digest('hex')]);
    const read = await example.api('GET', `/api/customers/${acme.id}`);
    expect(JSON.stringify(read.body)).not.toContain(acme.apiKey);
    expect(read.body.apiKey).toBeUndefined();

    expect((await me(acme, 'GET', '')).body).toMatchObject({ id: acme.id, name: 'Acme' });
    // A new key replaces the old one at once.
    const replaced = await example.api('POST', `/api/customers/${acme.id}/api-key`);
    expect(replaced.status).toBe(201);
    expect((await me(acme, 'GET', '/webhook-endpoints')).status).toBe(401);
    expect((await example.api('GET', '/api/me/webhook-endpoints', undefined, replaced.body.apiKey)).status).toBe(200);
  });

  it('delivers each event only to its owner’s endpoints and to the ownerless ones, at real receivers', async () => {
    const [a, b, c] = [await customer('Alpha'), await customer('Beta'), await customer('Gamma')];
    const [rxA, rxB, rxC, rxC2, rxAll, rxOrders] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => receiver()));
    const endpoints = new Map<Receiver, { secret: string }>([
      [rxA, await ownEndpoint(a, rxA.url)],
      [rxB, await ownEndpoint(b, rxB.url)],
      [rxC, await ownEndpoint(c, rxC.url)],
    ]);
    // The operator gives C a second endpoint, and keeps two ownerless ones: one for everything, one for orders.
    const operatorOwned = await example.api('POST', '/api/webhook-endpoints', { url: rxC2.url, topics: ['order.*'], ownerId: c.owner });
    expect(operatorOwned.status, JSON.stringify(operatorOwned.body)).toBe(201);
    expect(operatorOwned.body.ownerId).toBe(c.owner);
    endpoints.set(rxC2, operatorOwned.body);
    for (const [rx, topics] of [
      [rxAll, ['*']],
      [rxOrders, ['order.*']],
    ] as const) {
      const res = await example.api('POST', '/api/webhook-endpoints', { url: rx.url, topics });
      expect(res.body.ownerId).toBeNull();
      endpoints.set(rx, res.body);
    }

    // Order and customer events of each customer, and a custom event (order.shipped, emitted with its owner).
    const orderOf = new Map<number, string>();
    for (const who of [a, b, c]) {
      const order = await example.api('POST', '/api/orders', { customerId: who.id, total: '10.00', status: 'pending' });
      expect(order.status).toBe(201);
      orderOf.set(order.body.id, who.owner);
      expect((await example.api('PATCH', `/api/customers/${who.id}`, { name: `${who.owner} renamed` })).status).toBe(200);
    }
    const bOrder = [...orderOf].find(([, owner]) => owner === b.owner)![0];
    const shipped = await example.api('PATCH', `/api/orders/${bOrder}`, { status: 'shipped' });
    // A partial update keeps the fields it does not send (a DTO's unset fields must not blank the row in memory).
    expect(shipped).toMatchObject({ status: 200, body: { status: 'shipped', customerId: b.id, total: '10.00' } });

    // What each receiver must get: [topic, owner] pairs.
    const events = [
      ...[a, b, c].flatMap((who) => [
        ['order.created', who.owner],
        ['customer.updated', who.owner],
      ]),
      ['order.updated', b.owner],
      ['order.shipped', b.owner],
    ];
    const expected = (keep: (topic: string, owner: string) => boolean) =>
      events
        .filter(([topic, owner]) => keep(topic, owner))
        .map(([topic, owner]) => `${topic}/${owner}`)
        .sort();
    const want = new Map<Receiver, string[]>([
      [rxA, expected((_, o) => o === a.owner)],
      [rxB, expected((_, o) => o === b.owner)],
      [rxC, expected((_, o) => o === c.owner)],
      [rxC2, expected((t, o) => o === c.owner && t.startsWith('order.'))],
      [rxAll, expected(() => true)],
      [rxOrders, expected((t) => t.startsWith('order.'))],
    ]);
    for (const [rx, list] of want) await rx.waitFor(list.length);
    await sleep(500); // nothing more arrives
    const ownerOf = (payload: any): string =>
      payload.type.startsWith('customer.')
        ? String(payload.data.id)
        : payload.type === 'order.shipped'
          ? String(payload.data.customerId)
          : orderOf.get(payload.data.id)!;
    for (const [rx, list] of want) {
      const verifier = new Webhook(endpoints.get(rx)!.secret);
      const got = rx.requests.map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as any);
      expect(got.map((p) => `${p.type}/${ownerOf(p)}`).sort()).toEqual(list);
    }
  });

  it('refuses every /api/me route with 401 without a valid customer key (the operator token is none)', async () => {
    const routes: [string, string][] = [
      ['GET', ''],
      ['POST', '/webhook-endpoints'],
      ['GET', '/webhook-endpoints'],
      ['GET', '/webhook-endpoints/ep_x'],
      ['PATCH', '/webhook-endpoints/ep_x'],
      ['DELETE', '/webhook-endpoints/ep_x'],
      ...['test', 'rotate-secret', 'enable', 'disable', 'recover'].map((a): [string, string] => ['POST', `/webhook-endpoints/ep_x/${a}`]),
      ['GET', '/webhook-endpoints/ep_x/deliveries'],
      ['GET', '/deliveries/dlv_x'],
      ['POST', '/deliveries/dlv_x/redeliver'],
      ['GET', '/event-types'],
    ];
    const rx = await receiver();
    const before = (await example.api('GET', '/api/webhook-endpoints')).body.length;
    for (const [method, path] of routes) {
      for (const token of [null, 'wrong', API_TOKEN, 'ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : { url: rx.url, topics: ['order.*'] };
        const res = await example.api(method, `/api/me${path}`, body, token);
        expect(res.status, `${method} /api/me${path} with ${token}`).toBe(401);
      }
    }
    expect((await example.api('GET', '/api/webhook-endpoints')).body).toHaveLength(before);
  });

  it('answers 404 for another customer’s endpoint and delivery ids on every route, and changes nothing of theirs', async () => {
    const [owner, other] = [await customer('Owner'), await customer('Other')];
    const rx = await receiver();
    const theirs = await ownEndpoint(owner, rx.url, ['order.*']);
    expect((await example.api('POST', '/api/orders', { customerId: owner.id, total: '5.00', status: 'pending' })).status).toBe(201);
    await rx.waitFor(1);
    const deliveries = await waitUntil(async () => {
      const list = (await me(owner, 'GET', `/webhook-endpoints/${theirs.id}/deliveries`)).body;
      return list[0]?.status === 'succeeded' ? list : undefined;
    }, 'the delivery to succeed');
    expect(deliveries[0].attempts).toHaveLength(1);
    const delivery = deliveries[0].id as string;

    const calls: [string, string, unknown?][] = [
      ['GET', `/webhook-endpoints/${theirs.id}`],
      ['PATCH', `/webhook-endpoints/${theirs.id}`, { description: 'taken' }],
      ['DELETE', `/webhook-endpoints/${theirs.id}`],
      ['POST', `/webhook-endpoints/${theirs.id}/test`, {}],
      ['POST', `/webhook-endpoints/${theirs.id}/rotate-secret`, {}],
      ['POST', `/webhook-endpoints/${theirs.id}/enable`],
      ['POST', `/webhook-endpoints/${theirs.id}/disable`],
      ['POST', `/webhook-endpoints/${theirs.id}/recover`, { since: new Date(Date.now() - 3600_000).toISOString() }],
      ['GET', `/webhook-endpoints/${theirs.id}/deliveries`],
      ['GET', `/deliveries/${delivery}`],
      ['POST', `/deliveries/${delivery}/redeliver`],
    ];
    for (const [method, path, body] of calls) {
      const res = await me(other, method, path, body);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(404);
      // The same answer as for an id that does not exist: nothing tells the endpoint exists.
      const missing = await me(other, method, path.replace(theirs.id, 'ep_missing').replace(delivery, 'dlv_missing'), body);
      expect(missing.status).toBe(404);
      expect(res.body.message.replace(theirs.id, 'ep_missing').replace(delivery, 'dlv_missing')).toBe(missing.body.message);
    }
    expect((await me(other, 'GET', '/webhook-endpoints')).body).toEqual([]);
    // The owner's endpoint is untouched: same description, active, one request only (no test, no redelivery).
    expect((await me(owner, 'GET', `/webhook-endpoints/${theirs.id}`)).body).toMatchObject({
      description: `of ${owner.owner}`,
      active: true,
    });
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
    expect(() => new Webhook(theirs.secret).verify(rx.requests[0].body, rx.requests[0].headers as Record<string, string>)).not.toThrow();
  });

  it('serves a customer’s own endpoint through every route, as the operator API does', async () => {
    const self = await customer('Self');
    const rx = await receiver();
    const ep = await ownEndpoint(self, rx.url, ['order.created']);
    expect(ep.ownerId).toBe(self.owner);
    expect(ep.secret).toMatch(/^whsec_/);
    expect((await me(self, 'GET', '/webhook-endpoints')).body.map((e: { id: string }) => e.id)).toEqual([ep.id]);
    expect((await me(self, 'GET', `/webhook-endpoints/${ep.id}`)).body).not.toHaveProperty('secret');
    const patched = await me(self, 'PATCH', `/webhook-endpoints/${ep.id}`, { topics: ['order.*'], description: 'mine' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ topics: ['order.*'], description: 'mine', ownerId: self.owner });

    const test = await me(self, 'POST', `/webhook-endpoints/${ep.id}/test`, {});
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, status: 200 });
    await rx.waitFor(1);
    const rotated = await me(self, 'POST', `/webhook-endpoints/${ep.id}/rotate-secret`, { graceSeconds: 0 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);

    expect((await me(self, 'POST', `/webhook-endpoints/${ep.id}/disable`)).body.active).toBe(false);
    expect((await me(self, 'POST', `/webhook-endpoints/${ep.id}/enable`)).body.active).toBe(true);

    rx.replies = [500, 500, 500, 500];
    expect((await example.api('POST', '/api/orders', { customerId: self.id, total: '6.00', status: 'pending' })).status).toBe(201);
    const failed = await waitUntil(async () => {
      const list = (await me(self, 'GET', `/webhook-endpoints/${ep.id}/deliveries?limit=10`)).body;
      return list.find((d: { status: string }) => d.status === 'failed');
    }, 'the order delivery to fail');
    expect(failed.attempts.length).toBeGreaterThan(1);
    expect((await me(self, 'GET', `/deliveries/${failed.id}`)).body.id).toBe(failed.id);
    const redelivered = await me(self, 'POST', `/deliveries/${failed.id}/redeliver`);
    expect(redelivered.status).toBe(202);
    await waitUntil(
      async () => ((await me(self, 'GET', `/deliveries/${failed.id}`)).body.status === 'succeeded' ? true : undefined),
      'the redelivery',
    );
    const newest = rx.requests.at(-1)!;
    expect(() => new Webhook(rotated.body.secret).verify(newest.body, newest.headers as Record<string, string>)).not.toThrow();
    const recovered = await me(self, 'POST', `/webhook-endpoints/${ep.id}/recover`, {
      since: new Date(Date.now() - 3600_000).toISOString(),
    });
    expect(recovered).toMatchObject({ status: 200, body: { count: 0 } });

    expect((await me(self, 'DELETE', `/webhook-endpoints/${ep.id}`)).status).toBe(204);
    expect((await me(self, 'GET', `/webhook-endpoints/${ep.id}`)).status).toBe(404);
  });

  it('lists the event types a customer may subscribe to and refuses others with 400 and the field', async () => {
    const c = await customer('Topics');
    const types = await me(c, 'GET', '/event-types');
    expect(types.status).toBe(200);
    expect(types.body.map((t: { name: string }) => t.name).sort()).toEqual(
      [
        'customer.created',
        'customer.deleted',
        'customer.updated',
        'order.created',
        'order.deleted',
        'order.shipped',
        'order.updated',
      ].sort(),
    );
    const rx = await receiver();
    for (const topics of [['*'], ['*.created'], ['order.created', 'nope.created']]) {
      const res = await me(c, 'POST', '/webhook-endpoints', { url: rx.url, topics });
      expect(res.status, JSON.stringify(topics)).toBe(400);
      expect(res.body.fields).toHaveProperty('topics');
    }
    const bad = await me(c, 'POST', '/webhook-endpoints', { url: 'ftp://nowhere.example/x', topics: ['order.*'], maxInFlight: -1 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['maxInFlight', 'url']);
    const someoneElse = await me(c, 'POST', '/webhook-endpoints', { url: rx.url, topics: ['order.*'], ownerId: '1' });
    expect(someoneElse.status).toBe(400);
    expect(someoneElse.body.fields).toHaveProperty('ownerId');
    expect((await me(c, 'GET', '/webhook-endpoints')).body).toEqual([]);
  });

  it(`stops a customer at ${MAX_PER_CUSTOMER} endpoints with 409 naming the limit`, async () => {
    const c = await customer('Limited');
    const rx = await receiver();
    for (let i = 0; i < MAX_PER_CUSTOMER; i++) await ownEndpoint(c, rx.url);
    const over = await me(c, 'POST', '/webhook-endpoints', { url: rx.url, topics: ['order.*'] });
    expect(over.status).toBe(409);
    expect(over.body.message).toContain(`maxEndpointsPerOwner (${MAX_PER_CUSTOMER})`);
    // The operator's API counts against the same limit.
    const viaOperator = await example.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.*'], ownerId: c.owner });
    expect(viaOperator.status).toBe(409);
    expect((await me(c, 'GET', '/webhook-endpoints')).body).toHaveLength(MAX_PER_CUSTOMER);
  });

  it('checks the operator API’s ownerId against the customers and filters the list by it', async () => {
    const c = await customer('Filtered');
    const rx = await receiver();
    for (const ownerId of ['999999', 'abc', 42, '']) {
      const res = await example.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.*'], ownerId });
      expect(res.status, JSON.stringify(ownerId)).toBe(400);
      expect(res.body.fields).toHaveProperty('ownerId');
    }
    const owned = await example.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.*'], ownerId: c.owner });
    expect(owned.status).toBe(201);
    const ownerless = await example.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.*'] });
    expect((await example.api('PATCH', `/api/webhook-endpoints/${ownerless.body.id}`, { ownerId: '999999' })).status).toBe(400);
    const filtered = await example.api('GET', `/api/webhook-endpoints?ownerId=${c.owner}`);
    expect(filtered.body.map((e: { id: string }) => e.id)).toEqual([owned.body.id]);
    expect((await example.api('GET', '/api/webhook-endpoints?ownerId=')).status).toBe(400);
    expect((await me(c, 'GET', '/webhook-endpoints')).body.map((e: { id: string }) => e.id)).toEqual([owned.body.id]);
  });
});
