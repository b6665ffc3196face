import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { WEBHOOK_MIGRATIONS, WebhooksModule } from 'nestjs-outgoing-webhooks';
import { CreateNote1764000000100 } from './create-note.migration.js';
import { Note } from './note.entity.js';

export interface ConsumerConfig {
  /** `sqlite:<path>` (synchronize) or `postgres://...` (the library's migrations, no synchronize). */
  databaseUrl: string;
  redisUrl: string;
  bullPrefix: string;
}

export function typeOrmOptions(config: ConsumerConfig): TypeOrmModuleOptions {
  if (config.databaseUrl.startsWith('sqlite:')) {
    return { type: 'better-sqlite3', database: config.databaseUrl.slice('sqlite:'.length), autoLoadEntities: true, synchronize: true };
  }
  const url = new URL(config.databaseUrl);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return {
    type: 'postgres',
    url: url.toString(),
    schema,
    autoLoadEntities: true,
    synchronize: false,
    migrations: [...WEBHOOK_MIGRATIONS, CreateNote1764000000100],
    migrationsRun: true,
  };
}

@Module({})
export class AppModule {
  static register(config: ConsumerConfig, imports: DynamicModule[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(typeOrmOptions(config)),
        TypeOrmModule.forFeature([Note]),
        BullModule.forRoot({ redis: config.redisUrl, prefix: config.bullPrefix }),
        // The receiver runs on this machine's loopback address: allow exactly that network.
        WebhooksModule.forRoot({ isGlobal: true, allowHttp: true, allowedNetworks: ['127.0.0.1/32'], relayIntervalMs: 1000 }),
        ...imports,
      ],
    };
  }
}

export function configFromEnv(): ConsumerConfig {
  const need = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  return { databaseUrl: need('DATABASE_URL'), redisUrl: need('REDIS_URL'), bullPrefix: need('BULL_PREFIX') };
}
