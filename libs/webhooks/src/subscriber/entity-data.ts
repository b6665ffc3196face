import type { ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { RegisteredEntity, ValueKind } from '../registry/entity-registry.js';
import { jsonSafe, stringify, type Changes } from '../payload/envelope.js';

/**
 * The JSON form of one column value: dates as ISO strings, decimals and bigints as strings, bytes as base64, booleans
 * as true/false (MySQL/MariaDB hand back 0/1 for the defaults TypeORM reads back after an `insert()`).
 */
function jsonValue(value: unknown, kind: ValueKind, scale: number | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (kind === 'decimal') return decimalString(value, scale);
  if (kind === 'bigint') return String(value);
  if (kind === 'boolean' && typeof value === 'number') return value !== 0;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * An entity's primary key value as the event's `entityId` (what `ids` filters match): the text of its JSON form
 * in the payload (bytes as base64, a date as ISO 8601), so a binary key is not written as raw bytes, which
 * PostgreSQL refuses in text when one of them is 0. Null without a value.
 */
export function keyText(entity: RegisteredEntity, value: unknown): string | null {
  const column = entity.primaryValue;
  const json = jsonValue(value, column?.kind ?? 'plain', column?.scale);
  if (json === null) return null;
  if (typeof json !== 'object') return String(json);
  // A key the entity holds as an object (a column transformer's value class): its JSON form, as text.
  const safe = jsonSafe(json);
  return typeof safe === 'string' ? safe : stringify(safe ?? null);
}

/** A decimal as a string with the column's scale, whether the driver gave a number or a string: "2.25" -> "2.250". */
function decimalString(value: unknown, scale: number | undefined): string {
  if (typeof value === 'number') return scale === undefined ? String(value) : value.toFixed(scale);
  const text = String(value);
  if (scale === undefined || !/^-?\d+(\.\d*)?$/.test(text)) return text;
  const [whole, fraction = ''] = text.split('.');
  return fraction.length >= scale ? text : `${whole}${scale > 0 ? '.' : ''}${fraction.padEnd(scale, '0')}`;
}

/**
 * The entity's columns as JSON values. Relation columns hold the related id only. Values missing on `row`
 * (a partial save) are taken from `fallback` (the row as loaded before the change).
 */
export function entityData(entity: RegisteredEntity, row: ObjectLiteral, fallback?: ObjectLiteral): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const c of entity.columns) {
    let value = c.column.getEntityValue(row);
    if (value === undefined && fallback) value = c.column.getEntityValue(fallback);
    data[c.key] = jsonValue(value, c.kind, c.scale);
  }
  return data;
}

/** `{ field: { old, new } }` for the columns an update really changed, leaving out update-date and version. */
export function entityChanges(
  entity: RegisteredEntity,
  updated: readonly ColumnMetadata[],
  before: ObjectLiteral,
  after: ObjectLiteral,
): Changes {
  const changes: Changes = {};
  for (const c of entity.columns) {
    if (c.automatic || !updated.includes(c.column)) continue;
    const oldValue = jsonValue(c.column.getEntityValue(before), c.kind, c.scale);
    const newValue = jsonValue(c.column.getEntityValue(after), c.kind, c.scale);
    if (!sameJson(oldValue, newValue)) changes[c.key] = { old: oldValue, new: newValue };
  }
  return changes;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return stringify(a) === stringify(b);
}
