import { Injectable } from '@nestjs/common';
import { EndpointGate, type EndpointDeliveryState } from '../delivery/endpoint-gate.js';
import { EndpointHealth, healthState, type HealthState } from '../endpoints/endpoint-health.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, type EndpointFieldSpec, type EndpointFieldValues } from '../endpoints/endpoint-input.js';
import { EndpointSecrets } from '../endpoints/endpoint-secrets.js';
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../entities/index.js';
import { withTimeout } from '../util/timeout.js';

/**
 * An endpoint as shown to API callers: every field of `ENDPOINT_FIELDS` (the encrypted ones masked: sensitive header
 * values and the OAuth2 client secret show as `HIDDEN_HEADER_VALUE`), its health and its delivery state. Never its
 * secrets.
 */
export interface EndpointView extends EndpointFieldValues {
  id: string;
  health: {
    state: HealthState;
    consecutiveFailures: number;
    lastSuccessAt: Date | null;
    lastFailureAt: Date | null;
    failingSince: Date | null;
    disabledAt: Date | null;
    disabledReason: string | null;
    /** Succeeded / finished deliveries over the last `healthWindowMs`; null when none finished. */
    successRate: number | null;
    recent: { succeeded: number; failed: number };
  };
  /**
   * The delivery engine's view of the endpoint, shared by all workers: deliveries in flight and held, the circuit
   * (`open` after connection errors and timeouts in a row, with the time of its probe) and a `Retry-After` pause.
   * Null when Redis did not answer in time.
   */
  delivery: EndpointDeliveryState | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The answer to `createEndpoint`: the only time the secret is shown. */
export interface CreatedEndpoint extends EndpointView {
  secret: string;
}

export interface AttemptView {
  id: string;
  attemptNumber: number;
  trigger: string;
  requestUrl: string;
  responseStatus: number | null;
  responseBody: string | null;
  responseHeaders: Record<string, string> | null;
  durationMs: number;
  error: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  endpointId: string;
  topic: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  attempts: AttemptView[];
}

/** How long views wait for the isolation state in Redis. */
const STATE_TIMEOUT_MS = 1000;

/**
 * Endpoint rows as API callers see them: encrypted columns opened with sensitive values masked, the health counters
 * with the recent success rate, and the delivery engine's state from Redis (which may be missing: views still load
 * when Redis is slow).
 */
@Injectable()
export class EndpointViews {
  constructor(
    private readonly secrets: EndpointSecrets,
    private readonly health: EndpointHealth,
    private readonly gate: EndpointGate,
  ) {}

  /** Views of these rows, in their order. */
  async of(rows: readonly WebhookEndpoint[], options: { allEndpoints?: boolean } = {}): Promise<EndpointView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((e) => e.id);
    // The outcome query for every endpoint at once is one grouped scan; for a few, it is narrowed to them.
    const [outcomes, states] = await Promise.all([this.health.recentOutcomes(options.allEndpoints ? undefined : ids), this.states(ids)]);
    return rows.map((e) => this.one(e, outcomes.get(e.id), states?.get(e.id)));
  }

  /** The view of one row from what is already known (a new endpoint has no outcomes yet). */
  one(e: WebhookEndpoint, recent?: { succeeded: number; failed: number }, delivery?: EndpointDeliveryState): EndpointView {
    return endpointView(
      e,
      (name, stored) => this.secrets.open(e.id, name as 'headers' | 'auth', stored as string | null),
      recent,
      delivery,
    );
  }

  /** The endpoints' isolation state from Redis; undefined when Redis does not answer soon. */
  async states(ids: readonly string[]): Promise<Map<string, EndpointDeliveryState> | undefined> {
    return withTimeout(this.gate.states(ids), STATE_TIMEOUT_MS, 'Redis did not answer').catch(() => undefined);
  }
}

/**
 * The view of an endpoint row: each field as stored, sealed ones opened with `open` and masked; the health counters
 * with the recent success rate; the delivery state (null when unknown).
 */
export function endpointView(
  e: WebhookEndpoint,
  open: (field: string, stored: unknown) => unknown,
  recent = { succeeded: 0, failed: 0 },
  delivery: EndpointDeliveryState | null = null,
): EndpointView {
  const fields: Record<string, unknown> = {};
  for (const name of ENDPOINT_FIELD_NAMES) {
    const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name];
    const stored = (e as unknown as Record<string, unknown>)[name];
    if (!spec.sealed) fields[name] = stored;
    else {
      const opened = open(name, stored);
      fields[name] = opened === null || opened === undefined ? null : spec.sealed.mask(opened);
    }
  }
  const finished = recent.succeeded + recent.failed;
  return {
    id: e.id,
    ...(fields as EndpointFieldValues),
    health: {
      state: healthState(e),
      consecutiveFailures: e.consecutiveFailures,
      lastSuccessAt: e.lastSuccessAt,
      lastFailureAt: e.lastFailureAt,
      failingSince: e.failingSince,
      disabledAt: e.disabledAt,
      disabledReason: e.disabledReason,
      successRate: finished ? recent.succeeded / finished : null,
      recent,
    },
    delivery,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/** Deliveries with their attempts (in attempt order) as API callers see them. */
export function deliveryViews(deliveries: readonly WebhookDelivery[], attempts: readonly WebhookAttempt[]): DeliveryView[] {
  const byDelivery = new Map<string, AttemptView[]>();
  for (const a of attempts) {
    const list = byDelivery.get(a.deliveryId) ?? [];
    list.push({
      id: a.id,
      attemptNumber: a.attemptNumber,
      trigger: a.trigger,
      requestUrl: a.requestUrl,
      responseStatus: a.responseStatus,
      responseBody: a.responseBody,
      responseHeaders: a.responseHeaders,
      durationMs: a.durationMs,
      error: a.error,
      nextAttemptAt: a.nextAttemptAt,
      createdAt: a.createdAt,
    });
    byDelivery.set(a.deliveryId, list);
  }
  return deliveries.map((d) => ({
    id: d.id,
    eventId: d.eventId,
    endpointId: d.endpointId,
    topic: d.topic,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt,
    lastResponseStatus: d.lastResponseStatus,
    lastError: d.lastError,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    attempts: byDelivery.get(d.id) ?? [],
  }));
}

/**
 * When an open circuit's probe goes, for a summary line: ` (probe at T)`, or, once T is past, ` (probe due since T)`:
 * the probe waits for a free slot under the endpoint's cap (attempts still in flight hold them all) or for a delivery
 * to send.
 */
export function probeNote(retryAt: Date | null, now: number, time: (at: Date) => string): string {
  if (!retryAt) return '';
  return retryAt.getTime() > now ? ` (probe at ${time(retryAt)})` : ` (probe due since ${time(retryAt)})`;
}
