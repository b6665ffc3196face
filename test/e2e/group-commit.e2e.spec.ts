import { randomBytes } from 'node:crypto';
import { DataSource, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookAttempt, WebhookDelivery, WebhookEvent, WebhooksService } from 'nestjs-outgoing-webhooks';
import { newId } from '../../libs/webhooks/src/ids.js';
import { WebhookStore, type AttemptRecord } from '../../libs/webhooks/src/store/webhook-store.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { waitUntil } from '../support/wait.js';

// Claims and finished attempts are written in batches on PostgreSQL (one statement for those that come together).
describe.each(databaseKinds().filter((k) => k === 'postgres'))('group commit of claims and attempts (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let store: WebhookStore;
  let ds: DataSource;
  let endpointId: string;

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, { webhooksOptions: { worker: false } });
    store = fixture.app.get(WebhookStore);
    ds = fixture.app.get(DataSource);
    endpointId = (await fixture.app.get(WebhooksService).createEndpoint({ url: 'https://hooks.example/in', topics: ['widget.created'] }))
      .id;
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  async function pendingDeliveries(count: number): Promise<string[]> {
    const now = new Date();
    const eventId = newId('evt', now.getTime());
    const ids = Array.from({ length: count }, () => newId('dlv', now.getTime()));
    await store.insertEvent(
      ds.manager,
      { id: eventId, topic: 'widget.created', entityName: 'widget', entityId: '1', ownerId: null, payload: '{}', createdAt: now },
      ids.map((id) => ({ id, endpointId })),
    );
    return ids;
  }

  const lease = () => new Date(Date.now() + 60_000);

  it('writes no event with a query runner already released (its connection may serve another caller by then)', async () => {
    const runner = ds.createQueryRunner();
    await runner.connect();
    await runner.release();
    const now = new Date();
    const eventId = newId('evt', now.getTime());
    const event = {
      id: eventId,
      topic: 'widget.created',
      entityName: 'widget',
      entityId: '1',
      ownerId: null,
      payload: '{}',
      createdAt: now,
    };
    await expect(store.insertEvent(runner.manager, event, [{ id: newId('dlv', now.getTime()), endpointId }])).rejects.toThrow(
      QueryRunnerAlreadyReleasedError,
    );
    expect(await ds.getRepository(WebhookEvent).countBy({ id: eventId })).toBe(0);
  });

  async function claimedDeliveries(count: number): Promise<string[]> {
    const ids = await pendingDeliveries(count);
    for (const id of ids) expect(await store.claim(id, 1, lease(), new Date())).toBe(true);
    return ids;
  }

  it('claims deliveries that come together in one batch; a repeated or stale claim in the batch loses', async () => {
    const ids = await pendingDeliveries(20);
    const batches = vi.spyOn(store as unknown as { pgRows: () => Promise<unknown> }, 'pgRows');
    const now = new Date();
    const results = await Promise.all([
      store.claim(ids[0], 1, lease(), now),
      ...ids.map((id) => store.claim(id, 1, lease(), now)), // ids[0] again: already claimed, or second in its batch
      store.claim(ids[1], 3, lease(), now), // not the attempt the row is at
    ]);
    expect(results).toEqual([true, false, ...ids.slice(1).map(() => true), false]);
    // The first claim goes alone; the 21 that came while it was written go together.
    expect(batches.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(batches.mock.calls.length).toBeLessThanOrEqual(2);
    batches.mockRestore();
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows).toHaveLength(20);
    expect(rows.every((d) => d.status === 'delivering' && d.attemptCount === 1 && d.nextAttemptAt!.getTime() > now.getTime())).toBe(true);
  });

  it('claims of one delivery repeated within one batch: exactly one wins', async () => {
    const [id] = await pendingDeliveries(1);
    const [other] = await pendingDeliveries(1);
    // The first claim (of another delivery) is being written while the five repeats arrive: they share a batch.
    const results = await Promise.all([other, id, id, id, id, id].map((d) => store.claim(d, 1, lease(), new Date())));
    expect(results[0]).toBe(true);
    expect(results.slice(1).filter(Boolean)).toHaveLength(1);
  });

  const record = (deliveryId: string, status = 200): AttemptRecord => ({
    deliveryId,
    attemptNumber: 1,
    trigger: 'scheduled',
    requestUrl: 'https://hooks.example/in',
    response: { status, headers: { 'x-n': deliveryId }, body: `ok ${deliveryId}`, durationMs: 3, error: null },
    error: null,
    nextAttemptAt: null,
    at: new Date(),
  });
  /** An attempt PostgreSQL refuses: its duration does not fit the integer column (22003). */
  const refused = (deliveryId: string): AttemptRecord => {
    const r = record(deliveryId);
    return { ...r, response: { ...r.response, durationMs: 2 ** 40 } };
  };
  const done = { status: 'succeeded' as const, nextAttemptAt: null, lastResponseStatus: 200, lastError: null };

  it('writes attempts finishing together in one batch, each row and owner right', async () => {
    const ids = await claimedDeliveries(30);
    // A stale finish (not the owner any more) among them: logged, but it does not move its delivery.
    const stale = { ...record(ids[0]), attemptNumber: 7 };
    const batches = vi.spyOn(store as unknown as { pgRows: () => Promise<unknown> }, 'pgRows');
    const results = await Promise.all([store.finishAttempt(stale, done), ...ids.map((id) => store.finishAttempt(record(id), done))]);
    expect(results).toEqual([false, ...ids.map(() => true)]);
    // The first finish goes alone; the 30 that came while it was written go together.
    expect(batches.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(batches.mock.calls.length).toBeLessThanOrEqual(2);
    batches.mockRestore();
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows).toHaveLength(30);
    expect(rows.every((d) => d.status === 'succeeded' && d.lastResponseStatus === 200)).toBe(true);
    const attempts = await ds.getRepository(WebhookAttempt).findBy(ids.map((deliveryId) => ({ deliveryId })));
    expect(attempts).toHaveLength(31);
    const one = attempts.find((a) => a.deliveryId === ids[5] && a.attemptNumber === 1)!;
    expect(one).toMatchObject({ responseStatus: 200, responseBody: `ok ${ids[5]}`, responseHeaders: { 'x-n': ids[5] }, durationMs: 3 });
  });

  it('a stale finish and the owner’s of one delivery in one batch: only the owner is told it moved the row', async () => {
    const [other, id] = await claimedDeliveries(2);
    // The first (another delivery's) is written alone; the two that come meanwhile share a batch.
    const results = await Promise.all([
      store.finishAttempt(record(other), done),
      store.finishAttempt({ ...record(id), attemptNumber: 7 }, done),
      store.finishAttempt(record(id), done),
    ]);
    expect(results).toEqual([true, false, true]);
  });

  /** The store's statement runners, to lose an answer: the statement runs and lands, and its caller hears an error. */
  type Runner = (sql: string, values: unknown[]) => Promise<unknown>;
  function loseAnswer(runner: 'pgRows' | 'pgWrite', landed = true) {
    const target = store as unknown as Record<'pgRows' | 'pgWrite', Runner>;
    const real = target[runner].bind(store);
    const state = { lost: 0, restore: () => spy.mockRestore() };
    const spy = vi.spyOn(target, runner).mockImplementationOnce(async (sql, values) => {
      if (landed) await real(sql, values);
      state.lost++;
      throw new Error('Connection terminated unexpectedly');
    });
    return state;
  }

  it('a batch of claims that landed but whose answer was lost: each claimer owns its row, a repeat in it still loses', async () => {
    const ids = await pendingDeliveries(10);
    const lost = loseAnswer('pgRows');
    const [now, until] = [new Date(), lease()];
    // The first claim goes alone; the rest, ids[1] twice (alike to the millisecond), go in one batch, which lands and
    // whose answer is lost.
    const results = await Promise.all([...ids, ids[1]].map((id) => store.claim(id, 1, until, now)));
    expect(lost.lost).toBe(1);
    lost.restore();
    expect(results.slice(2, 10)).toEqual(ids.slice(2).map(() => true));
    expect(results[0]).toBe(true);
    expect([results[1], results[10]].filter(Boolean)).toHaveLength(1);
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows.every((d) => d.status === 'delivering' && d.attemptCount === 1)).toBe(true);
  });

  it('a batch of finished attempts that landed but whose answer was lost: owners are told so, each attempt logged once', async () => {
    const ids = await claimedDeliveries(10);
    const stale = { ...record(ids[3]), attemptNumber: 7 };
    const lost = loseAnswer('pgRows');
    const results = await Promise.all([...ids.map((id) => store.finishAttempt(record(id), done)), store.finishAttempt(stale, done)]);
    expect(lost.lost).toBe(1);
    lost.restore();
    expect(results).toEqual([...ids.map(() => true), false]);
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows.every((d) => d.status === 'succeeded' && d.lastResponseStatus === 200)).toBe(true);
    const attempts = await ds.getRepository(WebhookAttempt).findBy(ids.map((deliveryId) => ({ deliveryId })));
    expect(attempts).toHaveLength(11);
  });

  it('a lone claim and finish whose answers were lost: the caller owns the row, the attempt is logged once', async () => {
    const [id] = await pendingDeliveries(1);
    let lost = loseAnswer('pgWrite');
    expect(await store.claim(id, 1, lease(), new Date())).toBe(true);
    expect(lost.lost).toBe(1);
    lost.restore();
    lost = loseAnswer('pgWrite');
    expect(await store.finishAttempt(record(id), done)).toBe(true);
    expect(lost.lost).toBe(1);
    lost.restore();
    expect(await ds.getRepository(WebhookDelivery).findOneByOrFail({ id })).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(await ds.getRepository(WebhookAttempt).countBy({ deliveryId: id })).toBe(1);
  });

  it('a lone write that failed before landing is written again; one the database refuses again fails with its error', async () => {
    const [id, other] = await pendingDeliveries(2);
    const refused = loseAnswer('pgWrite', false);
    expect(await store.claim(id, 1, lease(), new Date())).toBe(true);
    expect(refused.lost).toBe(1);
    refused.restore();
    expect((await ds.getRepository(WebhookDelivery).findOneByOrFail({ id })).status).toBe('delivering');
    const target = store as unknown as Record<'pgRows' | 'pgWrite', Runner>;
    const first = vi.spyOn(target, 'pgWrite').mockRejectedValueOnce(new Error('first: connection refused'));
    const second = vi.spyOn(target, 'pgRows').mockRejectedValueOnce(new Error('second: connection refused'));
    await expect(store.claim(other, 1, lease(), new Date())).rejects.toThrow('first: connection refused');
    first.mockRestore();
    second.mockRestore();
    expect((await ds.getRepository(WebhookDelivery).findOneByOrFail({ id: other })).status).toBe('pending');
  });

  it('a batch of claims that failed before landing: written again one by one, a repeat alike to the millisecond loses', async () => {
    const ids = await pendingDeliveries(6);
    const refused = loseAnswer('pgRows', false);
    const [now, until] = [new Date(), lease()];
    const results = await Promise.all([...ids, ids[2]].map((id) => store.claim(id, 1, until, now)));
    expect(refused.lost).toBe(1);
    refused.restore();
    expect(results.slice(0, 6)).toEqual(ids.map(() => true));
    expect(results[6]).toBe(false); // ids[2] again: the first of the two took it
  });

  it('a lost claim still running when it is written again (holding the row): its caller owns the row', async () => {
    const [id] = await pendingDeliveries(1);
    const [now, until] = [new Date(), lease()];
    // The lost write, its transaction still open on the broken connection's server process: here, another connection.
    const lostWrite = ds.createQueryRunner();
    await lostWrite.connect();
    try {
      await lostWrite.startTransaction();
      await lostWrite.manager.update(
        WebhookDelivery,
        { id },
        { status: 'delivering', attemptCount: 1, nextAttemptAt: until, updatedAt: now },
      );
      const lost = loseAnswer('pgWrite', false);
      const claimed = store.claim(id, 1, until, now);
      // Written again, the claim waits for the row: the lost write then commits.
      await waitUntil(
        async () =>
          Number(
            (
              (await ds.query(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH moved AS (UPDATE%'`,
              )) as Array<{ n: string }>
            )[0].n,
          ) > 0,
        'the claim written again to wait for the row',
      );
      await lostWrite.commitTransaction();
      expect(await claimed).toBe(true);
      expect(lost.lost).toBe(1);
      lost.restore();
    } finally {
      await lostWrite.release();
    }
  });

  it('a lone write the database itself refuses is not written again', async () => {
    const [id] = await claimedDeliveries(1);
    const rows = vi.spyOn(store as unknown as { pgRows: () => Promise<unknown> }, 'pgRows');
    await expect(store.finishAttempt(refused(id), done)).rejects.toMatchObject({ code: '22003' });
    expect(rows).not.toHaveBeenCalled();
    rows.mockRestore();
  });

  it('the finish of a delivery deleted meanwhile answers that it does not own it, logging nothing', async () => {
    const missing = `dlv_${randomBytes(8).toString('hex')}`; // the attempt's foreign key refuses it
    expect(await store.finishAttempt(record(missing), done)).toBe(false);
    expect(await ds.getRepository(WebhookAttempt).countBy({ deliveryId: missing })).toBe(0);
  });

  it('a row that cannot be written fails only its own caller', async () => {
    const [bad, ...ids] = await claimedDeliveries(11);
    const statements = vi.spyOn(store as unknown as { pgRows: () => Promise<unknown> }, 'pgRows');
    const results = await Promise.allSettled([
      ...ids.map((id) => store.finishAttempt(record(id), done)),
      store.finishAttempt(refused(bad), done),
    ]);
    expect(results.slice(0, 10).every((r) => r.status === 'fulfilled' && r.value === true)).toBe(true);
    expect(results[10].status).toBe('rejected');
    // PostgreSQL refused the batch, so nothing of it landed: its items are written as they are, not looked for.
    expect(statements).toHaveBeenCalledTimes(1);
    statements.mockRestore();
    const rows = await ds.getRepository(WebhookDelivery).findBy(ids.map((id) => ({ id })));
    expect(rows.filter((d) => d.status === 'succeeded')).toHaveLength(10);
  });
});

