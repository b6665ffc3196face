import { Injectable, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookEntity, WebhookEvent, WebhooksModule, WebhooksService, type WebhooksModuleOptions } from 'nestjs-outgoing-webhooks';
import { PayloadCache } from '../../libs/webhooks/src/payload/payload-cache.js';
import { WEBHOOKS_OPTIONS } from '../../libs/webhooks/src/webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../../libs/webhooks/src/webhooks.options.js';
import { Gadget, PlainNote, Widget } from '../fixtures/widget.entity.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { FIXTURE_ENTITIES, startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep } from '../support/wait.js';

const SCHEDULE = [111, 222];

@Module({ providers: [{ provide: 'RETRY_SCHEDULE', useValue: SCHEDULE }], exports: ['RETRY_SCHEDULE'] })
class SettingsModule {}

@Injectable()
class WebhooksConfig {
  createWebhooksOptions(): WebhooksModuleOptions {
    return { retrySchedule: SCHEDULE, relayIntervalMs: 0 };
  }
}

@Module({ providers: [WebhooksConfig], exports: [WebhooksConfig] })
class WebhooksConfigModule {}

@WebhookEntity({ name: 'widget' })
@Entity({ name: 'widget_copy' })
class WidgetCopy {
  @PrimaryGeneratedColumn()
  id: number;
}

/** An owner given as a column name instead of a resolver. */
@WebhookEntity({ owner: 'customerId' as never })
@Entity({ name: 'owned_by_name' })
class OwnedByName {
  @PrimaryGeneratedColumn()
  id: number;
}

@WebhookEntity()
@Entity({ name: 'unregistered' })
class Unregistered {
  @PrimaryGeneratedColumn()
  id: number;
}

