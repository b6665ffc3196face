import { describe, expect, it, vi } from 'vitest';
import { memoized } from './memo.js';

describe('memoized', () => {
  it('computes each key once, null and undefined results included', () => {
    const compute = vi.fn((key: string) => (key === 'none' ? null : key === 'nothing' ? undefined : key.length));
    const f = memoized(compute);
    expect([f('abc'), f('abc'), f('none'), f('none'), f('nothing'), f('nothing')]).toEqual([3, 3, null, null, undefined, undefined]);
    expect(compute).toHaveBeenCalledTimes(3);
  });

  it('starts over once it holds its limit of keys, so distinct keys cannot grow it without bound', () => {
    const compute = vi.fn((key: string) => key);
    const f = memoized(compute, 2);
    f('a');
    f('b');
    f('c'); // full: forgets a and b
    f('c');
    expect(compute).toHaveBeenCalledTimes(3);
    f('a');
    expect(compute).toHaveBeenCalledTimes(4);
  });

  it('does not remember a computation that threw', () => {
    let calls = 0;
    const f = memoized((key: string) => {
      calls++;
      if (calls === 1) throw new Error(`bad ${key}`);
      return key;
    });
    expect(() => f('x')).toThrow('bad x');
    expect(f('x')).toBe('x');
  });
});
