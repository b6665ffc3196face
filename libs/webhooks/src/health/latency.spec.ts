import { describe, expect, it } from 'vitest';
import { percentile } from './latency.js';

describe('percentile (nearest rank)', () => {
  it('takes the value at the rank, and null of nothing', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.95)).toBe(95);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([1, 2], 0.5)).toBe(1);
    expect(percentile([], 0.5)).toBeNull();
  });
});
