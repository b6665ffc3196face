import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull, MoreThan } from 'typeorm';
import { WebhookEndpoint, WebhookSecret } from '../entities/index.js';
import { secretKey } from '../signing/signing.js';
import { EndpointSecrets } from './endpoint-secrets.js';
import { WEBHOOKS_OPTIONS, WEBHOOKS_QUEUE } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { topicMatches } from './topics.js';

export interface CachedSecret {
  key: Buffer;
  /** Epoch ms after which this secret must not sign; null for the primary secret. */
  expiresAt: number | null;
}

/** What the hot paths need of an endpoint, kept in memory. */
export interface CachedEndpoint {
  id: string;
  url: string;
  active: boolean;
  topics: readonly string[];
  secrets: readonly CachedSecret[];
  retrySchedule: readonly number[] | null;
  timeoutMs: number | null;
  /** Custom request headers (decrypted). */
  headers: Readonly<Record<string, string>> | null;
}

/**
 * All endpoints in memory, so routing an event and signing a delivery query nothing. Changes made through the
 * library reload it at once here and, over Redis pub/sub, in every other instance; a periodic reload is the net
 * under both (e.g. rows edited by hand).
 */
@Injectable()
export class EndpointCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly instanceId = randomUUID();
  private byId = new Map<string, CachedEndpoint>();
  private byTopic = new Map<string, CachedEndpoint[]>();
  private loaded: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private loadedAt = 0;
  private subscriber: Redis | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
    private readonly secrets: EndpointSecrets,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.ready();
    if (this.options.endpointCacheRefreshMs > 0) {
      this.timer = setInterval(() => void this.reload().catch(() => undefined), this.options.endpointCacheRefreshMs);
      this.timer.unref();
    }
    this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
    this.subscriber = undefined;
  }

  /** Resolves once the cache holds the endpoints (the first load). */
  ready(): Promise<void> {
    this.loaded ??= this.reload();
    return this.loaded;
  }

  /** Active endpoints subscribed to a topic. Call after `ready()`. */
  matching(topic: string): readonly CachedEndpoint[] {
    let list = this.byTopic.get(topic);
    if (!list) {
      list = [...this.byId.values()].filter((e) => e.active && e.topics.some((p) => topicMatches(p, topic)));
      this.byTopic.set(topic, list);
    }
    return list;
  }

  get(id: string): CachedEndpoint | undefined {
    return this.byId.get(id);
  }

  /** Reload here and tell the other instances to reload. */
  async changed(): Promise<void> {
    await this.reload();
    const channel = this.channel();
    await this.queue.client.publish(channel, this.instanceId).catch((error: Error) => {
      this.logger.warn(`Could not announce an endpoint change on Redis (${error.message}); other instances pick it up within endpointCacheRefreshMs.`);
    });
  }

  /**
   * Reloads unless the cache was loaded within `maxAgeMs`; then it only waits for a load in progress. Lets a hot
   * path double-check a miss without reloading once per job (a disabled endpoint with a backlog).
   */
  async refreshIfOlderThan(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.loadedAt > maxAgeMs) await this.reload();
    else await this.chain;
  }

  /** Loads again, after any load already running, so the result reflects every change made before the call. */
  reload(): Promise<void> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch((error: Error) => this.logger.error(`Could not load webhook endpoints: ${error.message}`));
    return next;
  }

  private async load(): Promise<void> {
    const [endpoints, secrets] = await Promise.all([
      this.dataSource.getRepository(WebhookEndpoint).find(),
      this.dataSource.getRepository(WebhookSecret).find({
        where: [{ expiresAt: IsNull() }, { expiresAt: MoreThan(new Date()) }],
        order: { createdAt: 'DESC' },
      }),
    ]);
    const secretsOf = new Map<string, CachedSecret[]>();
    for (const s of secrets) {
      const list = secretsOf.get(s.endpointId) ?? [];
      // A secret under a key that is not configured fails the load (at start-up: the app does not start).
      list.push({ key: secretKey(this.secrets.reveal(s)), expiresAt: s.expiresAt ? s.expiresAt.getTime() : null });
      secretsOf.set(s.endpointId, list);
    }
    const byId = new Map<string, CachedEndpoint>();
    for (const e of endpoints) {
      byId.set(e.id, {
        id: e.id,
        url: e.url,
        active: e.active,
        topics: e.topics,
        secrets: secretsOf.get(e.id) ?? [],
        retrySchedule: e.retrySchedule,
        timeoutMs: e.timeoutMs,
        headers: this.secrets.openHeaders(e),
      });
    }
    this.byId = byId;
    this.loadedAt = Date.now();
    this.byTopic = new Map();
  }

  private channel(): string {
    return this.queue.toKey('endpoints-changed');
  }

  private listen(): void {
    const subscriber = this.queue.client.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // reconnects on its own; the periodic reload covers the gap
    subscriber.on('message', (_channel: string, from: string) => {
      if (from !== this.instanceId) void this.reload().catch(() => undefined);
    });
    subscriber.subscribe(this.channel()).catch(() => undefined);
  }
}

/** Secret keys that may sign now: the primary and any rotated secret still in its grace window. */
export function signingKeys(endpoint: CachedEndpoint, now = Date.now()): Buffer[] {
  const keys: Buffer[] = [];
  for (const s of endpoint.secrets) if (s.expiresAt === null || s.expiresAt > now) keys.push(s.key);
  return keys;
}
