import { describe, expect, it } from 'vitest';
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../entities/index.js';
import { deliveryViews, endpointView } from './views.js';

const at = new Date('2026-12-01T00:00:00Z');

function endpointRow(overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: 'ep_1',
    url: 'https://hooks.example/in',
    description: null,
    topics: ['order.*'],
    active: true,
    retrySchedule: null,
    timeoutMs: null,
    maxInFlight: null,
    rateLimit: null,
    headers: null,
    filters: null,
    method: 'POST',
    fields: null,
    transform: null,
    headerProvider: null,
    auth: null,
    consecutiveFailures: 0,
    lastSuccessAt: at,
    lastFailureAt: null,
    failingSince: null,
    disabledAt: null,
    disabledReason: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  } as WebhookEndpoint;
}

describe('endpointView', () => {
  it('computes the success rate over recent outcomes, null when none finished', () => {
    const opened = () => null;
    expect(endpointView(endpointRow(), opened, { succeeded: 3, failed: 1 }).health).toMatchObject({
      state: 'healthy',
      successRate: 0.75,
      recent: { succeeded: 3, failed: 1 },
    });
    expect(endpointView(endpointRow(), opened).health).toMatchObject({ successRate: null, recent: { succeeded: 0, failed: 0 } });
  });

  it('opens the encrypted fields and masks sensitive header values and the client secret', () => {
    const row = endpointRow({ headers: 'enc:v1:headers' as never, auth: 'enc:v1:auth' as never });
    const auth = { type: 'oauth2' as const, tokenUrl: 'https://auth.example/token', clientId: 'id', clientSecret: 'very secret' };
    const opened: Record<string, unknown> = { 'enc:v1:headers': { 'x-api-key': 'k', 'x-region': 'eu' }, 'enc:v1:auth': auth };
    const view = endpointView(row, (_field, stored) => opened[stored as string]);
    expect(view.headers).toEqual({ 'x-api-key': '••••••', 'x-region': 'eu' });
    expect(view.auth).toEqual({ ...auth, clientSecret: '••••••' });
    expect(view.delivery).toBeNull(); // Redis did not answer: the view still loads
    expect(JSON.stringify(view)).not.toContain('very secret');
  });

  it('a disabled endpoint is disabled whatever its counters', () => {
    const row = endpointRow({ active: false, disabledAt: at, disabledReason: 'Disabled by an operator.' });
    expect(endpointView(row, () => null).health).toMatchObject({
      state: 'disabled',
      disabledReason: 'Disabled by an operator.',
    });
  });
});

describe('deliveryViews', () => {
  it('puts each attempt under its delivery, keeping the given order, and gives deliveries without attempts an empty list', () => {
    const delivery = (id: string) =>
      ({
        id,
        eventId: 'evt_1',
        endpointId: 'ep_1',
        topic: 'order.created',
        status: 'failed',
        attemptCount: 2,
        createdAt: at,
        updatedAt: at,
      }) as WebhookDelivery;
    const attempt = (id: string, deliveryId: string, attemptNumber: number) =>
      ({ id, deliveryId, attemptNumber, trigger: 'scheduled', requestUrl: '', durationMs: 1, createdAt: at }) as WebhookAttempt;
    const views = deliveryViews([delivery('dlv_a'), delivery('dlv_b')], [attempt('att_1', 'dlv_a', 1), attempt('att_2', 'dlv_a', 2)]);
    expect(views.map((v) => [v.id, v.attempts.map((a) => [a.id, a.attemptNumber])])).toEqual([
      [
        'dlv_a',
        [
          ['att_1', 1],
          ['att_2', 2],
        ],
      ],
      ['dlv_b', []],
    ]);
  });
});
