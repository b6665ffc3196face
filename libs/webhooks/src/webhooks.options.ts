import { readFileSync } from 'node:fs';
import { WebhookConfigurationError } from './errors/webhooks.errors.js';
import type { MetricsRegistry, ResolvedMetricsOptions } from './metrics/webhook-metrics.js';
import type { EncryptionKey } from './security/secret-cipher.js';
import { DEFAULT_MASK, DEFAULT_REDACTED_PATTERNS } from './payload/shaping.js';
import { CUSTOM_TOPIC } from './topics/topics.js';
import { declaredTopicName, topicDeclarationProblem, type WebhookTopic } from './topics/topic-declaration.js';
import type { EntityClass } from './util/entity-class.js';
import { shown } from './util/shown.js';

/**
 * Options of `WebhooksModule.forRoot()` / `forRootAsync()`. Every option is optional; the defaults are listed
 * with each and in the README's configuration table.
 */
export interface WebhooksModuleOptions {
  /**
   * Run the delivery worker (the Bull processor) in this process. Set `false` in API-only processes and run a
   * worker-only process on the same Redis and database.
   * @default true
   */
  worker?: boolean;
  /**
   * Deliveries one worker process sends at the same time.
   * @default 20
   */
  concurrency?: number;
  /**
   * Deliveries in flight to one endpoint at most, across all worker processes, so one slow endpoint cannot take
   * every worker slot. A delivery over the cap waits outside the worker slots (held in Redis, durable in the
   * database) until one of the endpoint's deliveries finishes. An endpoint's `maxInFlight` overrides it.
   * @default half of the worker slots of all live worker processes (the sum of their `concurrency`, rounded up):
   * one endpoint never takes more than half of them, and a worker process added to drain a backlog adds to it
   */
  maxInFlightPerEndpoint?: number;
  /**
   * Endpoints one owner (tenant) may have at most; creating one more is refused with a conflict error that names
   * the limit. Ownerless (operator) endpoints are not counted.
   * @default 20
   */
  maxEndpointsPerOwner?: number;
  /**
   * Requests per endpoint at most `max` per `perMs` milliseconds, across all worker processes; deliveries over it
   * wait (held, not failed) for the window. An endpoint's `rateLimit` overrides it. `null`: no limit.
   * @default null
   */
  rateLimit?: { max: number; perMs: number } | null;
  /**
   * Connection errors and timeouts in a row (`failures`) open an endpoint's circuit: its deliveries are held (not
   * attempted, not failed) for `openMs`, then a single probe goes; any answer closes the circuit, another failure
   * doubles the wait up to `maxOpenMs`. `false` turns it off.
   * @default { failures: 5, openMs: 30000, maxOpenMs: 600000 }
   */
  circuitBreaker?: { failures: number; openMs: number; maxOpenMs: number } | false;
  /**
   * Delays in milliseconds before each retry: the first attempt is immediate, then one retry per entry, so
   * `maxAttempts = retrySchedule.length + 1`. The default follows Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
   * @default [5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]
   */
  retrySchedule?: number[];
  /**
   * Random spread applied to each retry delay, as a fraction: 0.2 means each delay is drawn from ±20 %.
   * @default 0.2
   */
  jitter?: number;
  /**
   * Retry 4xx answers other than 408, 410, 425 and 429 (those have rules of their own). Off: a 400 or 404 fails the
   * delivery at once, since sending the same request again will not change the answer.
   * @default false
   */
  retryClientErrors?: boolean;
  /**
   * Time allowed for one HTTP attempt, from connect to the end of the (capped) response body. Endpoints may set
   * their own `timeoutMs`, capped by `maxRequestTimeoutMs`.
   * @default 15000
   */
  requestTimeoutMs?: number;
  /**
   * Upper bound of any endpoint's timeout.
   * @default 30000
   */
  maxRequestTimeoutMs?: number;
  /**
   * Bytes of a response body read; the rest is discarded as it arrives, without buffering.
   * @default 65536
   */
  responseBodyReadLimitBytes?: number;
  /**
   * Bytes of the (read) response body stored on the attempt row.
   * @default 16384
   */
  responseBodyStoreLimitBytes?: number;
  /**
   * Disable an endpoint after this many deliveries in a row failed for good. 0 never disables on a count.
   * @default 10
   */
  autoDisableAfterFailures?: number;
  /**
   * Disable an endpoint whose deliveries have all failed for this long (Svix: 5 days), or whose circuit has stayed
   * open this long (unreachable: every probe failed). 0 never disables on time.
   * @default 432000000 (5 days)
   */
  autoDisableAfterMs?: number;
  /**
   * Window of an endpoint's success rate (`health.successRate`).
   * @default 86400000 (24 hours)
   */
  healthWindowMs?: number;
  /**
   * Called when an endpoint is disabled (automatically, by a 410, or by an operator). The same payload is emitted
   * as `webhooks.endpoint.disabled` on `@nestjs/event-emitter` when the host has imported `EventEmitterModule`.
   */
  onEndpointDisabled?: (event: EndpointDisabledEvent) => void | Promise<void>;
  /**
   * Called when a delivery fails for good (schedule used up, or a non-retryable answer). Also emitted as
   * `webhooks.delivery.failed`.
   */
  onDeliveryFailed?: (event: DeliveryFailedEvent) => void | Promise<void>;
  /**
   * `User-Agent` header of deliveries.
   * @default 'nestjs-outgoing-webhooks/<version>'
   */
  userAgent?: string;
  /**
   * What a bulk `update()`/`delete()`/`softDelete()` by criteria on a `@WebhookEntity` does. TypeORM does not say
   * which rows such a statement changes, so no correct event can be built:
   * - `'reject'`: throw `WebhookBulkOperationError` before the statement runs (nothing changes);
   * - `'skip'`: run the statement and send no event (a conscious choice, logged once per entity).
   * @default 'reject'
   */
  bulkOperations?: 'reject' | 'skip';
  /**
   * Entities expected to be webhook entities. Optional: decorated entities are discovered from the DataSource.
   * When given, start-up fails unless each is decorated and registered with the DataSource.
   * @default undefined
   */
  entities?: EntityClass[];
  /**
   * Run the outbox relay (re-enqueues deliveries that were committed but never reached the queue, or whose worker
   * died mid-attempt) at start-up and then every `relayIntervalMs`. 0 disables the periodic run.
   * @default 30000
   */
  relayIntervalMs?: number;
  /**
   * A delivery is considered lost by the relay when its due time passed more than this long ago.
   * @default 10000
   */
  relayGraceMs?: number;
  /**
   * Deliveries the relay handles per batch (it pages through all of them).
   * @default 500
   */
  relayBatchSize?: number;
  /**
   * How long an attempt in flight keeps its delivery (and its slot at the endpoint's gate) without word from its
   * worker. Live workers renew the leases of all their attempts every third of it, in one statement and one Redis
   * call per round; every process that runs the relay looks for lapsed leases as often. So the attempts of a worker
   * that died (killed, out of memory) are sent again about `leaseMs` to `leaseMs * 4/3` after its death, not after
   * the request timeout, while a live worker's slow requests are never taken from it.
   * @default 15000
   */
  leaseMs?: number;
  /**
   * PostgreSQL: run the statements made for every event and attempt (the outbox insert, the claim, the finished
   * attempt) as named prepared statements, which the server parses and plans once per connection. Set false behind
   * a connection pooler that hands a client a different server connection per transaction and cannot keep prepared
   * statements there (PgBouncer in transaction or statement mode before 1.21, or without `max_prepared_statements`):
   * the statements then go unnamed, parsed at every call.
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * Events (with their deliveries and attempts) older than this many days are deleted, once none of their
   * deliveries is still pending. 0 keeps everything.
   * @default 30
   */
  retentionDays?: number;
  /**
   * false: delete an event with its deliveries and attempts as soon as every delivery of it has succeeded (failed
   * ones stay for inspection and recovery until `retentionDays`).
   * @default true
   */
  storeEvents?: boolean;
  /**
   * How often the retention job runs (a Bull repeatable job: one run per interval across all instances).
   * @default 3600000 (1 hour)
   */
  retentionIntervalMs?: number;
  /**
   * Endpoints are cached in memory (no query per event). Changes made through `WebhooksService` refresh the cache
   * at once in this process and, over Redis pub/sub, in every other; this periodic reload is the safety net.
   * @default 30000
   */
  endpointCacheRefreshMs?: number;
  /**
   * Keys that encrypt signing secrets and custom header values at rest (AES-256-GCM): `{ id, key }` with 32 bytes
   * as base64 or hex. The first key encrypts; all decrypt. To rotate, put a new key first, keep the old one, and
   * call `WebhooksService.reencryptSecrets()`. `parseEncryptionKeys()` reads them from one environment variable.
   * @default [] (stored unencrypted, with a warning at start-up)
   */
  encryptionKeys?: EncryptionKey[];
  /**
   * Refuse to start without `encryptionKeys`.
   * @default process.env.NODE_ENV === 'production'
   */
  requireEncryption?: boolean;
  /**
   * Accept `http://` endpoint URLs. Off: endpoints must use https.
   * @default false
   */
  allowHttp?: boolean;
  /**
   * Send to any address, including loopback, private and link-local networks. Off: only public (global unicast)
   * addresses are contacted, checked when the host is resolved and for addresses written in the URL.
   * @default false
   */
  allowPrivateNetworks?: boolean;
  /**
   * Exceptions to the public-only rule: CIDRs (`10.20.0.0/16`), addresses, host names or `*.suffix` names.
   * @default []
   */
  allowedNetworks?: string[];
  /**
   * If set, endpoint URLs must match one of these at create and update time: a RegExp (tested against the whole
   * URL) or a string prefix such as `https://hooks.example.com/` or `https://*.partner.example/` (`*.` at the
   * start of the host matches any subdomain).
   * @default undefined (any URL that passes the other checks)
   */
  allowedUrls?: Array<string | RegExp>;
  /**
   * The global switch: false records no events (entity changes and `emit()` alike); deliveries already recorded
   * are still sent. See also `runWithoutWebhooks(fn)` for one block of code.
   * @default true
   */
  enabled?: boolean;
  /**
   * Custom topics for `WebhooksService.emit()` (entities can declare theirs in `@WebhookEntity({ topics })`).
   * Endpoints can subscribe to them, and emitting an undeclared topic throws, so typos fail fast. An entry
   * `{ name: 'invoice.paid', description, schema }` documents the event's `data` in the event catalogue.
   * @default []
   */
  topics?: Array<string | WebhookTopic>;
  /**
   * Masking of sensitive fields in `data` and `changes` of entity events. By default fields whose name contains
   * password, passwd, secret, token, apikey, privatekey or ssn (ignoring case, `_` and `-`) are sent as `mask`.
   * `patterns` adds to that list, `defaults: false` drops the built-in list, `false` turns masking off.
   * @default { defaults: true, patterns: [], mask: '[REDACTED]' }
   */
  redact?: { patterns?: string[]; defaults?: boolean; mask?: string } | false;
  /**
   * Who made the change, put in the payload as `actor` (omitted when it returns null or undefined). Called once
   * per event, inside the request that made the change: read it from your request context, e.g.
   * `actor: () => cls.get('user')?.id` with nestjs-cls (use `forRootAsync` to inject ClsService).
   */
  actor?: () => unknown;
  /**
   * Prometheus metrics, with prom-client (install it; it is an optional peer): `true` registers them on
   * prom-client's default registry, `{ registry }` on yours. The library serves no route: expose the registry
   * (`await registry.metrics()`) where you choose. `endpointLabel: true` adds an `endpoint` label (the endpoint id)
   * to the delivery and attempt series: a series per endpoint, so only with a bounded number of endpoints.
   * `prefix` starts every name. Names and labels: the README's Metrics section.
   * @default false
   */
  metrics?: boolean | { registry?: MetricsRegistry; endpointLabel?: boolean; prefix?: string };
  /**
   * Send a W3C `traceparent` header with each delivery (the attempt's HTTP span), so a receiver that traces can
   * join the trace. Off by default: internal trace ids would reach third parties. Spans themselves are recorded
   * whenever the host registers an OpenTelemetry tracer provider.
   * @default false
   */
  traceparentHeader?: boolean;
}

