import type { INestApplication } from '@nestjs/common';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createHmac } from 'node:crypto';
import { afterAll, expect } from 'vitest';
import { WebhooksService, type WebhookEventType } from 'nestjs-outgoing-webhooks';
import { eventCatalogue } from '../../libs/webhooks/src/catalogue/event-catalogue.js';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { OutboxService } from '../../libs/webhooks/src/outbox/outbox.service.js';
import type { FieldRules } from '../../libs/webhooks/src/payload/shaping.js';
import { EntityRegistry } from '../../libs/webhooks/src/registry/entity-registry.js';
import type { ReceivedRequest } from './receiver.js';

/**
 * Holds the event catalogue to what is sent: every delivery a test receiver gets is checked against its topic's
 * schema in the catalogue of the app that sent it. Receivers note each request (`noteRequest`), the test apps are
 * watched from start to close (`watchPayloadsOf`), and `payloadProblems()` is checked after each file that loads this
 * module (through the receiver), so every end-to-end file runs under the watch.
 *
 * A delivery is matched to its endpoint, and so to its app, by its signature (HMAC under each cached endpoint's
 * secrets). It is checked against the entity-level catalogue (`webhooks.eventTypes()`), or against the catalogue
 * shaped by the endpoint's own `fields`. Not checked: test sends (any payload and topic), bodies of endpoints with a
 * `transform` (the transformer decides), and requests that match no watched endpoint (counted in `payloadWatchCounts`).
 */

interface WatchedApp {
  service: WebhooksService;
  registry: EntityRegistry;
  cache: EndpointCache;
  /** Catalogues by endpoint field rules ('' for the entity-level one). */
  catalogues: Map<string, Map<string, WebhookEventType>>;
}

interface Delivery {
  request: ReceivedRequest;
  app: WatchedApp;
  endpoint: { id: string; url: string; fieldRules: FieldRules | undefined; transform: string | null };
}

const live = new Set<WatchedApp>();
const deliveries: Delivery[] = [];
/** Events written by test sends: any payload under any topic. */
const testEvents = new Set<string>();
let unmatched = 0;
let checked = 0;

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
const compiled = new Map<string, ValidateFunction>();

// Registered when a test file loads this module (its receivers do): after every other hook of the file, its apps
// closed, each delivery must match its topic's schema.
afterAll(() => {
  expect(payloadProblems()).toEqual([]);
});

/** Watches an app's deliveries until it closes. */
export function watchPayloadsOf(app: INestApplication): void {
  const watched: WatchedApp = {
    service: app.get(WebhooksService, { strict: false }),
    registry: app.get(EntityRegistry, { strict: false }),
    cache: app.get(EndpointCache, { strict: false }),
    catalogues: new Map(),
  };
  live.add(watched);
  const outbox = app.get(OutboxService, { strict: false });
  const recordFor = outbox.recordFor.bind(outbox);
  outbox.recordFor = async (...args: Parameters<OutboxService['recordFor']>) => {
    const job = await recordFor(...args);
    testEvents.add(job.eventId);
    return job;
  };
  const close = app.close.bind(app);
  app.close = async () => {
    try {
      await close();
    } finally {
      live.delete(watched);
    }
  };
}

/** Called by the test receiver for every request: keeps the signed ones with the endpoint that signed them. */
export function noteRequest(request: ReceivedRequest): void {
  const id = header(request, 'webhook-id');
  const timestamp = header(request, 'webhook-timestamp');
  const signature = header(request, 'webhook-signature');
  if (!id || !timestamp || !signature) return;
  const given = new Set(signature.split(' '));
  const content = `${id}.${timestamp}.${request.body}`;
  for (const app of live) {
    for (const endpoint of app.cache.all()) {
      for (const secret of endpoint.secrets) {
        if (!given.has(`v1,${createHmac('sha256', secret.key).update(content).digest('base64')}`)) continue;
        const { fieldRules, transform } = endpoint;
        deliveries.push({ request, app, endpoint: { id: endpoint.id, url: endpoint.url, fieldRules, transform } });
        return;
      }
    }
  }
  unmatched++;
}

/** Deliveries whose body does not match its topic's schema, each with the reason; empties the watch. */
export function payloadProblems(): string[] {
  const problems: string[] = [];
  for (const { request, app, endpoint } of deliveries.splice(0)) {
    const eventId = header(request, 'webhook-id')!;
    if (testEvents.has(eventId) || endpoint.transform) continue;
    const where = `${app.service.dataSource.options.type}: delivery of ${eventId} to endpoint ${endpoint.id} (${endpoint.url})`;
    let body: { type?: unknown };
    try {
      body = JSON.parse(request.body) as { type?: unknown };
    } catch {
      problems.push(`${where}: the body is not JSON: ${request.body.slice(0, 200)}`);
      continue;
    }
    const type = typeof body?.type === 'string' ? body.type : undefined;
    const entry = type === undefined ? undefined : catalogueOf(app, endpoint.fieldRules).get(type);
    if (!entry) {
      problems.push(`${where}: no event catalogue entry for type ${JSON.stringify(body?.type)}`);
      continue;
    }
    const validate = validator(entry);
    checked++;
    if (!validate(body)) {
      problems.push(
        `${where}: ${type} does not match its schema: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}; body ${request.body.slice(0, 600)}`,
      );
    }
  }
  testEvents.clear();
  return problems;
}

/** How many deliveries were checked against a schema, and how many signed requests matched no watched endpoint. */
export function payloadWatchCounts(): { checked: number; unmatched: number; waiting: number } {
  return { checked, unmatched, waiting: deliveries.length };
}

function catalogueOf(app: WatchedApp, rules: FieldRules | undefined): Map<string, WebhookEventType> {
  const key = rules ? JSON.stringify(rules, (_k, v: unknown) => (v instanceof Set ? [...(v as Set<string>)] : v)) : '';
  let catalogue = app.catalogues.get(key);
  if (!catalogue) {
    const types = rules ? eventCatalogue(app.registry, rules) : app.service.eventTypes();
    catalogue = new Map(types.map((t) => [t.name, t]));
    app.catalogues.set(key, catalogue);
  }
  return catalogue;
}

function validator(entry: WebhookEventType): ValidateFunction {
  const key = JSON.stringify(entry.schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(entry.schema);
    compiled.set(key, validate);
  }
  return validate;
}

function header(request: ReceivedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
