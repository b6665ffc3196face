import { Module, type CanActivate, type DynamicModule, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { isTopicPattern } from '../topics/topics.js';
import { ownerApiControllers, type OwnerResolver } from './owner-api.controllers.js';

export type { OwnerResolver } from './owner-api.controllers.js';

export interface WebhooksApiOptions<TRequest = unknown> {
  /** Where the routes are mounted, without leading slash: `'api/me'` serves `/api/me/webhook-endpoints`, ... */
  path: string;
  /**
   * The owner (tenant) of a request, worked out from its authentication after the guards ran: a string such as
   * `String(request.user.customerId)`, or null/undefined when the request has none (answered 401). Never take it
   * from the body or the query: whoever sends the request would choose whose endpoints they see.
   */
  owner: OwnerResolver<TRequest>;
  /** Guards run on every route before the owner is resolved: your authentication. */
  guards?: (CanActivate | Type<CanActivate>)[];
  /**
   * Topic patterns owners may subscribe to (`['order.*', 'customer.*']`); default every topic. `event-types` lists
   * the topics they allow, and a subscription outside them is a 400.
   */
  topics?: readonly string[];
  /** Modules whose providers the guards need. */
  imports?: ModuleMetadata['imports'];
  /** Providers the guards need. */
  providers?: Provider[];
}

/**
 * The management API for owners (tenants), the REST-hooks API your customers call themselves: endpoints CRUD, test,
 * rotate-secret, enable/disable, recover, deliveries with attempts, redeliver and the event types they may
 * subscribe to, each restricted to the request's owner (another owner's ids are 404, as ids that do not exist).
 * Errors as `WebhooksExceptionFilter`: 400 with `fields`, 404, 409. Needs `WebhooksModule` in the app.
 *
 * ```ts
 * WebhooksApiModule.register({ path: 'api/me', guards: [CustomerKeyGuard], owner: (req) => String(req.customer.id) })
 * ```
 *
 * | Route under `path` | Answer |
 * |---|---|
 * | `POST /webhook-endpoints`, `GET /webhook-endpoints` | 201 endpoint with `secret` (once) / 200 the owner's endpoints |
 * | `GET`, `PATCH`, `DELETE /webhook-endpoints/:id` | 200 / 200 / 204 |
 * | `POST /webhook-endpoints/:id/test`, `/rotate-secret`, `/enable`, `/disable`, `/recover` | 200 |
 * | `GET /webhook-endpoints/:id/deliveries?limit&before` | 200 deliveries with attempts, newest first |
 * | `GET /deliveries/:id`, `POST /deliveries/:id/redeliver` | 200 / 202 |
 * | `GET /event-types` | 200 `[{ name, description, schema }]`: the event catalogue's allowed topics |
 */
@Module({})
export class WebhooksApiModule {
  static register<TRequest = unknown>(options: WebhooksApiOptions<TRequest>): DynamicModule {
    const path = checkedPath(options?.path);
    if (typeof options.owner !== 'function') {
      throw new WebhookConfigurationError('WebhooksApiModule.register: owner must be a function (request) => ownerId.');
    }
    if (
      options.topics !== undefined &&
      (!Array.isArray(options.topics) || !options.topics.every((t) => typeof t === 'string' && isTopicPattern(t)))
    ) {
      throw new WebhookConfigurationError(
        `WebhooksApiModule.register: topics must be a list of topics or patterns like "order.*" (got ${JSON.stringify(options.topics)}).`,
      );
    }
    return {
      module: WebhooksApiModule,
      imports: options.imports ?? [],
      providers: options.providers ?? [],
      controllers: ownerApiControllers({
        path,
        owner: options.owner as OwnerResolver<unknown>,
        guards: options.guards ?? [],
        topics: options.topics,
      }),
    };
  }
}

function checkedPath(path: unknown): string {
  if (
    typeof path !== 'string' ||
    !/^[A-Za-z0-9._~:@!$&'()*+,;=-]+(\/[A-Za-z0-9._~:@!$&'()*+,;=-]+)*$/.test(path.replace(/^\/+|\/+$/g, ''))
  ) {
    throw new WebhookConfigurationError(
      `WebhooksApiModule.register: path must be a URL path such as "api/me" (got ${JSON.stringify(path)}).`,
    );
  }
  return path.replace(/^\/+|\/+$/g, '');
}
