import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookBulkOperationError, WebhookEntity, WebhookEvent, WebhooksService } from 'nestjs-outgoing-webhooks';
import { DeliveryQueue } from '../../libs/webhooks/src/queue/delivery-queue.js';
import { Gadget, PlainNote, Widget } from '../fixtures/widget.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep } from '../support/wait.js';

interface Payload {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, any>;
  changes?: Record<string, { old: unknown; new: unknown }>;
}

describe.each(databaseKinds())('entity changes become events (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;
  let dataSource: DataSource;

  /** Waits for `count` new requests and returns their payloads (in arrival order). */
  const next = async (count: number): Promise<Payload[]> => {
    await rx.waitFor(count);
    await sleep(200); // and make sure no extra one follows
    expect(rx.requests).toHaveLength(count);
    return rx.requests.splice(0).map((r) => JSON.parse(r.body) as Payload);
  };
  /**
   * Nothing was sent for what came before: a control event saved afterwards must arrive, and be the only request
   * (a merely slow pipeline would deliver the earlier event too, or before it).
   */
  const nothing = async () => {
    const control = await Widget.create({ name: 'control' }).save();
    await rx.waitFor(1);
    await sleep(200); // and make sure no extra one follows
    expect(rx.requests.map((r) => [JSON.parse(r.body).type, JSON.parse(r.body).data.id])).toEqual([['widget.created', control.id]]);
    rx.requests.length = 0;
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    rx = await Receiver.start();
    fixture = await startFixture(db);
    dataSource = fixture.app.get(DataSource);
    await fixture.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['*'] });
  });
  afterEach(() => {
    rx.requests.length = 0;
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  it('save() of a new entity sends created with every column as JSON', async () => {
    const released = new Date('2026-01-02T03:04:05.678Z');
    // better-sqlite3 reads integers as JS numbers, so SQLite keeps bigints exact only up to 2^53.
    const stock = kind === 'postgres' ? '9007199254740993' : '900719925474099';
    const w = await Widget.create({ name: 'w1', price: '1.5', stock, releasedAt: released, tags: ['a'] }).save();
    const [p] = await next(1);
    expect(p.type).toBe('widget.created');
    expect(p.data).toMatchObject({
      id: w.id,
      name: 'w1',
      price: '1.500',
      stock,
      releasedAt: '2026-01-02T03:04:05.678Z',
      featured: false,
      tags: ['a'],
      version: 1,
      deletedAt: null,
    });
    expect(p.data.createdAt).toMatch(/Z$/);
  });

  it('save() of a loaded entity sends updated with only the changed fields in changes', async () => {
    const w = await Widget.create({ name: 'w2', price: '1.000' }).save();
    await next(1);
    w.price = '2.25';
    w.featured = true;
    await w.save();
    const [p] = await next(1);
    expect(p.type).toBe('widget.updated');
    expect(p.changes).toEqual({ price: { old: '1.000', new: '2.250' }, featured: { old: false, new: true } });
    expect(p.data).toMatchObject({ id: w.id, name: 'w2', price: '2.250', featured: true });
  });

  it('a partial save({ id, ... }) sends the whole row in data and the change in changes', async () => {
    const w = await Widget.create({ name: 'w3', price: '3.000' }).save();
    await next(1);
    await dataSource.getRepository(Widget).save({ id: w.id, name: 'w3b' });
    const [p] = await next(1);
    expect(p.changes).toEqual({ name: { old: 'w3', new: 'w3b' } });
    expect(p.data).toMatchObject({ id: w.id, name: 'w3b', price: '3.000' });
  });

  it('saving an unchanged entity sends nothing', async () => {
    const w = await Widget.create({ name: 'w4' }).save();
    await next(1);
    await w.save();
    await nothing();
  });

  it('remove() and softRemove() send deleted with the id and the last values', async () => {
    const a = await Widget.create({ name: 'gone' }).save();
    const b = await Widget.create({ name: 'soft' }).save();
    await next(2);
    const aId = a.id;
    await a.remove();
    const [removed] = await next(1);
    expect(removed).toMatchObject({ type: 'widget.deleted', data: { id: aId, name: 'gone' } });
    await b.softRemove();
    const [soft] = await next(1);
    expect(soft).toMatchObject({ type: 'widget.deleted', data: { id: b.id, name: 'soft' } });
    expect(soft.data.deletedAt).toMatch(/Z$/);
    // Restored: an update of its delete date, back to null.
    await dataSource.getRepository(Widget).recover(b);
    const [recovered] = await next(1);
    expect(recovered).toMatchObject({
      type: 'widget.updated',
      data: { id: b.id, name: 'soft', deletedAt: null },
      changes: { deletedAt: { old: soft.data.deletedAt, new: null } },
    });
    expect(Object.keys(recovered.changes!)).toEqual(['deletedAt']);
  });

  it('insert() outside a transaction sends created', async () => {
    const result = await dataSource.getRepository(Widget).insert({ name: 'inserted' });
    const [p] = await next(1);
    expect(p).toMatchObject({ type: 'widget.created', data: { id: result.identifiers[0].id, name: 'inserted' } });
  });

  it('rejects bulk update()/delete()/softDelete()/restore() by criteria and upserts before they change anything', async () => {
    const w = await Widget.create({ name: 'bulk' }).save();
    await next(1);
    const repo = dataSource.getRepository(Widget);
    await expect(repo.update({ id: w.id }, { name: 'changed' })).rejects.toThrow(WebhookBulkOperationError);
    await expect(repo.update({ id: w.id }, { name: 'changed' })).rejects.toThrow('Load the rows and use save()/remove()');
    await expect(repo.delete({ id: w.id })).rejects.toThrow(WebhookBulkOperationError);
    await expect(repo.softDelete({ id: w.id })).rejects.toThrow(WebhookBulkOperationError);
    await expect(repo.restore({ id: w.id })).rejects.toThrow(WebhookBulkOperationError);
    // An upsert, and an insert that ignores or updates on a conflict: TypeORM reports each value as inserted.
    await expect(repo.upsert({ id: w.id, name: 'upserted' }, ['id'])).rejects.toThrow(WebhookBulkOperationError);
    await expect(repo.createQueryBuilder().insert().values({ id: w.id, name: 'ignored' }).orIgnore().execute()).rejects.toThrow(
      WebhookBulkOperationError,
    );
    await expect(repo.increment({ id: w.id }, 'stock', 1)).rejects.toThrow(WebhookBulkOperationError);
    expect(await repo.findOneByOrFail({ id: w.id })).toMatchObject({ name: 'bulk', deletedAt: null });
    // Entities without the decorator are not affected.
    const note = await PlainNote.create({ text: 'a' }).save();
    await dataSource.getRepository(PlainNote).update({ id: note.id }, { text: 'b' });
    await nothing();
  });

  it('holds jobs until the outermost commit and drops what a rolled-back savepoint recorded', async () => {
    const queue = fixture.app.get(DeliveryQueue);
    const enqueued: string[] = [];
    const spy = vi.spyOn(queue, 'enqueueInBackground').mockImplementation(function (this: DeliveryQueue, jobs, delay) {
      enqueued.push(...jobs.map((j) => j.deliveryId));
      return DeliveryQueue.prototype.enqueueInBackground.call(this, jobs, delay);
    });
    const events = dataSource.getRepository(WebhookEvent);
    const before = await events.countBy({ topic: 'widget.created' });
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.manager.save(Widget.create({ name: 'outer' }));
      await runner.startTransaction(); // savepoint 1, released below
      await runner.manager.save(Widget.create({ name: 'released' }));
      await runner.commitTransaction();
      await runner.startTransaction(); // savepoint 2, rolled back
      await runner.manager.save(Widget.create({ name: 'rolled-back' }));
      await runner.rollbackTransaction();
      await sleep(300);
      expect(enqueued).toEqual([]); // nothing leaves before the real commit
      expect(rx.requests).toHaveLength(0);
      await runner.commitTransaction();
    } finally {
      await runner.release();
      spy.mockRestore();
    }
    expect(enqueued).toHaveLength(2);
    const names = (await next(2)).map((p) => p.data.name).sort();
    expect(names).toEqual(['outer', 'released']);
    expect(await events.countBy({ topic: 'widget.created' })).toBe(before + 2);
  });

  it('sends several changes of one transaction after its commit', async () => {
    await dataSource.transaction(async (m) => {
      const w = await m.save(Widget.create({ name: 'tx1' }));
      await m.save(Widget.create({ name: 'tx2' }));
      w.name = 'tx1b';
      await m.save(w);
    });
    const payloads = await next(3);
    expect(payloads.map((p) => `${p.type}:${p.data.name}`).sort()).toEqual([
      'widget.created:tx1',
      'widget.created:tx2',
      'widget.updated:tx1b',
    ]);
  });

  it('respects events: a gadget sends only gadget.deleted', async () => {
    const g = await Gadget.create({ label: 'g' }).save();
    g.label = 'g2';
    await g.save();
    await nothing();
    const id = g.id;
    await g.remove();
    const [p] = await next(1);
    expect(p).toMatchObject({ type: 'gadget.deleted', data: { id, label: 'g2' } });
  });
});

