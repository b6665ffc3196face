import { describe, expect, it } from 'vitest';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { endpointInput, endpointParams } from './endpoint-form.js';
import type { EndpointView } from '../webhooks.service.js';

describe('admin endpoint form -> service input', () => {
  it('collects topics in order, types booleans and numbers, and turns empty text into null', () => {
    expect(
      endpointInput({
        url: ' https://example.test/hook ',
        'topics.1': 'order.updated',
        'topics.0': 'order.created',
        'topics.2': ' ',
        active: 'false',
        timeoutMs: '2500',
        description: '',
        transform: '',
        headers: '{"X-Env": "prod"}',
        filters: '',
        id: 'ep_ignored',
        health: 'healthy',
      }),
    ).toEqual({
      url: 'https://example.test/hook',
      topics: ['order.created', 'order.updated'],
      active: false,
      timeoutMs: 2500,
      description: null,
      transform: null,
      headers: { 'X-Env': 'prod' },
      filters: null,
    });
  });

  it('sends an emptied topic list as [] and leaves missing fields out', () => {
    expect(endpointInput({ topics: '' })).toEqual({ topics: [] });
    expect(endpointInput({})).toEqual({});
  });

  it('leaves values that are not numbers or booleans for the service to reject with its message', () => {
    expect(endpointInput({ timeoutMs: 'soon', active: 'maybe' })).toEqual({ timeoutMs: 'soon', active: 'maybe' });
  });

  it('reports JSON that does not parse on its field', () => {
    try {
      endpointInput({ headers: '{"a":', retrySchedule: '[1,' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookValidationError);
      const fields = (error as WebhookValidationError).fieldErrors;
      expect(Object.keys(fields).sort()).toEqual(['headers', 'retrySchedule']);
      expect(fields.headers[0]).toMatch(/^headers is not valid JSON/);
    }
  });

  it('drops JSON fields left as shown when editing, so masked values are not sent back', () => {
    const current = { headers: '{\n  "authorization": "••••••"\n}', filters: null };
    expect(endpointInput({ headers: '{\n  "authorization": "••••••"\n}', filters: '' }, current)).toEqual({});
    expect(endpointInput({ headers: '{"authorization": "••••••", "x": "1"}' }, current)).toEqual({
      headers: { authorization: '••••••', x: '1' },
    });
  });
});

describe('admin endpoint record', () => {
  const health = { lastSuccessAt: null, lastFailureAt: null, recent: { succeeded: 0, failed: 0 }, successRate: null, state: 'untested' };
  const view = (delivery: Partial<NonNullable<EndpointView['delivery']>>) =>
    ({
      id: 'ep_1',
      health,
      delivery: {
        inFlight: 0,
        held: 0,
        circuit: 'closed',
        circuitRetryAt: null,
        circuitOpenedAt: null,
        pausedUntil: null,
        consecutiveUnreachable: 0,
        ...delivery,
      },
    }) as unknown as EndpointView;

  it('says in one line since when a circuit is open, when it probes, and what it holds', () => {
    const openedAt = new Date('2026-12-01T10:00:00.000Z');
    const retryAt = new Date('2026-12-01T10:05:00.000Z');
    const state = view({ circuit: 'open', held: 12, circuitOpenedAt: openedAt, circuitRetryAt: retryAt });
    const open = endpointParams(state, retryAt.getTime() - 1);
    expect(open.delivery).toBe('0 in flight, 12 held, circuit open since 2026-12-01T10:00:00.000Z (probe at 2026-12-01T10:05:00.000Z)');
    expect(open).toMatchObject({ circuit: 'open', held: 12, circuitRetryAt: retryAt });
    // Past its time, the probe waits (for a free slot, or a delivery to send): not "at" a time gone by.
    expect(endpointParams(state, retryAt.getTime()).delivery).toBe(
      '0 in flight, 12 held, circuit open since 2026-12-01T10:00:00.000Z (probe due since 2026-12-01T10:05:00.000Z)',
    );
    const probing = endpointParams(view({ circuit: 'half-open', inFlight: 1, circuitOpenedAt: openedAt }));
    expect(probing.delivery).toBe('1 in flight, circuit half-open since 2026-12-01T10:00:00.000Z (probing)');
    expect(endpointParams(view({})).delivery).toBe('0 in flight');
  });
});
