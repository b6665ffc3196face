import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull, MoreThan } from 'typeorm';
import { WebhookEndpoint, WebhookSecret } from '../entities/index.js';
import { secretKey } from '../signing/signing.js';
import { EndpointSecrets } from './endpoint-secrets.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, urlAllowed, type EndpointFieldValues } from './endpoint-input.js';
import { compileFilters, type CompiledFilters } from './filters.js';
import type { FieldRules } from '../payload/shaping.js';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { topicMatches } from '../topics/topics.js';

export interface CachedSecret {
  key: Buffer;
  /** Epoch ms after which this secret must not sign; null for the primary secret. */
  expiresAt: number | null;
}

/**
 * An endpoint as the hot paths see it, kept in memory: every field of `ENDPOINT_FIELDS` (encrypted ones opened),
 * plus what is worked out once per load: signing keys, compiled filters, field rules, whether this instance can sign
 * and whether the URL still passes `allowedUrls`.
 */
export interface CachedEndpoint extends Readonly<EndpointFieldValues> {
  id: string;
  secrets: readonly CachedSecret[];
  /** Why this instance cannot sign for the endpoint (a value under an encryption key it lacks); null normally. */
  unreadable: string | null;
  /** The URL no longer matches `allowedUrls` (the option changed after the endpoint was saved). */
  urlRefused: boolean;
  /** `filters`, compiled; null when there are none. */
  compiledFilters: CompiledFilters | null;
  /** The endpoint's include/exclude/redact, ready to apply; undefined when it has none. */
  fieldRules: FieldRules | undefined;
}

/**
 * All endpoints in memory, so routing an event and signing a delivery query nothing. Changes made through the
 * library reload it at once here and, over Redis pub/sub, in every other instance (which also reloads when its
 * subscription is back after a dropped connection, having missed what was announced meanwhile); a periodic reload
 * is the net under both (e.g. rows edited by hand).
 */
