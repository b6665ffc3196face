import { notSent, type WebhookResponse } from '../http/exchange.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from './retry-policy.js';
import type { GateOutcome } from './endpoint-gate.js';
import { OAuth2TokenError } from './oauth2.js';
import { storedText } from '../util/stored-text.js';

/** What an attempt's response tells the gate about its endpoint. */
export function gateOutcome(response: WebhookResponse | undefined): GateOutcome {
  if (!response || response.unsent || response.blocked) return { kind: 'none' };
  if (response.status === null) return { kind: 'unreachable' };
  if (response.status !== 429 && response.status !== 503) return { kind: 'answered' };
  const after = retryAfterMs(response.headers?.['retry-after']);
  return { kind: 'answered', pauseUntil: after === null ? undefined : Date.now() + Math.min(after, MAX_RETRY_AFTER_MS) };
}

/** A failed token request as an attempt that sent nothing; a token URL refused by the network policy is final. */
export function tokenFailure(error: unknown): WebhookResponse {
  const response = notSent(`Not sent: ${(error as Error).message}`);
  return error instanceof OAuth2TokenError && error.blocked ? { ...response, blocked: true } : response;
}

/**
 * A receiver's text as the attempt log stores it: at most `limit` bytes (a cut multi-byte character becomes U+FFFD),
 * and U+0000 as U+FFFD too. PostgreSQL's text refuses NUL, and a reply that carries one (binary, UTF-16) would fail
 * the outcome's write every time: the delivery would stay in flight, be taken back and sent again, for good.
 */
export function storable(body: string | null, limit: number): string | null {
  if (body === null) return body;
  const text = storedText(body);
  if (Buffer.byteLength(text) <= limit) return text;
  return Buffer.from(text).subarray(0, limit).toString('utf8');
}
