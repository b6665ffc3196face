/** Exit codes of the commands: success, a failure (unknown id, a refused operation, a failed test), bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad arguments on the command line: exit code 2, with the message. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const TIME_FORMAT = 'an ISO 8601 time such as 2026-11-24T00:00:00Z (or 2026-11-24), or a duration before now such as 30m, 24h or 7d';

/** A `--since`/`--until` value: an ISO 8601 date or time, or a duration back from `now` (`90s`, `30m`, `24h`, `7d`, `2w`). */
export function parseTimeOption(value: unknown, flag: string, now = Date.now()): Date {
  const text = typeof value === 'string' ? value.trim() : '';
  const duration = DURATION.exec(text);
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2]]);
  const date = ISO_TIME.test(text) ? new Date(text.replace(' ', 'T')) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new CliUsageError(`${flag} must be ${TIME_FORMAT} (got ${JSON.stringify(value)}).`);
  return date;
}

/** An integer option within [min, max]. */
export function parseIntegerOption(value: unknown, flag: string, min: number, max: number): number {
  const text = typeof value === 'string' ? value.trim() : String(value);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliUsageError(`${flag} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)}).`);
  }
  return n;
}

/** A JSON option (`--data '{"orderId": 1}'`). */
export function parseJsonOption(value: unknown, flag: string): unknown {
  if (typeof value !== 'string') throw new CliUsageError(`${flag} needs a JSON value, e.g. ${flag} '{"orderId": 1}'.`);
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new CliUsageError(`${flag} must be valid JSON, e.g. ${flag} '{"orderId": 1}' (${(error as Error).message}).`);
  }
}

/** The one value of an option given once; commander keeps the last of repeated ones. */
export function stringOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