@Injectable()
export class EndpointCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly instanceId = randomUUID();
  private byId = new Map<string, CachedEndpoint>();
  /** Ownerless endpoints by topic (lists built on first use). */
  private byTopic = new Map<string, CachedEndpoint[]>();
  /** Endpoints by owner; null: the ownerless ones. */
  private byOwner = new Map<string | null, CachedEndpoint[]>();
  private loaded: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private loadedAt = 0;
  private unsubscribe: (() => Promise<void>) | undefined;
  private warnedPlaintext = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly queue: DeliveryQueue,
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
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Resolves once the cache holds the endpoints (the first load). */
  ready(): Promise<void> {
    this.loaded ??= this.reload();
    return this.loaded;
  }

  /**
   * Active endpoints that get an event of `topic` owned by `owner`: the ownerless endpoints subscribed to it and, for
   * an owned event, that owner's. The cost follows the endpoints of that owner and the ownerless ones, not all
   * endpoints. Call after `ready()`.
   */
  matching(topic: string, owner: string | null = null): readonly CachedEndpoint[] {
    let shared = this.byTopic.get(topic);
    if (!shared) {
      shared = (this.byOwner.get(null) ?? []).filter((e) => e.active && e.topics.some((p) => topicMatches(p, topic)));
      this.byTopic.set(topic, shared);
    }
    if (owner === null) return shared;
    const own = this.byOwner.get(owner);
    if (!own) return shared;
    const mine = own.filter((e) => e.active && e.topics.some((p) => topicMatches(p, topic)));
    return mine.length ? [...shared, ...mine] : shared;
  }

  get(id: string): CachedEndpoint | undefined {
    return this.byId.get(id);
  }

  /** Every endpoint, active or not. Call after `ready()`. */
  all(): CachedEndpoint[] {
    return [...this.byId.values()];
  }

  /** Reload here and tell the other instances to reload. */
  async changed(): Promise<void> {
    // The change is committed: a failed reload here must not fail the caller (the periodic reload catches up).
    await this.reload().catch(() => undefined);
    await this.queue.announceEndpointsChanged(this.instanceId).catch((error: Error) => {
      this.logger.warn(
        `Could not announce an endpoint change on Redis (${error.message}); other instances pick it up within endpointCacheRefreshMs.`,
      );
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

  /**
   * Reads every endpoint with its live secrets. A value this instance cannot decrypt (its key is not configured)
   * fails the first load, so the app does not start misconfigured; on later loads (another instance, deployed
   * with a newer key, wrote it) only that endpoint is marked unreadable: its deliveries are retried, and every
   * other endpoint keeps working.
   */
  private async load(): Promise<void> {
    const first = this.loadedAt === 0;
    const unreadable = new Map<string, string>();
    const open = <T>(endpointId: string, read: () => T, fallback: T): T => {
      try {
        return read();
      } catch (error) {
        if (first || !(error instanceof WebhookConfigurationError)) throw error;
        unreadable.set(endpointId, error.message);
        return fallback;
      }
    };
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
      const key = open(s.endpointId, () => secretKey(this.secrets.reveal(s)), undefined);
      if (key) list.push({ key, expiresAt: s.expiresAt ? s.expiresAt.getTime() : null });
      secretsOf.set(s.endpointId, list);
    }
    const byId = new Map<string, CachedEndpoint>();
    const allowedUrls = this.options.allowedUrls;
    for (const e of endpoints) {
      // Built property by property in one fixed order, so every cached endpoint shares one hidden class: with a
      // spread of a dynamically filled object each got its own, and routing over thousands of endpoints read
      // their fields through slow lookups.
      const cached: Record<string, unknown> = { id: e.id };
      for (const name of ENDPOINT_FIELD_NAMES) {
        const stored = (e as unknown as Record<string, unknown>)[name];
        cached[name] = ENDPOINT_FIELDS[name].sealed
          ? open(e.id, () => this.secrets.open(e.id, name as 'headers' | 'auth', stored as string | null), null)
          : stored;
      }
      const compiled = compileFilters(e.filters);
      if (compiled && 'broken' in compiled) {
        this.logger.error(`Webhook endpoint ${e.id} has invalid filters and receives no events until they are fixed: ${compiled.broken}.`);
      }
      const reason = unreadable.get(e.id) ?? null;
      cached.method = e.method === 'PUT' ? 'PUT' : 'POST';
      cached.secrets = reason ? [] : (secretsOf.get(e.id) ?? []);
      cached.unreadable = reason;
      cached.urlRefused = allowedUrls !== undefined && !allowedUrls.some((p) => urlAllowed(new URL(e.url), p));
      cached.compiledFilters = compiled;
      cached.fieldRules = fieldRules(e.fields, this.options.redact.mask);
      byId.set(e.id, cached as unknown as CachedEndpoint);
    }
    const plaintext =
      secrets.filter((r) => this.secrets.isPlaintextAtRest(r.secret)).length +
      endpoints.filter((e) => this.secrets.isPlaintextAtRest(e.headers)).length +
      endpoints.filter((e) => this.secrets.isPlaintextAtRest(e.auth)).length;
    if (plaintext && !this.warnedPlaintext) {
      this.warnedPlaintext = true;
      this.logger.warn(
        `${plaintext} stored secret or header value(s) predate the encryption keys and are still plaintext; ` +
          `run WebhooksService.reencryptSecrets() to encrypt them.`,
      );
    }
    if (unreadable.size) {
      this.logger.error(
        `${unreadable.size} webhook endpoint(s) cannot be signed by this instance until its encryption keys are ` +
          `updated; their deliveries are retried. ${[...unreadable.values()][0]}`,
      );
    }
    const byOwner = new Map<string | null, CachedEndpoint[]>();
    for (const e of byId.values()) {
      const list = byOwner.get(e.ownerId);
      if (list) list.push(e);
      else byOwner.set(e.ownerId, [e]);
    }
    this.byId = byId;
    this.byOwner = byOwner;
    this.loadedAt = Date.now();
    this.byTopic = new Map();
  }

  private listen(): void {
    // Another instance's change, or a gap in the subscription (null): either way, read the endpoints again.
    this.unsubscribe = this.queue.onEndpointsChanged((from) => {
      if (from !== this.instanceId) void this.reload().catch(() => undefined);
    });
  }
}

function fieldRules(fields: WebhookEndpoint['fields'], mask: string): FieldRules | undefined {
  if (!fields || (!fields.include && !fields.exclude?.length && !fields.redact?.length)) return undefined;
  return {
    include: fields.include ? new Set(fields.include) : undefined,
    exclude: new Set(fields.exclude ?? []),
    redact: new Set(fields.redact ?? []),
    mask,
  };
}

/** Secret keys that may sign now: the primary and any rotated secret still in its grace window. */
export function signingKeys(endpoint: CachedEndpoint, now = Date.now()): Buffer[] {
  const keys: Buffer[] = [];
  for (const s of endpoint.secrets) if (s.expiresAt === null || s.expiresAt > now) keys.push(s.key);
  return keys;
}
