import { afterEach, describe, expect, it, vi } from 'vitest';
import { notSent, type WebhookResponse } from '../http/exchange.js';
import { gateOutcome, storable } from './attempt-outcomes.js';
import { MAX_RETRY_AFTER_MS } from './retry-policy.js';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const answer = (status: number, headers: Record<string, string> = {}): WebhookResponse => ({
  status,
  headers,
  body: '',
  durationMs: 5,
  error: null,
});
const noAnswer = (error: string): WebhookResponse => ({ status: null, headers: null, body: null, durationMs: 5, error });

describe('what an attempt tells the endpoint gate', () => {
  afterEach(() => vi.useRealTimers());

  it('pauses the endpoint on a 429 or a 503 with Retry-After, in seconds or as a date, at most a day', () => {
    vi.useFakeTimers({ now: NOW });
    expect(gateOutcome(answer(429, { 'retry-after': '2' }))).toEqual({ kind: 'answered', pauseUntil: NOW + 2000 });
    expect(gateOutcome(answer(503, { 'retry-after': '120' }))).toEqual({ kind: 'answered', pauseUntil: NOW + 120_000 });
    expect(gateOutcome(answer(503, { 'retry-after': 'Tue, 01 Dec 2026 12:00:30 GMT' }))).toEqual({
      kind: 'answered',
      pauseUntil: NOW + 30_000,
    });
    expect(gateOutcome(answer(429, { 'retry-after': String(7 * 86_400) }))).toEqual({
      kind: 'answered',
      pauseUntil: NOW + MAX_RETRY_AFTER_MS,
    });
  });

  it('does not pause on a 429 or 503 without a readable Retry-After, nor on other statuses that carry one', () => {
    expect(gateOutcome(answer(503))).toEqual({ kind: 'answered', pauseUntil: undefined });
    expect(gateOutcome(answer(429, { 'retry-after': 'soon' }))).toEqual({ kind: 'answered', pauseUntil: undefined });
    expect(gateOutcome(answer(500, { 'retry-after': '60' }))).toEqual({ kind: 'answered' });
    expect(gateOutcome(answer(200))).toEqual({ kind: 'answered' });
  });

  it('counts timeouts and connection errors toward the circuit, and nothing sent toward nothing', () => {
    expect(gateOutcome(noAnswer('ETIMEDOUT: no complete response within 15000 ms'))).toEqual({ kind: 'unreachable' });
    expect(gateOutcome(noAnswer('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9'))).toEqual({ kind: 'unreachable' });
    expect(gateOutcome(noAnswer('ECONNRESET: socket hang up'))).toEqual({ kind: 'unreachable' });
    expect(gateOutcome(notSent('Not sent: the endpoint is disabled'))).toEqual({ kind: 'none' });
    expect(gateOutcome({ ...noAnswer('EWEBHOOKBLOCKED: a private address'), blocked: true })).toEqual({ kind: 'none' });
    expect(gateOutcome(undefined)).toEqual({ kind: 'none' });
  });
});

describe('a reply as the attempt log stores it', () => {
  it('keeps at most the limit in bytes, never half a character, and NUL as U+FFFD', () => {
    expect(storable(null, 10)).toBeNull();
    expect(storable('plain', 10)).toBe('plain');
    expect(storable('a\u0000b\u0000', 10)).toBe('a\uFFFDb\uFFFD');
    expect(storable('ééé', 3)).toBe('é\uFFFD'); // 2 bytes each: the second is cut
    expect(storable('x'.repeat(20), 16)).toHaveLength(16);
  });
});
