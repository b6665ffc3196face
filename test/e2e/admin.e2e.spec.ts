import { isDeepStrictEqual } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { AdminClient } from '../support/admin-client.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { ADMIN_LOGIN, dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { waitUntil } from '../support/wait.js';

const E = '/admin/api/resources/WebhookEndpoint';

describe.each(databaseKinds())('admin over HTTP (%s)', (kind) => {
  // Each database's run logs in from its own loopback address (AdminJS's login limit is per address and process).
  const from = `127.0.0.${databaseKinds().indexOf(kind) + 1}`;
  let db: TestDatabase;
  let example: RunningExample;
  let admin: AdminClient;
  let rx: Receiver;
  let customerId: number;

  const service = () => example.app.get(WebhooksService);
  const endpointCount = async () => (await service().listEndpoints()).length;
  const create = async (fields: Record<string, unknown>) => {
    const res = await admin.post(`${E}/actions/new`, { url: rx.url, 'topics.0': 'order.created', ...fields });
    expect(res.json.record.errors).toEqual({});
    return { id: res.json.record.id as string, secret: res.json.secret as string, res };
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db, { admin: true, webhooks: { retrySchedule: [], maxEndpointsPerOwner: 2, topics: ['report.ready'] } });
    admin = new AdminClient(example.baseUrl, from);
    rx = await Receiver.start();
    customerId = (await example.api('POST', '/api/customers', { name: 'Admin', email: 'admin-test@example.com' })).body.id;
  });
  afterAll(async () => {
    await example?.close();
    await rx?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('redirects unauthenticated pages and API calls to the login and changes nothing', async () => {
    const { ep } = await example.receiverEndpoint();
    const anonymous = new AdminClient(example.baseUrl, from);
    for (const path of [
      '/admin',
      '/admin/resources/WebhookEndpoint',
      `${E}/actions/list`,
      '/admin/api/dashboard',
      `${E}/records/${ep.id}/show`,
    ]) {
      const res = await anonymous.get(path);
      expect([path, res.status, res.location]).toEqual([path, 302, '/admin/login']);
    }
    const before = await endpointCount();
    const created = await anonymous.post(`${E}/actions/new`, { url: rx.url, 'topics.0': 'order.created' });
    expect([created.status, created.location]).toEqual([302, '/admin/login']);
    const test = await anonymous.post(`${E}/records/${ep.id}/disable`);
    expect(test.status).toBe(302);
    expect(await endpointCount()).toBe(before);
    expect((await service().getEndpoint(ep.id)).active).toBe(true);

    const wrong = await anonymous.login(ADMIN_LOGIN.email, 'not the password');
    expect(wrong.text).toContain('invalidCredentials');
    expect((await anonymous.get('/admin')).status).toBe(302);
  });

  it('logs in with an httpOnly, sameSite session cookie', async () => {
    const res = await admin.login(ADMIN_LOGIN.email, ADMIN_LOGIN.password);
    expect([res.status, res.location]).toEqual([302, '/admin']);
    expect(admin.setCookie).toMatch(/HttpOnly/i);
    expect(admin.setCookie).toMatch(/SameSite=Lax/i);
    const home = await admin.get('/admin');
    expect(home.status).toBe(200);
    expect(home.text).toContain('<html');
  });

  it('shows validation problems on the form fields and saves nothing', async () => {
    const before = await endpointCount();
    const res = await admin.post(`${E}/actions/new`, {
      url: 'ftp://example.test/hook',
      'topics.0': 'nope.created',
      headers: '{"X-Broken": ',
      timeoutMs: 'soon',
    });
    expect(res.status).toBe(200);
    expect(res.json.notice.type).toBe('error');
    const errors = res.json.record.errors;
    expect(errors.headers.message).toMatch(/headers is not valid JSON/);
    expect(await endpointCount()).toBe(before);

    const second = await admin.post(`${E}/actions/new`, { url: 'ftp://example.test/hook', 'topics.0': 'nope.created', timeoutMs: 'soon' });
    const fields = second.json.record.errors;
    expect(fields.url.message).toMatch(/url must use http or https/);
    expect(fields.topics.message).toMatch(/nope\.created/);
    expect(fields.timeoutMs.message).toMatch(/timeoutMs must be/);
    expect(second.json.record.params.url).toBe('ftp://example.test/hook'); // the form keeps what was typed
    expect(await endpointCount()).toBe(before);

    const reserved = await admin.post(`${E}/actions/new`, {
      url: rx.url,
      'topics.0': 'order.created',
      headers: '{"webhook-signature": "x"}',
    });
    expect(reserved.json.record.errors.headers.message).toMatch(/webhook-signature/);
    expect(await endpointCount()).toBe(before);
  });

  it('hands out the secret once, on create and on rotate, and never in a list, show, search, edit or page', async () => {
    const headerValue = 'Bearer header-value-kept-hidden-7731';
    const clientSecret = 'client-secret-kept-hidden-9912';
    const { id, secret, res } = await create({
      headers: JSON.stringify({ Authorization: headerValue, 'X-Env': 'test' }),
      auth: JSON.stringify({ type: 'oauth2', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'shop', clientSecret }),
    });
    expect(secret).toMatch(/^whsec_/);
    expect(res.json.notice.message).toMatch(/not shown again/);
    expect(JSON.stringify(res.json.record)).not.toContain(secret.slice(6));

    const rotated = await admin.post(`${E}/records/${id}/rotateSecret`, { graceSeconds: '60' });
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(secret);
    expect(new Date(rotated.json.previousSecretsExpireAt).getTime()).toBeGreaterThan(Date.now());
    await service().updateEndpoint(id, { auth: null }); // so the test send below needs no token server
    const sent = await admin.post(`${E}/records/${id}/sendTest`);
    expect(sent.json.result).toMatchObject({ ok: true, status: 200 });
    const request = rx.requests.at(-1)!;
    expect(() => new Webhook(rotated.json.secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    const deliveryId = sent.json.result.deliveryId as string;
    const attempt = (await service().getDelivery(deliveryId)).attempts[0];

    const hidden = [secret, secret.slice(6), rotated.json.secret, rotated.json.secret.slice(6), headerValue, clientSecret];
    const pages = [
      `${E}/actions/list`,
      `${E}/actions/list?filters.url=127.0.0.1`,
      `${E}/records/${id}/show`,
      `${E}/records/${id}/edit`,
      `${E}/records/${id}/sendTest`,
      `${E}/records/${id}/rotateSecret`,
      `${E}/search/127`,
      `/admin/api/resources/WebhookDelivery/actions/list`,
      `/admin/api/resources/WebhookDelivery/records/${deliveryId}/show`,
      `/admin/api/resources/WebhookEvent/actions/list`,
      `/admin/api/resources/WebhookEvent/records/${sent.json.result.eventId}/show`,
      `/admin/api/resources/WebhookAttempt/actions/list`,
      `/admin/api/resources/WebhookAttempt/records/${attempt.id}/show`,
      '/admin/api/dashboard',
      '/admin',
      '/admin/resources/WebhookEndpoint',
      `/admin/resources/WebhookEndpoint/records/${id}/show`,
      `/admin/resources/WebhookEndpoint/records/${id}/edit`,
    ];
    for (const page of pages) {
      const answer = await admin.get(page);
      expect([page, answer.status]).toEqual([page, 200]);
      for (const value of hidden) expect(answer.text.includes(value), `${page} shows a hidden value`).toBe(false);
    }
    const shown = (await admin.get(`${E}/records/${id}/show`)).json.record.params;
    expect(JSON.parse(shown.headers)).toEqual({ authorization: '••••••', 'x-env': 'test' });
    expect(Object.keys(shown).filter((k) => /secret/i.test(k))).toEqual([]);
  });

  it('edits through the service: masked header values are kept, bad input is reported on the field', async () => {
    const { id } = await create({ headers: JSON.stringify({ Authorization: 'Bearer keep-me', 'X-Env': 'one' }) });
    const params = (await admin.get(`${E}/records/${id}/edit`)).json.record.params;
    const edited = await admin.post(`${E}/records/${id}/edit`, {
      ...params,
      description: 'Edited in the admin',
      headers: params.headers.replace('one', 'two'),
    });
    expect(edited.json.record.errors).toEqual({});
    expect(edited.json.notice.type).toBe('success');
    const view = await service().getEndpoint(id);
    expect(view).toMatchObject({ description: 'Edited in the admin', headers: { authorization: '••••••', 'x-env': 'two' } });
    await admin.post(`${E}/records/${id}/sendTest`);
    expect(rx.requests.at(-1)!.headers).toMatchObject({ authorization: 'Bearer keep-me', 'x-env': 'two' });

    const bad = await admin.post(`${E}/records/${id}/edit`, { ...params, url: 'not a url' });
    expect(bad.json.record.errors.url.message).toMatch(/not a valid absolute URL/);
    expect((await service().getEndpoint(id)).url).toBe(rx.url);
  });

  it('reports the per-owner endpoint limit on the owner field, on create and on edit, and saves nothing', async () => {
    await create({ ownerId: 'tenant-full' });
    await create({ ownerId: 'tenant-full' });
    const before = await endpointCount();
    const refused = await admin.post(`${E}/actions/new`, { url: rx.url, 'topics.0': 'order.created', ownerId: 'tenant-full' });
    const limit = /Owner "tenant-full" has 2 webhook endpoints, the most maxEndpointsPerOwner \(2\) allows/;
    expect(refused.json.notice).toMatchObject({ type: 'error', message: expect.stringMatching(limit) });
    expect(refused.json.record.errors.ownerId.message).toMatch(limit);
    expect(refused.json.record.params).toMatchObject({ url: rx.url, ownerId: 'tenant-full' }); // the form keeps what was typed
    expect(await endpointCount()).toBe(before);

    const { id } = await create({ 'topics.0': 'order.deleted' });
    const params = (await admin.get(`${E}/records/${id}/edit`)).json.record.params;
    const moved = await admin.post(`${E}/records/${id}/edit`, { ...params, ownerId: 'tenant-full', description: 'Moved' });
    expect(moved.status).toBe(200);
    expect(moved.json.notice).toMatchObject({ type: 'error', message: expect.stringMatching(limit) });
    expect(moved.json.record.errors.ownerId.message).toMatch(limit);
    expect(await service().getEndpoint(id)).toMatchObject({ ownerId: null, description: null });
  });

  it('runs every operation through the service with POST; a GET changes nothing', async () => {
    const { id } = await create({});
    expect((await admin.get(`${E}/records/${id}/disable`)).json.record.params.active).toBe(true);
    expect((await service().getEndpoint(id)).active).toBe(true);

    const disabled = await admin.post(`${E}/records/${id}/disable`);
    expect(disabled.json.record.params).toMatchObject({ active: false, health: 'disabled' });
    const refused = await admin.post(`${E}/records/${id}/sendTest`);
    expect(refused.json.notice).toMatchObject({ type: 'error', message: expect.stringMatching(/disabled/) });
    const enabled = await admin.post(`${E}/records/${id}/enable`);
    expect(enabled.json.record.params).toMatchObject({ active: true, health: 'untested' });

    rx.replies = [500];
    const failed = await admin.post(`${E}/records/${id}/sendTest`);
    expect(failed.json.result).toMatchObject({ ok: false, status: 500 });
    const redelivered = await admin.post(`/admin/api/resources/WebhookDelivery/records/${failed.json.result.deliveryId}/redeliver`);
    expect(redelivered.json.notice.type).toBe('success');
    await waitUntil(async () => (await service().getDelivery(failed.json.result.deliveryId)).status === 'succeeded', 'the redelivery');

    const reset = await admin.post(`${E}/records/${id}/resetHealth`);
    expect(reset.json.record.params.health).toBe('untested');
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const recovered = await admin.post(`${E}/records/${id}/recover`, { since });
    expect(recovered.json.count).toBe(0); // the only failure was redelivered already
    const badDate = await admin.post(`${E}/records/${id}/recover`, { since: 'yesterday-ish' });
    expect(badDate.json.notice).toMatchObject({ type: 'error', message: expect.stringMatching(/since must be a date/) });

    const other = await create({});
    const ids = `${id},${other.id}`;
    const bulkOff = await admin.post(`${E}/bulk/disableSelected?recordIds=${ids}`);
    expect(bulkOff.json.notice).toMatchObject({ type: 'success', message: '2 of 2 disabled.' });
    expect((await service().getEndpoints([id, other.id])).map((e) => e.active)).toEqual([false, false]);
    const bulkOn = await admin.post(`${E}/bulk/enableSelected?recordIds=${ids}`);
    expect(bulkOn.json.notice.message).toBe('2 of 2 enabled.');
    expect((await service().getEndpoints([id, other.id])).map((e) => e.active)).toEqual([true, true]);
  });

  it('reads the dashboard from aggregates and filters the logs', async () => {
    const failing = await Receiver.start();
    failing.fallback = { status: 503, body: '{"error":"maintenance"}' };
    try {
      const bad = await create({ url: failing.url });
      // An owner's endpoint fails too, on its owner's event (which only that owner's and the ownerless endpoints get).
      const owner = 'tenant-dash';
      const ownedBad = await create({ url: failing.url, ownerId: owner, 'topics.0': 'report.ready' });
      const good = await create({});
      await create({ 'topics.0': 'order.deleted' }); // stays untested
      await service().disable((await create({ 'topics.0': 'order.deleted' })).id);
      const order = await example.api('POST', '/api/orders', { customerId, total: '3.00', status: 'pending' });
      expect(order.status).toBe(201);
      const ownedEventId = await service().emit('report.ready', { report: 'monthly' }, { owner });
      // The earlier tests' endpoints for order.created get the order too: the outbox is empty once all are done.
      await waitUntil(async () => {
        for (const failed of [bad, ownedBad]) {
          const list = await service().listDeliveries(failed.id);
          if (list.length !== 1 || list[0].status !== 'failed') return false;
          // The failure counter is written just after the delivery's outcome.
          if ((await service().getEndpoint(failed.id)).health.consecutiveFailures !== 1) return false;
        }
        if ((await service().getEndpoint(good.id)).health.state !== 'healthy') return false;
        const { outbox } = await service().overview();
        return outbox.pending === 0 && outbox.delivering === 0;
      }, 'every delivery to finish and the health counters to follow');

      const states = ['healthy', 'warning', 'critical', 'untested', 'disabled'] as const;
      const countsOf = (list: Array<{ health: { state: string } }>) => ({
        total: list.length,
        ...Object.fromEntries(states.map((s) => [s, list.filter((v) => v.health.state === s).length])),
      });
      // An earlier test's endpoint may still be turning healthy (its health row follows its delivery's outcome):
      // the dashboard's counts must agree with the views read with it, once they stop moving.
      const { dashboard, views } = await waitUntil(async () => {
        const read = { dashboard: (await admin.get('/admin/api/dashboard')).json, views: await service().listEndpoints() };
        return isDeepStrictEqual(read.dashboard.endpoints, countsOf(read.views)) ? read : undefined;
      }, 'the dashboard to count the endpoints as their views say');
      const byState = (s: string) =>
        views
          .filter((v) => v.health.state === s)
          .map((v) => v.id)
          .sort();
      expect(dashboard.endpoints).toEqual(countsOf(views));
      for (const state of ['healthy', 'warning', 'untested', 'disabled']) expect([state, byState(state).length > 0]).toEqual([state, true]);
      // The list's health filter selects exactly the endpoints whose view has that state.
      for (const state of states) {
        const listed = (await admin.get(`${E}/actions/list?filters.health=${state}&perPage=500`)).json;
        expect([state, listed.records.map((r: any) => r.id).sort()]).toEqual([state, byState(state)]);
      }
      const entry = dashboard.failing.find((f: any) => f.id === bad.id);
      expect(entry).toMatchObject({ url: failing.url, ownerId: null, state: 'warning', consecutiveFailures: 1, lastResponseStatus: 503 });
      expect(entry.lastError).toMatch(/503/);
      const ownedEntry = dashboard.failing.find((f: any) => f.id === ownedBad.id);
      expect(ownedEntry).toMatchObject({ ownerId: owner, state: 'warning', consecutiveFailures: 1, lastResponseStatus: 503 });
      expect(dashboard.attemptsPerMinute).toHaveLength(60);
      const attempts = (await admin.get('/admin/api/resources/WebhookAttempt/actions/list?perPage=500')).json.meta.total;
      const charted = dashboard.attemptsPerMinute.reduce((n: number, m: any) => n + m.succeeded + m.failed, 0);
      expect(charted).toBe(attempts);
      expect(dashboard.attemptsPerMinute.reduce((n: number, m: any) => n + m.failed, 0)).toBeGreaterThanOrEqual(2);
      // The last hour: the share of failed attempts, and commit-to-delivered of the succeeded deliveries.
      const failedAttempts = dashboard.attemptsPerMinute.reduce((n: number, m: any) => n + m.failed, 0);
      expect(dashboard.lastHour.attempts).toBe(charted);
      expect(dashboard.lastHour.errorRate).toBeCloseTo(failedAttempts / charted, 10);
      const succeeded = (await admin.get(`/admin/api/resources/WebhookDelivery/actions/list?filters.status=succeeded&perPage=500`)).json;
      expect(dashboard.lastHour.samples).toBe(succeeded.meta.total);
      expect(dashboard.lastHour.p50Ms).toBeGreaterThanOrEqual(0);
      expect(dashboard.lastHour.p95Ms).toBeGreaterThanOrEqual(dashboard.lastHour.p50Ms);
      expect(dashboard.queue).toMatchObject({ waiting: expect.any(Number), delayed: expect.any(Number), failed: expect.any(Number) });
      expect(dashboard.outbox).toEqual({ pending: 0, delivering: 0 });

      const D = '/admin/api/resources/WebhookDelivery/actions/list';
      const failedOfBad = (await admin.get(`${D}?filters.endpointId=${bad.id}&filters.status=failed`)).json;
      expect(failedOfBad.records.map((r: any) => r.params.topic)).toEqual(['order.created']);
      const none = (await admin.get(`${D}?filters.endpointId=${bad.id}&filters.status=succeeded`)).json;
      expect(none.meta.total).toBe(0);
      const from = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
      const recent = (await admin.get(`${D}?filters.createdAt~~from=${from}&filters.topic=order.`)).json;
      expect(recent.meta.total).toBeGreaterThanOrEqual(2);
      const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
      expect((await admin.get(`${D}?filters.createdAt~~from=${future}`)).json.meta.total).toBe(0);
      const events = (
        await admin.get('/admin/api/resources/WebhookEvent/actions/list?filters.topic=order.created&filters.entityName=order')
      ).json;
      expect(events.meta.total).toBe(1);
      expect(events.records[0].params.payload).toBeUndefined(); // payloads only on the record page
      const event = (await admin.get(`/admin/api/resources/WebhookEvent/records/${events.records[0].id}/show`)).json;
      expect(JSON.parse(event.record.params.payload)).toMatchObject({ type: 'order.created' });

      // A delivery's owner is its event's: shown in the list and on the record, and filtered by exact value.
      const owned = (await admin.get(`${D}?filters.ownerId=${owner}`)).json;
      expect(owned.meta.total).toBe(1);
      expect(owned.records[0].params).toMatchObject({ endpointId: ownedBad.id, eventId: ownedEventId, ownerId: owner, status: 'failed' });
      expect((await admin.get(`${D}?filters.ownerId=${owner}&filters.status=succeeded`)).json.meta.total).toBe(0);
      expect((await admin.get(`${D}?filters.ownerId=tenant`)).json.meta.total).toBe(0); // not "contains"
      const shown = (await admin.get(`/admin/api/resources/WebhookDelivery/records/${owned.records[0].id}/show`)).json;
      expect(shown.record.params).toMatchObject({ ownerId: owner, eventId: ownedEventId });
      const tests = (await admin.get(`${D}?filters.topic=webhook.test&perPage=500`)).json.records; // sent to ownerless endpoints
      expect(tests.length).toBeGreaterThan(0);
      expect(tests.map((r: any) => r.params.ownerId)).toEqual(tests.map(() => null));
      const ownedEvents = (await admin.get(`/admin/api/resources/WebhookEvent/actions/list?filters.ownerId=${owner}`)).json;
      expect(ownedEvents.records.map((r: any) => [r.id, r.params.ownerId])).toEqual([[ownedEventId, owner]]);
      expect(byState('warning')).toContain(bad.id);
    } finally {
      await failing.close();
    }
  });

  it('takes a "contains" filter literally (% and _ match themselves), several at once', async () => {
    const urlOf = (path: string) => `${rx.url.replace(/\/$/, '')}/${path}`;
    const one = await service().createEndpoint({ url: urlOf('lit_a'), topics: ['order.created'], description: 'first 100% here' });
    const two = await service().createEndpoint({ url: urlOf('litXa'), topics: ['order.created'], description: 'second 1000 here' });
    const ids = async (query: string) => (await admin.get(`${E}/actions/list?${query}&perPage=500`)).json.records.map((r: any) => r.id);
    expect(await ids('filters.url=lit_a')).toEqual([one.id]);
    expect(await ids('filters.url=litXa')).toEqual([two.id]);
    expect(await ids(`filters.description=${encodeURIComponent('100%')}`)).toEqual([one.id]);
    expect(await ids(`filters.description=${encodeURIComponent('1_0')}`)).toEqual([]);
    expect(await ids('filters.url=lit&filters.description=second')).toEqual([two.id]);
    await service().deleteEndpoint(one.id);
    await service().deleteEndpoint(two.id);
  });

  it('answers filters and record ids with a NUL character as matching nothing, not with an error', async () => {
    const nul = 'a%00b';
    const lists = [
      `${E}/actions/list?filters.url=${nul}&filters.description=${nul}&filters.ownerId=${nul}`,
      `/admin/api/resources/WebhookEvent/actions/list?filters.topic=${nul}&filters.ownerId=${nul}&filters.entityId=${nul}&filters.id=${nul}`,
      `/admin/api/resources/WebhookDelivery/actions/list?filters.endpointId=${nul}&filters.topic=${nul}&filters.eventId=${nul}`,
      `/admin/api/resources/WebhookDelivery/actions/list?filters.ownerId=${nul}`,
      `/admin/api/resources/WebhookAttempt/actions/list?filters.deliveryId=${nul}&filters.trigger=${nul}`,
    ];
    for (const url of lists) {
      const res = await admin.get(url);
      expect([url, res.status]).toEqual([url, 200]);
      expect(res.json.meta.total).toBe(0);
    }
    for (const resource of ['WebhookEndpoint', 'WebhookEvent', 'WebhookDelivery', 'WebhookAttempt']) {
      const res = await admin.get(`/admin/api/resources/${resource}/records/${nul}/show`);
      // AdminJS answers a missing record with its not-found error in the body.
      expect([resource, res.status, res.json?.record?.baseError?.type]).toEqual([resource, 200, 'NotFoundError']);
      expect(res.json.record.id).toBeUndefined();
    }
  });

  it('leaves out a number filter that no integer column can hold, instead of failing the list', async () => {
    const A = '/admin/api/resources/WebhookAttempt/actions/list';
    const all = (await admin.get(A)).json.meta.total;
    for (const value of ['1.5', String(2 ** 31), '-99999999999', 'abc']) {
      const res = await admin.get(`${A}?filters.responseStatus=${value}`);
      expect([value, res.status, res.json?.meta?.total]).toEqual([value, 200, all]);
    }
    expect((await admin.get(`${A}?filters.responseStatus=599`)).json.meta.total).toBe(0);
  });
});
