import type { Changes } from './payload.js';

/** Field names that are masked by default: any name containing one of these, ignoring case, `_` and `-`. */
export const DEFAULT_REDACTED_PATTERNS = ['password', 'passwd', 'secret', 'token', 'apikey', 'privatekey', 'ssn'];
export const DEFAULT_MASK = '[REDACTED]';

/** Which top-level fields of `data` (and `changes`) are sent, and which are masked. */
export interface FieldRules {
  /** When set, only these fields. */
  include?: ReadonlySet<string>;
  exclude?: ReadonlySet<string>;
  /** Masked by exact name. */
  redact?: ReadonlySet<string>;
  /** Masked by pattern (substring of the normalised name). */
  redactPatterns?: readonly string[];
  mask: string;
}

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Whether a field is masked by these rules. */
export function isRedacted(key: string, rules: FieldRules): boolean {
  if (rules.redact?.has(key)) return true;
  if (!rules.redactPatterns?.length) return false;
  const name = normalise(key);
  return rules.redactPatterns.some((p) => name.includes(p));
}

function kept(key: string, rules: FieldRules): boolean {
  return (!rules.include || rules.include.has(key)) && !rules.exclude?.has(key);
}

/** `data` with the rules applied (a new object; the input is not changed). */
export function shapeData(data: Record<string, unknown>, rules: FieldRules): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!kept(key, rules)) continue;
    out[key] = isRedacted(key, rules) && value !== null && value !== undefined ? rules.mask : value;
  }
  return out;
}

/** `changes` with the same rules: excluded fields vanish, masked ones keep only the fact that they changed. */
export function shapeChanges(changes: Changes, rules: FieldRules): Changes {
  const out: Changes = {};
  for (const [key, change] of Object.entries(changes)) {
    if (!kept(key, rules)) continue;
    out[key] = isRedacted(key, rules) ? { old: rules.mask, new: rules.mask } : change;
  }
  return out;
}

/** Whether rules change anything (lets the hot path skip shaping). */
export function hasRules(rules: FieldRules | undefined): rules is FieldRules {
  return !!rules && (!!rules.include || !!rules.exclude?.size || !!rules.redact?.size || !!rules.redactPatterns?.length);
}

/**
 * A JSON-safe copy of what a serializer returned: Dates as ISO strings, bigints as strings, Buffers and typed
 * arrays as base64, Maps and Sets as objects and arrays, functions and symbols dropped, a circular reference as
 * "[Circular]". Depth is capped at 32.
 */
export function jsonSafe(value: unknown, seen = new Set<object>(), depth = 0): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  const object = value as object;
  if (seen.has(object)) return '[Circular]';
  if (depth >= 32) return '[Too deep]';
  seen.add(object);
  try {
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function' && !(object instanceof Map) && !(object instanceof Set)) {
      return jsonSafe((object as { toJSON(): unknown }).toJSON(), seen, depth + 1);
    }
    if (Array.isArray(object) || object instanceof Set) {
      return [...(object as Iterable<unknown>)].map((v) => jsonSafe(v, seen, depth + 1) ?? null);
    }
    const entries = object instanceof Map ? [...object.entries()] : Object.entries(object);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const safe = jsonSafe(v, seen, depth + 1);
      if (safe !== undefined) out[String(k)] = safe;
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

/** The actor of an event from the module's resolver: JSON-safe, undefined when there is none or it throws. */
export function resolveActor(resolver: (() => unknown) | undefined, warn: (message: string) => void): unknown {
  if (!resolver) return undefined;
  try {
    return jsonSafe(resolver());
  } catch (error) {
    warn(`The actor resolver threw (${(error as Error).message}); the event is sent without an actor.`);
    return undefined;
  }
}
