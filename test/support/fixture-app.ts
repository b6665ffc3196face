import { BullModule } from '@nestjs/bull';
import type { DynamicModule, INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { EntityClass } from '../../libs/webhooks/src/util/entity-class.js';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { WebhooksModule, WebhooksService, type WebhooksModuleOptions } from 'nestjs-outgoing-webhooks';
import { typeOrmOptions } from '../../apps/example/src/app.module.js';
import { Gadget, PlainNote, Widget } from '../fixtures/widget.entity.js';
import type { TestDatabase } from './databases.js';
import { FAST_WEBHOOKS, dropBullKeys } from './example-app.js';
import { CapturingLogger, watchSecretsOf } from './secret-watch.js';
import { watchPayloadsOf } from './payload-watch.js';

export interface FixtureApp {
  app: INestApplication;
  bullPrefix: string;
  close(): Promise<void>;
}

export const FIXTURE_ENTITIES = [Widget, Gadget, PlainNote];

/**
 * A minimal host app: its own TypeORM and Bull roots plus the module under test (forRoot by default).
 * `webhooks` replaces the WebhooksModule import (for forRootAsync variants).
 */
export async function startFixture(
  db: TestDatabase,
  options: {
    webhooksOptions?: WebhooksModuleOptions;
    webhooks?: DynamicModule;
    entities?: EntityClass[];
    extra?: ModuleMetadata['imports'];
    bullPrefix?: string;
    autoLoadEntities?: boolean;
    /** More TypeORM options for the host's DataSource (a pool size, a logger). */
    typeorm?: Record<string, unknown>;
  } = {},
): Promise<FixtureApp> {
  const bullPrefix = options.bullPrefix ?? `fx_${randomBytes(5).toString('hex')}`;
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        ...typeOrmOptions(db.config),
        entities: options.entities ?? FIXTURE_ENTITIES,
        autoLoadEntities: options.autoLoadEntities ?? true,
        ...options.typeorm,
      }),
      BullModule.forRoot({ redis: inject('redisUrl'), prefix: bullPrefix }),
      options.webhooks ?? WebhooksModule.forRoot({ ...FAST_WEBHOOKS, ...options.webhooksOptions }),
      ...(options.extra ?? []),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: new CapturingLogger() });
  await app.init();
  watchSecretsOf(app.get(WebhooksService, { strict: false }));
  watchPayloadsOf(app);
  return {
    app,
    bullPrefix,
    async close() {
      await app.close();
      if (!options.bullPrefix) await dropBullKeys(bullPrefix);
    },
  };
}
