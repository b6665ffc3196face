import 'reflect-metadata';
import { Controller, HttpCode, Param, Post, UseFilters, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksExceptionFilter } from '../errors/webhooks-exception.filter.js';
import { generateSecret, secretKey, signatureHeaders } from '../signing/signing.js';
import { MemoryReplayStore } from './replay-store.js';
import type { VerifiedWebhook } from './verify.js';
import { MISSING_RAW_BODY_MESSAGE, VerifyWebhook, WebhookMessage } from './webhook-receiver.guard.js';

const SECRET = generateSecret();
const ENDPOINT_SECRETS: Record<string, string[]> = { ep_a: [generateSecret()], ep_b: [generateSecret(), generateSecret()] };
const received: VerifiedWebhook[] = [];
let failNext = false;

@Controller('receiver')
class ReceiverController {
  @Post('hooks')
  @VerifyWebhook({ secrets: SECRET, replayStore: new MemoryReplayStore() })
  hook(@WebhookMessage() webhook: VerifiedWebhook): { id: string } {
    received.push(webhook);
    return { id: webhook.id };
  }

  @Post('flaky')
  @VerifyWebhook({ secrets: SECRET, replayStore: new MemoryReplayStore() })
  flaky(): string {
    if (failNext) {
      failNext = false;
      throw new Error('the handler failed');
    }
    return 'ok';
  }

  @Post('filtered')
  @UseFilters(WebhooksExceptionFilter)
  @VerifyWebhook({ secrets: SECRET })
  filtered(): string {
    return 'ok';
  }

  @Post(':endpointId')
  @HttpCode(200)
  @VerifyWebhook({
    secrets: async (request: Request) => ENDPOINT_SECRETS[String(request.params.endpointId)] ?? [],
    replayStore: new MemoryReplayStore(),
  })
  perEndpoint(@Param('endpointId') endpointId: string, @WebhookMessage() webhook: VerifiedWebhook) {
    return { endpointId, id: webhook.id, payload: webhook.payload };
  }
}

