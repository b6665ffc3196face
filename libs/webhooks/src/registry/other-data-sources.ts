import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { getWebhookEntityOptions } from '../decorators/webhook-entity.decorator.js';

/**
 * Warns at start-up about `@WebhookEntity` classes that only another DataSource of the app holds: the module
 * watches one DataSource (the default one), so their changes would send nothing, without a word.
 */
@Injectable()
export class OtherDataSources implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly discovery: DiscoveryService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    const seen = new Set<DataSource>([this.dataSource]);
    for (const { instance } of this.discovery.getProviders()) {
      if (!(instance instanceof DataSource) || seen.has(instance)) continue;
      seen.add(instance);
      for (const metadata of instance.entityMetadatas) {
        const target = metadata.target;
        if (typeof target !== 'function' || !getWebhookEntityOptions(target) || this.dataSource.hasMetadata(target)) continue;
        this.logger.warn(
          `@WebhookEntity ${target.name} is an entity of the DataSource "${nameOf(instance)}", which WebhooksModule does not ` +
            `watch (it uses "${nameOf(this.dataSource)}"): its changes send no webhook events. Register it with that DataSource, ` +
            `or send its events with emit().`,
        );
      }
    }
  }
}

/** The name the host gave a DataSource (`TypeOrmModule.forRoot({ name })`); "default" without one. */
function nameOf(dataSource: DataSource): string {
  return (dataSource.options as { name?: string }).name ?? 'default';
}
