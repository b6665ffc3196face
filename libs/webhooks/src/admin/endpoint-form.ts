import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, type EndpointInput } from '../endpoints/endpoint-input.js';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import type { EndpointView } from '../webhooks.service.js';
import { probeNote } from '../management/views.js';

const widget = (name: string) => ENDPOINT_FIELDS[name as keyof typeof ENDPOINT_FIELDS]?.admin.widget;

/** Endpoint fields edited as JSON text in the admin form. */
export const JSON_FIELDS = ENDPOINT_FIELD_NAMES.filter((name) => widget(name) === 'json');

/**
 * The record params of an endpoint in the admin: built from the service's view, so the secret, sensitive header
 * values and the OAuth2 client secret can never reach a page (they are not in the view).
 */
export function endpointParams(view: EndpointView, now = Date.now()): Record<string, unknown> {
  const lastDeliveryAt = latest(view.health.lastSuccessAt, view.health.lastFailureAt);
  const { recent, successRate } = view.health;
  const finished = recent.succeeded + recent.failed;
  const fields = Object.fromEntries(ENDPOINT_FIELD_NAMES.map((name) => [name, widget(name) === 'json' ? json(view[name]) : view[name]]));
  return {
    id: view.id,
    ...fields,
    delivery: deliverySummary(view.delivery, now),
    inFlight: view.delivery?.inFlight ?? null,
    held: view.delivery?.held ?? null,
    circuit: view.delivery?.circuit ?? null,
    circuitOpenedAt: view.delivery?.circuitOpenedAt ?? null,
    circuitRetryAt: view.delivery?.circuitRetryAt ?? null,
    pausedUntil: view.delivery?.pausedUntil ?? null,
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
function deliverySummary(state: EndpointView['delivery'], now: number): string | null {
  if (!state) return null;
  const parts = [`${state.inFlight} in flight`];
  if (state.held) parts.push(`${state.held} held`);
  const since = state.circuitOpenedAt ? ` since ${state.circuitOpenedAt.toISOString()}` : '';
  if (state.circuit === 'open') parts.push(`circuit open${since}${probeNote(state.circuitRetryAt, now, (at) => at.toISOString())}`);
  if (state.circuit === 'half-open') parts.push(`circuit half-open${since} (probing)`);
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
  for (const field of ENDPOINT_FIELD_NAMES) {
    const { widget: kind } = ENDPOINT_FIELDS[field].admin;
    if (kind === 'list') {
      const list = collectArray(payload, field);
      if (list !== undefined) input[field] = list;
      continue;
    }
    if (!(field in payload)) continue;
    const raw = payload[field];
    const text = typeof raw === 'string' ? raw.trim() : raw;
    if (kind === 'json') {
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
    } else if (kind === 'boolean') {
      input[field] = text === true || text === 'true' ? true : text === false || text === 'false' ? false : text;
    } else if (kind === 'integer') {
      input[field] = text === '' || text === null ? null : /^\d+$/.test(String(text)) ? Number(text) : text;
    } else if (ENDPOINT_FIELDS[field].required || kind === 'select') {
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
