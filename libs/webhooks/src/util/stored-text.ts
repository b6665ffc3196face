import type { DataSource } from 'typeorm';
import { sqlDialect } from './sql-dialect.js';

/**
 * A string as the library stores it: U+0000, which PostgreSQL refuses in text, becomes U+FFFD (response bodies keep
 * the rest of what they said).
 */
export function storedText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/**
 * A string to look for as the database can hold it: on PostgreSQL, which holds no NUL character, in its stored form
 * (a filter value or id with one then matches what was stored from it, or nothing, instead of failing the query);
 * elsewhere as it is (SQLite and MariaDB keep NUL characters in text, an event's entity id or owner among them).
 */
export function searchableText(dataSource: DataSource): (text: string) => string {
  const dialect = sqlDialect(dataSource.options.type);
  return dialect === 'postgres' || dialect === 'cockroach' ? storedText : (text) => text;
}
