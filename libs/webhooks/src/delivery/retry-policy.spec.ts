import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, decide, isSuccess, retryAfterMs, retryDelay, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { schedule: [5_000, 300_000], jitter: 0, retryClientErrors: false };
const answer = (status: number | null, headers: Record<string, string> = {}) => ({
  status,
  headers,
  error: status === null ? 'ECONNRESET: socket hang up' : null,
});

describe('retry schedule', () => {
  it('follows the schedule and stops at its end', () => {
    expect(retryDelay(1, policy.schedule, 0)).toBe(5_000);
    expect(retryDelay(2, policy.schedule, 0)).toBe(300_000);
    expect(retryDelay(3, policy.schedule, 0)).toBeNull();
  });

  it('spreads each delay over ±jitter', () => {
    expect(retryDelay(1, policy.schedule, 0.2, () => 0)).toBe(4_000);
    expect(retryDelay(1, policy.schedule, 0.2, () => 0.5)).toBe(5_000);
    expect(retryDelay(1, policy.schedule, 0.2, () => 0.999999)).toBe(6_000);
  });

  it('counts only 2xx as success', () => {
    expect([200, 201, 204, 299].every(isSuccess)).toBe(true);
    expect([null, 199, 300, 301, 404, 500].some(isSuccess)).toBe(false);
  });
});

describe('decide', () => {
  it.each([500, 502, 503, 504, 408, 425, 429, null])('retries %s on the schedule', (status) => {
    expect(decide(answer(status), 1, policy)).toMatchObject({ action: 'retry', delayMs: 5_000 });
  });

  it.each([400, 401, 403, 404, 422])('fails %s without retry', (status) => {
    expect(decide(answer(status), 1, policy)).toEqual({ action: 'fail', reason: `HTTP ${status}: not retried` });
  });

  it('retries other 4xx when retryClientErrors is on', () => {
    expect(decide(answer(404), 1, { ...policy, retryClientErrors: true })).toMatchObject({ action: 'retry' });
  });

  it('fails a redirect and names where it pointed', () => {
    expect(decide(answer(301, { location: 'https://elsewhere.example/' }), 1, policy)).toEqual({
      action: 'fail',
      reason: 'HTTP 301: redirects are not followed (Location: https://elsewhere.example/)',
    });
  });

  it('disables on 410 Gone', () => {
    expect(decide(answer(410), 1, policy).action).toBe('disable');
  });

  it('gives up after the last scheduled retry', () => {
    expect(decide(answer(500), 3, policy)).toEqual({ action: 'fail', reason: 'HTTP 500; gave up after 3 attempts' });
  });

  it('honours Retry-After on 429 and 503, clamped to [scheduled delay, 24 h]', () => {
    expect(decide(answer(429, { 'retry-after': '120' }), 1, policy)).toMatchObject({ delayMs: 120_000 });
    expect(decide(answer(503, { 'retry-after': '1' }), 1, policy)).toMatchObject({ delayMs: 5_000 });
    expect(decide(answer(429, { 'retry-after': String(3 * 86_400) }), 1, policy)).toMatchObject({ delayMs: MAX_RETRY_AFTER_MS });
    // Only 429 and 503 carry the meaning.
    expect(decide(answer(500, { 'retry-after': '120' }), 1, policy)).toMatchObject({ delayMs: 5_000 });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 24 Nov 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});
