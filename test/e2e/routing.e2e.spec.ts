import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runWithoutWebhooks,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEvent,
  WebhooksService,
  type EndpointInput,
} from 'nestjs-outgoing-webhooks';
import { verifyWebhook } from 'nestjs-outgoing-webhooks/receiver';
import { Profile, RoutingExtensionsModule, ROUTING_ENTITIES, StampHeaders, Ticket } from '../fixtures/routing.entities.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { sleep, waitUntil } from '../support/wait.js';

describe.each(databaseKinds())('routing and payload control (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let rx: Receiver;
  let service: WebhooksService;
  let dataSource: DataSource;
  let actor: unknown = null;
  const names = new Map<string, string>(); // endpoint id -> test name
  const seen = new Set<string>();

  const endpoint = async (name: string, input: Partial<EndpointInput>) => {
    const created = await service.createEndpoint({ url: `${rx.url}/${name}`, topics: ['ticket.*'], ...input } as EndpointInput);
    names.set(created.id, name);
    return created;
  };
  /** The endpoints that got a delivery since the last call, by test name, sorted. */
  const routedSinceLastCheck = async () => {
    const rows = await dataSource.getRepository(WebhookDelivery).find({ order: { id: 'ASC' } });
    const fresh = rows.filter((r) => !seen.has(r.id));
    for (const r of fresh) seen.add(r.id);
    return fresh.map((r) => names.get(r.endpointId) ?? r.endpointId).sort();
  };
  /** Bodies received by one endpoint, in event order (deliveries of different events may arrive in any order). */
  const bodiesFor = (name: string) =>
    rx.requests
      .filter((r) => r.path === `/hooks/${name}`)
      .map((r) => JSON.parse(r.body))
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  /** The one body of this event type (event ids order events of different milliseconds only). */
  const ofType = (bodies: Array<{ type: string }>, type: string) => {
    const found = bodies.filter((b) => b.type === type);
    expect(found, type).toHaveLength(1);
    return found[0] as (typeof bodies)[number] & Record<string, any>;
  };
  /** Resolves with the bodies one endpoint received, in event order, once there are at least `count`. */
  const bodiesOf = (name: string, count: number) =>
    waitUntil(() => (bodiesFor(name).length >= count ? bodiesFor(name) : undefined), `${count} bodies at ${name}`);
  /** Resolves with the requests one endpoint received, once there are at least `count`. */
  const requestsTo = (name: string, count: number) =>
    waitUntil(() => {
      const list = rx.requests.filter((r) => r.path === `/hooks/${name}`);
      return list.length >= count ? list : undefined;
    }, `${count} requests to ${name}`);
  /** Each test after the table starts without endpoints. */
  const clearEndpoints = async () => {
    for (const e of await service.listEndpoints()) await service.deleteEndpoint(e.id);
    await routedSinceLastCheck();
  };
  const ticket = (id: number, fields: Partial<Ticket>) =>
    Ticket.create({ id, status: 'open', priority: 'low', bucket: null, total: '1.00', ...fields }).save();

  beforeAll(async () => {
    db = await createDatabase(kind);
    rx = await Receiver.start();
    fixture = await startFixture(db, {
      entities: ROUTING_ENTITIES,
      extra: [RoutingExtensionsModule],
      webhooksOptions: { topics: ['report.ready'], actor: () => actor, redact: { patterns: ['pin'] } },
    });
    service = fixture.app.get(WebhooksService);
    dataSource = fixture.app.get(DataSource);
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  it('routes each event to exactly the endpoints whose topics and filters match (table)', async () => {
    await endpoint('A', { topics: ['ticket.*'] });
    await endpoint('B', { topics: ['ticket.created'] });
    await endpoint('C', { topics: ['*.deleted'] });
    await endpoint('D', { topics: ['*'] });
    await endpoint('E', { filters: { ticket: { ids: [1, '4'] } } });
    await endpoint('F', { filters: { ticket: { bucket: 'eu' } } });
    await endpoint('G', { filters: { ticket: { bucket: ['eu', 'us'] } } });
    await endpoint('H', { filters: { ticket: { fields: { priority: 'high' } } } });
    await endpoint('I', { filters: { ticket: { bucket: 'eu', fields: { status: { in: ['open', 'escalated'] } } } } });
    await endpoint('J', { topics: ['profile.*'], filters: { ticket: { bucket: 'eu' } } });
    await endpoint('K', { topics: ['report.ready'], filters: { report: { fields: { kind: 'daily' } } } });
    await endpoint('L', { topics: ['ticket.escalated'], filters: { ticket: { ids: [2] } } });
    expect(await routedSinceLastCheck()).toEqual([]);

    const cases: Array<[string, () => Promise<unknown>, string[]]> = [
      ['create eu/high/open #1', () => ticket(1, { bucket: 'eu', priority: 'high' }), ['A', 'B', 'D', 'E', 'F', 'G', 'H', 'I']],
      ['create us/low/open #2', () => ticket(2, { bucket: 'us' }), ['A', 'B', 'D', 'G']],
      ['create no bucket/high/closed #3', () => ticket(3, { priority: 'high', status: 'closed' }), ['A', 'B', 'D', 'H']],
      [
        'update #1 status to closed',
        async () => {
          const t = await Ticket.findOneByOrFail({ id: 1 });
          t.status = 'closed';
          return t.save();
        },
        ['A', 'D', 'E', 'F', 'G', 'H'],
      ],
      [
        'update #2 status to escalated',
        async () => {
          const t = await Ticket.findOneByOrFail({ id: 2 });
          t.status = 'escalated';
          return t.save();
        },
        ['A', 'D', 'G'],
      ],
      ['delete #3', async () => (await Ticket.findOneByOrFail({ id: 3 })).remove(), ['A', 'C', 'D', 'H']],
      ['create profile #1', () => Profile.create({ id: 1, firstName: 'Sample', lastName: 'User', tags: 'x' }).save(), ['D', 'J']],
      ['delete profile #1', async () => (await Profile.findOneByOrFail({ id: 1 })).remove(), ['C', 'D', 'J']],
      ['emit report.ready daily', () => service.emit('report.ready', { kind: 'daily' }), ['D', 'K']],
      ['emit report.ready weekly', () => service.emit('report.ready', { kind: 'weekly' }), ['D']],
      // A custom topic under an entity's prefix: its data is not the row, so only `ids` filters apply.
      [
        'emit ticket.escalated for #2',
        () => service.emit('ticket.escalated', { reason: 'sla' }, { entityId: 2 }),
        ['A', 'D', 'F', 'G', 'H', 'I', 'L'],
      ],
      [
        'emit ticket.escalated for #1',
        () => service.emit('ticket.escalated', { reason: 'sla' }, { entityId: 1 }),
        ['A', 'D', 'E', 'F', 'G', 'H', 'I'],
      ],
      [
        'create asia/high/escalated #4',
        () => ticket(4, { bucket: 'asia', priority: 'high', status: 'escalated' }),
        ['A', 'B', 'D', 'E', 'H'],
      ],
      [
        'update #4 bucket only (status is watched)',
        async () => {
          const t = await Ticket.findOneByOrFail({ id: 4 });
          t.bucket = 'eu';
          return t.save();
        },
        [],
      ],
      ['delete #1 (eu/high/closed)', async () => (await Ticket.findOneByOrFail({ id: 1 })).remove(), ['A', 'C', 'D', 'E', 'F', 'G', 'H']],
    ];
    for (const [what, act, expected] of cases) {
      await act();
      expect(await routedSinceLastCheck(), what).toEqual(expected);
    }
    // And they are delivered.
    const total = cases.reduce((n, [, , e]) => n + e.length, 0);
    await rx.waitFor(total);
  });

  it('watch: an update of an unwatched field sends nothing; a status change sends changes with only what changed', async () => {
    await clearEndpoints();
    const ep = await endpoint('watch', { topics: ['ticket.updated'] });
    await ticket(10, { bucket: 'x' });
    const t = await Ticket.findOneByOrFail({ id: 10 });
    t.total = '9.99';
    await t.save();
    expect(await routedSinceLastCheck()).toEqual([]);
    t.status = 'closed';
    await t.save();
    expect(await routedSinceLastCheck()).toEqual(['watch']);
    const [body] = await bodiesOf('watch', 1);
    expect(body.changes).toEqual({ status: { old: 'open', new: 'closed' } });
    expect(body.data).toMatchObject({ id: 10, status: 'closed', total: '9.99' });
    await service.deleteEndpoint(ep.id);
  });

  it('shouldSend, runWithoutWebhooks and emit in a rolled-back transaction send nothing', async () => {
    await clearEndpoints();
    const ep = await endpoint('quiet', { topics: ['ticket.*', 'report.ready'] });
    await ticket(20, { draft: true }); // shouldSend: drafts are not sent
    // A partial save of a draft: shouldSend sees the whole row (draft still true), not just the saved columns.
    await dataSource.getRepository(Ticket).save({ id: 20, status: 'closed' });
    await runWithoutWebhooks(() => ticket(21, {}));
    await runWithoutWebhooks(async () => {
      const t = await Ticket.findOneByOrFail({ id: 21 });
      t.status = 'closed';
      await t.save();
      await Ticket.update({ id: 21 }, { priority: 'high' }); // a bulk update: allowed, and silent, when off
      await t.remove();
    });
    await runWithoutWebhooks(async () => {
      await sleep(1); // still suppressed after an await
      await service.emit('report.ready', { kind: 'daily' });
    });
    await dataSource
      .transaction(async (manager) => {
        await service.emit('report.ready', { kind: 'rolled back' }, { manager });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await routedSinceLastCheck()).toEqual([]);

    await dataSource.transaction(async (manager) => {
      await service.emit('report.ready', { kind: 'committed' }, { manager });
    });
    expect(await routedSinceLastCheck()).toEqual(['quiet']);
    const bodies = await bodiesOf('quiet', 1);
    await sleep(300);
    expect(bodiesFor('quiet')).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ type: 'report.ready', data: { kind: 'committed' } });
    await service.deleteEndpoint(ep.id);
  });

  it('rejects emitting an undeclared topic, or with a manager of another DataSource', async () => {
    await expect(service.emit('report.redy', {})).rejects.toThrow(/"report.redy": it is not a declared topic.*declared: .*report\.ready/);
    // Its rows would go to that database, and its commit would enqueue nothing.
    const other = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    try {
      await expect(other.transaction((manager) => service.emit('report.ready', { kind: 'elsewhere' }, { manager }))).rejects.toThrow(
        'manager belongs to another DataSource',
      );
    } finally {
      await other.destroy();
    }
  });

  it('emit() outside a transaction writes its event with its deliveries or not at all', async () => {
    await clearEndpoints();
    const ep = await endpoint('together', { topics: ['report.ready'] });
    // A database trigger refuses every delivery row: the event written before them must not stay behind alone.
    const refuse = async (on: boolean) => {
      if (kind === 'sqlite') {
        await dataSource.query(
          on
            ? `CREATE TRIGGER refuse_delivery BEFORE INSERT ON webhook_delivery BEGIN SELECT RAISE(ABORT, 'refused by test'); END`
            : 'DROP TRIGGER refuse_delivery',
        );
      } else if (kind === 'mariadb') {
        await dataSource.query(
          on
            ? `CREATE TRIGGER refuse_delivery BEFORE INSERT ON webhook_delivery FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by test'`
            : 'DROP TRIGGER refuse_delivery',
        );
      } else {
        const schema = (db.config as { schema: string }).schema;
        await dataSource.query(
          on
            ? `CREATE FUNCTION "${schema}".refuse_delivery() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$ LANGUAGE plpgsql;
               CREATE TRIGGER refuse_delivery BEFORE INSERT ON "${schema}".webhook_delivery FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_delivery()`
            : `DROP TRIGGER refuse_delivery ON "${schema}".webhook_delivery; DROP FUNCTION "${schema}".refuse_delivery()`,
        );
      }
    };
    const events = dataSource.getRepository(WebhookEvent);
    const before = await events.count();
    await refuse(true);
    try {
      await expect(service.emit('report.ready', { kind: 'refused' })).rejects.toThrow(/refused by test/);
    } finally {
      await refuse(false);
    }
    expect(await events.count()).toBe(before);
    expect(await routedSinceLastCheck()).toEqual([]);

    await service.emit('report.ready', { kind: 'accepted' });
    expect(await events.count()).toBe(before + 1);
    expect(await routedSinceLastCheck()).toEqual(['together']);
    expect((await bodiesOf('together', 1))[0]).toMatchObject({ data: { kind: 'accepted' } });
    // Many at once (SQLite's one connection refuses a BEGIN while another transaction is open).
    await Promise.all(Array.from({ length: 10 }, (_, i) => service.emit('report.ready', { kind: `at once ${i}` })));
    expect(await events.count()).toBe(before + 11);
    await bodiesOf('together', 11);
    await service.deleteEndpoint(ep.id);
  });

  it('records and sends a payload of 200 KB (MySQL/MariaDB text columns hold 64 KB)', async () => {
    await clearEndpoints();
    const ep = await endpoint('large', { topics: ['report.ready'] });
    const text = 'é'.repeat(100_000); // 200 KB in UTF-8
    await service.emit('report.ready', { kind: 'large', text });
    const [body] = await bodiesOf('large', 1);
    expect(body.data.text).toBe(text);
    await service.deleteEndpoint(ep.id);
  });

  it('masks and drops fields per entity and per endpoint, in data and in changes, and adds the actor', async () => {
    await clearEndpoints();
    await endpoint('plain', { topics: ['ticket.created', 'ticket.updated'] });
    const narrow = await endpoint('narrow', {
      topics: ['ticket.created', 'ticket.updated'],
      fields: { exclude: ['total'], redact: ['priority', 'status'] },
    });
    await endpoint('only', { topics: ['ticket.created'], fields: { include: ['id', 'status'] } });
    actor = { id: 7, email: 'op@example.com' };
    await ticket(30, { password: 'hunter2', apiKey: 'k-123', note: 'private', internalCode: 'code-X1', bucket: 'eu' });
    const t = await Ticket.findOneByOrFail({ id: 30 });
    t.status = 'closed';
    t.note = 'changed too';
    await t.save();
    actor = null;
    const plain = await bodiesOf('plain', 2);
    const [created, updated] = [ofType(plain, 'ticket.created'), ofType(plain, 'ticket.updated')];
    expect(created.data).toMatchObject({ id: 30, password: '[REDACTED]', apiKey: '[REDACTED]', note: '[REDACTED]', total: '1.00' });
    expect(created.data).not.toHaveProperty('internalCode');
    expect(created.actor).toEqual({ id: 7, email: 'op@example.com' });
    expect(updated.changes).toEqual({ status: { old: 'open', new: 'closed' }, note: { old: '[REDACTED]', new: '[REDACTED]' } });
    expect(JSON.stringify([created, updated])).not.toMatch(/hunter2|k-123|private|changed too|code-X1/); // (a bare X1 can occur in a random event id)

    const narrowBodies = await bodiesOf('narrow', 2);
    const [narrowCreated, narrowUpdated] = [ofType(narrowBodies, 'ticket.created'), ofType(narrowBodies, 'ticket.updated')];
    expect(narrowCreated.data).not.toHaveProperty('total');
    expect(narrowCreated.data).toMatchObject({ priority: '[REDACTED]', status: '[REDACTED]', password: '[REDACTED]' });
    expect(narrowUpdated.changes).toEqual({
      status: { old: '[REDACTED]', new: '[REDACTED]' },
      note: { old: '[REDACTED]', new: '[REDACTED]' },
    });
    const [only] = await bodiesOf('only', 1);
    expect(only.data).toEqual({ id: 30, status: 'open' });
    // Each body is signed as sent: the endpoint-shaped body verifies with the endpoint's secret.
    const narrowRequest = rx.requests.find((r) => r.path === '/hooks/narrow')!;
    expect(() => verifyWebhook(narrowRequest.body, narrowRequest.headers as Record<string, string>, narrow.secret)).not.toThrow();
  });

  it('shapes the body with a custom serializer and a named transformer; sends PUT with provider headers', async () => {
    await clearEndpoints();
    await endpoint('profiles', { topics: ['profile.created'] });
    await endpoint('chat', { topics: ['profile.created'], transform: 'chat', method: 'PUT', headerProvider: 'stamp' });
    await Profile.create({ id: 5, firstName: 'Second', lastName: 'Sample', tags: 'a,b', karma: 3 }).save();
    const [profile] = await bodiesOf('profiles', 1);
    expect(profile.data).toEqual({
      id: 5,
      displayName: 'Second Sample',
      tags: ['a', 'b'],
      joinedAt: '2026-01-02T00:00:00.000Z',
      karma: '3000000000000',
      avatar: Buffer.from('png').toString('base64'),
      self: '[Circular]',
    });
    const chat = await waitUntil(() => rx.requests.find((r) => r.path === '/hooks/chat'), 'chat');
    expect(chat.method).toBe('PUT');
    expect(JSON.parse(chat.body)).toEqual({ text: 'profile.created #5', endpoint: [...names].find(([, n]) => n === 'chat')![0] });
    expect(chat.headers['x-stamp']).toBe(`${chat.headers['webhook-id']}/1`);
    expect(fixture.app.get(StampHeaders).calls).toBeGreaterThanOrEqual(1);
  });

  it('with a serializer, updates list only changes of fields it sends, and deletes keep the id', async () => {
    await clearEndpoints();
    await endpoint('ser', { topics: ['profile.updated', 'profile.deleted'] });
    const p = await Profile.create({ id: 6, firstName: 'Third', lastName: 'S', tags: 'x', karma: 1 }).save();
    p.karma = 2;
    p.lastName = 'Sample';
    await p.save();
    await p.remove();
    const ser = await bodiesOf('ser', 2);
    const [updated, deleted] = [ofType(ser, 'profile.updated'), ofType(ser, 'profile.deleted')];
    expect(updated.data.displayName).toBe('Third Sample');
    expect(updated.changes).toEqual({ karma: { old: 1, new: 2 } }); // lastName is a column the serializer does not send
    expect(deleted).toMatchObject({ type: 'profile.deleted', data: { id: 6, displayName: 'Third Sample' } });
  });

  it('an endpoint whose stored filters are invalid gets nothing, and writes of others still succeed', async () => {
    await clearEndpoints();
    const broken = await endpoint('broken', { topics: ['ticket.created'] });
    await endpoint('fine', { topics: ['ticket.created'] });
    // Edited by hand, bypassing validation.
    await dataSource.getRepository(WebhookEndpoint).update({ id: broken.id }, { filters: { ticket: { fields: { status: { in: 'x' } } } } });
    await fixture.app.get(EndpointCache, { strict: false }).reload();
    await ticket(50, {});
    expect(await routedSinceLastCheck()).toEqual(['fine']);
  });

  it('OAuth2 client credentials: fetches a token, reuses it until expiry, refreshes once on a 401', async () => {
    await clearEndpoints();
    const tokens = await Receiver.start();
    try {
      const token = (value: string) => ({
        status: 200,
        body: JSON.stringify({ access_token: value, token_type: 'Bearer', expires_in: 3600 }),
      });
      tokens.replies = [token('tok-1'), token('tok-2')];
      const ep = await endpoint('oauth', {
        topics: ['ticket.created'],
        auth: { type: 'oauth2', tokenUrl: tokens.url, clientId: 'client-1', clientSecret: 's3cr3t-value', scope: 'hooks:write' },
      });
      expect(ep.auth).toEqual({ type: 'oauth2', tokenUrl: tokens.url, clientId: 'client-1', clientSecret: '••••••', scope: 'hooks:write' });
      const stored = await dataSource.getRepository(WebhookEndpoint).createQueryBuilder('e').where('e.id = :id', { id: ep.id }).getRawOne();
      expect(stored.e_auth).toMatch(/^enc:v1:/);
      expect(stored.e_auth).not.toContain('s3cr3t-value');

      await ticket(40, {});
      await ticket(41, {});
      const first = await requestsTo('oauth', 2);
      expect(first.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);
      expect(tokens.requests).toHaveLength(1);
      expect(tokens.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('client-1:s3cr3t-value').toString('base64')}`);
      expect(Object.fromEntries(new URLSearchParams(tokens.requests[0]!.body))).toEqual({
        grant_type: 'client_credentials',
        scope: 'hooks:write',
      });

      rx.replies = [401];
      await ticket(42, {});
      const all = await requestsTo('oauth', 4); // the refused and the retried request
      expect(all.slice(2).map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
      expect(tokens.requests).toHaveLength(2);
      // The outcome is written just after the answer: wait for it.
      const delivery = await waitUntil(async () => {
        const [latest] = await service.listDeliveries(ep.id, { limit: 1 });
        return latest?.status === 'succeeded' ? latest : undefined;
      }, 'the retried delivery to succeed');
      expect(delivery.attemptCount).toBe(1);

      // A short-lived token is fetched again once it expires.
      tokens.replies = [{ status: 200, body: JSON.stringify({ access_token: 'tok-short', expires_in: 1 }) }, token('tok-3')];
      await service.updateEndpoint(ep.id, {
        auth: { type: 'oauth2', tokenUrl: tokens.url, clientId: 'client-1', clientSecret: '••••••', scope: 'other' },
      });
      await ticket(43, {});
      await requestsTo('oauth', 5); // delivered with the short-lived token
      await sleep(1100);
      await ticket(44, {});
      const last = await requestsTo('oauth', 6); // delivered after it expired
      expect(last.slice(4).map((r) => r.headers.authorization)).toEqual(['Bearer tok-short', 'Bearer tok-3']);
      // PATCH without the real secret kept the stored one (same token URL and client id).
      expect(tokens.requests[2]!.headers.authorization).toBe(`Basic ${Buffer.from('client-1:s3cr3t-value').toString('base64')}`);
      expect(Object.fromEntries(new URLSearchParams(tokens.requests[2]!.body)).scope).toBe('other');
      // ...but not for another token URL: there the secret must be given again.
      await expect(
        service.updateEndpoint(ep.id, {
          auth: { type: 'oauth2', tokenUrl: `${tokens.url}/other`, clientId: 'client-1', clientSecret: '••••••' },
        }),
      ).rejects.toThrow('auth.clientSecret holds the placeholder');
    } finally {
      await tokens.close();
    }
  });

  it('validates routing fields on save, saying why', async () => {
    const bad: Array<[object, RegExp]> = [
      [{ filters: 'x' }, /filters must be an object keyed by entity name/],
      [{ filters: { nope: { ids: [1] } } }, /filters\.nope: "nope" is not an entity or topic prefix/],
      [{ filters: { ticket: { bucket: 5 } } }, /filters\.ticket\.bucket must be a string/],
      [{ filters: { ticket: { fields: { password: 'x' } } } }, /filters\.ticket\.fields\.password: no such field/],
      [{ filters: { ticket: { fields: { status: { in: [] } } } } }, /filters\.ticket\.fields\.status must be/],
      [{ filters: { ticket: { colour: 'red' } } }, /unknown key "colour"/],
      [{ transform: 'nope' }, /transform "nope" is not a registered @WebhookTransformer\(\) name \(registered: chat\)/],
      [{ headerProvider: 'nope' }, /registered: stamp/],
      [{ method: 'DELETE' }, /method must be "POST" or "PUT"/],
      [{ fields: { hide: ['x'] } }, /unknown key "hide"/],
      [{ topics: ['ticket.closed'] }, /match no known topic/],
    ];
    for (const [input, message] of bad) {
      await expect(
        service.createEndpoint({ url: `${rx.url}/bad`, topics: ['ticket.*'], ...input } as EndpointInput),
        JSON.stringify(input),
      ).rejects.toThrow(message);
    }
  });
});

describe('the global switch', () => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  beforeAll(async () => {
    db = await createDatabase('sqlite');
    fixture = await startFixture(db, { entities: ROUTING_ENTITIES, webhooksOptions: { enabled: false, topics: ['report.ready'] } });
  });
  afterAll(async () => {
    await fixture?.close();
    await db?.drop();
  });

  it('enabled: false records nothing, for inserts, updates, deletes and emit()', async () => {
    const service = fixture.app.get(WebhooksService);
    await service.createEndpoint({ url: 'http://127.0.0.1:9/never', topics: ['*'] });
    const t = await Ticket.create({ id: 1 }).save();
    t.status = 'closed';
    await t.save();
    await t.remove();
    expect(await service.emit('report.ready', {})).toBeNull();
    expect(await fixture.app.get(DataSource).getRepository(WebhookDelivery).count()).toBe(0);
  });
});

describe('routing fields over the REST API', () => {
  let db: TestDatabase;
  let example: RunningExample;
  beforeAll(async () => {
    db = await createDatabase('sqlite');
    example = await startExample(db);
  });
  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('answers 400 saying why to bad filters, unknown topics, unknown transformers and bad header names, storing nothing', async () => {
    const cases: Array<[object, string]> = [
      [{ filters: '{"order": {"bucket": "eu"}' }, 'filters must be an object keyed by entity name'],
      [{ filters: { order: { bucket: ['eu', 3] } } }, 'filters.order.bucket must be a string or a non-empty list of strings'],
      [{ filters: { order: { fields: { colour: 'red' } } } }, 'filters.order.fields.colour: no such field'],
      [{ filters: { invoice: { ids: [1] } } }, '"invoice" is not an entity or topic prefix'],
      [{ topics: ['order.refunded'] }, 'match no known topic'],
      [{ transform: 'slack' }, 'transform "slack" is not a registered @WebhookTransformer() name (registered: none)'],
      [{ headers: { 'x bad': '1' } }, 'not a valid HTTP header name'],
      [{ headers: JSON.parse('{"__proto__": "1"}') as object }, 'header name "__proto__" is not allowed'],
      [{ auth: { type: 'oauth2', tokenUrl: 'ftp://x', clientId: 'a', clientSecret: 'b' } }, 'auth.tokenUrl: must use http or https'],
    ];
    for (const [input, message] of cases) {
      const res = await example.api('POST', '/api/webhook-endpoints', {
        url: 'https://hooks.example.com/in',
        topics: ['order.*'],
        ...input,
      });
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect(res.body.message).toContain(message);
    }
    expect((await example.api('GET', '/api/webhook-endpoints')).body).toEqual([]);
    const ok = await example.api('POST', '/api/webhook-endpoints', {
      url: 'https://hooks.example.com/in',
      topics: ['order.*'],
      filters: { order: { bucket: 'eu', fields: { status: { in: ['paid', 'shipped'] } } } },
      method: 'PUT',
      fields: { exclude: ['total'] },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ method: 'PUT', filters: { order: { bucket: 'eu' } }, fields: { exclude: ['total'] } });
  });
});
