import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type ParameterObject,
  type SchemaObject,
  type WebhooksObject,
} from '@nestjs/swagger';
import { WebhooksService, type WebhookEventType } from 'nestjs-outgoing-webhooks';

/** Where the documentation is served (no token: it describes the API and its webhooks, and holds no data). */
export const OPENAPI_PATHS = { ui: 'api/docs', json: 'api/openapi.json' };

/**
 * Serves the OpenAPI 3.1 document of the shop, built on first request: the REST routes found by `@nestjs/swagger`
 * and, in `webhooks`, one entry per topic of the event catalogue, so receivers see what each delivery holds.
 */
export function setupOpenApi(app: INestApplication): void {
  let document: OpenAPIObject | undefined;
  SwaggerModule.setup(OPENAPI_PATHS.ui, app, () => (document ??= openApiDocument(app)), {
    jsonDocumentUrl: OPENAPI_PATHS.json,
    raw: ['json'],
    customSiteTitle: 'Example shop API',
  });
}

export function openApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    // 3.1: the version with a `webhooks` section and JSON Schema 2020-12 schemas.
    .setOpenAPIVersion('3.1.0')
    .setTitle('Example shop')
    .setDescription(
      'Orders and customers; their changes are sent as signed webhooks (Standard Webhooks) to the subscribed endpoints. ' +
        'The operator routes take `Authorization: Bearer <API_TOKEN>`, the /api/me routes a customer API key.',
    )
    .setVersion('0.2.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The operator API_TOKEN.' }, 'operator')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A customer API key (POST /api/customers shows it once).' }, 'customer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // The library's owner API (WebhooksApiModule at /api/me) carries no swagger decorators: mark its routes here.
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/me/')) continue;
    for (const operation of Object.values(item)) {
      if (typeof operation === 'object' && operation !== null && 'responses' in operation) {
        operation.security = [{ customer: [] }];
        operation.tags = ['me'];
      }
    }
  }
  document.webhooks = webhooksSection(app.get(WebhooksService).eventTypes());
  return document;
}

const SIGNATURE_HEADERS: ParameterObject[] = [
  { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' }, description: 'The event id (= the body\'s "id").' },
  { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string' }, description: 'Unix seconds of this attempt.' },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    schema: { type: 'string' },
    description: 'Space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per live secret of the endpoint.',
  },
];

/** One webhook per topic: a POST to the subscribed endpoint with the topic's body schema. */
export function webhooksSection(types: readonly WebhookEventType[]): WebhooksObject {
  const webhooks: WebhooksObject = {};
  for (const type of types) {
    webhooks[type.name] = {
      post: {
        tags: ['webhooks'],
        operationId: `webhook ${type.name}`,
        summary: type.name,
        description: `${type.description} The schema is the body as sent to an endpoint without its own fields or transform.`,
        parameters: SIGNATURE_HEADERS,
        requestBody: { required: true, content: { 'application/json': { schema: type.schema as SchemaObject } } },
        responses: {
          '2XX': { description: 'Received: any 2xx answer acknowledges the delivery; other answers and time-outs are retried.' },
        },
      },
    };
  }
  return webhooks;
}
