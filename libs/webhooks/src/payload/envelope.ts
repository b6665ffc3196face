/**
 * The event envelope and the JSON rules every payload follows, whoever builds it (the subscriber, `emit()`, a test
 * send, a transformer's output).
 */

/** The largest payload of a test send or a custom event (`emit`), as JSON text. */
export const MAX_EVENT_PAYLOAD_CHARS = 256 * 1024;

/** `{ field: { old, new } }` of an update. */
export type Changes = Record<string, { old: unknown; new: unknown }>;

/** JSON.stringify that writes nested bigints as strings instead of throwing. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The JSON body sent to endpoints: `{ id, type, timestamp, data, changes?, actor? }`. */
export function envelope(id: string, type: string, timestamp: Date, data: unknown, changes?: Changes, actor?: unknown): string {
  const body: Record<string, unknown> = { id, type, timestamp: timestamp.toISOString(), data };
  if (changes) body.changes = changes;
  if (actor !== undefined && actor !== null) body.actor = actor;
  return stringify(body);
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
