import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { WebhooksService, type WebhooksModuleOptions } from 'nestjs-outgoing-webhooks';
import { createApp } from '../../apps/example/src/bootstrap.js';
import type { AppConfig } from '../../apps/example/src/config.js';
import type { TestDatabase } from './databases.js';
import { Receiver } from './receiver.js';
import { CapturingLogger, captureText, noteSecret, watchSecretsOf } from './secret-watch.js';
import { watchPayloadsOf } from './payload-watch.js';

export const API_TOKEN = 'test-token';
export const ADMIN_LOGIN = { email: 'operator@example.com', password: 'correct horse battery staple' };

/** The encryption key of test apps (secrets are stored encrypted, as in production). */
export const TEST_ENCRYPTION_KEY = { id: 'test1', key: Buffer.alloc(32, 7).toString('base64') };

/**
 * Library options for tests: short retries, no background relay (tests run it by hand), receivers on
 * http://127.0.0.1 allowed, secrets encrypted.
 */
export const FAST_WEBHOOKS: WebhooksModuleOptions = {
  allowHttp: true,
  allowPrivateNetworks: true,
  encryptionKeys: [TEST_ENCRYPTION_KEY],
  retrySchedule: [100, 200, 300],
  jitter: 0,
  relayIntervalMs: 0,
  relayGraceMs: 0,
  requestTimeoutMs: 2000,
};

export interface RunningExample {
  app: INestApplication;
  baseUrl: string;
  bullPrefix: string;
  api<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  /**
   * Starts a receiver on 127.0.0.1 and subscribes it over the API (`order.created` unless `input` says otherwise).
   * The receiver closes with the app.
   */
  receiverEndpoint(input?: object): Promise<{ rx: Receiver; ep: { id: string; secret: string; [field: string]: any } }>;
  close(): Promise<void>;
}

/** A request body sent as this JSON text (one JSON.stringify could not write: nested thousands of levels deep). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Starts the example app (the real AppModule) on 127.0.0.1 with a fresh Bull prefix. */
export async function startExample(
  db: TestDatabase,
  options: { webhooks?: WebhooksModuleOptions; bullPrefix?: string; redisUrl?: string; admin?: boolean } = {},
): Promise<RunningExample> {
  const bullPrefix = options.bullPrefix ?? `test_${randomBytes(5).toString('hex')}`;
  const config: AppConfig = {
    port: 0,
    production: false,
    database: db.config,
    redisUrl: options.redisUrl ?? inject('redisUrl'),
    bullPrefix,
    apiToken: API_TOKEN,
    apiTokenGenerated: false,
    allowPrivateNetworks: true,
    allowHttp: true,
    encryptionKeys: [TEST_ENCRYPTION_KEY],
    webhooks: { ...FAST_WEBHOOKS, ...options.webhooks },
    // The admin loads AdminJS (~1.5 s) and bundles its components: only the tests that use it turn it on.
    admin: {
      enabled: options.admin ?? false,
      email: ADMIN_LOGIN.email,
      password: ADMIN_LOGIN.password,
      passwordGenerated: false,
      cookieSecret: randomBytes(32).toString('base64url'),
    },
  };
  const app = await createApp(config, new CapturingLogger());
  watchSecretsOf(app.get(WebhooksService));
  watchPayloadsOf(app);
  await app.listen(0, '127.0.0.1');
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const receivers: Receiver[] = [];
  const running: RunningExample = {
    app,
    baseUrl,
    bullPrefix,
    async receiverEndpoint(input = {}) {
      const rx = await Receiver.start();
      receivers.push(rx);
      const res = await running.api('POST', '/api/webhook-endpoints', { url: rx.url, topics: ['order.created'], ...input });
      if (res.status !== 201) throw new Error(`Creating the endpoint answered ${res.status}: ${JSON.stringify(res.body)}`);
      return { rx, ep: res.body };
    },
    async api(method, path, body, token = API_TOKEN) {
      const response = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body),
      });
      const text = await response.text();
      const parsed = text ? JSON.parse(text) : undefined;
      // A secret is shown once, in the answer that creates it; everything else is watched for it.
      if (typeof parsed?.secret === 'string') {
        noteSecret(parsed.secret);
        captureText(JSON.stringify({ ...parsed, secret: undefined }));
      } else captureText(text);
      return { status: response.status, body: parsed };
    },
    async close() {
      await app.close();
      await Promise.all(receivers.map((r) => r.close()));
    },
  };
  return running;
}

/** Deletes a test's Bull keys from the shared Redis. */
export async function dropBullKeys(prefix: string): Promise<void> {
  const redis = new Redis(inject('redisUrl'), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
