import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksApiModule, WebhooksService } from 'nestjs-outgoing-webhooks';
import { Invoice, Receipt } from '../fixtures/tenant.entities.js';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';

/** A test guard: `x-key: let-me-in` passes. */
@Injectable()
class KeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.switchToHttp().getRequest<Request>().headers['x-key'] !== 'let-me-in') throw new UnauthorizedException('no key');
    return true;
  }
}

/** The owner as the test says in `x-owner`: "number" answers 42, "none" null, "throw" throws. */
function ownerOf(request: Request): string | null {
  const owner = request.headers['x-owner'];
  if (owner === 'number') return 42 as unknown as string;
  if (owner === 'none') return null;
  if (owner === 'throw') throw new UnauthorizedException('the session has expired');
  return typeof owner === 'string' ? owner : null;
}

/** The library's owner API module mounted twice in a host whose WebhooksModule is not global. */
describe.each(databaseKinds())('WebhooksApiModule: the owner API mounted by a host (%s)', (kind) => {
  let db: TestDatabase;
  let fixture: FixtureApp;
  let base: string;
  let rx: Receiver;

  beforeAll(async () => {
    db = await createDatabase(kind);
    fixture = await startFixture(db, {
      entities: [Invoice, Receipt],
      extra: [
        WebhooksApiModule.register({ path: 'tenant', guards: [KeyGuard], owner: ownerOf, topics: ['invoice.*'] }),
        WebhooksApiModule.register({ path: '/v2/hooks/', owner: ownerOf }),
      ],
    });
    await fixture.app.listen(0, '127.0.0.1');
    base = (await fixture.app.getUrl()).replace('[::1]', '127.0.0.1');
    rx = await Receiver.start();
  });
  afterAll(async () => {
    await fixture?.close();
    await rx?.close();
    await db?.drop();
  });

  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const response = await fetch(base + path, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const tenant = (owner: string) => ({ 'x-key': 'let-me-in', 'x-owner': owner });

  it('runs the guards first, then takes the owner from the request only', async () => {
    expect((await call('GET', '/tenant/webhook-endpoints', { 'x-owner': 'a' })).status).toBe(401);
    const created = await call('POST', '/tenant/webhook-endpoints', tenant('a'), { url: rx.url, topics: ['invoice.created'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ ownerId: 'a', topics: ['invoice.created'] });
    expect(created.body.secret).toMatch(/^whsec_/);
    expect((await call('GET', '/tenant/webhook-endpoints', tenant('a'))).body.map((e: { id: string }) => e.id)).toEqual([created.body.id]);
    expect((await call('GET', '/tenant/webhook-endpoints', tenant('b'))).body).toEqual([]);
    expect((await call('GET', `/tenant/webhook-endpoints/${created.body.id}`, tenant('b'))).status).toBe(404);
    // The same endpoint through the second mount (no guard, every topic), for its owner only.
    expect((await call('GET', `/v2/hooks/webhook-endpoints/${created.body.id}`, { 'x-owner': 'a' })).status).toBe(200);
    expect((await call('GET', `/v2/hooks/webhook-endpoints/${created.body.id}`, { 'x-owner': 'b' })).status).toBe(404);
    expect((await fixture.app.get(WebhooksService, { strict: false }).getEndpoint(created.body.id)).ownerId).toBe('a');
  });

  it('answers 401 when the request has no owner, and 500 naming the fix when the resolver answers a non-string', async () => {
    expect((await call('GET', '/tenant/webhook-endpoints', tenant('none'))).status).toBe(401);
    const threw = await call('GET', '/tenant/webhook-endpoints', tenant('throw'));
    expect(threw).toMatchObject({ status: 401, body: { message: 'the session has expired' } });
    const number = await call('POST', '/tenant/webhook-endpoints', tenant('number'), { url: rx.url, topics: ['invoice.created'] });
    expect(number.status).toBe(500);
    expect(number.body.message).toContain('answered number 42');
    expect(number.body.message).toContain('String(customer.id)');
    expect(await fixture.app.get(WebhooksService, { strict: false }).listEndpoints({ ownerId: '42' })).toEqual([]);
  });

  it('limits subscriptions to the mount’s topics and lists them as event types', async () => {
    const types = await call('GET', '/tenant/event-types', tenant('a'));
    expect(types.body.map((t: { name: string }) => t.name).sort()).toEqual([
      'invoice.created',
      'invoice.deleted',
      'invoice.paid',
      'invoice.updated',
    ]);
    const all = await call('GET', '/v2/hooks/event-types', { 'x-owner': 'a' });
    expect(all.body.map((t: { name: string }) => t.name)).toContain('receipt.created');
    const refused = await call('POST', '/tenant/webhook-endpoints', tenant('c'), { url: rx.url, topics: ['receipt.created'] });
    expect(refused.status).toBe(400);
    expect(refused.body.fields.topics[0]).toContain('"receipt.created" cannot be subscribed to here; allowed: invoice.*');
    const [ep] = (await call('GET', '/tenant/webhook-endpoints', tenant('a'))).body;
    const widened = await call('PATCH', `/tenant/webhook-endpoints/${ep.id}`, tenant('a'), { topics: ['*'] });
    expect(widened.status).toBe(400);
    expect((await call('GET', `/tenant/webhook-endpoints/${ep.id}`, tenant('a'))).body.topics).toEqual(['invoice.created']);
  });

  it('refuses bad query parameters and bodies with 400, changing nothing', async () => {
    const [ep] = (await call('GET', '/tenant/webhook-endpoints', tenant('a'))).body;
    expect((await call('GET', `/tenant/webhook-endpoints/${ep.id}/deliveries?limit=abc`, tenant('a'))).status).toBe(400);
    expect((await call('GET', `/tenant/webhook-endpoints/${ep.id}/deliveries?before=a&before=b`, tenant('a'))).status).toBe(400);
    const nul = await call('GET', `/tenant/webhook-endpoints/${ep.id}/deliveries?before=%00`, tenant('a'));
    expect(nul.status).toBe(400);
    expect(nul.body.message).toContain('before must be a string without NUL characters');
    // A misspelt field is refused, not dropped: "untill" would otherwise leave until at now and send more again.
    const typo = await call('POST', `/tenant/webhook-endpoints/${ep.id}/recover`, tenant('a'), {
      since: '2026-01-01T00:00:00Z',
      untill: '2026-01-02T00:00:00Z',
    });
    expect(typo.status).toBe(400);
    expect(typo.body.message).toContain('unknown field "untill"');
    const long = await call('PATCH', `/tenant/webhook-endpoints/${ep.id}`, tenant('a'), { url: `${rx.url}/${'é'.repeat(1000)}` });
    expect(long.status).toBe(400);
    expect(long.body.fields.url[0]).toContain('once normalised');
    const notAnObject = await call('POST', '/tenant/webhook-endpoints', tenant('a'), ['url']);
    expect(notAnObject.status).toBe(400);
    const bad = await call('PATCH', `/tenant/webhook-endpoints/${ep.id}`, tenant('a'), { url: 'not a url', maxInFlight: 0 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['maxInFlight', 'url']);
    expect((await call('GET', `/tenant/webhook-endpoints/${ep.id}`, tenant('a'))).body).toMatchObject({
      url: rx.url,
      maxInFlight: ep.maxInFlight,
    });
  });
});
