import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxiosWebhookHttpClient, type NetworkPolicyOptions } from 'nestjs-outgoing-webhooks';
import { NetworkPolicy } from '../../libs/webhooks/src/security/network-policy.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

// Every request here goes to loopback (127.0.0.1, 127.0.0.2, ::ffff:127.0.0.1): the point is that, without an
// allow option, none of them is ever made.
describe('network policy over loopback', () => {
  let rx: Receiver;
  let rx2: Receiver;
  let elsewhere: Receiver;
  const clients: AxiosWebhookHttpClient[] = [];

  const client = (options: NetworkPolicyOptions = {}) => {
    const c = new AxiosWebhookHttpClient(new NetworkPolicy(options));
    clients.push(c);
    return c;
  };
  const send = (c: AxiosWebhookHttpClient, url: string) =>
    c.send({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      timeoutMs: 2000,
      responseBodyLimitBytes: 1024,
    });
  const addresses = () => [
    `http://127.0.0.1:${rx.port}/hooks`,
    `http://localhost:${rx.port}/hooks`,
    `http://127.0.0.2:${rx2.port}/hooks`,
    `http://[::ffff:127.0.0.1]:${rx.port}/hooks`,
    `http://2130706433:${rx.port}/hooks`,
  ];

  beforeAll(async () => {
    rx = await Receiver.start('127.0.0.1');
    rx2 = await Receiver.start('127.0.0.2');
    elsewhere = await Receiver.start('127.0.0.1');
  });
  afterAll(async () => {
    for (const c of clients) c.onApplicationShutdown();
    await Promise.all([rx.close(), rx2.close(), elsewhere.close()]);
  });

  it('never contacts a loopback receiver without an allow option, however it is addressed', async () => {
    const strict = client();
    for (const url of addresses()) {
      const res = await send(strict, url);
      expect(res, url).toMatchObject({ status: null, blocked: true });
      expect(res.error, url).toMatch(/^EWEBHOOKBLOCKED: .*loopback address; webhooks are only sent to public addresses/);
    }
    await sleep(100);
    expect(rx.requests).toHaveLength(0);
    expect(rx2.requests).toHaveLength(0);
  });

  it('contacts it with allowPrivateNetworks, or with an allow-list entry that covers it', async () => {
    const open = client({ allowPrivateNetworks: true });
    for (const url of addresses()) expect((await send(open, url)).status, url).toBe(200);
    expect(rx.requests).toHaveLength(4);
    expect(rx2.requests).toHaveLength(1);

    const cidr = client({ allowedNetworks: ['127.0.0.0/8'] });
    for (const url of addresses()) expect((await send(cidr, url)).status, url).toBe(200);
    expect(rx.requests.length + rx2.requests.length).toBe(10);

    // A host-name entry opens that name only, not the address written in a URL.
    const byName = client({ allowedNetworks: ['localhost'] });
    expect((await send(byName, `http://localhost:${rx.port}/hooks`)).status).toBe(200);
    expect((await send(byName, `http://127.0.0.1:${rx.port}/hooks`)).blocked).toBe(true);
  });

  it('does not follow redirects', async () => {
    rx.replies = [{ status: 302, headers: { location: elsewhere.url } }];
    const res = await send(client({ allowPrivateNetworks: true }), `http://127.0.0.1:${rx.port}/hooks`);
    expect(res.status).toBe(302);
    await sleep(100);
    expect(elsewhere.requests).toHaveLength(0);
  });

  describe('in the delivery pipeline', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createDatabase('sqlite');
    });
    afterAll(async () => db?.drop());

    it('refuses such URLs at create time, and records a blocked send as failed, without retrying', async () => {
      // An endpoint saved while private networks were allowed...
      const before = await startExample(db);
      const created = await before.api('POST', '/api/webhook-endpoints', {
        url: `http://localhost:${rx.port}/blocked`,
        topics: ['order.created'],
      });
      expect(created.status).toBe(201);
      const customerId = (await before.api('POST', '/api/customers', { name: 'Net', email: 'net@example.com' })).body.id;
      await before.close();
      await dropBullKeys(before.bullPrefix);

      // ...is not contacted once they are not.
      const strict = await startExample(db, { webhooks: { allowPrivateNetworks: false } });
      try {
        for (const url of addresses()) {
          const res = await strict.api('POST', '/api/webhook-endpoints', { url, topics: ['order.created'] });
          expect(res.status, url).toBe(400);
          expect(res.body.message, url).toMatch(/url host .*loopback/);
        }
        const metadata = await strict.api('POST', '/api/webhook-endpoints', {
          url: 'http://169.254.169.254/latest',
          topics: ['order.created'],
        });
        expect(metadata.body.message).toContain('cloud metadata');

        expect((await strict.api('POST', '/api/orders', { customerId, total: '2.00', status: 'pending' })).status).toBe(201);
        const path = `/api/webhook-endpoints/${created.body.id}/deliveries`;
        const [delivery] = await waitUntil(async () => {
          const list = (await strict.api('GET', path)).body as any[];
          return list.length && list[0].status === 'failed' ? list : undefined;
        }, 'the blocked delivery fails');
        expect(delivery.attempts).toHaveLength(1);
        expect(delivery.attempts[0].responseStatus).toBeNull();
        expect(delivery.lastError).toMatch(/EWEBHOOKBLOCKED: localhost resolves to .*loopback address.*\(not retried\)/);
        await sleep(500); // longer than the whole test retry schedule
        expect((await strict.api('GET', path)).body[0].attempts).toHaveLength(1);
        expect(rx.requests.filter((r) => r.path === '/blocked')).toHaveLength(0);
      } finally {
        await strict.close();
        await dropBullKeys(strict.bullPrefix);
      }
    });
  });
});
