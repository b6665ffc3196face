import type { WebhookResponse } from '../http/exchange.js';

/** `Retry-After` is honoured up to this long. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export interface RetryPolicy {
  /** Delays before each retry, in ms; attempts = length + 1. */
  schedule: readonly number[];
  /** ±fraction applied to each scheduled delay. */
  jitter: number;
  /** Retry 4xx answers other than 408, 410, 425 and 429 (which have rules of their own). */
  retryClientErrors: boolean;
}

/** What to do after an attempt. */
export type Verdict =
  | { action: 'succeed' }
  | { action: 'retry'; delayMs: number; reason: string }
  | { action: 'fail'; reason: string }
  /** 410 Gone: the receiver says the endpoint is gone for good. */
  | { action: 'disable'; reason: string };

/** 2xx, and only 2xx, is a successful delivery (Standard Webhooks). */
export function isSuccess(status: number | null): boolean {
  return status !== null && status >= 200 && status < 300;
}

const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * The delivery policy, as one pure function of an attempt's outcome:
 * - 2xx succeeds;
 * - no response (network error, timeout, reset), 408, 425, 429 and 5xx are retried on the schedule; a
 *   `Retry-After` on 429/503 is honoured, clamped to [the scheduled delay, 24 h];
 * - 410 fails the delivery and disables the endpoint;
 * - a request refused by the network policy (a non-public address) fails at once;
 * - 3xx fails (redirects are never followed), and so does any other 4xx unless `retryClientErrors`;
 * - a retry past the end of the schedule fails the delivery.
 */
export function decide(
  response: Pick<WebhookResponse, 'status' | 'headers' | 'error' | 'blocked'>,
  attempt: number,
  policy: RetryPolicy,
  now = Date.now(),
  random: () => number = Math.random,
): Verdict {
  const { status } = response;
  if (isSuccess(status)) return { action: 'succeed' };
  // The address is refused by policy: sending again would be refused again.
  if (response.blocked) return { action: 'fail', reason: `${response.error ?? 'blocked'} (not retried)` };
  if (status === 410) return { action: 'disable', reason: 'HTTP 410 Gone: the receiver retired this endpoint' };
  let reason: string;
  if (status === null) reason = response.error ?? 'no response';
  else if (status >= 500 || RETRYABLE_4XX.has(status) || (status >= 400 && status < 500 && policy.retryClientErrors)) {
    reason = `HTTP ${status}`;
  } else if (status >= 300 && status < 400) {
    const location = response.headers?.location;
    return { action: 'fail', reason: `HTTP ${status}: redirects are not followed${location ? ` (Location: ${location})` : ''}` };
  } else {
    return { action: 'fail', reason: `HTTP ${status}: not retried` };
  }

  const scheduled = retryDelay(attempt, policy.schedule, policy.jitter, random);
  if (scheduled === null) return { action: 'fail', reason: `${reason}; gave up after ${attempt} attempts` };
  let delayMs = scheduled;
  if (status === 429 || status === 503) {
    const asked = retryAfterMs(response.headers?.['retry-after'], now);
    if (asked !== null) delayMs = Math.min(Math.max(asked, scheduled), MAX_RETRY_AFTER_MS);
  }
  return { action: 'retry', delayMs, reason };
}

/**
 * Delay before the retry that follows attempt `attempt` (1-based), or null when the schedule is used up.
 * The scheduled delay is spread uniformly over ±`jitter` so retries of many deliveries do not arrive together.
 */
export function retryDelay(
  attempt: number,
  schedule: readonly number[],
  jitter: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  const spread = base * jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
