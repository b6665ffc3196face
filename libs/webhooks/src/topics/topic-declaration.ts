/**
 * Declared custom topics: a name, or a name with the documentation of its payload for the event catalogue.
 */

/** A JSON Schema (draft 2020-12) as a plain object, e.g. `{ type: 'object', properties: { ... } }`. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * A custom topic with its documentation, for the module option `topics` (full name: `invoice.paid`) or
 * `@WebhookEntity({ topics })` (the part after the entity's name: `shipped` for `order.shipped`).
 */
export interface WebhookTopic {
  name: string;
  /** What the event means, shown in the event catalogue. */
  description?: string;
  /** JSON Schema (draft 2020-12) of the event's `data`: what you pass to `emit()`. Without: any JSON value. */
  schema?: JsonSchema;
}

/** The name of a topic declaration (a string or `{ name }`), or undefined when it is neither. */
export function declaredTopicName(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isPlainObject(entry) && typeof entry.name === 'string') return entry.name;
  return undefined;
}

/** What is wrong with a declaration's `description` or `schema` (beside its name), or null. */
export function topicDeclarationProblem(entry: unknown): string | null {
  if (typeof entry === 'string') return null;
  if (!isPlainObject(entry)) return 'must be a topic name or { name, description?, schema? }';
  const unknown = Object.keys(entry).filter((k) => k !== 'name' && k !== 'description' && k !== 'schema');
  if (unknown.length) return `has unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: name, description, schema)`;
  if (entry.description !== undefined && typeof entry.description !== 'string') return 'description must be a string';
  return schemaProblem(entry.schema);
}

/** What is wrong with a given schema (it must be a plain JSON object), or null; undefined is fine. */
export function schemaProblem(schema: unknown): string | null {
  if (schema === undefined) return null;
  if (!isPlainObject(schema)) return 'schema must be a JSON Schema object';
  try {
    JSON.stringify(schema);
  } catch {
    return 'schema must be JSON (no cycles, no bigints)';
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
