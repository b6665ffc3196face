/**
 * End-to-end benchmark: entity save -> outbox rows -> Bull -> signed axios POST -> attempt row.
 *
 *   npm run bench -- --db sqlite|postgres [--events 3000] [--concurrency 10]
 *
 * Prints save throughput without and with a subscribed endpoint (the outbox's cost on the write path), the
 * delivery throughput of one worker process, and commit-to-delivered latency. Traffic goes to 127.0.0.1 only.
 */
import 'reflect-metadata';
import { BullModule } from '@nestjs/bull';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BaseEntity, Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { WebhookDelivery, WebhookEntity, WebhooksModule, WebhooksService } from '../libs/webhooks/src/index.js';

@WebhookEntity({ name: 'order' })
@Entity({ name: 'bench_order' })
class BenchOrder extends BaseEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column({ type: 'varchar', length: 40 }) status: string;
  @Column({ type: 'decimal', precision: 12, scale: 2 }) total: string;
  @Column({ type: 'varchar', length: 200 }) note: string;
}

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    events: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '10' },
    'worker-concurrency': { type: 'string', default: '50' },
  },
});
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-bench-'));
  if (values.db === 'postgres') {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.end();
  }
  const receiver = fork(new URL('./receiver.js', import.meta.url), { stdio: 'inherit' });
  const { port } = await new Promise<{ port: number }>((resolve) => receiver.once('message', resolve as never));
  const ask = <T>(message: string) =>
    new Promise<T>((resolve) => {
      receiver.once('message', resolve as never);
      receiver.send(message);
    });

  const typeorm = TypeOrmModule.forRoot(
    values.db === 'postgres'
      ? {
          type: 'postgres',
          url: postgresUrl,
          schema,
          entities: [BenchOrder],
          autoLoadEntities: true,
          synchronize: true,
          extra: { max: 20 },
        }
      : {
          type: 'better-sqlite3',
          database: join(dir, 'bench.sqlite'),
          enableWAL: true,
          entities: [BenchOrder],
          autoLoadEntities: true,
          synchronize: true,
        },
  );
  const host = (worker: boolean) => {
    @Module({
      imports: [
        typeorm,
        BullModule.forRoot({ redis: redisUrl, prefix: schema }),
        WebhooksModule.forRoot({
          concurrency: Number(values['worker-concurrency']),
          relayIntervalMs: 0,
          worker,
          // The receiver is on 127.0.0.1; secrets encrypted as in production.
          allowHttp: true,
          allowPrivateNetworks: true,
          encryptionKeys: [{ id: 'bench', key: Buffer.alloc(32, 1).toString('base64') }],
        }),
      ],
    })
    class BenchModule {}
    return NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
  };

  // The producer: saves orders, never delivers.
  const app: INestApplicationContext = await host(false);
  const dataSource = app.get(DataSource);
  const deliveries = dataSource.getRepository(WebhookDelivery);
  const save = (i: number) => dataSource.getRepository(BenchOrder).save({ status: 'pending', total: `${i}.50`, note: 'x'.repeat(150) });
  const run = async (count: number) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) await save(next++);
      }),
    );
    return performance.now() - started;
  };
  const drained = async (expected: number) => {
    while ((await deliveries.countBy({ status: 'succeeded' })) < expected) await new Promise((r) => setTimeout(r, 20));
  };
  const perSec = (count: number, ms: number) => Math.round((count / ms) * 1000);

  await run(200); // warm-up, no endpoint
  const baseline = await run(EVENTS);
  await app.get(WebhooksService).createEndpoint({ url: `http://127.0.0.1:${port}/hooks`, topics: ['order.created'] });
  const withOutbox = await run(EVENTS);

  // A worker drains the backlog the producer left: the delivery rate on its own.
  const workerApp = await host(true);
  let started = performance.now();
  await drained(EVENTS);
  const drain = performance.now() - started;

  // Both at once: saves and deliveries share the process, as in a single-process deployment.
  await ask('reset');
  started = performance.now();
  const concurrentSaves = await run(EVENTS);
  await drained(2 * EVENTS);
  const total = performance.now() - started;
  const { latencies } = await ask<{ latencies: number[] }>('report');
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];

  console.log(
    JSON.stringify(
      {
        db: values.db,
        events: EVENTS,
        saveConcurrency: CONCURRENCY,
        workerConcurrency: Number(values['worker-concurrency']),
        savesPerSecNoEndpoint: perSec(EVENTS, baseline),
        savesPerSecWithOutbox: perSec(EVENTS, withOutbox),
        deliveriesPerSecDrainingBacklog: perSec(EVENTS, drain),
        concurrent: {
          savesPerSec: perSec(EVENTS, concurrentSaves),
          deliveredPerSecEndToEnd: perSec(EVENTS, total),
          commitToDeliveredMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies[latencies.length - 1] },
          received: latencies.length,
        },
      },
      null,
      2,
    ),
  );

  await workerApp.close();
  await app.close();
  receiver.send('stop');
  if (values.db === 'postgres') {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA "${schema}" CASCADE`);
    await client.end();
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
