import { describe, expect, it } from 'vitest';
import { idFloor, idTime, newId } from './ids.js';

describe('newId', () => {
  it('is a prefix and 26 Crockford base32 characters', () => {
    expect(newId('evt')).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('sorts by creation time', () => {
    const ids = [1_000, 2_000, 1_700_000_000_000, 1_700_000_000_001].map((t) => newId('x', t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('x', 42)));
    expect(ids.size).toBe(10_000);
  });

  it('idFloor(t) is above every id made before t and at or below every id made from t on', () => {
    const t = 1_700_000_000_000;
    for (let i = 0; i < 1000; i++) {
      expect(newId('att', t - 1) < idFloor('att', t)).toBe(true);
      expect(newId('att', t) >= idFloor('att', t)).toBe(true);
      expect(newId('att', t + 60_000) >= idFloor('att', t)).toBe(true);
    }
  });

  it('idFloor of a time before 1970 is the lowest id, of one past the last encodable time the highest', () => {
    // A range that starts in 1960 holds every id (as a report "since 1960" must); one that ends then holds none.
    expect(idFloor('dlv', -86_400_000)).toBe(`dlv_${'0'.repeat(10)}`);
    expect(idFloor('dlv', -1) <= newId('dlv', 0)).toBe(true);
    expect(idFloor('dlv', 32 ** 10 + 5)).toBe(idFloor('dlv', 32 ** 10 - 1));
    expect(idFloor('dlv', 1.5)).toBe(idFloor('dlv', 1));
  });

  it('idTime reads back the creation time of an id, and null from anything else', () => {
    for (const t of [0, 1, 1_765_000_000_123, 2 ** 48 - 1]) expect(idTime(newId('evt', t))).toBe(t);
    for (const bad of ['', 'evt', 'evt_', 'evt_01J', 'evt_01JD!!!!!!!XYZ', 'nounderscore01JD8V7Q5B']) expect(idTime(bad)).toBeNull();
  });
});