export interface EndpointDisabledEvent {
  endpointId: string;
  url: string;
  reason: string;
  at: Date;
}

export interface DeliveryFailedEvent {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  topic: string;
  attempts: number;
  reason: string;
  at: Date;
}

export type ResolvedWebhooksOptions = Required<
  Omit<
    WebhooksModuleOptions,
    'entities' | 'onEndpointDisabled' | 'onDeliveryFailed' | 'allowedUrls' | 'actor' | 'redact' | 'metrics' | 'maxInFlightPerEndpoint'
  >
> & {
  /** Null: half of all live worker slots (see `WorkerFleet`). */
  maxInFlightPerEndpoint: number | null;
  metrics: ResolvedMetricsOptions | false;
  entities: EntityClass[] | undefined;
  actor: WebhooksModuleOptions['actor'];
  redact: { patterns: string[]; mask: string };
  allowedUrls: Array<string | RegExp> | undefined;
  onEndpointDisabled: WebhooksModuleOptions['onEndpointDisabled'];
  onDeliveryFailed: WebhooksModuleOptions['onDeliveryFailed'];
};

/** The package's version, from its package.json (beside src/ and dist/ alike). */
export const LIBRARY_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const DEFAULT_RETRY_SCHEDULE = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000];

export function resolveOptions(options: WebhooksModuleOptions = {}): ResolvedWebhooksOptions {
  const resolved: ResolvedWebhooksOptions = {
    worker: options.worker ?? true,
    concurrency: options.concurrency ?? 20,
    maxInFlightPerEndpoint: options.maxInFlightPerEndpoint ?? null,
    maxEndpointsPerOwner: options.maxEndpointsPerOwner ?? 20,
    rateLimit: options.rateLimit ?? null,
    circuitBreaker:
      options.circuitBreaker === false ? false : { failures: 5, openMs: 30_000, maxOpenMs: 600_000, ...options.circuitBreaker },
    retrySchedule: options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
    jitter: options.jitter ?? 0.2,
    retryClientErrors: options.retryClientErrors ?? false,
    requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
    maxRequestTimeoutMs: options.maxRequestTimeoutMs ?? 30_000,
    responseBodyReadLimitBytes: options.responseBodyReadLimitBytes ?? 65_536,
    responseBodyStoreLimitBytes: options.responseBodyStoreLimitBytes ?? 16_384,
    autoDisableAfterFailures: options.autoDisableAfterFailures ?? 10,
    autoDisableAfterMs: options.autoDisableAfterMs ?? 5 * 86_400_000,
    healthWindowMs: options.healthWindowMs ?? 86_400_000,
    onEndpointDisabled: options.onEndpointDisabled,
    onDeliveryFailed: options.onDeliveryFailed,
    userAgent: options.userAgent ?? `nestjs-outgoing-webhooks/${LIBRARY_VERSION}`,
    bulkOperations: options.bulkOperations ?? 'reject',
    entities: options.entities,
    relayIntervalMs: options.relayIntervalMs ?? 30_000,
    relayGraceMs: options.relayGraceMs ?? 10_000,
    relayBatchSize: options.relayBatchSize ?? 500,
    leaseMs: options.leaseMs ?? 15_000,
    preparedStatements: options.preparedStatements ?? true,
    endpointCacheRefreshMs: options.endpointCacheRefreshMs ?? 30_000,
    retentionDays: options.retentionDays ?? 30,
    storeEvents: options.storeEvents ?? true,
    retentionIntervalMs: options.retentionIntervalMs ?? 3_600_000,
    encryptionKeys: options.encryptionKeys ?? [],
    requireEncryption: options.requireEncryption ?? process.env.NODE_ENV === 'production',
    allowHttp: options.allowHttp ?? false,
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    allowedNetworks: options.allowedNetworks ?? [],
    allowedUrls: options.allowedUrls,
    enabled: options.enabled ?? true,
    topics: options.topics ?? [],
    actor: options.actor,
    redact: resolveRedaction(options.redact),
    metrics: resolveMetrics(options.metrics),
    traceparentHeader: options.traceparentHeader ?? false,
  };
  validateOptions(resolved);
  return resolved;
}

