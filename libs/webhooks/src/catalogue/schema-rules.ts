import { isRedacted, type FieldRules } from '../payload/shaping.js';
import type { JsonSchema } from '../topics/topic-declaration.js';
import { allowsNull } from './column-schema.js';

/**
 * Field rules (include, exclude, redact) applied to schemas, as `shapeData` and `shapeChanges` apply them to
 * payloads: an excluded field is absent, a masked one is the mask string.
 */

/** The schema of a masked value in `data`: the mask, or null when the value may be null (null is not masked). */
export function maskedSchema(mask: string, original: JsonSchema): JsonSchema {
  const description = 'Masked (redacted): always the mask string.';
  return allowsNull(original)
    ? { type: ['string', 'null'], enum: [mask, null], description }
    : { type: 'string', const: mask, description };
}

/** The schema of one entry of `changes`: `{ old, new }`, both of the field's schema. */
export function changeSchema(value: JsonSchema): JsonSchema {
  return { type: 'object', properties: { old: value, new: value }, required: ['old', 'new'], additionalProperties: false };
}

/**
 * An object schema with the rules applied to its declared `properties` (and `required`); the rest of the schema
 * is kept. A schema without `properties` (an open object, any JSON) is returned as it is: nothing is known to
 * shape. `masked` builds a masked property's schema from its original one.
 */
function shapeProperties(schema: JsonSchema, rules: FieldRules, masked: (original: JsonSchema) => JsonSchema): JsonSchema {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties || typeof properties !== 'object') return schema;
  const out: Record<string, JsonSchema> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (rules.include && !rules.include.has(key)) continue;
    if (rules.exclude?.has(key)) continue;
    out[key] = isRedacted(key, rules) ? masked(value) : value;
  }
  const shaped: JsonSchema = { ...schema, properties: out };
  if (Array.isArray(schema.required)) shaped.required = (schema.required as string[]).filter((k) => k in out);
  return shaped;
}

/** The schema of `data` under these rules. */
export function shapeDataSchema(schema: JsonSchema, rules: FieldRules): JsonSchema {
  return shapeProperties(schema, rules, (original) => maskedSchema(rules.mask, original));
}

/** The schema of `changes` under these rules: a masked field's change is `{ old: mask, new: mask }`. */
export function shapeChangesSchema(schema: JsonSchema, rules: FieldRules): JsonSchema {
  const mask: JsonSchema = { type: 'string', const: rules.mask };
  return shapeProperties(schema, rules, () => ({ ...changeSchema(mask), description: 'Masked (redacted): it changed, not to what.' }));
}
