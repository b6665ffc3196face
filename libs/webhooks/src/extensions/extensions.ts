import { Injectable, Logger, SetMetadata, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';

const TRANSFORMER = Symbol('webhooks:transformer');
const HEADER_PROVIDER = Symbol('webhooks:header-provider');

/** What a transformer and a header provider learn about the delivery. */
export interface WebhookSendContext {
  endpointId: string;
  url: string;
  topic: string;
  eventId: string;
  attempt: number;
}

/**
 * Reshapes the body for the endpoints that name it (`transform: 'slack'`). It gets the envelope as sent
 * (`{ id, type, timestamp, data, changes?, actor? }`, after the endpoint's field rules) and returns the new body:
 * a string is sent as it is, anything else as JSON. It must not throw for an event it does not know: return the
 * envelope unchanged. A throw fails the attempt (retried) with the message logged.
 */
export interface WebhookTransformerProvider {
  transform(envelope: Record<string, unknown>, context: WebhookSendContext): unknown;
}

/** Adds headers to each attempt of the endpoints that name it (`headerProvider: 'vault-token'`). */
export interface WebhookHeaderProviderService {
  headers(context: WebhookSendContext): Record<string, string> | Promise<Record<string, string>>;
}

/**
 * Registers an `@Injectable()` as a named transformer. Endpoints refer to it by name; no code is ever loaded from
 * what is stored.
 *
 * ```ts
 * @WebhookTransformer('slack')
 * @Injectable()
 * export class SlackTransformer implements WebhookTransformerProvider {
 *   transform(event) { return { text: `${event.type}: ${JSON.stringify(event.data)}` }; }
 * }
 * ```
 */
export const WebhookTransformer = (name: string): ClassDecorator => SetMetadata(TRANSFORMER, name);

/** Registers an `@Injectable()` as a named header provider (e.g. a token fetched at send time). */
export const WebhookHeaderProvider = (name: string): ClassDecorator => SetMetadata(HEADER_PROVIDER, name);

const NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/;

/** The transformers and header providers of the app, found among its providers at start-up. */
@Injectable()
export class WebhookExtensions implements OnModuleInit {
  private readonly logger = new Logger('Webhooks');
  readonly transformers = new Map<string, WebhookTransformerProvider>();
  readonly headerProviders = new Map<string, WebhookHeaderProviderService>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const transformer = Reflect.getMetadata(TRANSFORMER, metatype) as string | undefined;
      if (transformer !== undefined) this.add(this.transformers, transformer, instance, 'transform', '@WebhookTransformer', metatype.name);
      const provider = Reflect.getMetadata(HEADER_PROVIDER, metatype) as string | undefined;
      if (provider !== undefined) this.add(this.headerProviders, provider, instance, 'headers', '@WebhookHeaderProvider', metatype.name);
    }
    if (this.transformers.size || this.headerProviders.size) {
      this.logger.log(
        `Webhook extensions: transformers [${[...this.transformers.keys()].join(', ')}], header providers [${[...this.headerProviders.keys()].join(', ')}].`,
      );
    }
  }

  private add<T>(map: Map<string, T>, name: string, instance: unknown, method: string, decorator: string, className: string): void {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new WebhookConfigurationError(
        `${decorator}(${JSON.stringify(name)}) on ${className}: the name must be a word like "slack" (letters, digits, _ . : -).`,
      );
    }
    if (typeof (instance as Record<string, unknown>)[method] !== 'function') {
      throw new WebhookConfigurationError(`${decorator}("${name}") on ${className}: the class must have a ${method}() method.`);
    }
    // A provider registered in several modules is the same name and class: keep the first.
    if (map.has(name) && map.get(name)!.constructor !== (instance as object).constructor) {
      throw new WebhookConfigurationError(`${decorator}("${name}") is used by two classes; names must be unique.`);
    }
    if (!map.has(name)) map.set(name, instance as T);
  }
}
