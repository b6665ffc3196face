import { WebhookValidationError } from '../errors/webhooks.errors.js';

/** A half-open time range [since, until). */
export interface TimeRange {
  since: Date;
  until: Date;
}

/** A Date, or an ISO 8601 string, as given by a caller; `what` names the request in the error ("Invalid stats request"). */
export function parseTime(value: unknown, name: string, what: string): Date {
  const date = value instanceof Date ? new Date(value.getTime()) : typeof value === 'string' && value.trim() ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new WebhookValidationError(`${what}: ${name} must be a date such as "2026-11-24T00:00:00Z" (got ${JSON.stringify(value)}).`);
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
