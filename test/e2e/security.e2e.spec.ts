import { Webhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, HIDDEN_HEADER_VALUE, WebhooksService, WebhookEndpoint, WebhookSecret } from 'nestjs-outgoing-webhooks';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationFailure } from 'nestjs-outgoing-webhooks/receiver';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver, type ReceivedRequest } from '../support/receiver.js';
import { captureText, forgetLastText, leaks, noteSecret } from '../support/secret-watch.js';
import { sleep, waitUntil } from '../support/wait.js';

type Headers = Record<string, string>;
const headersOf = (r: ReceivedRequest) => r.headers as Headers;

/** The reason our verifier gives, or 'ok'. */
function reasonOf(fn: () => unknown): WebhookVerificationFailure | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
}

describe.each(databaseKinds())('security (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  let customerId: number;

  const endpoint = (extra: object = {}) => example.receiverEndpoint(extra);
  const order = async () =>
    expect((await example.api('POST', '/api/orders', { customerId, total: '1.00', status: 'pending' })).status).toBe(201);
  const dataSource = () => example.app.get(DataSource);
  const count = (entity: typeof WebhookEndpoint | typeof WebhookSecret) => dataSource().getRepository(entity).count();
  /** The stored column values of one row, as the database returns them (the test reads what is at rest). */
  const rawRow = (entity: typeof WebhookEndpoint | typeof WebhookSecret, where: string, id: string) =>
    dataSource().getRepository(entity).createQueryBuilder('r').where(`r.${where} = :id`, { id }).getRawMany();

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db);
    customerId = (await example.api('POST', '/api/customers', { name: 'Sec', email: 'sec@example.com' })).body.id;
  });
  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('signs deliveries that standardwebhooks, svix and verifyWebhook accept, and verifyWebhook says what is wrong otherwise', async () => {
    const { rx, ep } = await endpoint();
    await order();
    const [request] = await rx.waitFor(1);
    const headers = headersOf(request);
    const body = request.body;

    expect(new Webhook(ep.secret).verify(body, headers)).toMatchObject({ type: 'order.created' });
    expect(() => new SvixWebhook(ep.secret).verify(body, headers)).not.toThrow();
    const verified = verifyWebhook(body, headers, ep.secret);
    expect(verified).toMatchObject({ id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']), body });
    expect(verified.payload).toMatchObject({ type: 'order.created' });

    const tampered = body.replace('"1.00"', '"9.00"');
    expect(tampered).not.toBe(body);
    expect(reasonOf(() => verifyWebhook(tampered, headers, ep.secret))).toBe('invalid-signature');
    expect(() => new SvixWebhook(ep.secret).verify(tampered, headers)).toThrow();
    expect(reasonOf(() => verifyWebhook(body, headers, generateSecret()))).toBe('invalid-signature');
    const sentAt = Number(headers['webhook-timestamp']) * 1000;
    expect(reasonOf(() => verifyWebhook(body, headers, ep.secret, { now: () => sentAt + 6 * 60_000 }))).toBe('timestamp-too-old');
    expect(reasonOf(() => verifyWebhook(body, headers, ep.secret, { now: () => sentAt - 6 * 60_000 }))).toBe('timestamp-too-new');
    expect(reasonOf(() => verifyWebhook(body, headers, ep.secret, { now: () => sentAt + 4 * 60_000 }))).toBe('ok');
  });

  it('signs with old and new secret during the grace window, and with the new one only after it', async () => {
    const { rx, ep } = await endpoint();
    const res = await example.api('POST', `/api/webhook-endpoints/${ep.id}/rotate-secret`, { graceSeconds: 3 });
    expect(res.status).toBe(200);
    const { secret: newSecret, previousSecretsExpireAt } = res.body as { secret: string; previousSecretsExpireAt: string };
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(ep.secret);
    expect(Date.parse(previousSecretsExpireAt) - Date.now()).toBeLessThanOrEqual(3000);

    await order();
    const [during] = await rx.waitFor(1);
    expect(headersOf(during)['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [ep.secret, newSecret]) {
      expect(reasonOf(() => verifyWebhook(during.body, headersOf(during), secret))).toBe('ok');
      expect(() => new SvixWebhook(secret).verify(during.body, headersOf(during))).not.toThrow();
      expect(() => new Webhook(secret).verify(during.body, headersOf(during))).not.toThrow();
    }

    await sleep(Math.max(0, Date.parse(previousSecretsExpireAt) - Date.now()) + 100);
    await order();
    const after = (await rx.waitFor(2))[1];
    expect(headersOf(after)['webhook-signature'].split(' ')).toHaveLength(1);
    expect(reasonOf(() => verifyWebhook(after.body, headersOf(after), newSecret))).toBe('ok');
    expect(reasonOf(() => verifyWebhook(after.body, headersOf(after), ep.secret))).toBe('invalid-signature');
    expect(() => new SvixWebhook(ep.secret).verify(after.body, headersOf(after))).toThrow();
    // A receiver holding both (mid-switch) still verifies.
    expect(reasonOf(() => verifyWebhook(after.body, headersOf(after), [ep.secret, newSecret]))).toBe('ok');
  });

  it('rotates with graceSeconds 0 (leaked secret), caps live secrets, and validates the request', async () => {
    const { rx, ep } = await endpoint();
    const rotate = (body: unknown, id = ep.id) => example.api('POST', `/api/webhook-endpoints/${id}/rotate-secret`, body);
    for (const bad of [{ graceSeconds: -1 }, { graceSeconds: 604_801 }, { graceSeconds: 1.5 }, { graceSeconds: '60' }, { grace: 60 }]) {
      const res = await rotate(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.message).toMatch(/graceSeconds must be an integer from 0 to 604800|unknown field "grace"/);
    }
    expect((await rotate({}, 'ep_missing')).status).toBe(404);

    // The primary and four in their grace window sign; a fifth rotation with a grace window is refused.
    const secrets = [ep.secret];
    for (let i = 0; i < 4; i++) {
      const res = await rotate({ graceSeconds: 3600 });
      expect(res.status).toBe(200);
      secrets.push(res.body.secret);
    }
    const refused = await rotate({ graceSeconds: 3600 });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('graceSeconds 0');

    const last = await rotate({ graceSeconds: 0 });
    expect(last.status).toBe(200);
    expect(Date.parse(last.body.previousSecretsExpireAt)).toBeLessThanOrEqual(Date.now());
    await order();
    const [request] = await rx.waitFor(1);
    expect(headersOf(request)['webhook-signature'].split(' ')).toHaveLength(1);
    expect(reasonOf(() => verifyWebhook(request.body, headersOf(request), last.body.secret))).toBe('ok');
    expect(reasonOf(() => verifyWebhook(request.body, headersOf(request), secrets))).toBe('invalid-signature');
    // Expired secrets are deleted by the rotation: only the new primary is left.
    expect(await rawRow(WebhookSecret, 'endpointId', ep.id)).toHaveLength(1);
  });

  it('stores secrets and custom headers encrypted, and never shows them again', async () => {
    const { rx, ep } = await endpoint({ headers: { Authorization: 'Bearer tok_live_123456', 'X-Tenant': 'acme' } });
    const [row] = (await rawRow(WebhookSecret, 'endpointId', ep.id)).map((r) => ({ secret: r.r_secret as string }));
    const secretBody = ep.secret.slice('whsec_'.length);
    expect(row.secret).toMatch(/^enc:v1:test1:[A-Za-z0-9+/]+=*$/);
    expect(row.secret).not.toContain(secretBody);
    expect(Buffer.from(row.secret.split(':')[3], 'base64').toString('latin1')).not.toContain(secretBody);
    const [endpointRow] = (await rawRow(WebhookEndpoint, 'id', ep.id)).map((r) => ({ headers: r.r_headers as string }));
    expect(endpointRow.headers).toMatch(/^enc:v1:test1:/);
    expect(endpointRow.headers).not.toContain('tok_live_123456');
    expect(endpointRow.headers).not.toContain('acme');

    // The API shows sensitive header values hidden; a view sent back as shown keeps the stored values, and the
    // placeholder is refused for a header that has no stored value.
    expect(ep.headers).toEqual({ authorization: HIDDEN_HEADER_VALUE, 'x-tenant': 'acme' });
    const shown = await example.api('GET', `/api/webhook-endpoints/${ep.id}`);
    expect(JSON.stringify(shown.body)).not.toContain('tok_live_123456');
    expect(JSON.stringify(shown.body)).not.toContain(secretBody);
    const listed = await example.api('GET', '/api/webhook-endpoints');
    expect(JSON.stringify(listed.body)).not.toContain(secretBody);
    const roundTrip = await example.api('PATCH', `/api/webhook-endpoints/${ep.id}`, {
      headers: { ...shown.body.headers, 'x-tenant': 'acme2' },
    });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body.headers).toEqual({ authorization: HIDDEN_HEADER_VALUE, 'x-tenant': 'acme2' });
    const newName = await example.api('PATCH', `/api/webhook-endpoints/${ep.id}`, {
      headers: { ...shown.body.headers, 'X-Api-Key': HIDDEN_HEADER_VALUE },
    });
    expect(newName.status).toBe(400);
    expect(newName.body.message).toContain('placeholder shown for hidden values');

    // The receiver gets the real values.
    await order();
    const [request] = await rx.waitFor(1);
    expect(request.headers.authorization).toBe('Bearer tok_live_123456');
    expect(request.headers['x-tenant']).toBe('acme2');
  });

  it('the leak watch of this suite catches a leaked secret (self-check)', () => {
    const secret = generateSecret();
    noteSecret(secret);
    const before = leaks().length;
    captureText(`a log line that prints ${secret}`);
    expect(leaks().length).toBe(before + 1);
    // Take it back so the file-level check (test/support/setup.ts) stays meaningful for real leaks.
    forgetLastText();
  });

  it('rejects bad URLs and CR/LF header values with 400 and stores nothing', async () => {
    const before = { endpoints: await count(WebhookEndpoint), secrets: await count(WebhookSecret) };
    const cases: Array<[object, string]> = [
      [{ url: 'ftp://example.com/in' }, 'url must use http or https'],
      [{ url: 'javascript:alert(1)' }, 'url must use http or https'],
      [{ url: 'https://user:pass@example.com/in' }, 'must not contain credentials'],
      [{ url: `https://example.com/${'a'.repeat(2050)}` }, 'longer than 2048'],
      [{ url: 'not a url' }, 'not a valid absolute URL'],
      [{ url: 'https://example.com/in', headers: { 'X-Evil': 'a\r\nInjected: 1' } }, 'must not contain CR, LF or NUL'],
      [{ url: 'https://example.com/in', headers: { 'webhook-signature': 'v1,forged' } }, 'cannot be overridden'],
      [{ url: 'https://example.com/in', headers: { 'Bad Name': 'x' } }, 'not a valid HTTP header name'],
    ];
    for (const [input, message] of cases) {
      const res = await example.api('POST', '/api/webhook-endpoints', { topics: ['order.created'], ...input });
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect(res.body.message).toContain(message);
    }
    const { ep } = await endpoint({ headers: { 'x-a': 'one' } });
    const patched = await example.api('PATCH', `/api/webhook-endpoints/${ep.id}`, {
      url: 'https://example.com/new',
      headers: { 'x-a': 'two\nthree' },
    });
    expect(patched.status).toBe(400);
    const after = await example.api('GET', `/api/webhook-endpoints/${ep.id}`);
    expect(after.body.url).not.toBe('https://example.com/new');
    expect(after.body.headers).toEqual({ 'x-a': 'one' });
    expect(await count(WebhookEndpoint)).toBe(before.endpoints + 1);
    expect(await count(WebhookSecret)).toBe(before.secrets + 1);
  });

  it('the example receiver verifies deliveries end to end and refuses a replay', async () => {
    // An endpoint pointed at the example's own receiver route (loopback: allowed in this app).
    const created = await example.api('POST', '/api/webhook-endpoints', {
      url: `${example.baseUrl}/demo/receiver/PLACEHOLDER`,
      topics: ['order.created'],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await example.api('PATCH', `/api/webhook-endpoints/${id}`, { url: `${example.baseUrl}/demo/receiver/${id}` })).status).toBe(
      200,
    );
    await order();
    await waitUntil(
      async () => (await example.api('GET', '/demo/receiver/messages')).body.some((m: any) => m.endpointId === id),
      'the demo receiver got the event',
    );
    const inbox = (await example.api('GET', '/demo/receiver/messages')).body.filter((m: any) => m.endpointId === id);
    expect(inbox[0]).toMatchObject({ type: 'order.created' });

    // Capture a real delivery of another endpoint, then play it to the guard: first accepted, the copy refused.
    const { rx, ep } = await endpoint();
    await order();
    const [request] = await rx.waitFor(1);
    const post = (body: string, headers: Headers) =>
      fetch(`${example.baseUrl}/demo/receiver/${ep.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...pick(headers, ['webhook-id', 'webhook-timestamp', 'webhook-signature']) },
        body,
      });
    expect((await post(request.body, headersOf(request))).status).toBe(204);
    const replay = await post(request.body, headersOf(request));
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { message: string }).message).toContain('already received (replay)');
    const forged = await post(request.body.replace('"1.00"', '"0.01"'), headersOf(request));
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ reason: 'invalid-signature' });
  });
});

function pick(headers: Headers, names: string[]): Headers {
  return Object.fromEntries(names.map((n) => [n, headers[n]!]));
}

describe('encryption key rotation', () => {
  const k1 = { id: 'k1', key: Buffer.alloc(32, 1).toString('base64') };
  const k2 = { id: 'k2', key: Buffer.alloc(32, 2).toString('base64') };
  let db: TestDatabase;
  let rx: Receiver;
  beforeAll(async () => {
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
  });
  afterAll(async () => {
    await rx?.close();
    await db?.drop();
  });

  // Retries a minute apart: a delivery that fails stays pending long enough to be read as such.
  const boot = (keys: Array<{ id: string; key: string }>, on = db) =>
    startExample(on, { webhooks: { encryptionKeys: keys, retrySchedule: [60_000] } });
  const closeAll = async (app: RunningExample) => {
    await app.close();
    await dropBullKeys(app.bullPrefix);
  };

  it('refuses to start without the key, re-encrypts under a new key, and keeps signing with the same secret', async () => {
    const first = await boot([k1]);
    const created = await first.api('POST', '/api/webhook-endpoints', {
      url: rx.url,
      topics: ['order.created'],
      headers: { 'x-api-key': 'abc123' },
    });
    const secret = created.body.secret as string;
    const customerId = (await first.api('POST', '/api/customers', { name: 'Key', email: 'key@example.com' })).body.id;
    await closeAll(first);

    // Only the new key: the stored values cannot be read, and start-up says which key is missing.
    await expect(boot([k2])).rejects.toThrow(/encrypted with key "k1", which is not among the configured encryption keys \(k2\)/);

    // New key first, old key kept: everything still works; re-encrypting moves every value to k2.
    const both = await boot([k2, k1]);
    expect(await both.app.get(WebhooksService).reencryptSecrets()).toEqual({ secrets: 1, values: 1 });
    const stored = await both.app.get(DataSource).getRepository(WebhookSecret).createQueryBuilder('s').getRawOne();
    expect(stored.s_secret).toMatch(/^enc:v1:k2:/);
    await closeAll(both);

    // The old key can go now.
    const last = await boot([k2]);
    try {
      expect((await last.api('POST', '/api/orders', { customerId, total: '3.00', status: 'pending' })).status).toBe(201);
      const [request] = await rx.waitFor(1);
      expect(reasonOf(() => verifyWebhook(request.body, headersOf(request), secret))).toBe('ok');
      expect(request.headers['x-api-key']).toBe('abc123');
    } finally {
      await closeAll(last);
    }
  });
  it('during a rolling key change, an instance without the new key keeps serving every other endpoint', async () => {
    const shared = await createDatabase('sqlite');
    const old = await boot([k1], shared);
    const upgraded = await boot([k2, k1], shared);
    const rxNew = await Receiver.start();
    try {
      const mine = await old.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.created'] });
      const theirs = await upgraded.api('POST', '/api/webhook-endpoints', { url: rxNew.url, topics: ['order.created'] });
      expect([mine.status, theirs.status]).toEqual([201, 201]);
      // The old instance reloads (as on the pub/sub notice or its periodic reload): no failure, one endpoint marked.
      const cache = old.app.get(EndpointCache, { strict: false });
      await cache.reload();
      expect(cache.get(theirs.body.id)?.unreadable).toContain('encrypted with key "k2"');
      expect(cache.get(mine.body.id)?.unreadable).toBeNull();

      const customerId = (await old.api('POST', '/api/customers', { name: 'Roll', email: 'roll@example.com' })).body.id;
      const before = rx.requests.length;
      expect((await old.api('POST', '/api/orders', { customerId, total: '4.00', status: 'pending' })).status).toBe(201);
      await rx.waitFor(before + 1);
      const path = `/api/webhook-endpoints/${theirs.body.id}/deliveries`;
      const [delivery] = await waitUntil(async () => {
        const list = (await old.api('GET', path)).body as any[];
        return list[0]?.attemptCount >= 1 && list[0]?.lastError ? list : undefined; // claimed, then its outcome written
      }, 'the unreadable endpoint was attempted');
      expect(delivery.lastError).toContain('encrypted with key "k2"');
      expect(['pending', 'delivering']).toContain(delivery.status); // retried, not failed for good
      expect(rxNew.requests).toHaveLength(0);
    } finally {
      await closeAll(old);
      await closeAll(upgraded);
      await rxNew.close();
      await shared.drop();
    }
  });
});
