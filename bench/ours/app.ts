/**
 * Ours as deployed: a Nest application context with WebhooksModule configured as in production (encrypted
 * secrets, signing, network policy limited to the receiver's address, relay and cache timers at their defaults).
 * The API process runs it with `worker: false`, each worker process with `worker: true`.
 */
import { Registry } from 'prom-client';
import 'reflect-metadata';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { Column, Entity } from 'typeorm';
import { WebhookEntity, WebhooksModule, WEBHOOKS_QUEUE } from '../../libs/webhooks/src/index.js';
import { connectionOptions, OrderColumns, type ProcessConfig } from '../lib/config.js';

@WebhookEntity({ name: 'order' })
@Entity({ name: 'bench_order' })
export class BenchOrder extends OrderColumns {}

/** The owners scenario's order (in place of BenchOrder): the same columns and topic, plus its owner. */
@WebhookEntity({ name: 'order', owner: (order: BenchOwnedOrder) => order.ownerId })
@Entity({ name: 'bench_order' })
export class BenchOwnedOrder extends OrderColumns {
  @Column({ type: 'varchar', length: 200 }) ownerId: string;
}

/** How often a process with metrics on is scraped, as a Prometheus server commonly does (gauges query then). */
const SCRAPE_EVERY_MS = 15_000;

export async function createOursApp(config: ProcessConfig, worker: boolean): Promise<INestApplicationContext> {
  const registry = config.metrics ? new Registry() : undefined;
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...connectionOptions(config.db, config.name),
        entities: [config.owners ? BenchOwnedOrder : BenchOrder],
        autoLoadEntities: true,
        // The API process starts first and creates the tables; workers must not race it.
        synchronize: !worker,
      }),
      BullModule.forRoot({ redis: config.redisUrl, prefix: config.prefix }),
      WebhooksModule.forRoot({
        worker,
        concurrency: config.concurrency,
        allowHttp: true,
        allowedNetworks: ['127.0.0.1/32'],
        encryptionKeys: [{ id: 'bench', key: config.encryptionKey }],
        // BENCH_MAX_IN_FLIGHT sets the per-endpoint cap (default: the library's), to see the gate with and without holds.
        ...(process.env.BENCH_MAX_IN_FLIGHT ? { maxInFlightPerEndpoint: Number(process.env.BENCH_MAX_IN_FLIGHT) } : {}),
        // The ours-metrics pipeline turns the Prometheus metrics on, a registry of this process.
        ...(registry ? { metrics: { registry } } : {}),
      }),
    ],
  })
  class OursModule {}
  const app = await NestFactory.createApplicationContext(OursModule, { logger: ['error', 'warn'] });
  if (registry) setInterval(() => void registry.metrics().catch(() => undefined), SCRAPE_EVERY_MS).unref();
  return app;
}

export function oursQueue(app: INestApplicationContext): Queue {
  return app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
}
