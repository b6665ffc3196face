import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PayloadCache } from '../payload/payload-cache.js';
import { EndpointCache, signingKeys, type CachedEndpoint } from '../endpoints/endpoint-cache.js';
import { EndpointHealth } from '../endpoints/endpoint-health.js';
import { WebhookStore } from '../store/webhook-store.js';
import { signatureHeaders } from '../signing/signing.js';
import { DELIVER_JOB, WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { DeliveryQueue, WAKE_JOB, type DeliveryJob } from '../queue/delivery-queue.js';
import { notSent, WEBHOOK_HTTP_CLIENT, type WebhookHttpClient, type WebhookResponse } from '../http/exchange.js';
import { decide, type Verdict } from './retry-policy.js';
import { EndpointGate } from './endpoint-gate.js';
import { gateOutcome, storable, tokenFailure } from './attempt-outcomes.js';
import { EarlyClaim } from './early-claim.js';
import { LeaseKeeper } from './lease-keeper.js';
import { LocalAdmission } from './local-admission.js';
import { OAuth2Tokens } from './oauth2.js';
import { isReservedHeader } from '../endpoints/endpoint-input.js';
import { WebhookExtensions } from '../extensions/extensions.js';
import { shapeChanges, shapeData } from '../payload/shaping.js';
import { jsonSafe, stringify, type Changes } from '../payload/envelope.js';
import { withTimeout } from '../util/timeout.js';
import { idTime } from '../ids.js';
import { WebhookMetrics } from '../metrics/webhook-metrics.js';
import { attemptOutcome, attemptSpan, httpOutcome, httpSpan, traceparentOf } from '../tracing/tracing.js';

export interface AttemptResult {
  /** The response as stored on the attempt row (body truncated to `responseBodyStoreLimitBytes`). */
  response: WebhookResponse;
  verdict: Verdict;
  /** The attempt's logged error; null on success. */
  error: string | null;
}

/**
 * The Bull processor: one job is one attempt of one delivery. The database row is the source of truth: the job
 * first claims the row (`pending` with the expected attempt count -> `delivering`), so a duplicate or stale job
 * does nothing; retries are new delayed jobs with deterministic ids.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly local = new LocalAdmission();

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly endpoints: EndpointCache,
    private readonly payloads: PayloadCache,
    private readonly store: WebhookStore,
    private readonly health: EndpointHealth,
    private readonly gate: EndpointGate,
    @Inject(WEBHOOK_HTTP_CLIENT) private readonly http: WebhookHttpClient,
    private readonly oauth: OAuth2Tokens,
    private readonly extensions: WebhookExtensions,
    private readonly metrics: WebhookMetrics,
    private readonly leases: LeaseKeeper,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.worker) return;
    this.queue.process<DeliveryJob>(DELIVER_JOB, this.options.concurrency, (job) => this.run(job));
    this.queue.process<{ endpointId: string }>(WAKE_JOB, 1, (job) => this.gate.release(job.endpointId, null, { kind: 'none' }));
  }

  /**
   * Before every shutdown hook (the HTTP agents' end, the leases', Bull's close: the host's modules order those):
   * no more jobs here, and the attempts in flight end and are recorded, within the longest request allowed + 10 s.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.options.worker) await this.queue.stopProcessing(this.options.maxRequestTimeoutMs + 10_000);
  }

  /**
   * The job handler never fails the Bull job: a failed job would keep its id in Redis and block the relay from
   * enqueueing that attempt again. On an error (database down) the row stays as it was, and the relay picks it up.
   */
  private async run(job: DeliveryJob): Promise<boolean> {
    try {
      return (await this.attempt(job)) !== null;
    } catch (error) {
      this.logger.error(
        `Attempt ${job.attempt} of delivery ${job.deliveryId} failed to run (${(error as Error).message}); the outbox relay will retry it.`,
      );
      return false;
    }
  }

  /**
   * Runs one attempt and acts on its outcome. Resolves null when the job was stale (another job owns the row).
   * A `test` job is tried once: no retry, no effect on the endpoint's health, no failure notification.
   */
  async attempt(job: DeliveryJob): Promise<AttemptResult | null> {
    await this.endpoints.ready();
    let endpoint = this.endpoints.get(job.endpointId);
    // A cache that has not heard of a change yet must not fail a delivery: look again (at most once a second)
    // before giving up.
    if (!endpoint?.active) {
      await this.endpoints.refreshIfOlderThan(1000);
      endpoint = this.endpoints.get(job.endpointId);
    }
    const timeoutMs = Math.min(endpoint?.timeoutMs ?? this.options.requestTimeoutMs, this.options.maxRequestTimeoutMs);
    const now = new Date();
    // The row and the gate slot are leased for leaseMs; the LeaseKeeper renews both while the attempt runs.
    const lease = this.leases.leaseUntil(now.getTime());
    // Deliveries to a live endpoint pass its gate (in-flight cap, rate limit, pause, circuit); a test send does not.
    if (!endpoint?.active || job.trigger === 'test') {
      // A held job of an endpoint disabled or deleted meanwhile leaves the held set (or the relay would put it back
      // forever), and the next held ones follow: each runs without the gate, so no completion would release them.
      if (job.released) await this.gate.release(job.endpointId, null, { kind: 'none' }, Date.now(), job);
      return this.claimAndSend(job, endpoint, timeoutMs, now, null);
    }
    // The gate decides; the process asks it only when it may admit (see LocalAdmission). When it will most likely
    // admit, the row is claimed meanwhile: the two round trips overlap.
    const limits = this.gate.limits(endpoint.id);
    const cap = limits.maxInFlight;
    const likely = this.local.likelyAdmitted(endpoint.id, cap);
    const early = likely ? new EarlyClaim(this.store, this.leases, job, lease, now) : undefined;
    const admission = await this.local
      // Only a delivery that may well be held takes its payload to the gate (a held one goes back with it, unread).
      .ask(endpoint.id, cap, (park) => this.gate.acquire(job, lease, Date.now(), { park, limits, keepPayload: !likely }))
      .catch(async (error: Error) => {
        await early?.undo().catch(() => undefined); // else its lease lapses and the relay takes it back
        throw error;
      });
    if (!admission.admitted) {
      // Held: the gate puts it back when the endpoint can take it (or did, and it left, finding the row claimed).
      if ((await early?.undo()) && admission.parked) await this.gate.putBackIfGone(job);
      return null;
    }
    // The slot is the receiver's: it is given back as soon as the response is in, not after the database writes.
    let released: Promise<void> | undefined;
    const release = (response: WebhookResponse | undefined) => {
      if (released) return released;
      released = this.gate.release(endpoint.id, admission.token, gateOutcome(response));
      this.local.leave(endpoint.id, response && !response.unsent ? response.durationMs : undefined);
      return released;
    };
    let result: AttemptResult | null = null;
    try {
      result = await this.claimAndSend(job, endpoint, timeoutMs, now, admission.token, (response) => void release(response), early);
      return result;
    } finally {
      await release(result?.response);
    }
  }

  /** Claims the delivery row for this attempt (null when another job owns it), sends, and records the outcome. */
  private async claimAndSend(
    job: DeliveryJob,
    endpoint: CachedEndpoint | undefined,
    timeoutMs: number,
    now: Date,
    slot: string | null,
    answered: (response: WebhookResponse) => void = () => undefined,
    /** The claim, when it was started already. */
    early?: EarlyClaim,
  ): Promise<AttemptResult | null> {
    if (!(await (early?.claimed ?? this.store.claim(job.deliveryId, job.attempt, this.leases.leaseUntil(), now)))) return null;
    // Claimed before a gate that took long to answer: sent only if the row is still this attempt's.
    if (early && !(await this.leases.confirm(job, now.getTime()))) return null;
    this.leases.hold(job, slot);
    const attributes = {
      'webhooks.topic': job.topic ?? '',
      'webhooks.event.id': job.eventId,
      'webhooks.delivery.id': job.deliveryId,
      'webhooks.endpoint.id': job.endpointId,
      'webhooks.attempt': job.attempt,
    };
    return attemptSpan(attributes, job.trace, async (span) => {
      const result = await this.sendClaimed(job, endpoint, timeoutMs, answered).finally(() => this.leases.drop(job));
      attemptOutcome(span, result.verdict.action, result.response.unsent ? null : result.response.status, result.error);
      return result;
    });
  }

  /** Sends a claimed attempt and records its outcome. */
  private async sendClaimed(
    job: DeliveryJob,
    endpoint: CachedEndpoint | undefined,
    timeoutMs: number,
    answered: (response: WebhookResponse) => void,
  ): Promise<AttemptResult> {
    if (!endpoint || !endpoint.active) {
      return this.finish(job, endpoint, notSent(`Not sent: ${endpoint ? 'the endpoint is disabled' : 'the endpoint was deleted'}.`));
    }
    const payload = job.payload ?? this.payloads.get(job.eventId) ?? (await this.loadPayload(job.eventId));
    if (payload === undefined) return this.finish(job, endpoint, notSent('Not sent: the event no longer exists.'));
    if (
      endpoint.ownerId !== null &&
      (job.owner !== undefined ? job.owner : await this.store.eventOwner(job.eventId)) !== endpoint.ownerId
    ) {
      // Given to an owner after this event was routed to it. No URL and no health count: the event's owner sees it.
      return this.finish(job, undefined, notSent('Not sent: the endpoint was given to another owner after this event.'));
    }

    if (endpoint.urlRefused) {
      return this.finish(job, endpoint, notSent('Not sent: the endpoint URL matches none of the allowedUrls patterns.'));
    }
    const keys = signingKeys(endpoint);
    if (keys.length === 0) {
      // This instance lacks the key of the endpoint's secret (a deploy in progress): retry, maybe elsewhere.
      const response = notSent(`Not sent: ${endpoint.unreadable ?? 'the endpoint has no secret that may sign.'}`);
      return this.finish(job, endpoint, response, this.verdict(job, endpoint, response));
    }
    const prepared = await this.prepare(job, endpoint, payload, timeoutMs);
    if ('failure' in prepared) return this.finish(job, endpoint, prepared.failure, this.verdict(job, endpoint, prepared.failure));
    const { body, headers: extra, token } = prepared;
    const send = (bearer: string | undefined) =>
      httpSpan(endpoint.method, endpoint.url, async (span) => {
        const timestamp = Math.floor(Date.now() / 1000);
        const traceparent = this.options.traceparentHeader ? traceparentOf(span) : undefined;
        const response = await this.http.send({
          url: endpoint.url,
          method: endpoint.method,
          body,
          headers: {
            'user-agent': this.options.userAgent,
            ...endpoint.headers,
            ...extra,
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
            ...(traceparent ? { traceparent } : {}),
            'content-type': 'application/json',
            ...signatureHeaders(job.eventId, timestamp, body, keys),
          },
          timeoutMs,
          responseBodyLimitBytes: this.options.responseBodyReadLimitBytes,
        });
        httpOutcome(span, response.status, response.error);
        return response;
      });
    let response = await send(token);
    if (response.status === 401 && endpoint.auth && token) {
      // The receiver refused the token (revoked, rotated): fetch a new one and try once more in this attempt.
      this.oauth.invalidate(endpoint.id, endpoint.auth, token);
      const fresh = await this.oauth.token(endpoint.id, endpoint.auth, timeoutMs).catch((e: Error) => e);
      if (fresh instanceof Error) response = tokenFailure(fresh);
      else response = await send(fresh);
    }
    answered(response);
    return this.finish(job, endpoint, response, this.verdict(job, endpoint, response));
  }

  /**
   * The body and extra headers for this endpoint: its field rules and transformer applied to the stored envelope
   * (only when it has them: the common case sends the stored body as is), its header provider called, its OAuth2
   * token fetched. A failure here is an attempt that sent nothing, retried like a network error.
   */
  private async prepare(
    job: DeliveryJob,
    endpoint: CachedEndpoint,
    payload: string,
    timeoutMs: number,
  ): Promise<{ body: string; headers: Record<string, string>; token?: string } | { failure: WebhookResponse }> {
    const context = { endpointId: endpoint.id, url: endpoint.url, topic: job.topic ?? '', eventId: job.eventId, attempt: job.attempt };
    let body = payload;
    try {
      if (endpoint.fieldRules || endpoint.transform) {
        const envelope = JSON.parse(payload) as Record<string, unknown>;
        if (endpoint.fieldRules) {
          if (envelope.data && typeof envelope.data === 'object' && !Array.isArray(envelope.data)) {
            envelope.data = shapeData(envelope.data as Record<string, unknown>, endpoint.fieldRules);
          }
          if (envelope.changes) envelope.changes = shapeChanges(envelope.changes as Changes, endpoint.fieldRules);
        }
        let shaped: unknown = envelope;
        if (endpoint.transform) {
          const transformer = this.extensions.transformers.get(endpoint.transform);
          if (!transformer) throw new Error(`the transformer "${endpoint.transform}" is not registered in this app`);
          shaped = await withTimeout(
            Promise.resolve(transformer.transform(envelope, context)),
            timeoutMs,
            `the transformer took longer than ${timeoutMs} ms`,
          );
        }
        body = typeof shaped === 'string' ? shaped : stringify(jsonSafe(shaped) ?? null);
      }
    } catch (error) {
      return { failure: notSent(`Not sent: transforming the body failed: ${(error as Error).message}`) };
    }
    const headers: Record<string, string> = {};
    if (endpoint.headerProvider) {
      try {
        const provider = this.extensions.headerProviders.get(endpoint.headerProvider);
        if (!provider) throw new Error(`"${endpoint.headerProvider}" is not registered in this app`);
        const provided = await withTimeout(
          Promise.resolve(provider.headers(context)),
          timeoutMs,
          `the header provider took longer than ${timeoutMs} ms`,
        );
        for (const [name, value] of Object.entries(provided ?? {})) {
          if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
            throw new Error(`it returned an invalid header ${JSON.stringify(name)}`);
          }
          const lower = name.toLowerCase();
          if (isReservedHeader(lower)) throw new Error(`it returned ${JSON.stringify(name)}, which the library or the connection sets`);
          headers[lower] = value;
        }
      } catch (error) {
        return { failure: notSent(`Not sent: the header provider failed: ${(error as Error).message}`) };
      }
    }
    if (!endpoint.auth) return { body, headers };
    try {
      return { body, headers, token: await this.oauth.token(endpoint.id, endpoint.auth, timeoutMs) };
    } catch (error) {
      return { failure: tokenFailure(error) };
    }
  }

  private verdict(job: DeliveryJob, endpoint: CachedEndpoint, response: WebhookResponse): Verdict {
    const verdict = decide(response, job.attempt - (job.roundStart ?? 1) + 1, {
      schedule: endpoint.retrySchedule ?? this.options.retrySchedule,
      jitter: this.options.jitter,
      retryClientErrors: this.options.retryClientErrors,
    });
    // A test is tried once.
    return job.trigger === 'test' && verdict.action !== 'succeed' ? { action: 'fail', reason: verdict.reason } : verdict;
  }

  private async loadPayload(eventId: string): Promise<string | undefined> {
    const payload = await this.store.eventPayload(eventId);
    if (payload !== undefined) this.payloads.set(eventId, payload);
    return payload;
  }

  /**
   * Records the attempt, moves the delivery on (only if this job still owns it), then acts on the verdict:
   * schedules the retry, updates the endpoint's health, disables it on 410.
   */
  private async finish(
    job: DeliveryJob,
    endpoint: CachedEndpoint | undefined,
    response: WebhookResponse,
    verdict: Verdict = { action: 'fail', reason: response.error ?? 'not sent' },
  ): Promise<AttemptResult> {
    const at = new Date();
    const stored = { ...response, body: storable(response.body, this.options.responseBodyStoreLimitBytes) };
    const retry = verdict.action === 'retry' ? verdict : undefined;
    const nextAttemptAt = retry ? new Date(at.getTime() + retry.delayMs) : null;
    const error = verdict.action === 'succeed' ? null : verdict.reason;
    const result: AttemptResult = { response: stored, verdict, error };
    const owned = await this.store.finishAttempt(
      {
        deliveryId: job.deliveryId,
        attemptNumber: job.attempt,
        // The first attempt of a round carries what started it; its retries are scheduled.
        trigger: job.attempt === (job.roundStart ?? 1) ? (job.trigger ?? 'scheduled') : 'scheduled',
        requestUrl: endpoint?.url ?? '',
        response: stored,
        error,
        nextAttemptAt,
        at,
      },
      {
        status: verdict.action === 'succeed' ? 'succeeded' : retry ? 'pending' : 'failed',
        nextAttemptAt,
        lastResponseStatus: response.status,
        lastError: error,
      },
    );
    if (job.trigger !== 'test') {
      this.metrics.attempt(job.endpointId, verdict.action === 'succeed', response.unsent ? null : response.status, response.durationMs);
      if (owned && !retry && this.metrics.enabled) {
        this.metrics.delivery(job.endpointId, verdict.action === 'succeed', idTime(job.eventId), at.getTime());
      }
    }
    // Lost the row (the relay took it back after the lease): its new owner decides what follows.
    if (!owned || job.trigger === 'test') return result;
    if (retry) {
      // A retry waits in Redis for minutes to hours: it reads the payload when due instead of holding it meanwhile.
      const next: DeliveryJob = { ...job, attempt: job.attempt + 1, payload: undefined, released: undefined };
      // If this add fails the row stays pending with a due time, and the relay enqueues it then.
      await this.queue.enqueue([next], retry.delayMs).catch((e: Error) => {
        this.logger.warn(`Could not schedule retry ${next.attempt} of ${job.deliveryId} (${e.message}); the relay will.`);
      });
      return result;
    }
    if (verdict.action === 'succeed') {
      await this.health.succeeded(job.endpointId, at);
      return result;
    }
    if (!endpoint) return result; // deleted: nothing left to count or tell
    const failure = {
      deliveryId: job.deliveryId,
      eventId: job.eventId,
      topic: job.topic ?? '',
      attempts: job.attempt,
      reason: verdict.reason,
    };
    if (!endpoint.active) {
      await this.health.deliveryFailed({ ...failure, endpointId: endpoint.id, at });
      return result;
    }
    if (verdict.action === 'disable') await this.health.disable(endpoint.id, verdict.reason, at);
    await this.health.failed(endpoint.id, at, failure);
    return result;
  }
}
