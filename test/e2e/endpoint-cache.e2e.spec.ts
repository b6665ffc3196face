import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebhookDelivery } from 'nestjs-outgoing-webhooks';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

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