// Named prepared statements by default; unnamed ones with `preparedStatements: false` (behind a pooler that cannot
// keep them). One connection per pool, so the session the statements ran on is the one asked.
describe.each(databaseKinds().filter((k) => k === 'postgres'))('prepared statements (%s)', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase(kind);
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function runHotPath(preparedStatements: boolean | undefined): Promise<{ named: number; logged: string[] }> {
    const logged: string[] = [];
    const logger = {
      logQuery: (query: string) => void logged.push(query),
      logQueryError: () => undefined,
      logQuerySlow: () => undefined,
      logSchemaBuild: () => undefined,
      logMigration: () => undefined,
      log: () => undefined,
    };
    const fixture = await startFixture(db, {
      webhooksOptions: { worker: false, ...(preparedStatements === undefined ? {} : { preparedStatements }) },
      typeorm: { extra: { max: 1 }, logger },
    });
    try {
      const store = fixture.app.get(WebhookStore);
      const ds = fixture.app.get(DataSource);
      const endpointId = (
        await fixture.app.get(WebhooksService).createEndpoint({ url: 'https://hooks.example/in', topics: ['widget.created'] })
      ).id;
      const now = new Date();
      const eventId = newId('evt', now.getTime());
      const id = newId('dlv', now.getTime());
      // In a transaction, as the subscriber writes it.
      await ds.transaction((manager) =>
        store.insertEvent(
          manager,
          { id: eventId, topic: 'widget.created', entityName: 'widget', entityId: '1', ownerId: null, payload: '{}', createdAt: now },
          [{ id, endpointId }],
        ),
      );
      expect(await store.claim(id, 1, new Date(Date.now() + 60_000), new Date())).toBe(true);
      const response = { status: 200, headers: null, body: 'ok', durationMs: 1, error: null };
      const attempt = { deliveryId: id, attemptNumber: 1, trigger: 'scheduled' as const, requestUrl: '', response, error: null };
      const outcome = { status: 'succeeded' as const, nextAttemptAt: null, lastResponseStatus: 200, lastError: null };
      expect(await store.finishAttempt({ ...attempt, nextAttemptAt: null, at: new Date() }, outcome)).toBe(true);
      expect((await ds.getRepository(WebhookDelivery).findOneByOrFail({ id })).status).toBe('succeeded');
      const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'webhooks_%'`)) as [
        { n: number },
      ];
      return { named: n, logged };
    } finally {
      await fixture.close();
    }
  }

  it('runs the outbox, claim and finish statements as named statements by default, through TypeORM’s logger', async () => {
    const { named, logged } = await runHotPath(undefined);
    expect(named).toBe(3);
    expect(logged.filter((q) => /^WITH event AS \(INSERT/.test(q))).toHaveLength(1);
    expect(logged.filter((q) => /^UPDATE .* SET .*'delivering'/.test(q))).toHaveLength(1);
    expect(logged.filter((q) => /^WITH logged AS \(INSERT/.test(q))).toHaveLength(1);
  });

  it('with preparedStatements: false, prepares none and does the same', async () => {
    const { named, logged } = await runHotPath(false);
    expect(named).toBe(0);
    expect(logged.filter((q) => /^WITH event AS \(INSERT/.test(q))).toHaveLength(1);
  });
});
