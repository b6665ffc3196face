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
  /** A custom topic under an entity's prefix (`order.shipped`): only `ids` apply, since `data` is not the row. */
  idsOnly?: boolean;
}

interface CompiledFilter {
  ids?: ReadonlySet<string>;
  buckets?: ReadonlySet<unknown>;
  fields: Array<[string, ReadonlySet<unknown> | { equals: unknown }]>;
}

/** Filters prepared for the hot path (Sets instead of lists); `broken` when the stored JSON is not valid. */
export type CompiledFilters = { broken: string } | Map<string, CompiledFilter>;

/**
 * Prepares stored filters once per cache load. Invalid JSON (edited by hand) is reported as `broken`: such an
 * endpoint receives nothing until it is fixed, rather than everything, or failing the writes of others.
 */
export function compileFilters(filters: unknown): CompiledFilters | null {
  if (filters === null || filters === undefined) return null;
  const problems = filtersProblems(filters, () => undefined);
  if (problems.length) return { broken: problems.join('; ') };
  const out = new Map<string, CompiledFilter>();
  for (const [prefix, f] of Object.entries(filters as EndpointFilters)) {
    out.set(prefix, {
      ids: f.ids ? new Set(f.ids.map(String)) : undefined,
      buckets: f.bucket === undefined ? undefined : new Set(Array.isArray(f.bucket) ? f.bucket : [f.bucket]),
      fields: Object.entries(f.fields ?? {}).map(([field, c]) => [
        field,
        c !== null && typeof c === 'object' ? new Set(c.in) : { equals: c },
      ]),
    });
  }
  return out;
}

/** Whether an event passes an endpoint's compiled filters. */
export function passesCompiled(filters: CompiledFilters | null, subject: FilterSubject): boolean {
  if (!filters) return true;
  if (!(filters instanceof Map)) return false;
  const filter = filters.get(subject.prefix);
  if (!filter) return true;
  if (filter.ids && (subject.entityId === null || !filter.ids.has(subject.entityId))) return false;
  if (subject.idsOnly) return true;
  const data = (subject.data && typeof subject.data === 'object' ? subject.data : {}) as Record<string, unknown>;
  if (filter.buckets && !filter.buckets.has(data.bucket)) return false;
  for (const [field, condition] of filter.fields) {
    const value = data[field];
    if ('equals' in condition ? value !== condition.equals : !condition.has(value)) return false;
  }
  return true;
}

const MAX_VALUES = 1000;

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
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > MAX_VALUES ||
        ids.some((id) => !(typeof id === 'string' || Number.isFinite(id)))
      ) {
        problems.push(`${at}.ids must be a non-empty list of up to ${MAX_VALUES} ids (strings or numbers)`);
      }
    }
    if (f.bucket !== undefined) {
      const b = f.bucket;
      const ok =
        typeof b === 'string' || (Array.isArray(b) && b.length > 0 && b.length <= MAX_VALUES && b.every((x) => typeof x === 'string'));
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
  return (
    keys.length === 1 && keys[0] === 'in' && Array.isArray(list) && list.length > 0 && list.length <= MAX_VALUES && list.every(isPrimitive)
  );
}
