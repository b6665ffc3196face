import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WebhookConflictError,
  WebhookDelivery,
  WebhookEvent,
  WebhookNotFoundError,
  WebhookOwnerError,
  WebhooksService,
  WebhookValidationError,
} from 'nestjs-outgoing-webhooks';
import { Account, Invoice, Plan, Receipt } from '../fixtures/tenant.entities.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { DeliveryWorker } from '../../libs/webhooks/src/delivery/delivery.worker.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('tenants: owned endpoints get only their owner’s events (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let webhooks: WebhooksService;
  const receivers: Record<'a' | 'b' | 'c' | 'operator', Receiver> = {} as never;

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { entities: [Invoice, Receipt, Account, Plan], webhooksOptions: { maxEndpointsPerOwner: 3 } });
    webhooks = fixture.app.get(WebhooksService);
    for (const name of ['a', 'b', 'c', 'operator'] as const) receivers[name] = await Receiver.start();
  });
  afterAll(async () => {
    await fixture?.close();
    for (const r of Object.values(receivers)) await r.close();
    await db?.drop();
  });

  /** What a receiver got, as `type:tenant` (the tenant from the data), sorted. */
  const got = (r: Receiver) =>
    r.requests
      .map((q) => JSON.parse(q.body))
      .map((p) => `${p.type}:${p.data.tenant ?? 'none'}`)
      .sort();

  it('routes each event to its owner’s endpoints and to the ownerless ones, never to another owner', async () => {
    await webhooks.forOwner('a').createEndpoint({ url: receivers.a.url, topics: ['invoice.*'] });
    await webhooks.createEndpoint({ url: receivers.b.url, topics: ['invoice.created', 'invoice.deleted'], ownerId: 'b' });
    await webhooks.forOwner('c').createEndpoint({ url: receivers.c.url, topics: ['*'] });
    const operator = await webhooks.createEndpoint({ url: receivers.operator.url, topics: ['invoice.*'] });
    expect(operator.ownerId).toBeNull();

    const repo = fixture.app.get(DataSource).getRepository(Invoice);
    const [a, b] = [await repo.save({ tenant: 'a', label: 'a1' }), await repo.save({ tenant: 'b', label: 'b1' })];
    await repo.save({ tenant: 'c', label: 'c1' });
    await repo.save({ tenant: null, label: 'nobody' });
    await repo.save({ id: a.id, label: 'a1 changed' }); // a partial save: the owner comes from the row as it is now
    await repo.remove(await repo.findOneByOrFail({ id: b.id }));
    await webhooks.emit('invoice.paid', { tenant: 'c' }, { owner: 'c' });
    await webhooks.emit('invoice.paid', { tenant: 'z' }, { owner: 'z' }); // an owner without endpoints

    await receivers.operator.waitFor(8);
    await receivers.a.waitFor(2);
    await receivers.b.waitFor(2);
    await receivers.c.waitFor(2);
    await sleep(300); // and nothing more follows
    expect(got(receivers.a)).toEqual(['invoice.created:a', 'invoice.updated:a']);
    expect(got(receivers.b)).toEqual(['invoice.created:b', 'invoice.deleted:b']);
    expect(got(receivers.c)).toEqual(['invoice.created:c', 'invoice.paid:c']);
    expect(got(receivers.operator)).toEqual([
      'invoice.created:a',
      'invoice.created:b',
      'invoice.created:c',
      'invoice.created:none',
      'invoice.deleted:b',
      'invoice.paid:c',
      'invoice.paid:z',
      'invoice.updated:a',
    ]);
    // The owner is recorded on each event.
    const events = await fixture.app.get(DataSource).getRepository(WebhookEvent).find();
    expect(
      events
        .filter((e) => e.topic === 'invoice.paid')
        .map((e) => e.ownerId)
        .sort(),
    ).toEqual(['c', 'z']);
  });

  it('an owner scope sees and changes only its own endpoints and deliveries: other ids are not found', async () => {
    const a = webhooks.forOwner('a');
    const b = webhooks.forOwner('b');
    const [mine] = await a.listEndpoints();
    expect(mine.ownerId).toBe('a');
    expect((await a.listEndpoints()).every((e) => e.ownerId === 'a')).toBe(true);
    const [theirs] = await b.listEndpoints();
    expect(theirs.ownerId).toBe('b');

    // Another owner's endpoint answers exactly like one that does not exist.
    const missing = await b.getEndpoint('ep_nothing_here').catch((e: Error) => e);
    expect(missing).toBeInstanceOf(WebhookNotFoundError);
    for (const call of [
      () => b.getEndpoint(mine.id),
      () => b.updateEndpoint(mine.id, { description: 'mine now' }),
      () => b.deleteEndpoint(mine.id),
      () => b.disable(mine.id),
      () => b.rotateSecret(mine.id),
      () => b.sendTest(mine.id),
      () => b.listDeliveries(mine.id),
      () => b.recover(mine.id, { since: '2026-01-01T00:00:00Z' }),
    ]) {
      const error = await call().catch((e: Error) => e);
      expect(error).toBeInstanceOf(WebhookNotFoundError);
      expect((error as Error).message).toBe((missing as Error).message.replace('ep_nothing_here', mine.id));
    }
    const [delivery] = await a.listDeliveries(mine.id);
    expect(delivery).toBeDefined();
    await expect(b.getDelivery(delivery.id)).rejects.toBeInstanceOf(WebhookNotFoundError);
    await expect(b.redeliver(delivery.id)).rejects.toBeInstanceOf(WebhookNotFoundError);
    expect((await a.getDelivery(delivery.id)).id).toBe(delivery.id);
    expect(await a.getEndpoint(mine.id)).toMatchObject({ id: mine.id, description: null, active: true });

    // An owner cannot hand its endpoint to someone else, nor create one for someone else.
    await expect(a.updateEndpoint(mine.id, { ownerId: 'b' })).rejects.toBeInstanceOf(WebhookValidationError);
    await expect(a.createEndpoint({ url: receivers.a.url, topics: ['invoice.*'], ownerId: 'b' })).rejects.toBeInstanceOf(
      WebhookValidationError,
    );
    expect((await webhooks.listEndpoints({ ownerId: 'b' })).map((e) => e.id)).toEqual([theirs.id]);
    expect((await webhooks.listEndpoints({ ownerId: null })).every((e) => e.ownerId === null)).toBe(true);
    expect(() => webhooks.forOwner('' as string)).toThrow(WebhookValidationError);
  });

  it('an endpoint given to an owner later keeps its earlier deliveries from that owner’s view', async () => {
    const rx = await Receiver.start();
    rx.fallback = 400; // a final failure at once: recover has something to find
    try {
      const shared = await webhooks.createEndpoint({ url: rx.url, topics: ['invoice.created'] });
      await fixture.app.get(DataSource).getRepository(Invoice).save({ tenant: 'a', label: 'secret of a' });
      await rx.waitFor(1);
      const [ofA] = await waitUntil(async () => {
        const list = await webhooks.listDeliveries(shared.id);
        return list.length === 1 && list[0].status === 'failed' ? list : undefined;
      }, 'the delivery of a’s event');
      await webhooks.updateEndpoint(shared.id, { ownerId: 'b' });
      const b = webhooks.forOwner('b');
      expect((await b.getEndpoint(shared.id)).ownerId).toBe('b'); // the endpoint is b's now...
      expect(await b.listDeliveries(shared.id)).toEqual([]); // ...but not what it received for a
      await expect(b.getDelivery(ofA.id)).rejects.toBeInstanceOf(WebhookNotFoundError);
      await expect(b.redeliver(ofA.id)).rejects.toBeInstanceOf(WebhookNotFoundError);
      expect(await b.recover(shared.id, { since: '2020-01-01T00:00:00Z' })).toEqual({ count: 0 });
      await expect(b.getDelivery(undefined as unknown as string)).rejects.toBeInstanceOf(WebhookNotFoundError);
      await expect(b.getEndpoint(undefined as unknown as string)).rejects.toBeInstanceOf(WebhookNotFoundError);
      // Nor is it sent there again, whoever asks: b's receiver must never see a's data.
      const rxB = await Receiver.start();
      try {
        await b.updateEndpoint(shared.id, { url: rxB.url });
        await expect(webhooks.redeliver(ofA.id)).rejects.toThrow(/another owner than its endpoint/);
        expect(await webhooks.recover(shared.id, { since: '2020-01-01T00:00:00Z' })).toEqual({ count: 0 });
        // A retry that was already due when the endpoint changed hands (the relay's job, which carries no owner, and
        // the outbox's, which does): the worker fails it without sending, and counts nothing against b's endpoint.
        const failures = (await webhooks.getEndpoint(shared.id)).health.consecutiveFailures;
        const repo = fixture.app.get(DataSource).getRepository(WebhookDelivery);
        const worker = fixture.app.get(DeliveryWorker);
        for (const [attempt, owner] of [
          [2, undefined],
          [3, 'a'],
        ] as const) {
          await repo.update({ id: ofA.id }, { status: 'pending', attemptCount: attempt - 1 });
          const job = { deliveryId: ofA.id, eventId: ofA.eventId, endpointId: shared.id, attempt, topic: 'invoice.created', owner };
          const result = await worker.attempt(job);
          expect(result?.error).toBe('Not sent: the endpoint was given to another owner after this event.');
        }
        const after = await webhooks.getDelivery(ofA.id);
        expect(after.status).toBe('failed');
        expect(after.attempts.slice(-2).map((t) => t.requestUrl)).toEqual(['', '']); // a never learns b's URL
        expect((await webhooks.getEndpoint(shared.id)).health).toMatchObject({ consecutiveFailures: failures });
        await sleep(300);
        expect(rxB.requests).toHaveLength(0);
        expect(rx.requests).toHaveLength(1);
      } finally {
        await rxB.close();
      }
      await webhooks.deleteEndpoint(shared.id);
    } finally {
      await rx.close();
    }
  });

  it('refuses an owner’s endpoint beyond maxEndpointsPerOwner with a conflict naming the limit', async () => {
    const c = webhooks.forOwner('c');
    expect(await c.listEndpoints()).toHaveLength(1);
    await c.createEndpoint({ url: receivers.c.url, topics: ['invoice.created'] });
    await c.createEndpoint({ url: receivers.c.url, topics: ['invoice.created'] });
    const refused = await c.createEndpoint({ url: receivers.c.url, topics: ['invoice.created'] }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(WebhookConflictError);
    expect((refused as Error).message).toContain('maxEndpointsPerOwner (3)');
    expect(await c.listEndpoints()).toHaveLength(3);
    // Ownerless endpoints do not count against anyone.
    await webhooks.createEndpoint({ url: receivers.operator.url, topics: ['receipt.created'] });
  });

  it('holds the limit under concurrent creates and owner changes: counting and adding are one step', async () => {
    const input = { url: receivers.a.url, topics: ['invoice.created'] };
    const spare = [];
    for (let i = 0; i < 3; i++) spare.push(await webhooks.createEndpoint(input));
    const results = await Promise.allSettled([
      ...Array.from({ length: 6 }, () => webhooks.forOwner('race').createEndpoint(input)),
      ...spare.map((e) => webhooks.updateEndpoint(e.id, { ownerId: 'race' })),
    ]);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(refused.every((e) => e instanceof WebhookConflictError)).toBe(true);
    expect(results.length - refused.length).toBe(3);
    expect(await webhooks.forOwner('race').listEndpoints()).toHaveLength(3);
  });

  it('routes an update that moves a row to another owner through its relation to the new owner only', async () => {
    const ds = fixture.app.get(DataSource);
    const [one, two] = [await ds.getRepository(Account).save({ name: 'one' }), await ds.getRepository(Account).save({ name: 'two' })];
    const [rxOne, rxTwo] = [await Receiver.start(), await Receiver.start()];
    try {
      await webhooks.forOwner(`acct-${one.id}`).createEndpoint({ url: rxOne.url, topics: ['plan.updated'] });
      await webhooks.forOwner(`acct-${two.id}`).createEndpoint({ url: rxTwo.url, topics: ['plan.updated'] });
      const plan = await ds.getRepository(Plan).save({ accountId: one.id, tier: 'free' });
      // Moved by the relation, the column property left as it was.
      const loaded = await ds.getRepository(Plan).findOneOrFail({ where: { id: plan.id }, relations: { account: true } });
      loaded.account = two;
      await ds.getRepository(Plan).save(loaded);
      expect((await ds.getRepository(Plan).findOneByOrFail({ id: plan.id })).accountId).toBe(two.id);
      await rxTwo.waitFor(1);
      await sleep(300);
      expect(rxOne.requests).toHaveLength(0);
      expect(JSON.parse(rxTwo.requests[0].body).data).toMatchObject({ id: plan.id, accountId: two.id });
    } finally {
      await rxOne.close();
      await rxTwo.close();
    }
  });

  it('an owner resolver that throws or answers a non-string fails the save: nothing is written or sent', async () => {
    const repo = fixture.app.get(DataSource).getRepository(Receipt);
    const events = () => fixture.app.get(DataSource).getRepository(WebhookEvent).countBy({ topic: 'receipt.created' });
    const before = await events();
    const threw = await repo.save({ label: 'throw' }).catch((e: Error) => e);
    expect(threw).toBeInstanceOf(WebhookOwnerError);
    expect((threw as Error).message).toContain('no tenant on this row');
    const number = await repo.save({ label: 'number' }).catch((e: Error) => e);
    expect(number).toBeInstanceOf(WebhookOwnerError);
    expect((number as Error).message).toContain('answered 42');
    expect(await repo.count()).toBe(0);
    expect(await events()).toBe(before);
    // Control: a receipt whose resolver answers a string is saved and sent.
    await repo.save({ label: 'fine' });
    await waitUntil(async () => ((await events()) === before + 1 ? true : undefined), 'the control receipt event');
  });
});
