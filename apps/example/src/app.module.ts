import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { WEBHOOK_MIGRATIONS, WebhooksApiModule, WebhooksModule } from 'nestjs-outgoing-webhooks';
import { mkdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { adminModule } from './admin/admin.module.js';
import { APP_CONFIG, METRICS_REGISTRY } from './app.constants.js';
import { ApiTokenGuard } from './auth/api-token.guard.js';
import { CustomerKeyGuard, type CustomerRequest } from './auth/customer-key.guard.js';
import { sqliteDirectory, type AppConfig, type DatabaseConfig } from './config.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './health/metrics.controller.js';
import { ShopSchema1764700000000 } from './migrations/1764700000000-shop-schema.js';
import { CustomerApiKeys1765100000000 } from './migrations/1765100000000-customer-api-keys.js';
import { DemoReceiverController } from './receiver/demo-receiver.controller.js';
import { CustomerApiKey } from './shop/api-key.entity.js';
import { Customer } from './shop/customer.entity.js';
import { Order } from './shop/order.entity.js';
import { CustomersController, MeController, OrdersController } from './shop/shop.controller.js';
import { ShopService } from './shop/shop.service.js';
import { DeliveriesController, WebhookEndpointsController } from './webhooks/webhook-endpoints.controller.js';

/** What a customer may subscribe to: the events of its own customer record and orders. */
export const CUSTOMER_TOPICS = ['customer.*', 'order.*'];

/**
 * The example shop. The app owns TypeORM and Bull; WebhooksModule adds its entities through autoLoadEntities
 * and its queue on the Bull connection configured here.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig, redisUrl: string): DynamicModule {
    // A registry of this app's own (not prom-client's global one), so several apps in one process stay apart.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(typeOrmOptions(config.database, config.production)),
        BullModule.forRoot({ redis: redisUrl, prefix: config.bullPrefix }),
        WebhooksModule.forRoot({
          // Global, so the admin module can inject WebhooksService.
          isGlobal: true,
          allowPrivateNetworks: config.allowPrivateNetworks,
          allowHttp: config.allowHttp,
          encryptionKeys: config.encryptionKeys,
          requireEncryption: config.production,
          metrics: { registry },
          ...config.webhooks,
        }),
        TypeOrmModule.forFeature([Customer, Order, CustomerApiKey]),
        // The customers' own API (REST hooks): /api/me/webhook-endpoints, /api/me/deliveries, /api/me/event-types,
        // each limited to the customer whose API key authenticates the request.
        WebhooksApiModule.register<CustomerRequest>({
          path: 'api/me',
          guards: [CustomerKeyGuard],
          owner: (request) => (request.customerId === undefined ? null : String(request.customerId)),
          topics: CUSTOMER_TOPICS,
        }),
        TerminusModule,
        ...(config.admin.enabled ? [adminModule(config.admin, config.production)] : []),
      ],
      controllers: [
        CustomersController,
        OrdersController,
        MeController,
        WebhookEndpointsController,
        DeliveriesController,
        HealthController,
        MetricsController,
        // The demo receiver verifies against the app's own secrets: a development aid, not for production.
        ...(config.production ? [] : [DemoReceiverController]),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }, { provide: METRICS_REGISTRY, useValue: registry }, ShopService, ApiTokenGuard],
    };
  }
}

/**
 * In development `synchronize: true` creates and updates the tables from the entities. In production the schema
 * comes from migrations, run at startup: the library's (`WEBHOOK_MIGRATIONS`) and the shop's.
 */
export function typeOrmOptions(database: DatabaseConfig, production = false): TypeOrmModuleOptions {
  const tables = production
    ? {
        synchronize: false,
        migrations: [...WEBHOOK_MIGRATIONS, ShopSchema1764700000000, CustomerApiKeys1765100000000],
        migrationsRun: true,
      }
    : { synchronize: true };
  if (database.type === 'sqlite') {
    const dir = sqliteDirectory(database);
    if (dir) mkdirSync(dir, { recursive: true });
    return { type: 'better-sqlite3', database: database.path, enableWAL: true, autoLoadEntities: true, ...tables };
  }
  if (database.type === 'mysql' || database.type === 'mariadb') {
    // mysql2 writes and reads DATETIME in the connection's time zone ('local' by default): 'Z' stores UTC, so every
    // app instance agrees on an instant whatever its TZ. (Database-side defaults such as CURRENT_TIMESTAMP follow
    // the server's session time zone: run it in UTC too.)
    return { type: database.type, url: database.url, timezone: 'Z', autoLoadEntities: true, ...tables };
  }
  return { type: 'postgres', url: database.url, schema: database.schema, autoLoadEntities: true, ...tables };
}
