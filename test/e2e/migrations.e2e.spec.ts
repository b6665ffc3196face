import { DataSource, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { typeOrmOptions } from '../../apps/example/src/app.module.js';
import { CustomerApiKey } from '../../apps/example/src/shop/api-key.entity.js';
import { Customer } from '../../apps/example/src/shop/customer.entity.js';
import { Order } from '../../apps/example/src/shop/order.entity.js';
import { WEBHOOK_ENTITIES, WebhookDelivery, WebhookEndpoint, WebhookEvent } from '../../libs/webhooks/src/entities/index.js';
import { WEBHOOK_MIGRATIONS, WebhooksSchema1764000000000 } from '../../libs/webhooks/src/migrations/index.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';

const TABLES = ['webhook_endpoint', 'webhook_secret', 'webhook_event', 'webhook_delivery', 'webhook_attempt'];

describe.each(databaseKinds())('library migrations (%s)', (kind) => {
  let db: TestDatabase | undefined;
  let ds: DataSource | undefined;

  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
    ds = db = undefined;
  });

  async function open(): Promise<DataSource> {
    db = await createDatabase(kind);
    // The example's connection options (time zone and schema included), without synchronize.
    const { autoLoadEntities: _, ...base } = typeOrmOptions(db.config);
    ds = new DataSource({
      ...base,
      entities: WEBHOOK_ENTITIES,
      synchronize: false,
      migrations: [...WEBHOOK_MIGRATIONS],
      migrationsRun: false,
    } as DataSourceOptions);
    return ds.initialize();
  }

  async function pendingSchemaChanges(source: DataSource): Promise<string[]> {
    return (await source.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
  }

  async function withRunner<T>(source: DataSource, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = source.createQueryRunner();
    try {
      return await fn(runner);
    } finally {
      await runner.release();
    }
  }

  it('create on an empty database exactly the schema the entities describe; a second run is a no-op', async () => {
    const source = await open();
    const ran = await source.runMigrations();
    expect(ran.map((m) => m.name)).toEqual(WEBHOOK_MIGRATIONS.map((M) => new M().name));
    const pending = await pendingSchemaChanges(source);
    expect(pending, `schema differences after the migrations:\n${pending.join(';\n')}`).toEqual([]);

    expect(await source.runMigrations()).toEqual([]);
    // The first migration also tolerates tables that exist already (a schema made by synchronize).
    await withRunner(source, (runner) => new WebhooksSchema1764000000000().up(runner));
    expect(await pendingSchemaChanges(source)).toEqual([]);
  });

  it('upgrade a 0.1.0 schema that holds data, keeping each date the same instant', async () => {
    const source = await open();
    // 0.1.0 with synchronize: true made the tables of the first migration, without a migrations table.
    await withRunner(source, (runner) => new WebhooksSchema1764000000000().up(runner));
    const written = new Date('2026-03-29T00:30:00.000Z'); // the night a DST change happened in Europe
    const zone = withTimeZone('America/New_York');
    const insertedAt = Date.now();
    try {
      // Written like 0.1.0 wrote it: on PostgreSQL as the process's wall clock.
      // (Only the columns 0.1.0 had: today's entities have columns that later migrations add.)
      await source
        .createQueryBuilder()
        .insert()
        .into(WebhookEvent, ['id', 'topic', 'payload', 'createdAt'])
        .values({ id: 'evt_legacy', topic: 'order.created', payload: '{}', createdAt: written })
        .execute();
      // The endpoint's createdAt comes from the database's now(), in the session's zone.
      const q = (name: string) => source.driver.escape(name);
      const endpoints = source.getMetadata(WebhookEndpoint).tablePath.split('.').map(q).join('.');
      await source.query(
        `INSERT INTO ${endpoints} (${q('id')}, ${q('url')}, ${q('topics')}) VALUES ('ep_legacy', 'https://example.com/hook', '["*"]')`,
      );
      await source.runMigrations();
    } finally {
      zone.restore();
    }
    const pending = await pendingSchemaChanges(source);
    expect(pending, `schema differences after the migrations:\n${pending.join(';\n')}`).toEqual([]);
    const row = await source.getRepository(WebhookEvent).findOneByOrFail({ id: 'evt_legacy' });
    expect(row.createdAt.toISOString()).toBe(written.toISOString());
    const endpoint = await source.getRepository(WebhookEndpoint).findOneByOrFail({ id: 'ep_legacy' });
    expect(Math.abs(endpoint.createdAt.getTime() - insertedAt)).toBeLessThan(60_000);

    // Milliseconds survive now (MySQL's datetime had none before).
    const precise = new Date('2026-11-24T10:20:30.456Z');
    await source.getRepository(WebhookEvent).insert({ id: 'evt_precise', topic: 'order.created', payload: '{}', createdAt: precise });
    expect((await source.getRepository(WebhookEvent).findOneByOrFail({ id: 'evt_precise' })).createdAt.toISOString()).toBe(
      precise.toISOString(),
    );
  });

  it("give the example app's production schema at startup, with the shop's own migration", async () => {
    db = await createDatabase(kind);
    const { autoLoadEntities: _, ...production } = typeOrmOptions(db.config, true);
    expect(production).toMatchObject({ synchronize: false, migrationsRun: true });
    ds = new DataSource({ ...production, entities: [...WEBHOOK_ENTITIES, Customer, Order, CustomerApiKey] } as DataSourceOptions);
    await ds.initialize();
    expect(await ds.showMigrations()).toBe(false);
    const pending = await pendingSchemaChanges(ds);
    expect(pending, `schema differences after the migrations:\n${pending.join(';\n')}`).toEqual([]);
  });

  it('undo every migration, leaving no library table', async () => {
    const source = await open();
    await source.runMigrations();
    await source
      .createQueryBuilder()
      .insert()
      .into(WebhookEvent, ['id', 'topic', 'payload', 'createdAt'])
      .values({ id: 'evt_1', topic: 't', payload: '{}', createdAt: new Date('2026-01-02T03:04:05.000Z') })
      .execute();
    const eventIndices = () =>
      withRunner(source, async (runner) =>
        ((await runner.getTable(source.getMetadata(WebhookEvent).tablePath))?.indices ?? []).map((i) =>
          [...i.columnNames].sort().join(','),
        ),
      );
    const deliveryHas = (column: string) =>
      withRunner(source, (runner) => runner.hasColumn(source.getMetadata(WebhookDelivery).tablePath, column));
    // The payload's type, as the database reports it (mediumtext on MySQL/MariaDB only).
    const payloadType = () =>
      withRunner(source, async (runner) =>
        (await runner.getTable(source.getMetadata(WebhookEvent).tablePath))?.findColumnByName('payload')?.type.toLowerCase(),
      );
    expect(await payloadType()).toBe(kind === 'mariadb' ? 'mediumtext' : 'text');
    await source.undoLastMigration(); // the payload's size
    expect(await payloadType()).toBe('text');
    expect([await deliveryHas('roundStart'), await deliveryHas('roundTrigger')]).toEqual([true, true]);
    await source.undoLastMigration(); // the delivery's round
    expect([await deliveryHas('roundStart'), await deliveryHas('roundTrigger')]).toEqual([false, false]);
    expect(await eventIndices()).toContain('createdAt,ownerId'); // column names sorted: drivers list them differently
    await source.undoLastMigration(); // the event owner index
    expect(await eventIndices()).not.toContain('createdAt,ownerId');
    await source.undoLastMigration(); // the owner columns
    expect(await withRunner(source, (runner) => runner.hasColumn(source.getMetadata(WebhookEvent).tablePath, 'ownerId'))).toBe(false);
    expect(await withRunner(source, (runner) => runner.hasColumn(source.getMetadata(WebhookEndpoint).tablePath, 'ownerId'))).toBe(false);
    await source.undoLastMigration(); // the isolation columns
    expect(await withRunner(source, (runner) => runner.hasColumn(source.getMetadata(WebhookEndpoint).tablePath, 'maxInFlight'))).toBe(
      false,
    );
    await source.undoLastMigration();
    // Back to the 0.1.0 types, the value still read as the same instant by this process.
    const back = await source
      .getRepository(WebhookEvent)
      .createQueryBuilder('e')
      .select(['e.id', 'e.createdAt'])
      .where('e.id = :id', { id: 'evt_1' })
      .getOneOrFail();
    expect(back.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    await source.undoLastMigration();
    const left = await withRunner(source, async (runner) => {
      const found: string[] = [];
      for (const table of TABLES) if (await runner.hasTable(table)) found.push(table);
      return found;
    });
    expect(left).toEqual([]);
    expect(await source.showMigrations()).toBe(true); // all pending again
  });
});

describe('library migrations on other databases', () => {
  it('name the databases they support', async () => {
    const runner = { connection: { driver: { options: { type: 'mssql' } } } } as unknown as QueryRunner;
    await expect(new WebhooksSchema1764000000000().up(runner)).rejects.toThrow(
      /support PostgreSQL, MySQL, MariaDB and SQLite, not "mssql"/,
    );
  });
});

/** Switches the process's time zone (Node re-reads TZ when it is assigned). */
function withTimeZone(zone: string): { restore(): void } {
  const previous = process.env.TZ;
  process.env.TZ = zone;
  expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe(zone);
  expect(new Date('2026-03-29T00:30:00.000Z').getTimezoneOffset()).not.toBe(0);
  return {
    restore() {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    },
  };
}
