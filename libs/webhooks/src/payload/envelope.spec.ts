import { describe, expect, it } from 'vitest';
import { envelope, stringify } from './envelope.js';

describe('payload helpers', () => {
  it('writes nested bigints as strings', () => {
    expect(stringify({ a: 1n, b: [2n] })).toBe('{"a":"1","b":["2"]}');
  });

  it('builds the envelope, with changes only when given', () => {
    const at = new Date('2026-11-24T00:00:00.000Z');
    expect(JSON.parse(envelope('evt_1', 'order.created', at, { id: 1 }))).toEqual({
      id: 'evt_1',
      type: 'order.created',
      timestamp: '2026-11-24T00:00:00.000Z',
      data: { id: 1 },
    });
    const changes = { status: { old: 'a', new: 'b' } };
    expect(JSON.parse(envelope('evt_2', 'order.updated', at, { id: 1 }, changes)).changes).toEqual(changes);
  });
});
