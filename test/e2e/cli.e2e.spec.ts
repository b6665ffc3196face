import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebhookAttempt, WebhookDelivery, WebhookEvent, WebhooksService } from 'nestjs-outgoing-webhooks';
import { ensureCliBuilt } from '../../scripts/example-cli.mjs';
import { cliEnv, plainReceiver, runCli, type PlainReceiver } from '../support/cli.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { waitUntil } from '../support/wait.js';

const DAY = 86_400_000;

// The CLI runs as a child process from the build, as `npm run cli` runs it: built once here when missing or stale.
beforeAll(() => void ensureCliBuilt(), 180_000);

/**
 * The example's command line (`npm run cli -- <command>`) against a running example app on the same database and
 * Redis: tables and --json answers, exit codes, errors. SQLite runs every command; PostgreSQL and MariaDB run those
 * whose SQL differs by database.
 */
describe.each(databaseKinds())('CLI (%s)', (kind) => {
  const full = kind === 'sqlite';
  const itFull = full ? it : it.skip;
  let db: TestDatabase;
  let example: RunningExample;
  let webhooks: WebhooksService;
  let env: NodeJS.ProcessEnv;
  let ok: PlainReceiver;
  let bad: PlainReceiver;
  let okEp: { id: string; secret: string };
  let badEp: { id: string; secret: string };
  let customerId: number;
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db);
    webhooks = example.app.get(WebhooksService);
    env = cliEnv(db, example.bullPrefix);
    [ok, bad] = await Promise.all([plainReceiver(200), plainReceiver(500)]);
    okEp = (await example.api('POST', '/api/webhook-endpoints', { url: ok.url, topics: ['order.*'] })).body;
    badEp = (await example.api('POST', '/api/webhook-endpoints', { url: bad.url, topics: ['order.created'] })).body;
    customerId = (await example.api('POST', '/api/customers', { name: 'CLI customer', email: 'cli@example.com' })).body.id;
    for (const total of ['10.00', '20.00']) {
      expect((await example.api('POST', '/api/orders', { customerId, total, status: 'pending' })).status).toBe(201);
    }
    // Two order.created each: delivered to ok, failed at bad after 4 attempts (retries 100, 200, 300 ms).
    await waitUntil(async () => (await webhooks.searchDeliveries({ status: 'failed' })).length === 2, 'the failed deliveries');
    await waitUntil(async () => (await webhooks.searchDeliveries({ status: 'succeeded' })).length === 2, 'the delivered ones');
  });
  afterAll(async () => {
    await example?.close();
    await Promise.all([ok?.close(), bad?.close()]);
    if (example) await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('status and endpoints list: the health at a glance, as a table and as JSON', async () => {
    const [json, listJson, table, list] = await Promise.all([
      cli('status', '--json'),
      cli('endpoints', '--json'),
      ...(full ? [cli('status'), cli('endpoints', 'list')] : []),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const status = json.json();
    expect(status.endpoints).toEqual({ healthy: 1, warning: 1, critical: 0, untested: 0, disabled: 0, total: 2 });
    expect(status.failing.map((f: any) => f.id)).toEqual([badEp.id]);
    expect(status.outbox).toEqual({ pending: 0, delivering: 0 });
    expect(status.queue).toMatchObject({ failed: 0 });
    expect(status.circuits).toEqual({ open: 0, halfOpen: 0, paused: 0, unknown: false });
    expect(status.attemptsLastHour).toEqual({ succeeded: 2, failed: 8 });
    expect(status.lastHour).toMatchObject({ samples: 2, p50Ms: expect.any(Number), p95Ms: expect.any(Number) });
    expect(
      listJson
        .json()
        .map((e: any) => e.id)
        .sort(),
    ).toEqual([okEp.id, badEp.id].sort());
    if (!full) return;

    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Endpoints: +2 in all: 1 healthy, 1 warning, 0 critical, 0 untested, 0 disabled$/m);
    expect(table.stdout).toMatch(/^Outbox: +0 pending, 0 delivering$/m);
    expect(table.stdout).toMatch(/^Queue: +\d+ waiting, \d+ active, \d+ delayed, \d+ failed$/m);
    expect(table.stdout).toMatch(/^Commit to delivered: +p50 [\d.]+ m?s, p95 [\d.]+ m?s \(2 deliveries in the last hour\)$/m);
    expect(table.stdout).toContain('Failing endpoints (1 of 1):');
    expect(table.stdout).toMatch(new RegExp(`^${badEp.id} +warning +2 +\\S+Z +HTTP 500; gave up after 4 attempts +${bad.url}$`, 'm'));
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID +STATE +CIRCUIT +SUCCESS +FAILURES +OWNER +TOPICS +URL$/);
    expect(list.stdout).toMatch(new RegExp(`^${okEp.id} +healthy +closed +100% +0 +- +order\\.\\* +${ok.url}$`, 'm'));
  });

  itFull('endpoints show: every field, never the secret', async () => {
    const shown = await cli('endpoints', 'show', okEp.id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Topics: +order\.\*$/m);
    expect(shown.stdout).toMatch(new RegExp(`^URL: +POST ${ok.url}$`, 'm'));
    expect(shown.stdout).toMatch(/^Health: +healthy$/m);
    expect(shown.stdout).not.toContain(okEp.secret);
  });

  itFull('unknown ids: exit 1 naming the id; bad arguments: exit 2 saying what is expected', async () => {
    const runs = await Promise.all([
      cli('endpoints', 'show', 'ep_unknown'),
      cli('redeliver', 'dlv_unknown'),
      cli('deliveries', 'list', '--since', 'yesterday'),
      cli('recover', badEp.id),
      cli('frobnicate'),
    ]);
    const [show, redeliver, since, recover, unknown] = runs;
    expect([show.code, show.stderr.trim().split('\n').pop()]).toEqual([1, 'error: Webhook endpoint "ep_unknown" does not exist.']);
    expect([redeliver.code, redeliver.stderr]).toEqual([1, expect.stringContaining('Webhook delivery "dlv_unknown" does not exist.')]);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain(
      'error: --since must be an ISO 8601 time such as 2026-11-24T00:00:00Z (or 2026-11-24), or a duration before now such as 30m, 24h or 7d (got "yesterday").',
    );
    expect([recover.code, recover.stderr]).toEqual([2, expect.stringContaining("required option '--since <time>' not specified")]);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining("unknown command 'frobnicate'")]);
    for (const run of runs) expect(run.stdout).toBe('');
  });

  it('deliveries list: across endpoints, --failed, --endpoint, --since, --limit', async () => {
    const runs = await Promise.all([
      cli('deliveries', 'list', '--failed', '--json'),
      ...(full ? [cli('deliveries', '--endpoint', okEp.id, '--since', '10m', '--json'), cli('deliveries', 'list', '--limit', '1')] : []),
    ]);
    const [failed, mine, one] = runs;
    const failures = failed.json();
    expect(failures.map((d: any) => [d.endpointId, d.status, d.attempts.length])).toEqual([
      [badEp.id, 'failed', 4],
      [badEp.id, 'failed', 4],
    ]);
    expect(failures[0].lastError).toBe('HTTP 500; gave up after 4 attempts');
    if (!full) return;
    expect(mine.json().map((d: any) => [d.endpointId, d.status, d.topic])).toEqual([
      [okEp.id, 'succeeded', 'order.created'],
      [okEp.id, 'succeeded', 'order.created'],
    ]);
    const lines = one.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +CREATED +STATUS +ATTEMPTS +TOPIC +ENDPOINT +LAST ANSWER$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^dlv_\w+ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +(succeeded|failed) +[14] +order\.created +ep_\w+ +(HTTP 200|HTTP 500; gave up after 4 attempts)$/,
    );
  });

  it('stats and errors: per endpoint figures and the error groups, as tables and JSON', async () => {
    const [stats, errors, statsTable, errorsTable] = await Promise.all([
      cli('stats', '--json'),
      cli('errors', '--json'),
      ...(full ? [cli('stats', '--since', '1h'), cli('errors', '--since', new Date(Date.now() - 3_600_000).toISOString())] : []),
    ]);
    const s = stats.json();
    const byId = new Map(s.endpoints.map((e: any) => [e.endpointId, e]));
    expect(byId.get(okEp.id)).toMatchObject({
      deliveries: { total: 2, succeeded: 2, failed: 0, pending: 0 },
      successRate: 1,
      attempts: { total: 2, failed: 0 },
    });
    expect(byId.get(badEp.id)).toMatchObject({
      deliveries: { total: 2, succeeded: 0, failed: 2, pending: 0 },
      successRate: 0,
      attempts: { total: 8, failed: 8 },
    });
    expect((byId.get(badEp.id) as any).attempts.p50Ms).toEqual(expect.any(Number));
    expect(s.total.deliveries.total).toBe(4);
    const e = errors.json();
    expect(e).toMatchObject({ failedAttempts: 8, distinctErrors: 1 });
    expect(e.errors).toEqual([
      { error: 'HTTP 500', count: 8, endpoints: [{ endpointId: badEp.id, url: bad.url, count: 8 }], lastSeenAt: expect.any(String) },
    ]);
    if (!full) return;

    expect(statsTable.stdout).toMatch(/^Deliveries and attempts from \S+ to \S+:$/m);
    expect(statsTable.stdout).toMatch(/^ENDPOINT +DELIVERIES +SUCCEEDED +FAILED +PENDING +SUCCESS +ATTEMPTS +P50 +P95 +URL$/m);
    expect(statsTable.stdout).toMatch(new RegExp(`^${badEp.id} +2 +0 +2 +0 +0% +8 +[\\d,]+ ms +[\\d,]+ ms +${bad.url}$`, 'm'));
    expect(statsTable.stdout).toMatch(/^all +4 +2 +2 +0 +50% +10 /m);
    expect(errorsTable.stdout).toMatch(/^8 failed attempts, 1 different errors, from \S+ to \S+:$/m);
    expect(errorsTable.stdout).toMatch(new RegExp(`^8 +\\S+ +${badEp.id} \\(8\\) +HTTP 500$`, 'm'));
  });

  itFull('endpoints test, disable and enable', async () => {
    const [good, failing] = await Promise.all([cli('endpoints', 'test', okEp.id), cli('endpoints', 'test', badEp.id, '--json')]);
    expect([good.code, good.stdout]).toEqual([0, expect.stringMatching(/^Test delivery dlv_\w+ succeeded: HTTP 200 in [\d,]+ ms\.$/m)]);
    expect(ok.requests.at(-1)!.body).toMatchObject({ type: 'webhook.test', data: { endpointId: okEp.id } });
    expect(failing.code).toBe(1);
    expect(failing.json()).toMatchObject({ ok: false, status: 500, error: 'HTTP 500' });

    const disabled = await cli('endpoints', 'disable', badEp.id, '--reason', 'receiver under maintenance', '--json');
    expect(disabled.json()).toMatchObject({
      id: badEp.id,
      active: false,
      health: { state: 'disabled', disabledReason: 'receiver under maintenance' },
    });
    const enabled = await cli('endpoints', 'enable', badEp.id);
    expect([enabled.code, enabled.stdout]).toEqual([0, `Enabled ${badEp.id} (${bad.url}); health untested.\n`]);
  });

  itFull('recover and redeliver: the app’s worker sends them again', async () => {
    bad.status = 200; // the receiver is back
    const before = bad.requests.length;
    // Its failed deliveries: the two order.created, and the failed test send of the previous test.
    const recovered = await cli('recover', badEp.id, '--since', '1h', '--json');
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.json()).toMatchObject({ endpointId: badEp.id, count: 3 });
    await waitUntil(
      async () => (await webhooks.searchDeliveries({ endpointId: badEp.id, status: 'succeeded' })).length === 3,
      'the recovered deliveries',
    );
    expect(bad.requests.length).toBe(before + 3);

    const [delivery] = await webhooks.searchDeliveries({ endpointId: badEp.id, status: 'succeeded', topic: 'order.created', limit: 1 });
    const again = await cli('redeliver', delivery.id);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining(`Queued ${delivery.id} (order.created to ${badEp.id}) again`)]);
    await waitUntil(() => bad.requests.length === before + 4, 'the redelivery');
    expect(bad.requests.at(-1)!.headers['webhook-id']).toBe(delivery.eventId);
  });

  it('send: a custom event through the outbox, delivered by the app’s worker', async () => {
    const data = { orderId: 1, customerId, total: '10.00' };
    const sent = await cli('send', 'order.shipped', '--data', JSON.stringify(data), '--owner', String(customerId), '--json');
    expect(sent.code, sent.stderr).toBe(0);
    const { eventId } = sent.json();
    expect(eventId).toMatch(/^evt_/);
    await waitUntil(() => ok.requests.some((r) => r.headers['webhook-id'] === eventId), 'the sent event');
    expect(ok.requests.find((r) => r.headers['webhook-id'] === eventId)!.body).toMatchObject({ type: 'order.shipped', data });
    if (!full) return;
    const undeclared = await cli('send', 'order.refunded', '--data', '{}');
    expect([undeclared.code, undeclared.stderr]).toEqual([
      2,
      expect.stringContaining('Cannot emit "order.refunded": it is not a declared topic'),
    ]);
  });

  itFull('cleanup: --dry-run counts what the retention would delete, then it is deleted', async () => {
    const dataSource = example.app.get(DataSource);
    const at = new Date(Date.now() - 40 * DAY);
    const id = `evt_cli_old_${randomBytes(4).toString('hex')}`;
    await dataSource
      .getRepository(WebhookEvent)
      .insert({ id, topic: 'order.created', entityName: 'order', entityId: '1', payload: '{}', createdAt: at });
    const delivery = {
      id: `dlv_${id}`,
      eventId: id,
      endpointId: okEp.id,
      topic: 'order.created',
      attemptCount: 1,
      createdAt: at,
      updatedAt: at,
    };
    await dataSource.getRepository(WebhookDelivery).insert({ ...delivery, status: 'succeeded' });
    await dataSource.getRepository(WebhookAttempt).insert({
      id: `att_${id}`,
      deliveryId: `dlv_${id}`,
      attemptNumber: 1,
      trigger: 'scheduled',
      requestUrl: ok.url,
      responseStatus: 200,
      durationMs: 3,
      createdAt: at,
    });
    const dry = await cli('cleanup', '--dry-run', '--json');
    expect(dry.json()).toMatchObject({ dryRun: true, events: 1, deliveries: 1, attempts: 1, succeededAtOnce: false });
    expect(await dataSource.getRepository(WebhookEvent).existsBy({ id })).toBe(true);
    const done = await cli('cleanup');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(
      /^Deleted 1 event with 1 delivery and 1 attempt: finished history created before \S+Z \(retentionDays: 30\)\.$/m,
    );
    expect(await dataSource.getRepository(WebhookEvent).existsBy({ id })).toBe(false);
  });

  it('migrate: runs the library’s and the shop’s migrations on a fresh database, then has none to run', async () => {
    const fresh = await createDatabase(kind);
    try {
      const freshEnv = cliEnv(fresh, `${example.bullPrefix}_migrate`);
      const first = await runCli(['migrate'], freshEnv);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^Ran 9 migrations:\n {2}WebhooksSchema\d+\n/);
      expect(first.stdout).toContain('ShopSchema1764700000000');
      expect(first.stdout).toMatch(/9 migrations applied in all\.\n$/);
      const again = await runCli(['migrate', '--json'], freshEnv);
      expect(again.json()).toEqual({ dryRun: false, pending: [], executed: [], applied: 9 });
    } finally {
      await fresh.drop();
    }
  });

  it('perf: a small load test against its own receiver, cleaned up afterwards', async () => {
    // SQLite prints the table, the other databases the JSON (one run each: a run is a process with a worker).
    const run = await cli('perf', '--events', '30', ...(full ? [] : ['--json']));
    expect(run.code, run.stderr).toBe(0);
    if (full) {
      expect(run.stdout).toMatch(
        /^perf: 30 events to http:\/\/127\.0\.0\.1:\d+\/perf \(worker concurrency 20, 20 in flight to the endpoint at most\)$/m,
      );
      // Figures are grouped by thousands (1,111 events/s on a fast machine).
      expect(run.stdout).toMatch(/^recorded: +30 events in [\d,]+\.\d\d s \([\d,]+ events\/s\)$/m);
      expect(run.stdout).toMatch(/^delivered: +30 in [\d,]+\.\d\d s from the first save to the last receipt: [\d,]+ deliveries\/s$/m);
      expect(run.stdout).toMatch(/^latency: +save → receipt p50 [\d,]+ ms, p90 [\d,]+ ms, p99 [\d,]+ ms, max [\d,]+ ms$/m);
      expect(run.stdout).toMatch(/^attempts: +HTTP attempt p50 [\d,]+ ms, p95 [\d,]+ ms$/m);
      expect(run.stdout).toMatch(/^Removed the temporary endpoint ep_\w+ and its events, and the run’s queue\.$/m);
    } else {
      const result = run.json();
      expect(result).toMatchObject({ events: 30, received: 30, duplicates: 0, isolatedQueue: true, concurrency: 20 });
      expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/perf$/);
      expect(result.deliveriesPerSecond).toBeGreaterThan(0);
      expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
      expect(result.attemptMs.p50).toEqual(expect.any(Number));
    }
    // Its endpoint, events and queue are gone; the app's endpoints are as they were.
    expect((await webhooks.listEndpoints()).map((e) => e.id).sort()).toEqual([okEp.id, badEp.id].sort());
    expect(await example.app.get(DataSource).getRepository(WebhookEvent).countBy({ topic: 'webhook.perf' })).toBe(0);
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.keys(`${example.bullPrefix}-perf-*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
