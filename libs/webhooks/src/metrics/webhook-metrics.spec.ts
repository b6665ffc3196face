import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../webhooks.options.js';
import { WebhookMetrics } from './webhook-metrics.js';

describe('WebhookMetrics', () => {
  it('is a no-op without the option', async () => {
    const metrics = await WebhookMetrics.create(resolveOptions({}).metrics);
    expect(metrics.enabled).toBe(false);
    metrics.eventsRecorded('order.created');
    metrics.attempt('ep_1', true, 200, 12);
    metrics.gauge('x', 'x', [], async () => [[{}, 1]]);
  });

  it('leaves a gauge empty for a scrape whose reading fails, and reads it again on the next', async () => {
    const registry = new Registry();
    const metrics = await WebhookMetrics.create(resolveOptions({ metrics: { registry } }).metrics);
    let fail = true;
    metrics.gauge('outbox_pending', 'help', ['status'], async () => {
      if (fail) throw new Error('database away');
      return [[{ status: 'pending' }, 3]];
    });
    expect(await registry.metrics()).not.toMatch(/^webhooks_outbox_pending\{/m);
    fail = false;
    expect(await registry.metrics()).toMatch(/^webhooks_outbox_pending\{status="pending"\} 3$/m);
    metrics.unregister();
    expect(await registry.metrics()).not.toContain('webhooks_');
  });

  it('replaces the metrics of an earlier instance on the same registry', async () => {
    const registry = new Registry();
    const first = await WebhookMetrics.create(resolveOptions({ metrics: { registry } }).metrics);
    first.eventsRecorded('order.created', 5);
    const second = await WebhookMetrics.create(resolveOptions({ metrics: { registry } }).metrics);
    second.eventsRecorded('order.created');
    expect(await registry.metrics()).toMatch(/^webhooks_events_recorded_total\{topic="order.created"\} 1$/m);
  });

  it('refuses bad options at start-up', () => {
    expect(() => resolveOptions({ metrics: { registry: {} as never } })).toThrow(/metrics.registry must be a prom-client Registry/);
    expect(() => resolveOptions({ metrics: { prefix: 'my-app' } })).toThrow(/metrics.prefix/);
    expect(() => resolveOptions({ metrics: 'yes' as never })).toThrow(/metrics must be/);
    expect(resolveOptions({ metrics: { prefix: 'shop_', endpointLabel: true } }).metrics).toMatchObject({
      prefix: 'shop_webhooks_',
      endpointLabel: true,
    });
  });
});
