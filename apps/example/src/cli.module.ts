import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhooksModule } from 'nestjs-outgoing-webhooks';
import { WebhooksCliModule, type WebhooksCliSettings } from 'nestjs-outgoing-webhooks/cli';
import type { AppConfig } from './config.js';
import { typeOrmOptions } from './database.js';
import { CustomerApiKey } from './shop/api-key.entity.js';
import { Customer } from './shop/customer.entity.js';
import { Order } from './shop/order.entity.js';

/**
 * The example's command line (`npm run cli -- <command>`): the app's database, Redis and webhook options, its
 * entities (so the topics are the app's), and the library's commands; no HTTP server, no admin. `cli` adapts the
 * process to its command: no worker (the app's workers deliver), except for perf; only the database for migrate.
 */
@Module({})
export class CliModule {
  static register(config: AppConfig, redisUrl: string | undefined, cli: WebhooksCliSettings): DynamicModule {
    if (cli.migrate) {
      // migrate: the database only, with the migrations listed (the tables may not exist yet).
      return {
        module: CliModule,
        imports: [
          TypeOrmModule.forRoot({ ...typeOrmOptions(config.database, config.production, { migrate: true }), retryAttempts: 0 }),
          WebhooksCliModule.register(cli.module),
        ],
      };
    }
    if (redisUrl === undefined) throw new Error(`The ${cli.command ?? 'webhooks'} command needs Redis.`);
    return {
      module: CliModule,
      imports: [
        // One connection attempt: a command fails at once when the database does not answer.
        TypeOrmModule.forRoot({ ...typeOrmOptions(config.database, config.production), retryAttempts: 0 }),
        BullModule.forRoot({ redis: redisUrl, prefix: cli.bullPrefix(config.bullPrefix) }),
        WebhooksModule.forRoot({
          allowPrivateNetworks: config.allowPrivateNetworks,
          allowHttp: config.allowHttp,
          encryptionKeys: config.encryptionKeys,
          requireEncryption: config.production,
          ...config.webhooks,
          ...cli.webhooks,
        }),
        TypeOrmModule.forFeature([Customer, Order, CustomerApiKey]),
        WebhooksCliModule.register(cli.module),
      ],
    };
  }
}
