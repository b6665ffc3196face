import { describe, expect, it } from 'vitest';
import { PayloadCache } from './payload-cache.js';

describe('PayloadCache', () => {
  it('answers what was set, and nothing for unknown ids', () => {
    const cache = new PayloadCache();
    cache.set('evt_1', '{"a":1}');
    expect(cache.get('evt_1')).toBe('{"a":1}');
    expect(cache.get('evt_2')).toBeUndefined();
  });

  it('evicts the oldest entries beyond 16 MiB of text, and never keeps one payload over 1 MiB', () => {
    const cache = new PayloadCache();
    const mib = 'x'.repeat(1024 * 1024);
    cache.set('too-big', mib + 'x');
    expect(cache.get('too-big')).toBeUndefined();
    for (let i = 0; i < 17; i++) cache.set(`evt_${i}`, mib);
    expect(cache.get('evt_0')).toBeUndefined(); // the oldest went
    expect(cache.get('evt_1')).toBe(mib);
    expect(cache.get('evt_16')).toBe(mib);
  });

  it('setting an id again neither replaces nor counts it twice', () => {
    const cache = new PayloadCache();
    const mib = 'x'.repeat(1024 * 1024);
    cache.set('evt_same', 'first');
    cache.set('evt_same', 'second');
    expect(cache.get('evt_same')).toBe('first');
    for (let i = 0; i < 15; i++) cache.set(`evt_${i}`, mib);
    for (let i = 0; i < 15; i++) cache.set(`evt_${i}`, mib); // the same ids again: still 15 MiB
    expect(cache.get('evt_same')).toBe('first');
  });

  it('forgets entries after 30 s, so a long-running worker holds only recent payloads', () => {
    const cache = new PayloadCache();
    cache.set('evt_old', 'old', 0);
    expect(cache.get('evt_old', 30_000)).toBe('old');
    expect(cache.get('evt_old', 30_001)).toBeUndefined();
    cache.set('evt_new', 'new', 40_000); // setting evicts what aged out
    cache.set('evt_old', 'again', 40_000); // an aged-out id can be cached again
    expect(cache.get('evt_old', 40_000)).toBe('again');
  });
});
