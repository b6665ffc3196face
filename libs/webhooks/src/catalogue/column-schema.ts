import type { PayloadColumn } from '../registry/entity-registry.js';
import type { JsonSchema } from '../topics/topic-declaration.js';

/**
 * The JSON Schema of one column's value in `data` and `changes`, as `entityData` writes it: decimals and bigints as
 * strings, dates as ISO 8601 strings, bytes as base64, JSON columns as they are. A column type the library cannot
 * vouch for (a custom one, or a column with a transformer, whose value is whatever the transformer returns) is any
 * JSON value.
 */

const INTEGER = new Set(['int', 'int2', 'int4', 'integer', 'smallint', 'mediumint', 'tinyint', 'unsigned int', 'smallserial', 'serial']);
const NUMBER = new Set(['float', 'float4', 'float8', 'double', 'double precision', 'real', 'number', 'smallmoney']);
const BOOLEAN = new Set(['boolean', 'bool']);
const STRING = new Set([
  'varchar',
  'character varying',
  'char',
  'character',
  'nchar',
  'nvarchar',
  'national char',
  'national varchar',
  'varchar2',
  'nvarchar2',
  'text',
  'tinytext',
  'mediumtext',
  'longtext',
  'ntext',
  'citext',
  'clob',
  'nclob',
  'string',
  'inet',
  'cidr',
  'macaddr',
]);
/** Read back as Date objects by every driver, written as ISO 8601 date-times. */
const DATE_TIME = new Set(['datetime', 'datetime2', 'datetimeoffset', 'smalldatetime']);
/** Date objects on PostgreSQL and MySQL/MariaDB; SQLite's driver hands these back as the stored text. */
const TIMESTAMP = new Set(['timestamp', 'timestamptz', 'timestamp with time zone', 'timestamp without time zone']);
const BINARY = new Set(['bytea', 'blob', 'tinyblob', 'mediumblob', 'longblob', 'binary', 'varbinary', 'image', 'raw']);
const JSON_TYPES = new Set(['json', 'jsonb', 'simple-json']);
const SQLITE_DRIVERS = new Set(['sqlite', 'better-sqlite3', 'sqljs', 'capacitor', 'cordova', 'expo', 'nativescript', 'react-native']);

/** The schema of the column's value in a payload, null included when the column may be null. */
export function columnSchema(column: PayloadColumn): JsonSchema {
  const meta = column.column;
  const schema = valueSchema(column);
  if (meta.comment) schema.description = meta.comment;
  // A column left out of SELECTs (`select: false`) is not loaded with the row: updates and deletes send null.
  return meta.isNullable || meta.isSelect === false ? nullable(schema) : schema;
}

/** `schema` with null allowed too. */
export function nullable(schema: JsonSchema): JsonSchema {
  if (allowsNull(schema)) return schema;
  const out: JsonSchema = { ...schema };
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  else if (Array.isArray(out.type)) out.type = [...(out.type as unknown[]), 'null'];
  if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  if ('const' in out) {
    out.enum = [out.const, null];
    delete out.const;
  }
  return out;
}

/**
 * Whether a schema lets null through, as far as its top-level keywords tell: a `null` type, or no type, const or
 * enum at all (`{}`, or a schema only combining others, which may).
 */
export function allowsNull(schema: JsonSchema): boolean {
  const { type } = schema;
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true;
  if (Array.isArray(schema.enum)) return schema.enum.includes(null);
  if ('const' in schema) return schema.const === null;
  return type === undefined;
}

function valueSchema(column: PayloadColumn): JsonSchema {
  const meta = column.column;
  const type = meta.type;
  const name = typeof type === 'string' ? type.toLowerCase() : '';
  if (column.kind === 'decimal') {
    const scale = column.scale;
    const decimal = name !== 'money' && scale !== undefined;
    return {
      type: 'string',
      ...(decimal ? { pattern: '^-?\\d+(\\.\\d+)?$' } : {}),
      description: `A decimal as a string${scale === undefined ? '' : ` with ${scale} decimal${scale === 1 ? '' : 's'}`}.`,
    };
  }
  if (column.kind === 'bigint') return { type: 'string', pattern: '^-?\\d+$', description: 'A 64-bit integer as a string.' };
  if (meta.transformer) return {};
  const base = meta.enum?.length ? { enum: [...meta.enum] } : scalarSchema(type, name, meta.entityMetadata.connection.driver.options.type);
  return meta.isArray ? { type: 'array', items: base } : base;
}

function scalarSchema(type: unknown, name: string, driver: string): JsonSchema {
  if (type === String || STRING.has(name)) return { type: 'string' };
  if (name === 'uuid') return { type: 'string', format: 'uuid' };
  if (type === Number || INTEGER.has(name)) return { type: 'integer' };
  if (NUMBER.has(name)) return { type: 'number' };
  if (type === Boolean || BOOLEAN.has(name)) return { type: 'boolean' };
  if (type === Date || DATE_TIME.has(name)) return { type: 'string', format: 'date-time' };
  if (TIMESTAMP.has(name)) return SQLITE_DRIVERS.has(driver) ? { type: 'string' } : { type: 'string', format: 'date-time' };
  if (name === 'date') return { type: 'string', description: 'A date, YYYY-MM-DD as read from the database.' };
  if (name === 'time' || name === 'timetz' || name.startsWith('time with')) return { type: 'string' };
  if (type === Buffer || BINARY.has(name)) return { type: 'string', contentEncoding: 'base64' };
  if (name === 'simple-array') return { type: 'array', description: 'A simple-array column: strings as read back.' };
  if (JSON_TYPES.has(name)) return { description: 'A JSON column: any JSON value, as stored.' };
  return {};
}
