import type { EndpointInput } from '../endpoints/endpoint-input.js';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import type { EndpointView } from '../webhooks.service.js';

/** Endpoint fields edited as JSON text in the admin form. */
export const JSON_FIELDS = ['retrySchedule', 'rateLimit', 'headers', 'filters', 'fields', 'auth'] as const;
/** Every field the admin form may send to the service; anything else in the form (id, health...) is ignored. */
const INPUT_FIELDS = [
  'url',
  'description',
  'topics',
  'active',
  'method',
  'timeoutMs',
  'maxInFlight',
  'transform',
  'headerProvider',
  ...JSON_FIELDS,
] as const;

/**
 * The record params of an endpoint in the admin: built from the service's view, so the secret, sensitive header
 * values and the OAuth2 client secret can never reach a page (they are not in the view).
 */
export function endpointParams(view: EndpointView): Record<string, unknown> {
  const lastDeliveryAt = latest(view.health.lastSuccessAt, view.health.lastFailureAt);
  const { recent, successRate } = view.health;
  const finished = recent.succeeded + recent.failed;
  return {
    id: view.id,
    url: view.url,
    description: view.description,
    topics: view.topics,
    active: view.active,
    method: view.method,
    timeoutMs: view.timeoutMs,
    maxInFlight: view.maxInFlight,
    rateLimit: json(view.rateLimit),
    delivery: deliverySummary(view.delivery),
    inFlight: view.delivery?.inFlight ?? null,
    held: view.delivery?.held ?? null,
    circuit: view.delivery?.circuit ?? null,
    circuitRetryAt: view.delivery?.circuitRetryAt ?? null,
    pausedUntil: view.delivery?.pausedUntil ?? null,
    transform: view.transform,
    headerProvider: view.headerProvider,
    retrySchedule: json(view.retrySchedule),
    headers: json(view.headers),
    filters: json(view.filters),
    fields: json(view.fields),
    auth: json(view.auth),
    health: view.health.state,
    successRate: successRate === null ? null : `${Math.round(successRate * 1000) / 10}% (${recent.succeeded}/${finished})`,
    lastDeliveryAt,
    consecutiveFailures: view.health.consecutiveFailures,
    lastSuccessAt: view.health.lastSuccessAt,
    lastFailureAt: view.health.lastFailureAt,
    failingSince: view.health.failingSince,
    disabledAt: view.health.disabledAt,
    disabledReason: view.health.disabledReason,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
  };
}

/** One line for lists: what the delivery engine is doing with the endpoint now. */
function deliverySummary(state: EndpointView['delivery']): string | null {
  if (!state) return null;
  const parts = [`${state.inFlight} in flight`];
  if (state.held) parts.push(`${state.held} held`);
  if (state.circuit === 'open')
    parts.push(`circuit open${state.circuitRetryAt ? ` (probe at ${state.circuitRetryAt.toISOString()})` : ''}`);
  if (state.circuit === 'half-open') parts.push('circuit half-open (probing)');
  if (state.pausedUntil) parts.push(`paused until ${state.pausedUntil.toISOString()} (Retry-After)`);
  return parts.join(', ');
}

/**
 * Turns the admin form (flattened strings: `topics.0`, `active: "true"`, JSON text) into service input. Empty
 * text means "not set" (null). JSON that does not parse is reported on its field, like the service's own checks.
 * `current` (editing) drops JSON fields left as they were shown, so masked values are not sent back.
 */
export function endpointInput(payload: Record<string, unknown>, current?: Record<string, unknown>): Partial<EndpointInput> {
  const input: Record<string, unknown> = {};
  const errors: Record<string, string[]> = {};
  const topics = collectArray(payload, 'topics');
  for (const field of INPUT_FIELDS) {
    if (field === 'topics') {
      if (topics !== undefined) input.topics = topics;
      continue;
    }
    if (!(field in payload)) continue;
    const raw = payload[field];
    const text = typeof raw === 'string' ? raw.trim() : raw;
    if ((JSON_FIELDS as readonly string[]).includes(field)) {
      if (current && text === (current[field] ?? '')) continue;
      if (text === '' || text === null || text === undefined) input[field] = null;
      else if (typeof text !== 'string') input[field] = text;
      else {
        try {
          input[field] = JSON.parse(text);
        } catch (error) {
          (errors[field] ??= []).push(`${field} is not valid JSON (${(error as Error).message})`);
        }
      }
    } else if (field === 'active') {
      input.active = text === true || text === 'true' ? true : text === false || text === 'false' ? false : text;
    } else if (field === 'timeoutMs' || field === 'maxInFlight') {
      input[field] = text === '' || text === null ? null : /^\d+$/.test(String(text)) ? Number(text) : text;
    } else if (field === 'url' || field === 'method') {
      input[field] = text;
    } else {
      input[field] = text === '' ? null : text;
    }
  }
  if (Object.keys(errors).length) {
    throw new WebhookValidationError(`Invalid endpoint: ${Object.values(errors).flat().join('; ')}.`, errors);
  }
  return input as Partial<EndpointInput>;
}

/** `topics` arrives as `topics.0`, `topics.1`... (or as an array, or empty when the list was cleared). */
function collectArray(payload: Record<string, unknown>, key: string): string[] | undefined {
  if (Array.isArray(payload[key])) return (payload[key] as unknown[]).map(String);
  const entries = Object.entries(payload)
    .filter(([k]) => k.startsWith(`${key}.`) && /^\d+$/.test(k.slice(key.length + 1)))
    .sort(([a], [b]) => Number(a.slice(key.length + 1)) - Number(b.slice(key.length + 1)));
  if (entries.length) return entries.map(([, v]) => String(v)).filter((v) => v.trim() !== '');
  if (key in payload) return []; // an emptied list is sent as `topics: ""` or `topics: []`
  return undefined;
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value, null, 2);
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}
