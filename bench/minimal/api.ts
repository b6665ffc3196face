/**
 * The minimal pipeline's API process, the naive baseline: in one transaction save the order and insert an outbox
 * row; after commit add one Bull job per receiver URL. No retries, no relay, no endpoint table, no Nest.
 */
import 'reflect-metadata';
import Bull from 'bull';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { connectionOptions, newOrder, readConfig, runSavers, type SaveRun } from '../lib/config.js';
import { serve } from '../lib/ipc.js';
import { AttemptRow, MINIMAL_QUEUE, MinimalOrder, OutboxRow, type MinimalJob } from './entities.js';

const config = readConfig();
const dataSource = new DataSource({
  ...connectionOptions(config.db, config.name),
  entities: [MinimalOrder, OutboxRow, AttemptRow],
  synchronize: true,
});
const queue = new Bull<MinimalJob>(MINIMAL_QUEUE, { redis: config.redisUrl, prefix: config.prefix });

// TypeORM gives SQLite one connection per process, and a second transaction() started while one is open nests
// as a savepoint inside it: on SQLite the savers take turns (the database has a single writer anyway).
let turn: Promise<unknown> = Promise.resolve();
const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
  if (config.db.kind !== 'sqlite') return fn();
  const run = turn.then(fn, fn);
  turn = run.catch(() => undefined);
  return run;
};

async function save(i: number): Promise<void> {
  const id = randomUUID();
  let payload = '';
  await inTurn(() =>
    dataSource.transaction(async (manager) => {
      const order = await manager.save(manager.create(MinimalOrder, newOrder(i)));
      const createdAt = new Date();
      payload = JSON.stringify({ id: `evt_${id}`, type: 'order.created', timestamp: createdAt.toISOString(), data: { ...order } });
      await manager.insert(OutboxRow, { id, payload, createdAt });
    }),
  );
  // After commit. A crash between commit and add loses the event: the naive pipeline has no relay.
  for (const url of config.urls) await queue.add({ outboxId: id, payload, url }, { removeOnComplete: true });
}

serve(
  {
    save: (run: SaveRun) => runSavers(save, run),
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    stop: async () => {
      await queue.close();
      await dataSource.destroy();
    },
  },
  async () => {
    await dataSource.initialize();
    await queue.isReady();
  },
);
