import { describe, expect, it } from 'vitest';
import { deliveryJobId } from './delivery-queue.js';

describe('deliveryJobId', () => {
  it('is the same for the same attempt, so enqueueing it twice adds one job', () => {
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 })).toBe('dlv_1-2');
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 })).toBe(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 }));
    expect(deliveryJobId({ deliveryId: 'dlv_1', attempt: 3 })).not.toBe(deliveryJobId({ deliveryId: 'dlv_1', attempt: 2 }));
  });

  it('is new each time for a job the gate puts back (the held job may still be finishing under the plain id)', () => {
    const a = deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true });
    const b = deliveryJobId({ deliveryId: 'dlv_1', attempt: 2, released: true });
    expect(a).toMatch(/^dlv_1-2-r[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});
