import type { WebhookAction } from '../decorators/webhook-entity.decorator.js';
import type { FieldRules } from '../payload/shaping.js';
import type { EntityRegistry, RegisteredEntity } from '../registry/entity-registry.js';
import type { JsonSchema } from '../topics/topic-declaration.js';
import { columnSchema } from './column-schema.js';
import { changeSchema, shapeChangesSchema, shapeDataSchema } from './schema-rules.js';

/** One entry of the event catalogue: a topic endpoints can subscribe to, with the JSON Schema of its body. */
export interface WebhookEventType {
  /** The topic (`order.created`): the body's `type`, what endpoints subscribe to. */
  name: string;
  description: string;
  /**
   * JSON Schema (draft 2020-12) of the body as sent to an endpoint without `fields` or `transform`: the envelope
   * `{ id, type, timestamp, data, changes?, actor? }` with the schema of `data` (and of `changes`, for updates).
   */
  schema: JsonSchema;
}

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const ENVELOPE_PROPERTIES: Record<string, JsonSchema> = {
  id: {
    type: 'string',
    pattern: '^evt_[0-9A-HJKMNP-TV-Z]{26}$',
    description: 'The event id, also the webhook-id header: the same on every retry and redelivery, so deduplicate on it.',
  },
  timestamp: { type: 'string', format: 'date-time', description: 'When the event was recorded (ISO 8601, UTC).' },
  actor: { description: "Who made the change: what the module's actor resolver returned; absent when it returned nothing." },
};

const DESCRIPTIONS: Record<WebhookAction, (entity: string) => string> = {
  created: (e) => `${e} was created (inserted). data is the new row.`,
  updated: (e) => `${e} was updated. data is the row as it now is; changes lists the fields that changed, each { old, new }.`,
  deleted: (e) => `${e} was deleted (removed or soft-removed). data is the row as it was, with its id.`,
};

/** "An Order", "A Customer". */
const withArticle = (className: string) => `${/^[AEIOU]/i.test(className) ? 'An' : 'A'} ${className}`;

/**
 * The catalogue: every topic the registry can send, with the schema of its body. Entity topics are derived from the
 * columns and the entity's field rules (or the schema given for its `serialize`), custom topics take the schema
 * declared with them. `endpointRules`, an endpoint's own `fields`, shapes the schemas as that endpoint receives
 * them; without, they describe the body every endpoint without `fields` or `transform` gets.
 */
export function eventCatalogue(registry: EntityRegistry, endpointRules?: FieldRules): WebhookEventType[] {
  const byTopic = new Map<string, [RegisteredEntity, WebhookAction]>();
  for (const entity of registry.all()) for (const action of entity.events) byTopic.set(entity.topics[action], [entity, action]);
  return registry.topics().map((name) => {
    const entityTopic = byTopic.get(name);
    if (entityTopic) return entityEventType(name, ...entityTopic, endpointRules);
    const doc = registry.topicDoc(name);
    let data: JsonSchema = doc?.schema
      ? structuredClone(doc.schema)
      : { description: 'Any JSON value: what emit() was given (no schema was declared with this topic).' };
    if (endpointRules) data = shapeDataSchema(data, endpointRules);
    const description = doc?.description ?? `A custom event, sent with emit('${name}', data).`;
    return { name, description, schema: envelopeSchema(name, description, data) };
  });
}

function entityEventType(name: string, entity: RegisteredEntity, action: WebhookAction, endpointRules?: FieldRules): WebhookEventType {
  let data = shapeDataSchema(entityDataSchema(entity), entity.rules);
  if (endpointRules) data = shapeDataSchema(data, endpointRules);
  let changes: JsonSchema | undefined;
  if (action === 'updated') {
    changes = shapeChangesSchema(entityChangesSchema(entity), entity.rules);
    if (endpointRules) changes = shapeChangesSchema(changes, endpointRules);
  }
  const description = DESCRIPTIONS[action](withArticle(entity.className));
  return { name, description, schema: envelopeSchema(name, description, data, changes) };
}

/** `data` before the field rules: the columns, or what the serializer returns. */
function entityDataSchema(entity: RegisteredEntity): JsonSchema {
  if (entity.serialize) {
    return entity.schema
      ? structuredClone(entity.schema)
      : { type: 'object', description: `What ${entity.className}'s serialize function returns (no schema was given: any object).` };
  }
  const properties: Record<string, JsonSchema> = {};
  for (const c of entity.columns) properties[c.key] = columnSchema(c);
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** `changes` before the field rules: any of the columns but the update-date and version ones, as `{ old, new }`. */
function entityChangesSchema(entity: RegisteredEntity): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const c of entity.columns) if (!c.automatic) properties[c.key] = changeSchema(columnSchema(c));
  return {
    type: 'object',
    description: 'The fields this update changed (never the update-date or version column), each { old, new }.',
    properties,
    additionalProperties: false,
  };
}

function envelopeSchema(name: string, description: string, data: JsonSchema, changes?: JsonSchema): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    id: ENVELOPE_PROPERTIES.id,
    type: { type: 'string', const: name, description: 'The topic.' },
    timestamp: ENVELOPE_PROPERTIES.timestamp,
    data,
    ...(changes ? { changes } : {}),
    actor: ENVELOPE_PROPERTIES.actor,
  };
  return structuredClone({
    $schema: JSON_SCHEMA_DIALECT,
    title: name,
    description,
    type: 'object',
    properties,
    required: ['id', 'type', 'timestamp', 'data', ...(changes ? ['changes'] : [])],
    additionalProperties: false,
  });
}
