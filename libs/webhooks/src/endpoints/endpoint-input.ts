import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { isTopicPattern, topicMatches } from './topics.js';

export const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;
const MAX_TOPICS = 100;

/** Fields a caller may set on an endpoint. */
export interface EndpointInput {
  url: string;
  topics: string[];
  description?: string | null;
  active?: boolean;
  /** Retry delays in ms for this endpoint (null: the module's schedule). */
  retrySchedule?: number[] | null;
  /** Request timeout in ms for this endpoint (null: the module's), at most `maxRequestTimeoutMs`. */
  timeoutMs?: number | null;
}

export interface EndpointLimits {
  maxTimeoutMs: number;
}

const FIELDS = new Set(['url', 'topics', 'description', 'active', 'retrySchedule', 'timeoutMs']);
const MAX_RETRIES = 50;
const MAX_RETRY_DELAY_MS = 7 * 86_400_000;

/**
 * Checks and normalises endpoint fields, all problems in one message. `partial` allows missing fields (PATCH).
 * Topics must be known topics or patterns that match at least one of them, so typos fail at save time.
 */
export function validateEndpointInput(input: unknown, knownTopics: readonly string[], partial: false, limits?: EndpointLimits): EndpointInput;
export function validateEndpointInput(
  input: unknown,
  knownTopics: readonly string[],
  partial: true,
  limits?: EndpointLimits,
): Partial<EndpointInput>;
export function validateEndpointInput(
  input: unknown,
  knownTopics: readonly string[],
  partial: boolean,
  limits: EndpointLimits = { maxTimeoutMs: 30_000 },
): Partial<EndpointInput> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WebhookValidationError('The endpoint must be a JSON object.');
  }
  const body = input as Record<string, unknown>;
  const problems: string[] = [];
  const out: Partial<EndpointInput> = {};
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) problems.push(`unknown field "${key}"`);

  if (body.url !== undefined || !partial) {
    const problem = urlProblem(body.url);
    if (problem) problems.push(problem);
    else out.url = new URL(body.url as string).toString();
  }
  if (body.topics !== undefined || !partial) {
    const problem = topicsProblem(body.topics, knownTopics);
    if (problem) problems.push(problem);
    else out.topics = [...new Set(body.topics as string[])];
  }
  if (body.description !== undefined) {
    if (body.description !== null && typeof body.description !== 'string') problems.push('description must be a string');
    else if (typeof body.description === 'string' && body.description.length > MAX_DESCRIPTION_LENGTH) {
      problems.push(`description is longer than ${MAX_DESCRIPTION_LENGTH} characters`);
    } else out.description = body.description;
  }
  if (body.active !== undefined) {
    if (typeof body.active !== 'boolean') problems.push('active must be true or false');
    else out.active = body.active;
  }
  if (body.retrySchedule !== undefined) {
    const v = body.retrySchedule;
    if (v === null) out.retrySchedule = null;
    else if (!Array.isArray(v) || v.length > MAX_RETRIES || v.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_RETRY_DELAY_MS)) {
      problems.push(`retrySchedule must be null or a list of at most ${MAX_RETRIES} delays in milliseconds, each from 0 to ${MAX_RETRY_DELAY_MS} (7 days)`);
    } else out.retrySchedule = v as number[];
  }
  if (body.timeoutMs !== undefined) {
    const v = body.timeoutMs;
    if (v === null) out.timeoutMs = null;
    else if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > limits.maxTimeoutMs) {
      problems.push(`timeoutMs must be null or an integer from 1 to ${limits.maxTimeoutMs} (maxRequestTimeoutMs)`);
    } else out.timeoutMs = v as number;
  }
  if (problems.length) throw new WebhookValidationError(`Invalid endpoint: ${problems.join('; ')}.`);
  return out;
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'url is required (an http or https URL)';
  if (value.length > MAX_URL_LENGTH) return `url is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `url ${JSON.stringify(value)} is not a valid absolute URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url must use http or https, not ${url.protocol.slice(0, -1)}`;
  if (url.username || url.password) return 'url must not contain credentials (user:password@); use signing instead';
  if (url.hash) return 'url must not contain a #fragment';
  return undefined;
}

function topicsProblem(value: unknown, knownTopics: readonly string[]): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return 'topics must be a non-empty list, e.g. ["order.created"]';
  if (value.length > MAX_TOPICS) return `topics has more than ${MAX_TOPICS} entries`;
  const bad = value.filter((t) => typeof t !== 'string' || !isTopicPattern(t));
  if (bad.length) return `topics ${bad.map((t) => JSON.stringify(t)).join(', ')} are not topics like "order.created" or patterns like "order.*"`;
  const unknown = (value as string[]).filter((t) => !knownTopics.some((k) => topicMatches(t, k)));
  if (unknown.length) {
    return `topics ${unknown.map((t) => JSON.stringify(t)).join(', ')} match no known topic (known: ${knownTopics.join(', ') || 'none'})`;
  }
  return undefined;
}
