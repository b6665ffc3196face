import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { Widget } from '../fixtures/widget.entity.js';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { startFixture, type FixtureApp } from '../support/fixture-app.js';
import { Receiver } from '../support/receiver.js';
import { waitUntil } from '../support/wait.js';

/** OpenTelemetry spans with the SDK's in-memory exporter: recording, attempts linked to it, HTTP children. */
describe('OpenTelemetry traces', () => {
  const exporter = new InMemorySpanExporter();
  let db: TestDatabase;
  let rx: Receiver;
  let fixture: FixtureApp | undefined;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    db = await createDatabase('sqlite');
    rx = await Receiver.start();
  });
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
    exporter.reset();
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await rx.close();
    await db.drop();
  });

  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name.startsWith(name));
  const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  async function sendOne(options: { traceparentHeader?: boolean } = {}) {
    fixture = await startFixture(db, { webhooksOptions: options });
    const webhooks = fixture.app.get(WebhooksService);
    await webhooks.createEndpoint({ url: rx.url, topics: ['widget.created'] });
    const before = rx.requests.length;
    rx.replies = [500];
    // The caller's own span: the recording must be its child.
    const request = await trace.getTracer('test').startActiveSpan('POST /widgets', async (span) => {
      await fixture!.app.get(DataSource).getRepository(Widget).save({ name: 'traced' });
      span.end();
      return span;
    });
    await rx.waitFor(before + 2);
    await waitUntil(async () => (spans('webhook deliver').length === 2 ? true : undefined), 'two attempt spans');
    return { request, requests: rx.requests.slice(before) };
  }

  it('records the event in the caller’s trace, and each attempt as a trace linked to it with its HTTP call as child', async () => {
    const { request, requests } = await sendOne();
    const [recorded] = spans('webhook record');
    expect(recorded.name).toBe('webhook record widget.created');
    expect(recorded.kind).toBe(SpanKind.PRODUCER);
    expect(recorded.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentId(recorded)).toBe(request.spanContext().spanId);
    expect(recorded.attributes).toMatchObject({ 'webhooks.topic': 'widget.created', 'webhooks.deliveries': 1 });
    const eventId = recorded.attributes['webhooks.event.id'];
    expect(eventId).toBe(requests[0].headers['webhook-id']);

    const attempts = spans('webhook deliver').sort(
      (a, b) => Number(a.attributes['webhooks.attempt']) - Number(b.attributes['webhooks.attempt']),
    );
    expect(attempts.map((a) => a.attributes['webhooks.attempt'])).toEqual([1, 2]);
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CONSUMER);
      expect(attempt.spanContext().traceId).not.toBe(request.spanContext().traceId); // a trace of its own...
      expect(attempt.links.map((l) => l.context.spanId)).toEqual([recorded.spanContext().spanId]); // ...linked to the recording
      expect(attempt.attributes).toMatchObject({ 'webhooks.topic': 'widget.created', 'webhooks.event.id': eventId });
      const [http] = exporter.getFinishedSpans().filter((s) => parentId(s) === attempt.spanContext().spanId);
      expect(http).toMatchObject({ name: 'POST', kind: SpanKind.CLIENT });
      expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'url.full': rx.url });
    }
    expect(attempts[0].attributes).toMatchObject({ 'webhooks.outcome': 'retry', 'http.response.status_code': 500 });
    expect(attempts[0].status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[1].attributes).toMatchObject({ 'webhooks.outcome': 'succeed', 'http.response.status_code': 200 });
    expect(attempts[1].status.code).not.toBe(SpanStatusCode.ERROR);
    // No traceparent to the receiver unless asked for.
    expect(requests.every((r) => r.headers.traceparent === undefined)).toBe(true);
  });

  it('sends the HTTP span’s traceparent with traceparentHeader', async () => {
    const { requests } = await sendOne({ traceparentHeader: true });
    const http = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    const sent = requests.map((r) => r.headers.traceparent).sort();
    const expected = http.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`).sort();
    expect(sent).toEqual(expected);
  });
});
