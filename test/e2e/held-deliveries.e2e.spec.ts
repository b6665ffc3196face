import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay, WEBHOOKS_QUEUE, WebhookDelivery, WebhookEndpoint, WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { waitUntil } from '../support/wait.js';

/**
 * Deliveries the endpoint gate holds, of an endpoint deleted without the gate hearing of it (its row deleted by
 * hand here; a deletion whose Redis call failed, or another process holding one just after, leave the same): the
 * held set must empty, or the relay would put its jobs back to the queue on every pass, forever.
 */
describe('held deliveries of a deleted endpoint', () => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;
  let gate: EndpointGate;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
    fixture = await startFixture(db, { webhooksOptions: { requestTimeoutMs: 15_000 } });
    gate = fixture.app.get(EndpointGate);
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  /** An endpoint of one slot whose first request is answered after `delayMs`, and `held` deliveries behind it. */
  async function heldBehindSlowRequest(delayMs: number, held: number): Promise<string> {
    const { id } = await fixture.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['widget.created'], maxInFlight: 1 });
    const first = rx.requests.length;
    rx.replyFor = (request) => (rx.requests.indexOf(request) === first ? { delayMs, then: 200 } : undefined);
    for (let i = 0; i <= held; i++) await Widget.create({ name: `held ${i}` }).save();
    await waitUntil(async () => (await gate.states([id])).get(id)?.held === held, 'the deliveries held behind the slow one');
    await fixture.app.get(DataSource).getRepository(WebhookEndpoint).delete(id); // its deliveries go with it
    await fixture.app.get(EndpointCache).changed();
    return id;
  }

  it('leaves the held set as the slot frees: each job put back drops itself and puts back the next', async () => {
    const id = await heldBehindSlowRequest(1500, 2);
    await waitUntil(async () => (await gate.states([id])).get(id)?.held === 0, 'the held set to empty');
    expect(await gate.heldEndpoints()).not.toContain(id);
  });

  it('is forgotten by the relay while nothing frees the slot', async () => {
    const id = await heldBehindSlowRequest(4000, 1);
    expect(await gate.heldEndpoints()).toContain(id);
    await fixture.app.get(OutboxRelay).run();
    expect(await gate.heldEndpoints()).not.toContain(id);
    expect((await gate.states([id])).get(id)).toMatchObject({ held: 0, inFlight: 0 });
  });
});

/**
 * A large multi-tenant install: tens of thousands of endpoints holding deliveries at once (a receiver many of them
 * share is down, their circuits open). The relay leaves their rows out of its pass, a list longer than any
 * database takes as bind parameters (SQLite 32,766; PostgreSQL and MySQL 65,535): its pass must still run.
 */
describe.each(databaseKinds())('a relay pass with 70,000 held endpoints (%s)', (kind) => {
  const HELD = 70_000;
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

  it('still finds and enqueues a lost delivery of another endpoint', async () => {
    const endpoint = await fixture.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['widget.created'] });
    const dataSource = fixture.app.get(DataSource);
    const ids = Array.from({ length: HELD }, (_, i) => `ep_held${String(i).padStart(6, '0')}`);
    await dataSource.transaction(async (manager) => {
      for (let i = 0; i < ids.length; i += 1000) {
        const rows = ids
          .slice(i, i + 1000)
          .map((id) => ({ id, url: 'https://held.example/in', topics: ['widget.created'], active: false }));
        await manager.createQueryBuilder().insert().into(WebhookEndpoint).values(rows).updateEntity(false).execute();
      }
    });
    const gate = fixture.app.get(EndpointGate) as unknown as { redis(): Redis; heldIndexKey(): string };
    for (let i = 0; i < ids.length; i += 10_000) await gate.redis().sadd(gate.heldIndexKey(), ...ids.slice(i, i + 10_000));

    // A delivery of the live endpoint whose job was lost from Redis: only the relay can send it.
    const queue = fixture.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    await queue.pause(true);
    try {
      await Widget.create({ name: 'lost job' }).save();
      const row = await waitUntil(() => dataSource.getRepository(WebhookDelivery).findOneBy({ endpointId: endpoint.id }), 'its row');
      const job = await waitUntil(() => queue.getJob(`${row.id}-1`), 'its job');
      await job.remove();
    } finally {
      await queue.resume(true);
    }
    const result = await fixture.app.get(OutboxRelay).run();
    expect(result.enqueued).toBe(1);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ type: 'widget.created', data: { name: 'lost job' } });
  }, 120_000);
});
