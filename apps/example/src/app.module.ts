import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { WebhooksModule } from 'nestjs-outgoing-webhooks';
import { mkdirSync } from 'node:fs';
import { adminModule } from './admin/admin.module.js';
import { APP_CONFIG } from './app.constants.js';
import { ApiTokenGuard } from './auth/api-token.guard.js';
import { sqliteDirectory, type AppConfig, type DatabaseConfig } from './config.js';
import { HealthController } from './health/health.controller.js';
import { DemoReceiverController } from './receiver/demo-receiver.controller.js';
import { Customer } from './shop/customer.entity.js';
import { Order } from './shop/order.entity.js';
import { CustomersController, OrdersController } from './shop/shop.controller.js';
import { ShopService } from './shop/shop.service.js';
import { DeliveriesController, WebhookEndpointsController } from './webhooks/webhook-endpoints.controller.js';

/**
 * The example shop. The app owns TypeORM and Bull; WebhooksModule adds its entities through autoLoadEntities
 * and its queue on the Bull connection configured here.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig, redisUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(typeOrmOptions(config.database)),
        BullModule.forRoot({ redis: redisUrl, prefix: config.bullPrefix }),
        WebhooksModule.forRoot({
          // Global, so the admin module can inject WebhooksService.
          isGlobal: true,
          allowPrivateNetworks: config.allowPrivateNetworks,
          allowHttp: config.allowHttp,
          encryptionKeys: config.encryptionKeys,
          requireEncryption: config.production,
          ...config.webhooks,
        }),
        TypeOrmModule.forFeature([Customer, Order]),
        TerminusModule,
        ...(config.admin.enabled ? [adminModule(config.admin, config.production)] : []),
      ],
      controllers: [
        CustomersController,
        OrdersController,
        WebhookEndpointsController,
        DeliveriesController,
        HealthController,
        // The demo receiver verifies against the app's own secrets: a development aid, not for production.
        ...(config.production ? [] : [DemoReceiverController]),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }, ShopService, ApiTokenGuard],
    };
  }
}

/**
 * `synchronize: true` creates and updates the tables from the entities: right for a demo. A production app turns
 * it off and generates migrations that include the library's entities (see README).
 */
export function typeOrmOptions(database: DatabaseConfig): TypeOrmModuleOptions {
  if (database.type === 'sqlite') {
    const dir = sqliteDirectory(database);
    if (dir) mkdirSync(dir, { recursive: true });
    return { type: 'better-sqlite3', database: database.path, enableWAL: true, autoLoadEntities: true, synchronize: true };
  }
  return { type: 'postgres', url: database.url, schema: database.schema, autoLoadEntities: true, synchronize: true };
}
