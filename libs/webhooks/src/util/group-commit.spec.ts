import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A writer whose writes finish when told, recording what each write carried. */
function writer(failOn?: number, gatherTurn = false) {
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
    gatherTurn,
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

  it('the items of a failed batch are written again with one shared AfterFailedBatch; a lone item without', async () => {
    const seen: Array<[number, object | undefined]> = [];
    const group = new GroupCommit<number, number>(
      async (items) => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error(`batch of ${items.length} lost`);
      },
      async (item, again) => {
        seen.push([item, again]);
        await new Promise((r) => setTimeout(r, 5));
        return item;
      },
    );
    expect(await Promise.all([1, 2, 3].map((i) => group.submit(i)))).toEqual([1, 2, 3]);
    expect(seen.map(([i]) => i)).toEqual([1, 2, 3]);
    expect(seen[0][1]).toBeUndefined();
    expect(seen[1][1]).toEqual({ error: new Error('batch of 2 lost'), taken: new Set() });
    expect(seen[2][1]).toBe(seen[1][1]);
  });

  it('with gatherTurn, a first item waits for what the same turn of the event loop submits after it', async () => {
    const { group, many, one } = writer(undefined, true);
    const first = group.submit(1);
    // Submitted a few awaits later, in the same turn (as a waiter woken by the first would).
    const later = (async () => {
      await Promise.resolve();
      await Promise.resolve();
      return group.submit(2);
    })();
    expect(await Promise.all([first, later])).toEqual(['ok 1', 'ok 2']);
    expect(many).toEqual([[1, 2]]);
    expect(one).toEqual([]);
    // The next turn's item goes on its own (nothing is in flight, nothing else came).
    expect(await group.submit(3)).toBe('ok 3');
    expect(one).toEqual([3]);
  });

  it('keeps working after a failure', async () => {
    const { group } = writer(1);
    await expect(group.submit(1)).rejects.toThrow('item 1 refused');
    expect(await group.submit(2)).toBe('ok 2');
  });
});
