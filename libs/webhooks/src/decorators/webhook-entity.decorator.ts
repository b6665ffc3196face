import { WEBHOOK_ENTITY_METADATA } from '../webhooks.constants.js';
import type { EntityClass } from '../util/entity-class.js';
import type { JsonSchema, WebhookTopic } from '../topics/topic-declaration.js';

export type WebhookAction = 'created' | 'updated' | 'deleted';
export const WEBHOOK_ACTIONS: readonly WebhookAction[] = ['created', 'updated', 'deleted'];

export interface WebhookEntityOptions {
  /**
   * Topic prefix: events are `<name>.created`, `<name>.updated`, `<name>.deleted`.
   * @default the class name in snake_case (`LineItem` -> `line_item`)
   */
  name?: string;
  /**
   * Which changes send events.
   * @default ['created', 'updated', 'deleted']
   */
  events?: WebhookAction[];
  /**
   * Send `updated` only when one of these properties changed (`changes` still lists every changed field).
   * @default every column
   */
  watch?: string[];
  /**
   * Decides per change whether to send: return false to skip. Runs inside the transaction, after the change.
   * `changes` is set for updates.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- users annotate the parameter with their entity class
  shouldSend?: (entity: any, action: WebhookAction, context: { changes?: Record<string, { old: unknown; new: unknown }> }) => boolean;
  /** Only these properties appear in `data` and `changes`. @default all */
  include?: string[];
  /** These properties never appear in `data` or `changes`. */
  exclude?: string[];
  /** These properties appear masked in `data` and `changes` (on top of the module's redaction list). */
  redact?: string[];
  /**
   * Builds `data` yourself (relations are left out unless you add them). The result is made JSON-safe: Dates as
   * ISO strings, bigints as strings, Buffers as base64, circular references as "[Circular]".
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- users annotate the parameter with their entity class
  serialize?: (entity: any) => Record<string, unknown>;
  /**
   * JSON Schema (draft 2020-12) of what `serialize` returns, for the event catalogue (`WebhooksService.eventTypes()`);
   * the field rules are applied to it as to the data. Without `serialize`, the schema is derived from the columns and
   * this option is refused. @default an open object
   */
  schema?: JsonSchema;
  /**
   * Custom topics of this entity for `WebhooksService.emit()`: `['shipped']` declares `order.shipped`; an entry
   * `{ name: 'shipped', description, schema }` documents its `data` in the event catalogue too.
   */
  topics?: Array<string | WebhookTopic>;
  /**
   * The owner of each event (a tenant: your customer's id), as a string. Owned events go to the endpoints of that
   * owner and to ownerless (operator) endpoints; `null` or `undefined`: the event has no owner and goes to ownerless
   * endpoints only. Runs inside the transaction with the row as it is now (as it was, for a delete); a resolver that
   * throws or answers anything else fails the save, so an event is never sent to the wrong owner.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- users annotate the parameter with their entity class
  owner?: (entity: any) => string | null | undefined;
}

/**
 * Marks a TypeORM entity whose committed inserts, updates and deletes become webhook events.
 *
 * ```ts
 * @WebhookEntity({ name: 'order' })
 * @Entity()
 * export class Order extends BaseEntity { ... }
 * ```
 */
export function WebhookEntity(options: WebhookEntityOptions = {}): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(WEBHOOK_ENTITY_METADATA, { ...options }, target);
  };
}

export function getWebhookEntityOptions(target: EntityClass): WebhookEntityOptions | undefined {
  return Reflect.getMetadata(WEBHOOK_ENTITY_METADATA, target) as WebhookEntityOptions | undefined;
}

export function defaultEntityName(className: string): string {
  return className
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}
