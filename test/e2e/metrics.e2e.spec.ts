import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../../apps/example/src/shop/order.entity.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { API_TOKEN, dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { waitUntil } from '../support/wait.js';

/** One sample line of the text exposition: `name{a="b",...} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`Not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of one series (0 when it does not exist). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}

describe.each(databaseKinds())('Prometheus metrics (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  let customerId: number;
  const receivers: Receiver[] = [];

  const scrape = async () => {
    const response = await fetch(`${example.baseUrl}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parse(await response.text());
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db);
    customerId = (await example.api('POST', '/api/customers', { name: 'Acme', email: 'acme@example.com' })).body.id;
  });
  afterEach(async () => {
    for (const e of (await example.api('GET', '/api/webhook-endpoints')).body)
      await example.api('DELETE', `/api/webhook-endpoints/${e.id}`);
  });
  afterAll(async () => {
    await example?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('serves /metrics to the operator only', async () => {
    expect((await fetch(`${example.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${example.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const samples = await scrape();
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(value(samples, 'webhooks_endpoints', { state: 'healthy' })).toBe(0);
  });

  it('counts committed events, attempts by outcome and status class, deliveries and their latency', async () => {
    const before = await scrape();
    const rx = await Receiver.start();
    receivers.push(rx);
    rx.replies = [503];
    const { ep } = await example.receiverEndpoint({ url: rx.url, topics: ['order.created'] });

    // One order delivered after a retry; one in a transaction that rolls back: never counted.
    expect((await example.api('POST', '/api/orders', { customerId, total: '1.00', status: 'pending' })).status).toBe(201);
    const dataSource = example.app.get(DataSource);
    await dataSource
      .transaction(async (manager) => {
        await manager.save(manager.create(Order, { customerId, total: '2.00', status: 'pending' }));
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await rx.waitFor(2);
    await waitUntil(async () => {
      const list = (await example.api('GET', `/api/webhook-endpoints/${ep.id}/deliveries`)).body;
      return list[0]?.status === 'succeeded' ? true : undefined;
    }, 'the delivery to succeed');

    const after = await waitUntil(async () => {
      const samples = await scrape();
      // The endpoint's health row is written just after the counter goes up: wait for both.
      return value(samples, 'webhooks_deliveries_total', { outcome: 'succeeded' }) >
        value(before, 'webhooks_deliveries_total', { outcome: 'succeeded' }) &&
        value(samples, 'webhooks_endpoints', { state: 'healthy' }) === 1
        ? samples
        : undefined;
    }, 'the delivery to be counted and its endpoint healthy');
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('webhooks_events_recorded_total', { topic: 'order.created' })).toBe(1);
    expect(delta('webhooks_attempts_total', { outcome: 'failed', status_class: '5xx' })).toBe(1);
    expect(delta('webhooks_attempts_total', { outcome: 'succeeded', status_class: '2xx' })).toBe(1);
    expect(delta('webhooks_deliveries_total', { outcome: 'succeeded' })).toBe(1);
    expect(delta('webhooks_deliveries_total', { outcome: 'failed' })).toBe(0);
    expect(delta('webhooks_attempt_duration_seconds_count')).toBe(2);
    expect(delta('webhooks_commit_to_delivery_seconds_count')).toBe(1);
    // The retry waited at least its 100 ms: the delivery is in no bucket below 0.1 s.
    expect(value(after, 'webhooks_commit_to_delivery_seconds_bucket', { le: '0.05' })).toBe(
      value(before, 'webhooks_commit_to_delivery_seconds_bucket', { le: '0.05' }),
    );
    // No per-endpoint label unless asked for.
    expect(after.filter((s) => s.name.startsWith('webhooks_')).every((s) => !('endpoint' in s.labels))).toBe(true);
    // Gauges read at scrape time.
    expect(value(after, 'webhooks_endpoints', { state: 'healthy' })).toBe(1);
    expect(value(after, 'webhooks_outbox_pending', { status: 'pending' })).toBe(0);
    expect(after.some((s) => s.name === 'webhooks_queue_jobs' && s.labels.state === 'waiting')).toBe(true);
  });

  it('counts a final failure as failed, outside the latency histogram', async () => {
    const before = await scrape();
    const rx = await Receiver.start();
    receivers.push(rx);
    rx.fallback = 400; // a client error: final at once
    await example.receiverEndpoint({ url: rx.url, topics: ['order.created'] });
    expect((await example.api('POST', '/api/orders', { customerId, total: '3.00', status: 'pending' })).status).toBe(201);
    const after = await waitUntil(async () => {
      const samples = await scrape();
      return value(samples, 'webhooks_deliveries_total', { outcome: 'failed' }) >
        value(before, 'webhooks_deliveries_total', { outcome: 'failed' })
        ? samples
        : undefined;
    }, 'the failure to be counted');
    expect(value(after, 'webhooks_attempts_total', { outcome: 'failed', status_class: '4xx' })).toBe(
      value(before, 'webhooks_attempts_total', { outcome: 'failed', status_class: '4xx' }) + 1,
    );
    expect(value(after, 'webhooks_commit_to_delivery_seconds_count')).toBe(value(before, 'webhooks_commit_to_delivery_seconds_count'));
  });
});

describe('Prometheus metrics with an endpoint label and a prefix, on a registry of the host', () => {
  let db: TestDatabase;
  let example: RunningExample | undefined;
  let bullPrefix = '';
  const registry = new Registry();

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    example = await startExample(db, { webhooks: { metrics: { registry, endpointLabel: true, prefix: 'shop_' } } });
    bullPrefix = example.bullPrefix;
  });
  afterAll(async () => {
    await example?.close();
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('labels deliveries and attempts with the endpoint, and leaves the registry when the app closes', async () => {
    if (!example) throw new Error('no app');
    const customerId = (await example.api('POST', '/api/customers', { name: 'Bo', email: 'bo@example.com' })).body.id;
    const { rx, ep } = await example.receiverEndpoint();
    expect((await example.api('POST', '/api/orders', { customerId, total: '1.00', status: 'pending' })).status).toBe(201);
    await rx.waitFor(1);
    const samples = await waitUntil(async () => {
      const parsed = parse(await registry.metrics());
      return value(parsed, 'shop_webhooks_deliveries_total', { outcome: 'succeeded', endpoint: ep.id }) === 1 ? parsed : undefined;
    }, 'the labelled delivery');
    expect(value(samples, 'shop_webhooks_attempts_total', { endpoint: ep.id, status_class: '2xx' })).toBe(1);
    expect(value(samples, 'shop_webhooks_events_recorded_total', { topic: 'order.created' })).toBe(1);
    expect(samples.some((s) => s.name.startsWith('webhooks_'))).toBe(false);

    await example.close();
    example = undefined;
    expect(registry.getMetricsAsArray().filter((m) => m.name.startsWith('shop_webhooks_'))).toEqual([]);
  });
});
