import { describe, expect, it } from 'vitest';
import { isSuccess, retryDelay } from './retry-policy.js';

describe('retry policy', () => {
  const schedule = [5_000, 300_000];

  it('follows the schedule and stops at its end', () => {
    expect(retryDelay(1, schedule, 0)).toBe(5_000);
    expect(retryDelay(2, schedule, 0)).toBe(300_000);
    expect(retryDelay(3, schedule, 0)).toBeNull();
  });

  it('spreads each delay over ±jitter', () => {
    expect(retryDelay(1, schedule, 0.2, () => 0)).toBe(4_000);
    expect(retryDelay(1, schedule, 0.2, () => 0.5)).toBe(5_000);
    expect(retryDelay(1, schedule, 0.2, () => 0.999999)).toBe(6_000);
  });

  it('counts only 2xx as success', () => {
    expect([200, 201, 204, 299].every(isSuccess)).toBe(true);
    expect([null, 199, 300, 301, 404, 500].some(isSuccess)).toBe(false);
  });
});
