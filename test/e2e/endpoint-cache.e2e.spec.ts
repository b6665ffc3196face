import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitUntil } from '../support/wait.js';

/**
 * Instances learn of each other's endpoint changes over Redis pub/sub. One whose connection to Redis dropped
 * missed what was announced meanwhile: it reads the endpoints again once its subscription is back, instead of
 * routing on a stale cache until its periodic reload (30 s by default; never with 0).
 */
describe('endpoint cache across instances', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: RunningExample;
  let b: RunningExample;
  let rx: Receiver;
  const bullPrefix = `cache_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
    proxy = await TcpProxy.start(inject('redisUrl'));
    a = await startExample(db, { bullPrefix });
    // B reaches Redis only through the proxy, and reloads its cache on its own only after a minute.
    b = await startExample(db, { bullPrefix, redisUrl: `redis://127.0.0.1:${proxy.port}`, webhooks: { endpointCacheRefreshMs: 60_000 } });
  });
  afterAll(async () => {
    proxy?.up();
    await b?.close();
    await a?.close();
    await proxy?.close();
    await rx?.close();
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('reloads when its subscription is back after a dropped connection, and routes to an endpoint created meanwhile', async () => {
    // The subscription works: an endpoint created through A reaches B's cache.
    const first = await a.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['customer.deleted'] });
    await waitUntil(() => b.app.get(EndpointCache).get(first.body.id), "the first endpoint in B's cache");

    proxy.down();
    const created = await a.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['customer.created'] });
    expect(created.status).toBe(201);
    proxy.up();
    await waitUntil(() => b.app.get(EndpointCache).get(created.body.id), "the endpoint created meanwhile in B's cache");

    const customer = await b.api('POST', '/api/customers', { name: 'Back', email: 'back@example.com' });
    expect(customer.status).toBe(201);
    const deliveries = b.app.get(DataSource).getRepository(WebhookDelivery);
    expect(await deliveries.countBy({ endpointId: created.body.id })).toBe(1);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ type: 'customer.created', data: { name: 'Back' } });
  });
});

/**
 * An endpoint deleted where this process's cache has not heard of it yet (pub/sub lag, Redis away at the deletion,
 * or a row deleted by hand): the events routed to it must not fail the caller's own write.
 */
describe.each(databaseKinds())('endpoint deleted behind the cache (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;

  beforeAll(async () => {
    db = await createDatabase(kind);
    rx = await Receiver.start();
    fixture = await startFixture(db);
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  it("commits the caller's transaction and delivers to the endpoints that remain", async () => {
    const webhooks = fixture.app.get(WebhooksService);
    const gone = await webhooks.createEndpoint({ url: rx.url, topics: ['widget.created'] });
    const kept = await webhooks.createEndpoint({ url: rx.url, topics: ['widget.created'] });
    const ds = fixture.app.get(DataSource);
    await ds.getRepository(WebhookEndpoint).delete(gone.id); // the cache still routes to it
    const saved = await ds.transaction((m) => m.save(Widget.create({ name: 'after the deletion' })));
    expect(await ds.getRepository(Widget).findOneBy({ id: saved.id })).not.toBeNull();
    const event = await ds.getRepository(WebhookEvent).findOneByOrFail({ entityId: String(saved.id), topic: 'widget.created' });
    const deliveries = await ds.getRepository(WebhookDelivery).findBy({ eventId: event.id });
    expect(deliveries.map((d) => d.endpointId)).toEqual([kept.id]);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ id: event.id, data: { name: 'after the deletion' } });
    // Such a write reloads the cache (at most once a second): later events are routed without the deleted endpoint.
    await sleep(1100);
    await ds.transaction((m) => m.save(Widget.create({ name: 'later' })));
    await waitUntil(() => !fixture.app.get(EndpointCache).get(gone.id), 'the cache to drop the deleted endpoint');
  });
});
