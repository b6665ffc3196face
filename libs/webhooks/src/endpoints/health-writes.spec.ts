import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { HealthWrites } from './health-writes.js';

/** Enough of a DataSource to build the statements (inOrder itself never touches the database). */
const dataSource = {
  driver: { options: { type: 'sqlite' }, escape: (name: string) => `"${name}"` },
  getMetadata: () => ({ tablePath: 'webhook_endpoint', findColumnWithPropertyName: (p: string) => ({ databaseName: p }) }),
} as unknown as DataSource;

/** A write that finishes when told, recording when it started and ended. */
function gate(log: string[], name: string, fail = false) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const write = async () => {
    log.push(`start ${name}`);
    await done;
    log.push(`end ${name}`);
    if (fail) throw new Error(`${name} refused`);
    return name;
  };
  return { write, finish };
}

describe('HealthWrites.inOrder', () => {
  it("runs one endpoint's writes one after another, other endpoints' meanwhile", async () => {
    const writes = new HealthWrites(dataSource);
    const log: string[] = [];
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    const results = [writes.inOrder('a', a1.write), writes.inOrder('a', a2.write), writes.inOrder('b', b1.write)];
    await Promise.resolve();
    expect(log).toEqual(['start a1', 'start b1']); // a2 waits for a1; b1 does not
    a2.finish(); // a2 is told to finish first, but has not started
    b1.finish();
    a1.finish();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
  });

  it('a failed write fails its caller only; the next write of the endpoint still runs, and settled() waits for all', async () => {
    const writes = new HealthWrites(dataSource);
    const log: string[] = [];
    const bad = gate(log, 'bad', true);
    const next = gate(log, 'next');
    const first = writes.inOrder('a', bad.write);
    const second = writes.inOrder('a', next.write);
    let settled = false;
    const all = writes.settled().then(() => (settled = true));
    bad.finish();
    await expect(first).rejects.toThrow('bad refused');
    expect(settled).toBe(false);
    next.finish();
    expect(await second).toBe('next');
    await all;
    expect(log).toEqual(['start bad', 'end bad', 'start next', 'end next']);
  });
});
