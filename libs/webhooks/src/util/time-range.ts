import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { shown } from './shown.js';

const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A half-open time range [since, until). */
export interface TimeRange {
  since: Date;
  until: Date;
}

/** A Date, or an ISO 8601 string, as given by a caller; `what` names the request in the error ("Invalid stats request"). */
export function parseTime(value: unknown, name: string, what: string): Date {
  const date = value instanceof Date ? new Date(value.getTime()) : typeof value === 'string' && value.trim() ? new Date(value) : undefined;
  // Within what every supported database stores (MySQL's datetime ends in 9999; nothing here predates 1970).
  if (!date || Number.isNaN(date.getTime()) || date.getTime() < 0 || date.getTime() > LATEST) {
    throw new WebhookValidationError(
      `${what}: ${name} must be a date from 1970 to 9999 such as "2026-11-24T00:00:00Z" (got ${shown(value)}).`,
    );
  }
  return date;
}

/**
 * The range of a report: `since` (default `defaultSpanMs` before `until`) up to `until` (default now). Rejects a
 * range that ends before it starts.
 */
export function timeRange(
  options: { since?: Date | string; until?: Date | string },
  defaultSpanMs: number,
  what: string,
  now = new Date(),
): TimeRange {
  const until = options.until === undefined ? now : parseTime(options.until, 'until', what);
  const since = options.since === undefined ? new Date(until.getTime() - defaultSpanMs) : parseTime(options.since, 'since', what);
  if (since.getTime() >= until.getTime()) throw new WebhookValidationError(`${what}: since must be before until.`);
  return { since, until };
}