describe('bulkOperations: skip', () => {
  it('runs bulk statements without events', async () => {
    const db = await createDatabase('sqlite');
    const rx = await Receiver.start();
    const fixture = await startFixture(db, { webhooksOptions: { bulkOperations: 'skip' } });
    try {
      await fixture.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['widget.*'] });
      const w = await Widget.create({ name: 'skip' }).save();
      await rx.waitFor(1);
      const repo = fixture.app.get(DataSource).getRepository(Widget);
      await repo.update({ id: w.id }, { name: 'skipped' });
      expect((await repo.findOneByOrFail({ id: w.id })).name).toBe('skipped');
      await repo.upsert({ id: w.id, name: 'upserted' }, ['id']); // no created event for the updated row
      expect((await repo.findOneByOrFail({ id: w.id })).name).toBe('upserted');
      await repo.delete({ id: w.id });
      // Control: a change saved afterwards through save() is sent, and is the only request.
      const control = await Widget.create({ name: 'control' }).save();
      control.name = 'control changed';
      await control.save();
      await rx.waitFor(3);
      await sleep(200);
      expect(rx.requests.map((r) => JSON.parse(r.body).data.name)).toEqual(['skip', 'control', 'control changed']);
    } finally {
      await fixture.close();
      await rx.close();
      await db.drop();
    }
  });
});