function resolveMetrics(metrics: WebhooksModuleOptions['metrics']): ResolvedMetricsOptions | false {
  if (metrics === undefined || metrics === false) return false;
  const given = metrics === true ? {} : metrics;
  const problem = (text: string) => new WebhookConfigurationError(`Invalid WebhooksModule options: metrics${text}.`);
  if (typeof given !== 'object' || given === null) throw problem(' must be true, false or { registry?, endpointLabel?, prefix? }');
  const registry = given.registry;
  if (registry !== undefined && (typeof registry !== 'object' || typeof registry?.registerMetric !== 'function')) {
    throw problem('.registry must be a prom-client Registry');
  }
  if (given.prefix !== undefined && (typeof given.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(given.prefix))) {
    throw problem('.prefix must be a Prometheus name prefix (letters, digits, "_" and ":")');
  }
  return { registry, endpointLabel: given.endpointLabel === true, prefix: `${given.prefix ?? ''}webhooks_` };
}

function resolveRedaction(redact: WebhooksModuleOptions['redact']): { patterns: string[]; mask: string } {
  if (redact === false) return { patterns: [], mask: DEFAULT_MASK };
  const extra = redact?.patterns ?? [];
  if (!Array.isArray(extra) || extra.some((p) => typeof p !== 'string' || !p.trim())) {
    throw new WebhookConfigurationError('Invalid WebhooksModule options: redact.patterns must be a list of field-name fragments.');
  }
  const base = redact?.defaults === false ? [] : DEFAULT_REDACTED_PATTERNS;
  const mask = redact?.mask ?? DEFAULT_MASK;
  if (typeof mask !== 'string') throw new WebhookConfigurationError('Invalid WebhooksModule options: redact.mask must be a string.');
  return { patterns: [...new Set([...base, ...extra.map((p) => p.toLowerCase().replace(/[_-]/g, ''))])], mask };
}

