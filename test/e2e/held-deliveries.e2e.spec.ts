import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay, WebhookEndpoint, WebhooksService } from 'nestjs-outgoing-webhooks';
import { EndpointGate } from '../../libs/webhooks/src/delivery/endpoint-gate.js';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
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
