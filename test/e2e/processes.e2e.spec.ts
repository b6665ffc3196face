import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureCliBuilt } from '../../scripts/example-cli.mjs';
import { cliEnv } from '../support/cli.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { dropBullKeys } from '../support/example-app.js';
import { ExampleProcess } from '../support/example-process.js';
import { Receiver, type ReceivedRequest } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

/**
 * The example deployed as operators run it: built, one process per role (WEBHOOKS_WORKER, API_ENABLED), talking
 * through PostgreSQL (SQLite when no PostgreSQL is configured) and Redis.
 */
const TOKEN = 'process-test-token';

beforeAll(() => void ensureCliBuilt(), 180_000);

/** webhooks_attempts_total{outcome="succeeded"} of one process, from its /metrics. */
async function succeededAttempts(app: ExampleProcess): Promise<number> {
  const metrics = await app.fetch('/metrics', { token: TOKEN });
  expect(metrics.status).toBe(200);
  return [...metrics.text.matchAll(/^webhooks_attempts_total\{outcome="succeeded"[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

const eventId = (r: ReceivedRequest) => String(r.headers['webhook-id']);

describe('one API process and worker processes', () => {
  const kind = inject('postgresUrl') ? 'postgres' : 'sqlite';
  const bullPrefix = `proc_${randomBytes(5).toString('hex')}`;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let api: ExampleProcess;
  const workers: ExampleProcess[] = [];
  let customerId: number;

  const post = (path: string, body: unknown) => api.fetch(path, { method: 'POST', body: JSON.stringify(body), token: TOKEN });

  beforeAll(async () => {
    db = await createDatabase(kind);
    env = { ...cliEnv(db, bullPrefix), API_TOKEN: TOKEN, NO_COLOR: '1' };
    // The API process first: it creates the schema, which worker processes leave alone.
    api = await ExampleProcess.start('api', { ...env, WEBHOOKS_WORKER: '0' });
    workers.push(...(await Promise.all([1, 2].map((n) => ExampleProcess.start(`worker ${n}`, { ...env, API_ENABLED: '0' })))));
    customerId = (await post('/api/customers', { name: 'Processes', email: 'processes@example.com' })).body.id;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([api, ...workers].map((p) => p?.stop()));
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('records in the API process and delivers from both workers, each event once', async () => {
    expect(api.output).toContain('as API only, no webhook worker');
    for (const worker of workers) {
      expect(worker.output).toContain('as webhook worker only');
      expect((await worker.fetch('/health')).status).toBe(200);
      expect((await worker.fetch('/api/orders', { token: TOKEN })).status).toBe(404); // no shop API in a worker
    }
    const rx = await Receiver.start();
    try {
      expect((await post('/api/webhook-endpoints', { url: rx.url, topics: ['order.created'] })).status).toBe(201);
      for (let i = 0; i < 30; i++)
        expect((await post('/api/orders', { customerId, total: `${i}.00`, status: 'pending' })).status).toBe(201);
      await rx.waitFor(30, 60_000);
      await sleep(500);
      expect(new Set(rx.requests.map(eventId)).size).toBe(30);
      expect(rx.requests).toHaveLength(30);
      // Who sent them: the workers' own counters (the API process has none to send).
      // Counted once each outcome is written, just after the answer: wait for all 30.
      const [byApi, ...byWorkers] = await waitUntil(async () => {
        const counts = await Promise.all([api, ...workers].map(succeededAttempts));
        return counts.reduce((a, b) => a + b, 0) === 30 ? counts : undefined;
      }, 'the workers to count 30 succeeded attempts');
      expect(byApi).toBe(0);
      expect(byWorkers.every((n) => n > 0)).toBe(true);
      expect(byWorkers.reduce((a, b) => a + b, 0)).toBe(30);
    } finally {
      await rx.close();
    }
  }, 90_000);

  it('sends the attempts of a worker killed mid-request again once its leases lapse, and nothing of the live worker twice', async () => {
    // One worker left, whose requests the receiver holds: it has three deliveries in flight when it is killed.
    await workers.pop()!.stop();
    const doomed = workers.pop()!;
    const rx = await Receiver.start();
    const held = new Set<string>();
    let killedAt = 0;
    rx.replyFor = (request) => {
      const id = eventId(request);
      if (!killedAt) {
        held.add(id);
        return 'hang';
      }
      // After the kill: the lost attempts are answered at once; new deliveries are slow (in flight during sweeps).
      return held.has(id) ? 200 : { delayMs: 4000, then: 200 };
    };
    try {
      const endpoint = await post('/api/webhook-endpoints', { url: rx.url, topics: ['order.created'] });
      expect(endpoint.status).toBe(201);
      for (let i = 0; i < 3; i++) await post('/api/orders', { customerId, total: '1.00', status: 'pending' });
      await rx.waitFor(3, 30_000);
      const survivor = await ExampleProcess.start('worker 3', { ...env, API_ENABLED: '0' });
      workers.push(survivor);
      await doomed.kill();
      killedAt = Date.now();
      for (let i = 0; i < 2; i++) await post('/api/orders', { customerId, total: '2.00', status: 'pending' });

      // Each lost attempt comes again, from the survivor.
      const resent = await waitUntil(
        () => {
          const again = rx.requests.filter((r) => held.has(eventId(r)) && r.at > killedAt);
          return again.length >= 3 ? again : undefined;
        },
        'the killed worker’s attempts to be sent again',
        60_000,
      );
      const recoveryMs = Math.max(...resent.map((r) => r.at)) - killedAt;
      console.log(`Lost attempts of a killed worker sent again ${(recoveryMs / 1000).toFixed(1)} s after the kill (leaseMs 15 s).`);
      await waitUntil(() => rx.requests.length >= 8, 'the two slow deliveries', 30_000);
      await sleep(2000);
      const perEvent = new Map<string, number>();
      for (const r of rx.requests) perEvent.set(eventId(r), (perEvent.get(eventId(r)) ?? 0) + 1);
      expect([...perEvent.values()].sort()).toEqual([1, 1, 2, 2, 2]); // the held three twice; the survivor's two once

      const deliveries = await api.fetch(`/api/webhook-endpoints/${endpoint.body.id}/deliveries`, { token: TOKEN });
      expect(deliveries.status).toBe(200);
      const list = (deliveries.body.items ?? deliveries.body) as Array<{ status: string; attemptCount: number }>;
      expect(list.map((d) => d.status)).toEqual(Array(5).fill('succeeded'));
      expect(list.map((d) => d.attemptCount).sort()).toEqual([1, 1, 2, 2, 2]);
    } finally {
      await rx.close();
    }
  }, 120_000);

  // On PostgreSQL the test holds the attempt log locked, so the worker's write of an outcome waits there.
  const onPostgres = kind === 'postgres' ? it : it.skip;

  onPostgres(
    'sends again a delivery whose worker was killed after the answer and before its outcome was written',
    async () => {
      // One worker, the one to be killed (a live one would write the outcome again once the lock is gone).
      while (workers.length > 1) await workers.shift()!.stop();
      const doomed = workers.pop()!;
      const rx = await Receiver.start(); // answers 200 at once
      const { url, schema } = db.config as { url: string; schema: string };
      const lock = new pg.Client({ connectionString: url });
      await lock.connect();
      try {
        const endpoint = await post('/api/webhook-endpoints', { url: rx.url, topics: ['order.created'] });
        expect(endpoint.status).toBe(201);
        await lock.query('BEGIN');
        await lock.query(`LOCK TABLE "${schema}"."webhook_attempt" IN SHARE MODE`); // reads go on; inserts wait
        for (let i = 0; i < 2; i++) await post('/api/orders', { customerId, total: '3.00', status: 'pending' });
        await rx.waitFor(2, 30_000); // both sent and answered...
        const lockWaiters = async () =>
          (
            await lock.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%webhook_attempt%' AND pid <> pg_backend_pid()`,
            )
          ).rows;
        // ...and their outcome not written: it waits on the lock.
        await waitUntil(async () => ((await lockWaiters()).length ? true : undefined), 'the outcome write to wait on the lock');
        await doomed.kill();
        const killedAt = Date.now();
        // A connection the database saw die: the writes it was waiting to run never run (all of them: the dead
        // process can send no more).
        for (const { pid } of await lockWaiters()) await lock.query('SELECT pg_terminate_backend($1)', [pid]);
        await lock.query('ROLLBACK');
        workers.push(await ExampleProcess.start('worker 4', { ...env, API_ENABLED: '0' }));

        // Once the killed worker's leases lapse, both are taken back and sent again: a resend, not a loss.
        await waitUntil(() => (rx.requests.filter((r) => r.at > killedAt).length >= 2 ? true : undefined), 'the two sent again', 60_000);
        await sleep(1000);
        const perEvent = new Map<string, number>();
        for (const r of rx.requests) perEvent.set(eventId(r), (perEvent.get(eventId(r)) ?? 0) + 1);
        expect([...perEvent.values()]).toEqual([2, 2]);
        const list = await waitUntil(async () => {
          const res = await api.fetch(`/api/webhook-endpoints/${endpoint.body.id}/deliveries`, { token: TOKEN });
          const items = (res.body.items ?? res.body) as Array<{ status: string; attemptCount: number }>;
          return items.every((d) => d.status === 'succeeded') ? items : undefined;
        }, 'both deliveries to succeed');
        // The lost attempt is on record, then the one that got through.
        expect(list.map((d) => d.attemptCount)).toEqual([2, 2]);
      } finally {
        await lock.end().catch(() => undefined);
        await rx.close();
      }
    },
    120_000,
  );
});

describe('first run', () => {
  let db: TestDatabase;
  let app: ExampleProcess;
  const bullPrefix = `first_${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    db = await createDatabase('sqlite');
    const { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: _open, WEBHOOKS_ENCRYPTION_KEYS: _keys, ...env } = cliEnv(db, bullPrefix);
    const port = await ExampleProcess.freePort();
    app = await ExampleProcess.start('first run', { ...env, PORT: String(port), API_TOKEN: TOKEN, NO_COLOR: '1' });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await dropBullKeys(bullPrefix);
    await db?.drop();
  });

  it('prints the command that subscribes the demo receiver, which then gets verified webhooks without opening private networks', async () => {
    // Printed right after the "Listening on" line.
    const line = await waitUntil(() => /Try it: (curl [^\n]+)/.exec(app.output)?.[1], 'the demo command in the log');
    const { stdout } = await promisify(execFile)('sh', ['-c', line]);
    const endpoint = JSON.parse(stdout) as { id: string; url: string };
    expect(endpoint.url).toBe(`${app.baseUrl}/demo/receiver`);

    const post = (path: string, body: unknown) => app.fetch(path, { method: 'POST', body: JSON.stringify(body), token: TOKEN });
    const customer = await post('/api/customers', { name: 'First', email: 'first@example.com' });
    await post('/api/orders', { customerId: customer.body.id, total: '9.99', status: 'pending' });
    const messages = await waitUntil(async () => {
      const got = (await app.fetch('/demo/receiver/messages', { token: TOKEN })).body as Array<{ type: string }>;
      return got.length >= 2 ? got : undefined;
    }, 'the demo receiver to get both events');
    expect(messages.map((m) => m.type).sort()).toEqual(['customer.created', 'order.created']);

    // Only the app's own port is open: another loopback port, or loopback by name, is still refused.
    const other = await post('/api/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', topics: ['order.*'] });
    expect(other.status).toBe(400);
    expect(other.body.message).toContain('loopback');
    const byName = await post('/api/webhook-endpoints', {
      url: `http://localhost:${new URL(app.baseUrl).port}/demo/receiver`,
      topics: ['order.*'],
    });
    expect(byName.status).toBe(400);
  });
});
