/** Base class of every error the library throws on purpose. */
export class WebhooksError extends Error {
  override name = this.constructor.name;
}

/** Input the caller can fix (an endpoint URL, a topic): maps to HTTP 400. */
export class WebhookValidationError extends WebhooksError {
  constructor(
    message: string,
    /** The same problems by input field (`url`, `topics`, ...), where the check knows the field: for forms. */
    readonly fieldErrors: Readonly<Record<string, readonly string[]>> = {},
  ) {
    super(message);
  }
}

/** An id that does not exist: maps to HTTP 404. */
export class WebhookNotFoundError extends WebhooksError {
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${JSON.stringify(id)} does not exist.`);
  }
}

/** The request is valid but the resource's state forbids it (a test send to a disabled endpoint): HTTP 409. */
export class WebhookConflictError extends WebhooksError {}

/** The library is set up wrongly; thrown at start-up with the fix in the message. */
export class WebhookConfigurationError extends WebhooksError {}

/**
 * A bulk `update()`/`delete()` (by criteria) on a `@WebhookEntity`: TypeORM does not say which rows it changes,
 * so no correct event can be built. Thrown before the statement runs, so nothing changes.
 */
export class WebhookBulkOperationError extends WebhooksError {}

/** An event's owner could not be worked out (the entity's `owner` resolver threw or answered a non-string). */
export class WebhookOwnerError extends WebhooksError {}

export const MESSAGES = {
  ownerThrew: (entity: string, message: string) =>
    `The owner resolver of @WebhookEntity ${entity} threw (${message}); the change was not saved, so that no event ` +
    `goes to the wrong owner.`,
  badOwner: (entity: string, owner: unknown) =>
    `The owner resolver of @WebhookEntity ${entity} answered ${JSON.stringify(owner) ?? String(owner)}; it must answer ` +
    `a string of 1 to 200 characters without control characters, or null for an event without an owner (String(row.customerId), say). The ` +
    `change was not saved.`,
  bulkOperation: (entity: string, op: string) =>
    `${entity} is a @WebhookEntity, and a bulk ${op}() by criteria would change rows without webhooks: TypeORM ` +
    `does not report which rows it touches, so no event can be sent. Load the rows and use save()/remove()/recover(), ` +
    `or set bulkOperations: 'skip' in WebhooksModule options (or pass webhooks: false to the entity decorator) ` +
    `to run bulk statements without events.`,
  entityNotInDataSource: (name: string) =>
    `@WebhookEntity ${name} is not registered with the TypeORM DataSource. Add it to TypeOrmModule.forRoot({ entities }) ` +
    `(or enable autoLoadEntities and register it with TypeOrmModule.forFeature).`,
  notAWebhookEntity: (name: string) =>
    `${name} is listed in WebhooksModule options "entities" but has no @WebhookEntity() decorator. Decorate the class ` +
    `or remove it from the list.`,
  duplicateEntityName: (name: string, a: string, b: string) =>
    `@WebhookEntity name "${name}" is used by both ${a} and ${b}; topics would collide. Pass a distinct ` +
    `name: @WebhookEntity({ name: '...' }).`,
  badEntityName: (cls: string, name: string) =>
    `@WebhookEntity on ${cls}: name "${name}" is not a valid topic prefix. Use letters, digits, "_" and "-", ` +
    `starting with a letter (for example "order" or "line_item").`,
  badEvents: (cls: string, events: unknown) =>
    `@WebhookEntity on ${cls}: events ${JSON.stringify(events)} must be a non-empty list of "created", "updated" ` + `and "deleted".`,
  compositeKey: (cls: string) =>
    `@WebhookEntity on ${cls}: the entity has a composite primary key; webhook events need a single primary column. ` +
    `Add a single-column primary key or remove the decorator.`,
  entityTablesMissing: () =>
    `The webhook tables are not registered with the TypeORM DataSource. WebhooksModule registers its entities with ` +
    `TypeOrmModule.forFeature(): enable autoLoadEntities in TypeOrmModule.forRoot, or add WEBHOOK_ENTITIES ` +
    `(exported by the library) to its entities.`,
} as const;
