/**
 * Admin read-path benchmark: the dashboard and the first pages of the admin lists over a large log.
 *
 *   npm run bench:admin -- --db sqlite|postgres [--endpoints 1000] [--attempts 100000] [--runs 15]
 *
 * Seeds endpoints (healthy, warning, critical, disabled), events, deliveries (two attempts each) and attempts,
 * half of them in the last hour, then times what the admin runs per page view in this process: the dashboard's
 * aggregates (`WebhooksService.overview()`), the endpoint list (with success rates), an endpoint's page (recent
 * deliveries), and the delivery and attempt lists with filters. Prints the median and the slowest run of each.
 * No network traffic other than PostgreSQL and Redis on 127.0.0.1.
 */
import 'reflect-metadata';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Filter } from 'adminjs';
import {
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEvent,
  WebhooksModule,
  WebhooksService,
} from '../libs/webhooks/src/index.js';
import { BoundTypeormResource, WebhookEndpointResource } from '../libs/webhooks/src/admin/index.js';
import { newId } from '../libs/webhooks/src/ids.js';
import type { EntityTarget } from 'typeorm';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    endpoints: { type: 'string', default: '1000' },
    attempts: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '15' },
  },
});
const ENDPOINTS = Number(values.endpoints);
const ATTEMPTS = Number(values.attempts);
const RUNS = Number(values.runs);
const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  const schema = `bench_admin_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-bench-admin-'));
  const pg = values.db === 'postgres' ? (await import('pg')).default : undefined;
  if (pg) await withPg(pg, (c) => c.query(`CREATE SCHEMA "${schema}"`));

  @Module({
    imports: [
      TypeOrmModule.forRoot(
        values.db === 'postgres'
          ? { type: 'postgres', url: postgresUrl, schema, autoLoadEntities: true, synchronize: true }
          : { type: 'better-sqlite3', database: join(dir, 'bench.sqlite'), enableWAL: true, autoLoadEntities: true, synchronize: true },
      ),
      BullModule.forRoot({ redis: redisUrl, prefix: schema }),
      WebhooksModule.forRoot({ worker: false, relayIntervalMs: 0, allowHttp: true, allowPrivateNetworks: true, topics: ['order.created'] }),
    ],
  })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
  try {
    const webhooks = app.get(WebhooksService);
    const seeded = performance.now();
    const ids = await seed(webhooks);
    console.log(
      `seeded ${ENDPOINTS} endpoints, ${ATTEMPTS / 2} deliveries, ${ATTEMPTS} attempts in ${((performance.now() - seeded) / 1000).toFixed(1)} s (${values.db})`,
    );

    const endpoints = new WebhookEndpointResource(webhooks);
    const deliveries = new BoundTypeormResource(WebhookDelivery, webhooks.dataSource, { exact: ['status'] });
    const attempts = new BoundTypeormResource(WebhookAttempt, webhooks.dataSource, { omitInList: ['responseBody', 'responseHeaders'] });
    const list = async (resource: any, filters: Record<string, unknown>, perPage: number) => {
      const filter = new Filter(filters, resource);
      await Promise.all([
        resource.find(filter, { limit: perPage, offset: 0, sort: { sortBy: 'id', direction: 'desc' } }),
        resource.count(filter),
      ]);
    };
    const since = new Date(Date.now() - 30 * 60_000).toISOString();
    const cases: [string, () => Promise<unknown>][] = [
      ['dashboard (overview aggregates)', () => webhooks.overview()],
      ['endpoint list, 10 per page, with success rates', () => list(endpoints, {}, 10)],
      ['endpoint list, 100 per page', () => list(endpoints, {}, 100)],
      ['endpoint list filtered by health=critical', () => list(endpoints, { health: 'critical' }, 10)],
      [
        'endpoint page (view + 20 recent deliveries)',
        async () => {
          await endpoints.findOne(ids[0]);
          await webhooks.listDeliveries(ids[0], { limit: 20 });
        },
      ],
      ['delivery list, 10 per page', () => list(deliveries, {}, 10)],
      ['delivery list by endpoint and status=failed', () => list(deliveries, { endpointId: ids[1], status: 'failed' }, 10)],
      ['delivery list by createdAt from 30 min ago', () => list(deliveries, { 'createdAt~~from': since }, 10)],
      ['attempt list, 10 per page', () => list(attempts, {}, 10)],
    ];
    console.log(`\n${'case'.padEnd(52)} ${'median'.padStart(9)} ${'slowest'.padStart(9)}`);
    for (const [name, run] of cases) {
      await run(); // warm the statement caches
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      console.log(`${name.padEnd(52)} ${ms(times[Math.floor(times.length / 2)])} ${ms(times[times.length - 1])}`);
    }
    const overview = await webhooks.overview();
    const charted = overview.attemptsPerMinute.reduce((n, m) => n + m.succeeded + m.failed, 0);
    console.log(
      `\ndashboard check: ${JSON.stringify(overview.endpoints)}, ${overview.failingTotal} failing, ${charted} attempts charted in the last hour`,
    );
  } finally {
    await app.close();
    if (pg) await withPg(pg, (c) => c.query(`DROP SCHEMA "${schema}" CASCADE`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the rows with multi-row inserts. Returns the endpoint ids. */
async function seed(webhooks: WebhooksService): Promise<string[]> {
  const ds = webhooks.dataSource;
  const now = Date.now();
  const insert = async (entity: EntityTarget<object>, rows: object[]) => {
    for (let i = 0; i < rows.length; i += 500) {
      await ds
        .createQueryBuilder()
        .insert()
        .into(entity)
        .values(rows.slice(i, i + 500) as never)
        .updateEntity(false)
        .callListeners(false)
        .execute();
    }
  };
  const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => {
    const kind = i % 10; // 6 healthy, 2 warning, 1 critical, 1 disabled in every 10
    const failures = kind === 6 || kind === 7 ? 2 : kind === 8 ? 9 : 0;
    return {
      id: newId('ep', now - i),
      url: `https://receiver-${i}.example.test/hooks`,
      topics: ['order.created'],
      active: kind !== 9,
      consecutiveFailures: failures,
      lastSuccessAt: new Date(now - 3_600_000),
      lastFailureAt: failures ? new Date(now - 60_000) : null,
      failingSince: failures ? new Date(now - 600_000) : null,
      method: 'POST',
      createdAt: new Date(now - i * 1000),
      updatedAt: new Date(now - i * 1000),
    };
  });
  await insert(WebhookEndpoint, endpoints);
  const deliveriesPerEvent = 10;
  const deliveryCount = ATTEMPTS / 2;
  const eventCount = Math.ceil(deliveryCount / deliveriesPerEvent);
  const payload = JSON.stringify({ type: 'order.created', data: { id: 1, total: '9.99', status: 'paid' } });
  const events = Array.from({ length: eventCount }, (_, i) => ({
    id: newId('evt', now - 7_200_000 + i),
    topic: 'order.created',
    entityName: 'order',
    entityId: String(i),
    payload,
    createdAt: new Date(now - 7_200_000 + (i * 7_200_000) / eventCount),
  }));
  await insert(WebhookEvent, events);
  const deliveries: object[] = [];
  const attempts: object[] = [];
  for (let d = 0; d < deliveryCount; d++) {
    const event = events[Math.floor(d / deliveriesPerEvent)];
    const endpoint = endpoints[d % ENDPOINTS];
    const failed = endpoint.consecutiveFailures > 0 && d % 3 === 0;
    const id = newId('dlv', now - 7_200_000 + d);
    const at = event.createdAt;
    deliveries.push({
      id,
      eventId: event.id,
      endpointId: endpoint.id,
      topic: event.topic,
      status: failed ? 'failed' : 'succeeded',
      attemptCount: 2,
      lastResponseStatus: failed ? 503 : 200,
      lastError: failed ? 'HTTP 503' : null,
      createdAt: at,
      updatedAt: at,
    });
    for (let n = 1; n <= 2; n++) {
      const attemptAt = new Date(at.getTime() + n * 1000);
      attempts.push({
        id: newId('att', attemptAt.getTime()),
        deliveryId: id,
        attemptNumber: n,
        trigger: 'scheduled',
        requestUrl: endpoint.url,
        responseStatus: n === 1 || failed ? 503 : 200,
        responseBody: n === 1 || failed ? '{"error":"unavailable"}' : '{"ok":true}',
        durationMs: 20 + (d % 50),
        error: n === 1 || failed ? 'HTTP 503' : null,
        createdAt: attemptAt,
      });
    }
  }
  await insert(WebhookDelivery, deliveries);
  await insert(WebhookAttempt, attempts);
  return endpoints.map((e) => e.id);
}

async function withPg(pg: typeof import('pg').default, run: (c: import('pg').Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);

await main();