/** Captures what Nest logs, to find the configuration error of an app created without rawBody. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private record = (...args: unknown[]) => {
    this.lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' '));
  };
  log = this.record;
  error = this.record;
  warn = this.record;
  debug = this.record;
  verbose = this.record;
}

async function start(rawBody: boolean, logger: LoggerService | false): Promise<{ app: INestApplication; base: string }> {
  const moduleRef = await Test.createTestingModule({ controllers: [ReceiverController] }).compile();
  const app = moduleRef.createNestApplication({ rawBody, logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}/receiver` };
}

let nextId = 0;
function message(secrets: readonly string[], options: { id?: string; timestamp?: number; payload?: unknown } = {}) {
  const id = options.id ?? `msg_${++nextId}`;
  const body = JSON.stringify(options.payload ?? { type: 'order.created', data: { n: nextId } });
  const headers = signatureHeaders(
    id,
    options.timestamp ?? Math.floor(Date.now() / 1000),
    body,
    secrets.map((s) => secretKey(s)),
  );
  return { id, body, headers: { 'content-type': 'application/json', ...headers } as Record<string, string> };
}

async function post(url: string, request: { body: string; headers: Record<string, string> }) {
  const response = await fetch(url, { method: 'POST', body: request.body, headers: request.headers });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

describe('@VerifyWebhook on a Nest app created with rawBody: true', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await start(true, false));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('accepts a signed request and hands the verified webhook to the handler', async () => {
    const sent = message([SECRET], { payload: { type: 'order.created', data: { note: 'naïve ☕' } } });
    const response = await post(`${base}/hooks`, sent);
    expect(response.status).toBe(201);
    expect(response.json).toEqual({ id: sent.id });
    expect(received.at(-1)).toEqual({
      id: sent.id,
      timestamp: Number(sent.headers['webhook-timestamp']),
      body: sent.body,
      payload: { type: 'order.created', data: { note: 'naïve ☕' } },
    });
  });

  it('answers 409 to an exact replay, but accepts a retry signed with a new timestamp', async () => {
    const timestamp = Math.floor(Date.now() / 1000) - 5;
    const sent = message([SECRET], { timestamp });
    expect((await post(`${base}/hooks`, sent)).status).toBe(201);
    const replay = await post(`${base}/hooks`, sent);
    expect(replay.status).toBe(409);
    expect(replay.json.message).toBe(`webhook ${sent.id} with timestamp ${timestamp} was already received (replay)`);
    const retry = message([SECRET], { id: sent.id, timestamp: timestamp + 1 });
    expect((await post(`${base}/hooks`, retry)).status).toBe(201);
  });

  it('refuses the replay however the path is spelled (case, trailing slash)', async () => {
    const sent = message([SECRET]);
    expect((await post(`${base}/hooks`, sent)).status).toBe(201);
    for (const url of [`${base}/hooks/`, `${base.replace('/receiver', '/RECEIVER')}/hooks`, `${base}/HOOKS`]) {
      expect((await post(url, sent)).status, url).toBe(409);
    }
  });

  it('forgets a request whose handler failed, so the sender can retry it', async () => {
    const sent = message([SECRET]);
    failNext = true;
    expect((await post(`${base}/flaky`, sent)).status).toBe(500);
    expect((await post(`${base}/flaky`, sent)).status).toBe(201);
    expect((await post(`${base}/flaky`, sent)).status).toBe(409);
  });

  it('scopes replays to the sender: one message id sent to two endpoints passes at each, once', async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const toA = message(ENDPOINT_SECRETS.ep_a!, { id: 'msg_shared', timestamp });
    const toB = message(ENDPOINT_SECRETS.ep_b!, { id: 'msg_shared', timestamp });
    expect((await post(`${base}/ep_a`, toA)).status).toBe(200);
    expect((await post(`${base}/ep_b`, toB)).status).toBe(200);
    expect((await post(`${base}/ep_a`, toA)).status).toBe(409);
    expect((await post(`${base}/ep_b`, toB)).status).toBe(409);
  });

  it('answers 401 with the reason to a bad signature, and does not remember it', async () => {
    const sent = message([generateSecret()]);
    const response = await post(`${base}/hooks`, sent);
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.stringContaining('No signature in webhook-signature matches'),
      reason: 'invalid-signature',
    });
    expect(response.text).not.toContain(SECRET.slice('whsec_'.length));
    // A failed request is not remembered: the genuine message with the same id and timestamp still passes.
    const genuine = message([SECRET], { id: sent.id, timestamp: Number(sent.headers['webhook-timestamp']) });
    expect((await post(`${base}/hooks`, genuine)).status).toBe(201);
  });

  it('answers 401 to missing headers and stale timestamps, with their reasons', async () => {
    const missing = await post(`${base}/hooks`, { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(missing.status).toBe(401);
    expect(missing.json.reason).toBe('missing-headers');
    const stale = await post(`${base}/hooks`, message([SECRET], { timestamp: Math.floor(Date.now() / 1000) - 3600 }));
    expect(stale.status).toBe(401);
    expect(stale.json.reason).toBe('timestamp-too-old');
    expect(stale.json.message).toMatch(/^webhook-timestamp is \d+ s in the past; the tolerance is 300 s\.$/);
  });

  it('verifies per endpoint with secrets from an async function of the request', async () => {
    const [a, b] = [ENDPOINT_SECRETS.ep_a!, ENDPOINT_SECRETS.ep_b!];
    const okA = await post(`${base}/ep_a`, message(a, { payload: { hello: 'a' } }));
    expect(okA.status).toBe(200);
    expect(okA.json).toMatchObject({ endpointId: 'ep_a', payload: { hello: 'a' } });
    // ep_b accepts either of its two secrets (a rotation) ...
    expect((await post(`${base}/ep_b`, message([b[1]!]))).status).toBe(200);
    // ... but not ep_a's.
    const wrong = await post(`${base}/ep_b`, message(a));
    expect(wrong.status).toBe(401);
    expect(wrong.json.reason).toBe('invalid-signature');
    const unknown = await post(`${base}/ep_zzz`, message(a));
    expect(unknown.status).toBe(401);
    expect(unknown.json.reason).toBe('no-secret');
  });
});

describe('@VerifyWebhook on a Nest app created without rawBody', () => {
  let app: INestApplication;
  let base: string;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    ({ app, base } = await start(false, logger));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers 500 and logs how to fix it', async () => {
    const response = await post(`${base}/hooks`, message([SECRET]));
    expect(response.status).toBe(500);
    expect(response.text).not.toContain(SECRET.slice('whsec_'.length));
    expect(logger.lines.some((line) => line.includes(MISSING_RAW_BODY_MESSAGE))).toBe(true);
    expect(MISSING_RAW_BODY_MESSAGE).toContain('NestFactory.create(AppModule, { rawBody: true })');
  });

  it('with WebhooksExceptionFilter, answers 500 with the explanation', async () => {
    const response = await post(`${base}/filtered`, message([SECRET]));
    expect(response.status).toBe(500);
    expect(response.json).toEqual({
      statusCode: 500,
      message: MISSING_RAW_BODY_MESSAGE,
      error: 'WebhookConfigurationError',
    });
  });
});
