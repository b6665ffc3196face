import { SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Span, type SpanContext } from '@opentelemetry/api';
import { memoized } from '../util/memo.js';

/**
 * Spans through `@opentelemetry/api` only: without a tracer provider registered by the host they are no-ops. An
 * event's recording is a span in the caller's trace; each delivery attempt is a span of its own trace, linked to the
 * recording (its context travels in the job as a W3C traceparent), with the HTTP request as its child.
 */
const TRACER = 'nestjs-outgoing-webhooks';

const tracer = () => trace.getTracer(TRACER);

/** Runs `fn` in a span, ending it after; an error marks the span and goes on. */
async function inSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** The recording of an event, in the caller's active trace (a child of its request or transaction span). */
export function recordingSpan<T>(attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(
    `webhook record ${String(attributes['webhooks.topic'])}`,
    { kind: SpanKind.PRODUCER, attributes },
    (span) => inSpan(span, fn),
  );
}

/** One delivery attempt: a new trace, linked to the recording of its event when the job carries its context. */
export function attemptSpan<T>(attributes: Attributes, traceparent: string | undefined, fn: (span: Span) => Promise<T>): Promise<T> {
  const recorded = traceparent ? parseTraceparent(traceparent) : undefined;
  return tracer().startActiveSpan(
    `webhook deliver ${String(attributes['webhooks.topic'] ?? '')}`.trim(),
    { kind: SpanKind.CONSUMER, root: true, attributes, links: recorded ? [{ context: recorded }] : [] },
    (span) => inSpan(span, fn),
  );
}

/** The HTTP request of an attempt, a child of the attempt's span. */
export function httpSpan<T>(method: string, url: string, fn: (span: Span) => Promise<T>): Promise<T> {
  // Given at the start (samplers read them there), from a per-URL map: endpoints are few and their URLs repeat.
  const attributes = { 'http.request.method': method, ...urlAttributes(url) };
  return tracer().startActiveSpan(method, { kind: SpanKind.CLIENT, attributes }, (span) => inSpan(span, fn));
}

/** A request URL's span attributes. The query is left out: an endpoint URL may carry a token there. */
const urlAttributes = memoized((url): Attributes => {
  const target = new URL(url);
  return {
    'server.address': target.hostname,
    'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
    'url.full': `${target.origin}${target.pathname}`,
  };
});

/** The W3C traceparent of a span, or undefined when it records nothing (no tracer provider, not sampled). */
export function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!span.isRecording() || !trace.isSpanContextValid(c)) return undefined;
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & TraceFlags.SAMPLED ? 1 : 0).toString(16).padStart(2, '0')}`;
}

/** A traceparent back as a (remote) span context, or undefined when it is not one. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  if (!match) return undefined;
  const context: SpanContext = { traceId: match[1], spanId: match[2], traceFlags: parseInt(match[3], 16), isRemote: true };
  return trace.isSpanContextValid(context) ? context : undefined;
}

/** What an attempt came to: its verdict, the answer's status, an error status unless it succeeded. */
export function attemptOutcome(span: Span, action: string, status: number | null, error: string | null): void {
  span.setAttribute('webhooks.outcome', action);
  if (status !== null) span.setAttribute('http.response.status_code', status);
  if (action !== 'succeed') span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? action });
}

/** The answer of an HTTP request: its status (an error from 400 on, as for HTTP clients), or the failure. */
export function httpOutcome(span: Span, status: number | null, error: string | null): void {
  if (status !== null) span.setAttribute('http.response.status_code', status);
  if (status === null || status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? `HTTP ${status}` });
}
