import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A writer whose writes finish when told, recording what each write carried. */
function writer(failOn?: number) {
  const many: number[][] = [];
  const one: number[] = [];
  const group = new GroupCommit<number, string>(
    async (items) => {
      many.push(items);
      await new Promise((r) => setTimeout(r, 5));
      if (failOn !== undefined && items.includes(failOn)) throw new Error('batch refused');
      return items.map((i) => `ok ${i}`);
    },
    async (item) => {
      one.push(item);
      await new Promise((r) => setTimeout(r, 5));
      if (item === failOn) throw new Error(`item ${item} refused`);
      return `ok ${item}`;
    },
    4,
  );
  return { group, many, one };
}

describe('GroupCommit', () => {
  it('writes a lone item alone, and what arrives meanwhile together, in batches of at most maxBatch', async () => {
    const { group, many, one } = writer();
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => group.submit(i)));
    expect(results).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5', 'ok 6']);
    // The first goes at once, alone; the five that came meanwhile go as a batch of four and then a lone one.
    expect(one).toEqual([1, 6]);
    expect(many).toEqual([[2, 3, 4, 5]]);
  });

  it('a batch that fails is written again one by one: only the bad item fails', async () => {
    const { group, one } = writer(3);
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => group.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'ok 1',
      'ok 2',
      'item 3 refused',
      'ok 4',
    ]);
    expect(one).toEqual([1, 2, 3, 4]);
  });

  it('keeps working after a failure', async () => {
    const { group } = writer(1);
    await expect(group.submit(1)).rejects.toThrow('item 1 refused');
    expect(await group.submit(2)).toBe('ok 2');
  });
});
