/** A field condition: equal to a value, or `{ in: [values] }`. */
export type FieldCondition = string | number | boolean | null | { in: Array<string | number | boolean | null> };

/** Conditions on events of one entity (or custom topic prefix); all must hold. */
export interface EntityFilter {
  /** The entity's primary key is one of these. */
  ids?: Array<string | number>;
  /** The entity's `bucket` field equals this (or is one of these). */
  bucket?: string | string[];
  /** Each named field of `data` equals the value, or is one of `{ in: [...] }`. */
  fields?: Record<string, FieldCondition>;
}

/** Endpoint filters keyed by entity name: `{ "order": { "bucket": "eu" } }`. An entity without a key is not filtered. */
export type EndpointFilters = Record<string, EntityFilter>;

/** What a filter looks at. */
export interface FilterSubject {
  /** The topic's prefix: the entity name, or the first segment of a custom topic. */
  prefix: string;
  entityId: string | null;
  data: unknown;
}

const MAX_VALUES = 1000;

/** Whether an event passes an endpoint's filters. */
export function passesFilters(filters: EndpointFilters | null, subject: FilterSubject): boolean {
  if (!filters) return true;
  const filter = filters[subject.prefix];
  if (!filter) return true;
  if (filter.ids && (subject.entityId === null || !filter.ids.some((id) => String(id) === subject.entityId))) return false;
  const data = (subject.data && typeof subject.data === 'object' ? subject.data : {}) as Record<string, unknown>;
  if (filter.bucket !== undefined) {
    const buckets = Array.isArray(filter.bucket) ? filter.bucket : [filter.bucket];
    if (!buckets.includes(data.bucket as string)) return false;
  }
  for (const [field, condition] of Object.entries(filter.fields ?? {})) {
    const value = data[field];
    if (condition !== null && typeof condition === 'object') {
      if (!condition.in.some((v) => v === value)) return false;
    } else if (value !== condition) return false;
  }
  return true;
}

/**
 * Checks `filters` as given by a caller. `fieldsOf(prefix)` lists the known fields of an entity, `undefined` for a
 * prefix that is not an entity (custom topics: fields unchecked), or `null` when the prefix is unknown.
 */
export function filtersProblems(value: unknown, fieldsOf: (prefix: string) => readonly string[] | undefined | null): string[] {
  if (value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    return ['filters must be an object keyed by entity name, e.g. {"order": {"bucket": "eu"}}, or null'];
  }
  const problems: string[] = [];
  for (const [prefix, filter] of Object.entries(value as Record<string, unknown>)) {
    const fields = fieldsOf(prefix);
    const at = `filters.${prefix}`;
    if (fields === null) {
      problems.push(`${at}: "${prefix}" is not an entity or topic prefix that can be sent`);
      continue;
    }
    if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
      problems.push(`${at} must be an object with ids, bucket and/or fields`);
      continue;
    }
    const f = filter as Record<string, unknown>;
    const unknown = Object.keys(f).filter((k) => k !== 'ids' && k !== 'bucket' && k !== 'fields');
    if (unknown.length) problems.push(`${at} has unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (use ids, bucket, fields)`);
    if (Object.keys(f).length === 0) problems.push(`${at} is empty`);
    if (f.ids !== undefined) {
      const ids = f.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_VALUES || ids.some((id) => !(typeof id === 'string' || Number.isFinite(id)))) {
        problems.push(`${at}.ids must be a non-empty list of up to ${MAX_VALUES} ids (strings or numbers)`);
      }
    }
    if (f.bucket !== undefined) {
      const b = f.bucket;
      const ok = typeof b === 'string' || (Array.isArray(b) && b.length > 0 && b.length <= MAX_VALUES && b.every((x) => typeof x === 'string'));
      if (!ok) problems.push(`${at}.bucket must be a string or a non-empty list of strings`);
      else if (fields && !fields.includes('bucket')) problems.push(`${at}.bucket: the entity has no "bucket" field`);
    }
    if (f.fields !== undefined) {
      if (typeof f.fields !== 'object' || f.fields === null || Array.isArray(f.fields) || Object.keys(f.fields).length === 0) {
        problems.push(`${at}.fields must be a non-empty object of field conditions`);
      } else {
        for (const [field, condition] of Object.entries(f.fields as Record<string, unknown>)) {
          if (fields && !fields.includes(field)) {
            problems.push(`${at}.fields.${field}: no such field (fields: ${fields.join(', ')})`);
          } else if (!isCondition(condition)) {
            problems.push(`${at}.fields.${field} must be a string, number, boolean or null, or {"in": [values]}`);
          }
        }
      }
    }
  }
  return problems;
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isCondition(v: unknown): boolean {
  if (isPrimitive(v)) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const list = (v as { in?: unknown }).in;
  return keys.length === 1 && keys[0] === 'in' && Array.isArray(list) && list.length > 0 && list.length <= MAX_VALUES && list.every(isPrimitive);
}
