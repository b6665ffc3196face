import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhooksApiModule, WebhooksModule } from 'nestjs-outgoing-webhooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { adminModule } from './admin/admin.module.js';
import { APP_CONFIG, METRICS_REGISTRY } from './app.constants.js';
import { ApiTokenGuard } from './auth/api-token.guard.js';
import { CustomerKeyGuard, type CustomerRequest } from './auth/customer-key.guard.js';
import { demoReceiverNetworks, type AppConfig } from './config.js';
import { typeOrmOptions } from './database.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './health/metrics.controller.js';
import { DemoReceiverController } from './receiver/demo-receiver.controller.js';
import { CustomerApiKey } from './shop/api-key.entity.js';
import { Customer } from './shop/customer.entity.js';
import { Order } from './shop/order.entity.js';
import { CustomersController, MeController, OrdersController } from './shop/shop.controller.js';
import { ShopService } from './shop/shop.service.js';
import { DeliveriesController, WebhookEndpointsController } from './webhooks/webhook-endpoints.controller.js';
import { EventTypesController } from './webhooks/event-types.controller.js';

/** What a customer may subscribe to: the events of its own customer record and orders. */
export const CUSTOMER_TOPICS = ['customer.*', 'order.*'];

/**
 * The example shop. The app owns TypeORM and Bull; WebhooksModule adds its entities through autoLoadEntities
 * and its queue on the Bull connection configured here.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig, redisUrl: string): DynamicModule {
    const roles = config.roles ?? { api: true, worker: true };
    // A registry of this app's own (not prom-client's global one), so several apps in one process stay apart.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return {
      module: AppModule,
      imports: [
        // Only a process with the API creates or migrates the schema: workers started beside it must not race it.
        TypeOrmModule.forRoot(typeOrmOptions(config.database, config.production, { schema: roles.api })),
        BullModule.forRoot({ redis: redisUrl, prefix: config.bullPrefix }),
        WebhooksModule.forRoot({
          // Global, so the admin module can inject WebhooksService.
          isGlobal: true,
          worker: roles.worker,
          allowPrivateNetworks: config.allowPrivateNetworks,
          allowedNetworks: demoReceiverNetworks(config),
          allowHttp: config.allowHttp,
          encryptionKeys: config.encryptionKeys,
          requireEncryption: config.production,
          metrics: { registry },
          ...config.webhooks,
        }),
        TypeOrmModule.forFeature([Customer, Order, CustomerApiKey]),
        // The customers' own API (REST hooks): /api/me/webhook-endpoints, /api/me/deliveries, /api/me/event-types,
        // each limited to the customer whose API key authenticates the request.
        ...(roles.api
          ? [
              WebhooksApiModule.register<CustomerRequest>({
                path: 'api/me',
                guards: [CustomerKeyGuard],
                owner: (request) => (request.customerId === undefined ? null : String(request.customerId)),
                topics: CUSTOMER_TOPICS,
              }),
            ]
          : []),
        TerminusModule,
        ...(config.admin.enabled ? [adminModule(config.admin, config.production)] : []),
      ],
      controllers: [
        ...(roles.api
          ? [CustomersController, OrdersController, MeController, WebhookEndpointsController, DeliveriesController, EventTypesController]
          : []),
        HealthController,
        MetricsController,
        // The demo receiver verifies against the app's own secrets: a development aid, not for production.
        ...(config.production || !roles.api ? [] : [DemoReceiverController]),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }, { provide: METRICS_REGISTRY, useValue: registry }, ShopService, ApiTokenGuard],
    };
  }
}

/** The TypeORM options of the example (moved to database.ts, which the CLI loads without the app). */
export { typeOrmOptions } from './database.js';