function validateOptions(o: ResolvedWebhooksOptions): void {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) problems.push(`${name} must be an integer >= ${min} (got ${v})`);
  };
  positiveInt('concurrency', o.concurrency);
  if (o.maxInFlightPerEndpoint !== null) positiveInt('maxInFlightPerEndpoint', o.maxInFlightPerEndpoint);
  positiveInt('maxEndpointsPerOwner', o.maxEndpointsPerOwner);
  const rate = rateLimitProblem(o.rateLimit);
  if (rate) problems.push(`rateLimit ${rate}`);
  if (o.circuitBreaker) {
    positiveInt('circuitBreaker.failures', o.circuitBreaker.failures);
    positiveInt('circuitBreaker.openMs', o.circuitBreaker.openMs);
    positiveInt('circuitBreaker.maxOpenMs', o.circuitBreaker.maxOpenMs);
    if (o.circuitBreaker.maxOpenMs < o.circuitBreaker.openMs) problems.push('circuitBreaker.maxOpenMs must not be below openMs');
  }
  positiveInt('requestTimeoutMs', o.requestTimeoutMs);
  positiveInt('maxRequestTimeoutMs', o.maxRequestTimeoutMs);
  positiveInt('responseBodyReadLimitBytes', o.responseBodyReadLimitBytes, 0);
  positiveInt('responseBodyStoreLimitBytes', o.responseBodyStoreLimitBytes, 0);
  positiveInt('autoDisableAfterFailures', o.autoDisableAfterFailures, 0);
  positiveInt('autoDisableAfterMs', o.autoDisableAfterMs, 0);
  positiveInt('healthWindowMs', o.healthWindowMs);
  if (o.requestTimeoutMs > o.maxRequestTimeoutMs) {
    problems.push(`requestTimeoutMs (${o.requestTimeoutMs}) must not exceed maxRequestTimeoutMs (${o.maxRequestTimeoutMs})`);
  }
  positiveInt('relayIntervalMs', o.relayIntervalMs, 0);
  positiveInt('relayGraceMs', o.relayGraceMs, 0);
  positiveInt('relayBatchSize', o.relayBatchSize);
  if (!Number.isInteger(o.leaseMs) || o.leaseMs < 3000)
    problems.push(`leaseMs must be an integer of 3000 or more (got ${String(o.leaseMs)})`);
  positiveInt('endpointCacheRefreshMs', o.endpointCacheRefreshMs, 0);
  positiveInt('retentionDays', o.retentionDays, 0);
  positiveInt('retentionIntervalMs', o.retentionIntervalMs);
  if (!Array.isArray(o.retrySchedule) || o.retrySchedule.some((d) => !Number.isFinite(d) || d < 0)) {
    problems.push('retrySchedule must be an array of delays in milliseconds (>= 0)');
  }
  if (!(o.jitter >= 0 && o.jitter < 1)) problems.push(`jitter must be in [0, 1) (got ${o.jitter})`);
  if (o.bulkOperations !== 'reject' && o.bulkOperations !== 'skip') {
    problems.push(`bulkOperations must be 'reject' or 'skip' (got ${shown(o.bulkOperations)})`);
  }
  if (!Array.isArray(o.encryptionKeys)) problems.push('encryptionKeys must be a list of { id, key }');
  else if (o.requireEncryption && o.encryptionKeys.length === 0) {
    problems.push(
      'encryptionKeys is empty, and secrets must not be stored in plaintext (requireEncryption, on when ' +
        "NODE_ENV=production). Generate a key with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"` " +
        'and pass it as encryptionKeys: [{ id: "k1", key }]',
    );
  }
  if (typeof o.enabled !== 'boolean') problems.push('enabled must be true or false');
  if (typeof o.preparedStatements !== 'boolean') problems.push('preparedStatements must be true or false');
  if (o.actor !== undefined && typeof o.actor !== 'function') problems.push('actor must be a function');
  if (!Array.isArray(o.topics) || o.topics.some((t) => !CUSTOM_TOPIC.test(declaredTopicName(t) ?? '') || topicDeclarationProblem(t))) {
    problems.push(`topics must be a list of topics like "invoice.paid" or { name, description?, schema? } (got ${shown(o.topics)})`);
  }
  if (!Array.isArray(o.allowedNetworks)) problems.push('allowedNetworks must be a list of CIDRs, addresses or host names');
  if (o.allowedUrls !== undefined) {
    if (!Array.isArray(o.allowedUrls) || o.allowedUrls.length === 0) problems.push('allowedUrls must be a non-empty list (or unset)');
    else {
      for (const p of o.allowedUrls) {
        if (p instanceof RegExp) continue;
        if (typeof p !== 'string' || !/^https?:\/\/[^/?#]+/.test(p)) {
          problems.push(`allowedUrls entry ${shown(p)} must be a RegExp or a URL prefix like "https://hooks.example.com/"`);
        }
      }
    }
  }
  if (problems.length) {
    throw new WebhookConfigurationError(`Invalid WebhooksModule options: ${problems.join('; ')}.`);
  }
}

/** What is wrong with a rate limit (`{ max, perMs }` or null), or null when it is fine. */
export function rateLimitProblem(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const v = value as { max?: unknown; perMs?: unknown };
  const ok = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (typeof value !== 'object' || Array.isArray(value) || !ok(v.max, 1_000_000) || !ok(v.perMs, 86_400_000)) {
    return `must be null or { max, perMs } with integers max from 1 to 1000000 and perMs from 1 to 86400000 (got ${shown(value)})`;
  }
  const unknown = Object.keys(value).filter((k) => k !== 'max' && k !== 'perMs');
  if (unknown.length) return `has unknown field ${unknown.map((k) => shown(k)).join(', ')} (only max and perMs)`;
  return null;
}
