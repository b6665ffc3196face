import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../libs/webhooks/src/ids.js';
import { secretKey, signatureHeaders } from '../../libs/webhooks/src/signing/signing.js';
import { WebhooksService, type WebhookEventType } from 'nestjs-outgoing-webhooks';
import { createDatabase, databaseKinds, type TestDatabase } from '../support/databases.js';
import { API_TOKEN, dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { noteRequest, payloadProblems, payloadWatchCounts } from '../support/payload-watch.js';

const TOPICS = [
  'customer.created',
  'customer.deleted',
  'customer.updated',
  'order.created',
  'order.deleted',
  'order.shipped',
  'order.updated',
];

/**
 * The example publishes the event catalogue: GET /api/event-types (operator), /api/me/event-types (customers) and the
 * OpenAPI 3.1 document's webhooks. Deliveries are checked against the schemas here explicitly; every other e2e file
 * checks its deliveries through test/support/payload-watch.ts.
 */
describe.each(databaseKinds())('event catalogue of the example app (%s)', (kind) => {
  let db: TestDatabase;
  let example: RunningExample;
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  addFormats.default(ajv);

  const catalogue = async (): Promise<WebhookEventType[]> => {
    const res = await example.api('GET', '/api/event-types');
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    db = await createDatabase(kind);
    example = await startExample(db);
  });

  afterAll(async () => {
    await example?.close();
    await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('answers the catalogue to the operator at GET /api/event-types, 401 without the token', async () => {
    expect((await example.api('GET', '/api/event-types', undefined, null)).status).toBe(401);
    expect((await example.api('GET', '/api/event-types', undefined, 'wrong')).status).toBe(401);
    const types = await catalogue();
    expect(types.map((t) => t.name).sort()).toEqual(TOPICS);
    expect(types).toEqual(example.app.get(WebhooksService).eventTypes());
    for (const type of types) {
      expect(type.description, type.name).toEqual(expect.any(String));
      expect(ajv.validateSchema(type.schema), type.name).toBe(true);
    }
    const created = types.find((t) => t.name === 'order.created')!.schema as any;
    expect(created.properties.data).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        customerId: { type: 'integer' },
        total: { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$', description: 'A decimal as a string with 2 decimals.' },
        status: { type: 'string' },
        bucket: { type: ['string', 'null'] },
        createdAt: { type: 'string', format: 'date-time' },
        updatedAt: { type: 'string', format: 'date-time' },
      },
      required: ['id', 'customerId', 'total', 'status', 'bucket', 'createdAt', 'updatedAt'],
      additionalProperties: false,
    });
    const updated = types.find((t) => t.name === 'order.updated')!.schema as any;
    expect(Object.keys(updated.properties.changes.properties)).toEqual(['id', 'customerId', 'total', 'status', 'bucket', 'createdAt']);
    const shipped = types.find((t) => t.name === 'order.shipped')!;
    expect(shipped.description).toContain('"shipped"');
    expect((shipped.schema as any).properties.data.required).toEqual(['orderId', 'customerId', 'total']);
  });

  it('answers a customer the entries of the topics it may subscribe to at /api/me/event-types', async () => {
    const customer = await example.api('POST', '/api/customers', { name: 'Catalogue', email: 'catalogue@example.com' });
    expect(customer.status).toBe(201);
    const mine = await example.api('GET', '/api/me/event-types', undefined, customer.body.apiKey);
    expect(mine.status).toBe(200);
    expect(mine.body.map((t: WebhookEventType) => t.name).sort()).toEqual(TOPICS);
    expect(mine.body).toEqual(await catalogue());
    expect((await example.api('GET', '/api/me/event-types', undefined, API_TOKEN)).status).toBe(401);
  });

  it('serves an OpenAPI 3.1 document with the REST routes and one webhook per topic, and its UI', async () => {
    const res = await example.api('GET', '/api/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    const document = res.body;
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/api/customers',
      '/api/customers/{id}',
      '/api/customers/{id}/api-key',
      '/api/orders',
      '/api/orders/{id}',
      '/api/webhook-endpoints',
      '/api/webhook-endpoints/{id}/rotate-secret',
      '/api/webhook-endpoints/{id}/deliveries',
      '/api/deliveries/{id}/redeliver',
      '/api/event-types',
      '/api/me',
      '/api/me/webhook-endpoints',
      '/api/me/event-types',
      '/health',
    ]) {
      expect(document.paths, path).toHaveProperty([path]);
    }
    expect(document.paths['/api/orders'].post.security).toEqual([{ operator: [] }]);
    expect(document.paths['/api/me/event-types'].get.security).toEqual([{ customer: [] }]);
    expect(document.components.schemas.CreateOrderDto.properties.total).toMatchObject({ type: 'string', example: '19.99' });
    const types = await catalogue();
    expect(Object.keys(document.webhooks).sort()).toEqual(TOPICS);
    for (const type of types) {
      const post = document.webhooks[type.name].post;
      expect(post.requestBody.content['application/json'].schema).toEqual(type.schema);
      expect(post.parameters.map((p: { name: string }) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    }
    const ui = await fetch(`${example.baseUrl}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('sends what the schemas say: created, updated with changes, shipped, deleted', async () => {
    const { rx } = await example.receiverEndpoint({ topics: ['*'] });
    const { rx: shaped } = await example.receiverEndpoint({ topics: ['order.*'], fields: { exclude: ['total'], redact: ['status'] } });
    const customer = await example.api('POST', '/api/customers', { name: 'Catalogue', email: 'catalogue@example.com' });
    const order = await example.api('POST', '/api/orders', { customerId: customer.body.id, total: '5', status: 'pending', bucket: 'eu' });
    expect(order.status).toBe(201);
    expect((await example.api('PATCH', `/api/orders/${order.body.id}`, { status: 'shipped', bucket: null })).status).toBe(200);
    expect((await example.api('DELETE', `/api/orders/${order.body.id}`)).status).toBe(204);
    expect((await example.api('PATCH', `/api/customers/${customer.body.id}`, { name: 'Renamed customer' })).status).toBe(200);
    const bodies = (await rx.waitFor(6)).map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.type).sort()).toEqual([
      'customer.created',
      'customer.updated',
      'order.created',
      'order.deleted',
      'order.shipped',
      'order.updated',
    ]);
    const schemas = new Map((await catalogue()).map((t) => [t.name, ajv.compile(t.schema)]));
    for (const body of bodies) {
      const validate = schemas.get(body.type)!;
      expect(validate(body) ? 'valid' : ajv.errorsText(validate.errors), body.type).toBe('valid');
    }
    // An endpoint's own fields change its bodies: the catalogue describes the entity-level body, not this one.
    const own = (await shaped.waitFor(4)).map((r) => JSON.parse(r.body));
    const updated = own.find((b) => b.type === 'order.updated');
    expect(updated.data).not.toHaveProperty('total');
    expect(updated.data.status).toBe('[REDACTED]');
    expect(schemas.get('order.updated')!(updated)).toBe(false);
  });

  it('the payload watch of this suite catches a delivery that does not match its schema (self-check)', async () => {
    const { rx, ep } = await example.receiverEndpoint({ topics: ['order.created'] });
    const id = newId('evt');
    const body = JSON.stringify({ id, type: 'order.created', timestamp: new Date().toISOString(), data: { id: 'one' } });
    const headers = signatureHeaders(id, Math.floor(Date.now() / 1000), body, [secretKey(ep.secret)]);
    const before = payloadWatchCounts();
    noteRequest({ method: 'POST', path: '/hooks', headers, body, at: Date.now() });
    // Everything this file received so far is checked now: only the forged body fails.
    const problems = payloadProblems();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`delivery of ${id} to endpoint ${ep.id} (${rx.url}): order.created does not match its schema`);
    expect(problems[0]).toContain('body/data/id must be integer');
    expect(problems[0]).toContain("must have required property 'customerId'");
    const after = payloadWatchCounts();
    expect(after.checked).toBeGreaterThan(before.checked);
    expect(after.unmatched).toBe(0);
  });
});