describe('WebhooksModule registration', () => {
  let db: TestDatabase;
  let fixture: FixtureApp | undefined;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
  });
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });
  afterAll(async () => db?.drop());

  it('forRoot boots and discovers the decorated entities from the DataSource', async () => {
    fixture = await startFixture(db);
    expect(fixture.app.get(WebhooksService).topics().sort()).toEqual([
      'gadget.deleted',
      'widget.created',
      'widget.deleted',
      'widget.updated',
    ]);
    const options = fixture.app.get<ResolvedWebhooksOptions>(WEBHOOKS_OPTIONS);
    expect(options.concurrency).toBe(20);
    expect(options.bulkOperations).toBe('reject');
  });

  it('forRootAsync with useFactory and inject from an imported module', async () => {
    fixture = await startFixture(db, {
      webhooks: WebhooksModule.forRootAsync({
        imports: [SettingsModule],
        inject: ['RETRY_SCHEDULE'],
        useFactory: (schedule: number[]) => ({ retrySchedule: schedule, relayIntervalMs: 0 }),
      }),
    });
    expect(fixture.app.get<ResolvedWebhooksOptions>(WEBHOOKS_OPTIONS).retrySchedule).toEqual(SCHEDULE);
  });

  it('forRootAsync with useClass', async () => {
    fixture = await startFixture(db, { webhooks: WebhooksModule.forRootAsync({ useClass: WebhooksConfig }) });
    expect(fixture.app.get<ResolvedWebhooksOptions>(WEBHOOKS_OPTIONS).retrySchedule).toEqual(SCHEDULE);
  });

  it('forRootAsync with useExisting', async () => {
    fixture = await startFixture(db, {
      webhooks: WebhooksModule.forRootAsync({ imports: [WebhooksConfigModule], useExisting: WebhooksConfig }),
    });
    expect(fixture.app.get<ResolvedWebhooksOptions>(WEBHOOKS_OPTIONS).retrySchedule).toEqual(SCHEDULE);
  });

  it('isGlobal makes WebhooksService injectable in modules that do not import it', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly webhooks: WebhooksService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}

    fixture = await startFixture(db, { webhooks: WebhooksModule.forRoot({ isGlobal: true, relayIntervalMs: 0 }), extra: [FeatureModule] });
    expect(fixture.app.get(Consumer).webhooks).toBeInstanceOf(WebhooksService);
    await fixture.close();
    fixture = undefined;
    await expect(startFixture(db, { webhooks: WebhooksModule.forRoot({ relayIntervalMs: 0 }), extra: [FeatureModule] })).rejects.toThrow(
      /WebhooksService/,
    );
  });

  it.each([
    [{ concurrency: 0 }, 'concurrency must be an integer >= 1'],
    [{ jitter: 1.5 }, 'jitter must be in [0, 1)'],
    [{ retrySchedule: [1000, -1] }, 'retrySchedule must be an array of delays'],
    [{ bulkOperations: 'ignore' as never }, "bulkOperations must be 'reject' or 'skip'"],
    [{ preparedStatements: 'no' as never }, 'preparedStatements must be true or false'],
  ])('rejects invalid options %j at start-up', async (options, message) => {
    await expect(startFixture(db, { webhooksOptions: options })).rejects.toThrow(message);
  });

  it('warns at start-up of a decorated entity that only another DataSource of the app holds', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    try {
      fixture = await startFixture(db, {
        entities: [Widget, PlainNote],
        extra: [TypeOrmModule.forRoot({ name: 'reports', type: 'better-sqlite3', database: ':memory:', entities: [Gadget, Widget] })],
      });
      const about = (name: string) => warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes(`@WebhookEntity ${name} `));
      expect(about('Gadget')).toEqual([
        '@WebhookEntity Gadget is an entity of the DataSource "reports", which WebhooksModule does not watch (it uses "default"): ' +
          'its changes send no webhook events. Register it with that DataSource, or send its events with emit().',
      ]);
      expect(about('Widget')).toEqual([]); // the module's DataSource has it too
    } finally {
      warn.mockRestore();
    }
  });

  it('fails start-up when two entities share a webhook name', async () => {
    await expect(startFixture(db, { entities: [...FIXTURE_ENTITIES, WidgetCopy] })).rejects.toThrow(
      'name "widget" is used by both Widget and WidgetCopy',
    );
  });

  it('fails start-up when an entity’s owner is not a resolver function', async () => {
    await expect(startFixture(db, { entities: [...FIXTURE_ENTITIES, OwnedByName] })).rejects.toThrow(
      'owner must be a function (row) => string | null',
    );
  });

  it("fails start-up when the library's entities are not in the DataSource", async () => {
    await expect(startFixture(db, { autoLoadEntities: false })).rejects.toThrow(
      'The webhook tables are not registered with the TypeORM DataSource',
    );
  });

  it('fails start-up when an expected entity is not decorated or not registered', async () => {
    await expect(startFixture(db, { webhooksOptions: { entities: [Widget, PlainNote] } })).rejects.toThrow(
      'PlainNote is listed in WebhooksModule options "entities" but has no @WebhookEntity() decorator',
    );
    await expect(startFixture(db, { webhooksOptions: { entities: [Widget, Gadget, Unregistered] } })).rejects.toThrow(
      '@WebhookEntity Unregistered is not registered with the TypeORM DataSource',
    );
  });
});

describe('API-only and worker-only processes on one Redis', () => {
  let db: TestDatabase;
  let rx: Receiver;
  const bullPrefix = `split_${Math.random().toString(36).slice(2, 10)}`;
  const apps: FixtureApp[] = [];

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await rx.close();
    await db.drop();
  });

  it('the API process only enqueues; the worker process delivers', async () => {
    const api = await startFixture(db, { bullPrefix, webhooksOptions: { worker: false } });
    apps.push(api);
    await api.app.get(WebhooksService).createEndpoint({ url: rx.url, topics: ['widget.created'] });
    const saved = await Widget.create({ name: 'queued' }).save();
    await sleep(500);
    expect(rx.requests).toHaveLength(0);
    // No worker here to read it: the API process keeps no copy of the payload.
    const event = await api.app
      .get(DataSource)
      .getRepository(WebhookEvent)
      .findOneByOrFail({ entityId: String(saved.id) });
    expect(api.app.get(PayloadCache).get(event.id)).toBeUndefined();

    const worker = await startFixture(db, { bullPrefix });
    apps.push(worker);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0].body)).toMatchObject({ type: 'widget.created', data: { name: 'queued' } });
  });
});
