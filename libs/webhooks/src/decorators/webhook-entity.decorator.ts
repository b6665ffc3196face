import { WEBHOOK_ENTITY_METADATA } from '../webhooks.constants.js';

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

export function getWebhookEntityOptions(target: Function): WebhookEntityOptions | undefined {
  return Reflect.getMetadata(WEBHOOK_ENTITY_METADATA, target) as WebhookEntityOptions | undefined;
}

export function defaultEntityName(className: string): string {
  return className
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}