/** A 16-byte binary key (a UUID stored as bytes, as MySQL schemas often do), in each database's binary type. */
function binaryKeyed(kind: string): new () => { id: Buffer; label: string } {
  @WebhookEntity({ name: 'token' })
  @Entity({ name: 'binary_keyed' })
  class Token {
    @PrimaryColumn(kind === 'postgres' ? { type: 'bytea' } : kind === 'mariadb' ? { type: 'binary', length: 16 } : { type: 'blob' })
    id: Buffer;

    @Column({ type: 'varchar', length: 50 })
    label: string;
  }
  return Token;
}

/** A text key longer than the event row's entityId column (100 characters). */
@WebhookEntity({ name: 'page' })
@Entity({ name: 'long_keyed' })
class Page {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  path: string;

  @Column({ type: 'varchar', length: 50 })
  title: string;
}

describe.each(databaseKinds())('an entity with a binary primary key (%s)', (kind) => {
  const Token = binaryKeyed(kind);
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;

  beforeAll(async () => {
    db = await createDatabase(kind);
    rx = await Receiver.start();
    fixture = await startFixture(db, { entities: [Token, Page] });
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  it('names it by the base64 of its key, as its payload does, and ids filters match that', async () => {
    const key = Buffer.from('00ff00112233445566778899aabbcc00', 'hex'); // zero bytes, which PostgreSQL text refuses
    const text = key.toString('base64');
    const webhooks = fixture.app.get(WebhooksService);
    await webhooks.createEndpoint({ url: `${rx.url}/all`, topics: ['token.*'] });
    await webhooks.createEndpoint({ url: `${rx.url}/this-one`, topics: ['token.*'], filters: { token: { ids: [text] } } });
    await webhooks.createEndpoint({ url: `${rx.url}/another`, topics: ['token.*'], filters: { token: { ids: ['AAAA'] } } });
    const repo = fixture.app.get(DataSource).getRepository(Token);
    const saved = await repo.save(repo.create({ id: key, label: 'first' }));
    await repo.remove(saved);
    await rx.waitFor(4);
    await sleep(200);
    const got = rx.requests.map((r) => [r.path, JSON.parse(r.body).type, JSON.parse(r.body).data.id]).sort();
    expect(got).toEqual([
      ['/hooks/all', 'token.created', text],
      ['/hooks/all', 'token.deleted', text],
      ['/hooks/this-one', 'token.created', text],
      ['/hooks/this-one', 'token.deleted', text],
    ]);
    const events = await fixture.app
      .get(DataSource)
      .getRepository(WebhookEvent)
      .find({ order: { id: 'ASC' } });
    expect(events.map((e) => [e.topic, e.entityId])).toEqual([
      ['token.created', text],
      ['token.deleted', text],
    ]);
  });

  it('saves an entity whose key is longer than the event row keeps, and ids filters match the whole key', async () => {
    const path = `/docs/${'a'.repeat(150)}`;
    const webhooks = fixture.app.get(WebhooksService);
    await webhooks.createEndpoint({ url: `${rx.url}/pages`, topics: ['page.*'], filters: { page: { ids: [path] } } });
    await webhooks.createEndpoint({ url: `${rx.url}/cut`, topics: ['page.*'], filters: { page: { ids: [path.slice(0, 100)] } } });
    rx.requests.length = 0;
    await fixture.app.get(DataSource).getRepository(Page).save({ path, title: 'long' });
    await rx.waitFor(1);
    await sleep(200);
    expect(rx.requests.map((r) => [r.path, JSON.parse(r.body).data.path])).toEqual([['/hooks/pages', path]]);
    const event = await fixture.app.get(DataSource).getRepository(WebhookEvent).findOneByOrFail({ topic: 'page.created' });
    expect(event.entityId).toBe(path.slice(0, 100));
  });
});
