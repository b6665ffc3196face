import { BullModule } from '@nestjs/bull';
import { Logger, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { WebhookExtensions } from './extensions/extensions.js';
import { OAuth2Tokens } from './delivery/oauth2.js';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { DeliveryQueue } from './queue/delivery-queue.js';
import { DeliveryWorker } from './delivery/delivery.worker.js';
import { EndpointGate } from './delivery/endpoint-gate.js';
import { LeaseKeeper } from './delivery/lease-keeper.js';
import { WorkerFleet } from './delivery/worker-fleet.js';
import { AxiosWebhookHttpClient } from './http/axios-client.js';
import { WEBHOOK_HTTP_CLIENT } from './http/exchange.js';
import { EndpointCache } from './endpoints/endpoint-cache.js';
import { WEBHOOK_ENTITIES } from './entities/index.js';
import { EndpointHealth } from './endpoints/endpoint-health.js';
import { WebhooksHealthIndicator } from './health/webhooks.health.js';
import { OutboxRelay } from './outbox/outbox-relay.js';
import { OutboxService } from './outbox/outbox.service.js';
import { PayloadCache } from './payload/payload-cache.js';
import { EntityRegistry } from './registry/entity-registry.js';
import { OtherDataSources } from './registry/other-data-sources.js';
import { RetentionService } from './retention/retention.service.js';
import { EndpointSecrets } from './endpoints/endpoint-secrets.js';
import { NetworkPolicy } from './security/network-policy.js';
import { SecretCipher } from './security/secret-cipher.js';
import { WebhookStore } from './store/webhook-store.js';
import { WebhookSubscriber } from './subscriber/webhook.subscriber.js';
import { WEBHOOKS_OPTIONS, WEBHOOKS_QUEUE } from './webhooks.constants.js';
import { ConfigurableModuleClass, WEBHOOKS_MODULE_OPTIONS } from './webhooks.module-definition.js';
import { resolveOptions, type ResolvedWebhooksOptions, type WebhooksModuleOptions } from './webhooks.options.js';
import { WebhooksService } from './webhooks.service.js';
import { CustomEvents } from './outbox/custom-events.js';
import { DeliveriesService } from './management/deliveries.service.js';
import { EndpointsService } from './management/endpoints.service.js';
import { EndpointViews } from './management/views.js';
import { MetricsGauges } from './health/metrics-gauges.js';
import { WebhookMetrics } from './metrics/webhook-metrics.js';

/**
 * Outgoing webhooks for TypeORM entities. The host app owns `TypeOrmModule.forRoot()` and `BullModule.forRoot()`;
 * this module registers its entities (`forFeature`) and its queue (`registerQueue`) on them.
 *
 * ```ts
 * WebhooksModule.forRoot({ retrySchedule: [5000, 60000] })
 * WebhooksModule.forRootAsync({ useFactory: (config: ConfigService) => ({ ... }), inject: [ConfigService] })
 * ```
 */
@Module({
  imports: [TypeOrmModule.forFeature(WEBHOOK_ENTITIES), BullModule.registerQueue({ name: WEBHOOKS_QUEUE }), DiscoveryModule],
  providers: [
    WebhookExtensions,
    OtherDataSources,
    {
      provide: WEBHOOKS_OPTIONS,
      useFactory: (options: WebhooksModuleOptions) => resolveOptions(options),
      inject: [WEBHOOKS_MODULE_OPTIONS],
    },
    {
      provide: EntityRegistry,
      useFactory: (dataSource: DataSource, options: ResolvedWebhooksOptions) => EntityRegistry.fromDataSource(dataSource, options),
      inject: [getDataSourceToken(), WEBHOOKS_OPTIONS],
    },
    {
      provide: SecretCipher,
      useFactory: (options: ResolvedWebhooksOptions) => {
        const cipher = new SecretCipher(options.encryptionKeys);
        if (!cipher.enabled) {
          new Logger('Webhooks').warn(
            'No encryptionKeys configured: endpoint secrets and custom headers are stored unencrypted (development only).',
          );
        }
        return cipher;
      },
      inject: [WEBHOOKS_OPTIONS],
    },
    {
      provide: NetworkPolicy,
      useFactory: (options: ResolvedWebhooksOptions) =>
        new NetworkPolicy({ allowPrivateNetworks: options.allowPrivateNetworks, allowedNetworks: options.allowedNetworks }),
      inject: [WEBHOOKS_OPTIONS],
    },
    { provide: WEBHOOK_HTTP_CLIENT, useClass: AxiosWebhookHttpClient },
    {
      provide: WebhookMetrics,
      useFactory: (options: ResolvedWebhooksOptions) => WebhookMetrics.create(options.metrics),
      inject: [WEBHOOKS_OPTIONS],
    },
    MetricsGauges,
    EndpointSecrets,
    EndpointCache,
    DeliveryQueue,
    EndpointGate,
    WorkerFleet,
    LeaseKeeper,
    OutboxService,
    PayloadCache,
    WebhookStore,
    WebhookSubscriber,
    DeliveryWorker,
    OutboxRelay,
    OAuth2Tokens,
    CustomEvents,
    EndpointViews,
    EndpointsService,
    DeliveriesService,
    WebhooksService,
    WebhooksHealthIndicator,
    EndpointHealth,
    RetentionService,
  ],
  exports: [WebhooksService, WebhooksHealthIndicator, OutboxRelay, RetentionService, NetworkPolicy, WEBHOOKS_OPTIONS],
})
export class WebhooksModule extends ConfigurableModuleClass {}
