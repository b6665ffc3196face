import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WEBHOOKS_QUEUE } from 'nestjs-outgoing-webhooks';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

describe('GET /health', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let example: RunningExample;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    proxy = await TcpProxy.start(inject('redisUrl'));
    example = await startExample(db, { redisUrl: `redis://127.0.0.1:${proxy.port}` });
  });
  afterAll(async () => {
    proxy?.up();
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await proxy?.close();
    await db?.drop();
  });

  it('is up with the backlog and endpoint states, down while Redis is away, and up again when it returns', async () => {
    const up = await example.api('GET', '/health', undefined, null);
    expect(up.status).toBe(200);
    expect(up.body.info.webhooks).toMatchObject({
      status: 'up',
      redis: 'up',
      queue: { waiting: 0, active: 0, failed: 0, delayed: 1 }, // the retention job's next run
      endpoints: { critical: 0, disabled: 0 },
    });
    expect(up.body.info.database.status).toBe('up');

    proxy.down();
    const down = await example.api('GET', '/health', undefined, null);
    expect(down.status).toBe(503);
    expect(down.body.error.webhooks).toMatchObject({ status: 'down', redis: 'down' });
    expect(down.body.info.database.status).toBe('up');

    proxy.up();
    await waitUntil(async () => (await example.api('GET', '/health', undefined, null)).status === 200, 'health to recover', 20_000);
    // The worker's blocking connection reconnects on its own schedule: Bull's close() forces a reconnect of it and
    // fails ("already connecting") if one is under way, which left the app's close hanging once. Let it finish first.
    const queue = example.app.get<Queue & { bclientInitialized?: boolean; bclient: { status: string } }>(getQueueToken(WEBHOOKS_QUEUE));
    await waitUntil(() => !queue.bclientInitialized || queue.bclient.status === 'ready', 'the blocking connection to reconnect', 20_000);
  });
});
