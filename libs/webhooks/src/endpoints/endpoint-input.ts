import { WebhookValidationError } from '../errors/webhooks.errors.js';
import type { NetworkPolicy } from '../security/network-policy.js';
import { filtersProblems, type EndpointFilters } from './filters.js';
import { isTopicPattern, topicMatches } from '../topics/topics.js';
import { rateLimitProblem } from '../webhooks.options.js';

export const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;
const MAX_TOPICS = 100;
const MAX_IN_FLIGHT = 1000;

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
  /** Deliveries in flight to this endpoint at most, across all workers (null: the module's `maxInFlightPerEndpoint`). */
  maxInFlight?: number | null;
  /** At most `max` requests per `perMs` milliseconds to this endpoint (null: the module's `rateLimit`). */
  rateLimit?: { max: number; perMs: number } | null;
  /** Extra request headers (e.g. a static `authorization` the receiver expects). Stored encrypted. */
  headers?: Record<string, string> | null;
  /** Only events passing these conditions, keyed by entity name: `{ "order": { "bucket": "eu" } }`. */
  filters?: EndpointFilters | null;
  /** HTTP method. @default 'POST' */
  method?: 'POST' | 'PUT';
  /** Which top-level fields of `data` and `changes` this endpoint gets. */
  fields?: EndpointFields | null;
  /** Name of a `@WebhookTransformer()` that reshapes the body for this endpoint. */
  transform?: string | null;
  /** Name of a `@WebhookHeaderProvider()` that adds headers at send time. */
  headerProvider?: string | null;
  /** OAuth2 client credentials: a bearer token is fetched, cached until it expires, and sent. Stored encrypted. */
  auth?: EndpointAuth | null;
}

export interface EndpointFields {
  include?: string[];
  exclude?: string[];
  redact?: string[];
}

export interface EndpointAuth {
  type: 'oauth2';
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
  /** How the client authenticates at the token URL. @default 'basic' (HTTP Basic, RFC 6749 2.3.1) */
  clientAuth?: 'basic' | 'body';
}

/** What the module's options allow an endpoint to be. */
export interface EndpointRules {
  maxTimeoutMs: number;
  /** Accept http:// URLs (else https only). */
  allowHttp: boolean;
  /** Refuses URLs whose host is a non-public IP literal or a loopback name. */
  network?: NetworkPolicy;
  /** If set, the URL must match one of these (RegExp, or prefix with an optional `*.` host wildcard). */
  allowedUrls?: ReadonlyArray<string | RegExp>;
  /** Fields of an entity by name (filters); undefined for a custom topic prefix, null when unknown. */
  fieldsOf?: (prefix: string) => readonly string[] | undefined | null;
  /** Registered transformer and header provider names. */
  transformers?: ReadonlySet<string>;
  headerProviders?: ReadonlySet<string>;
}

/** What a sensitive header value looks like in API answers. Not a valid header value, so it cannot be saved back. */
export const HIDDEN_HEADER_VALUE = '••••••';

const DEFAULT_RULES: EndpointRules = { maxTimeoutMs: 30_000, allowHttp: true };

const FIELDS = new Set([
  'url',
  'topics',
  'description',
  'active',
  'retrySchedule',
  'timeoutMs',
  'maxInFlight',
  'rateLimit',
  'headers',
  'filters',
  'method',
  'fields',
  'transform',
  'headerProvider',
  'auth',
]);
const MAX_FIELD_NAMES = 100;
const MAX_HEADERS = 20;
const MAX_HEADER_VALUE_LENGTH = 4096;
/** All custom headers together: well under the 16 KiB many servers accept (Node's default). */
const MAX_HEADERS_TOTAL = 8192;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** Headers the library sets, or that would break the request if a caller set them. */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'content-encoding',
  'accept-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);
const MAX_RETRIES = 50;
const MAX_RETRY_DELAY_MS = 7 * 86_400_000;

/**
 * Checks and normalises endpoint fields, all problems in one message. `partial` allows missing fields (PATCH).
 * Topics must be known topics or patterns that match at least one of them, so typos fail at save time.
 */
export function validateEndpointInput(input: unknown, knownTopics: readonly string[], partial: false, rules?: EndpointRules): EndpointInput;
export function validateEndpointInput(
  input: unknown,
  knownTopics: readonly string[],
  partial: true,
  rules?: EndpointRules,
): Partial<EndpointInput>;
export function validateEndpointInput(
  input: unknown,
  knownTopics: readonly string[],
  partial: boolean,
  rules: EndpointRules = DEFAULT_RULES,
): Partial<EndpointInput> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WebhookValidationError('The endpoint must be a JSON object.');
  }
  const body = input as Record<string, unknown>;
  const problems: string[] = [];
  const byField: Record<string, string[]> = {};
  const problem = (field: string, ...messages: string[]) => {
    problems.push(...messages);
    (byField[field] ??= []).push(...messages);
  };
  const out: Partial<EndpointInput> = {};
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) problem(key, `unknown field "${key}"`);

  if (body.url !== undefined || !partial) {
    const found = urlProblem(body.url, rules);
    if (found) problem('url', found);
    else out.url = new URL(body.url as string).toString();
  }
  if (body.topics !== undefined || !partial) {
    const found = topicsProblem(body.topics, knownTopics);
    if (found) problem('topics', found);
    else out.topics = [...new Set(body.topics as string[])];
  }
  if (body.description !== undefined) {
    if (body.description !== null && typeof body.description !== 'string') problem('description', 'description must be a string');
    else if (typeof body.description === 'string' && body.description.length > MAX_DESCRIPTION_LENGTH) {
      problem('description', `description is longer than ${MAX_DESCRIPTION_LENGTH} characters`);
    } else out.description = body.description;
  }
  if (body.active !== undefined) {
    if (typeof body.active !== 'boolean') problem('active', 'active must be true or false');
    else out.active = body.active;
  }
  if (body.retrySchedule !== undefined) {
    const v = body.retrySchedule;
    if (v === null) out.retrySchedule = null;
    else if (!Array.isArray(v) || v.length > MAX_RETRIES || v.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_RETRY_DELAY_MS)) {
      problem(
        'retrySchedule',
        `retrySchedule must be null or a list of at most ${MAX_RETRIES} delays in milliseconds, each from 0 to ${MAX_RETRY_DELAY_MS} (7 days)`,
      );
    } else out.retrySchedule = v as number[];
  }
  if (body.timeoutMs !== undefined) {
    const v = body.timeoutMs;
    if (v === null) out.timeoutMs = null;
    else if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > rules.maxTimeoutMs) {
      problem('timeoutMs', `timeoutMs must be null or an integer from 1 to ${rules.maxTimeoutMs} (maxRequestTimeoutMs)`);
    } else out.timeoutMs = v as number;
  }
  if (body.maxInFlight !== undefined) {
    const v = body.maxInFlight;
    if (v === null) out.maxInFlight = null;
    else if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_IN_FLIGHT) {
      problem('maxInFlight', `maxInFlight must be null or an integer from 1 to ${MAX_IN_FLIGHT}`);
    } else out.maxInFlight = v as number;
  }
  if (body.rateLimit !== undefined) {
    const found = rateLimitProblem(body.rateLimit);
    if (found) problem('rateLimit', `rateLimit ${found}`);
    else out.rateLimit = (body.rateLimit as { max: number; perMs: number } | null) ?? null;
  }
  if (body.headers !== undefined) {
    const result = headersProblem(body.headers);
    if (typeof result === 'string') problem('headers', result);
    else out.headers = result;
  }
  if (body.filters !== undefined) {
    const found = filtersProblems(body.filters, rules.fieldsOf ?? (() => undefined));
    if (found.length) problem('filters', ...found);
    else out.filters = body.filters as EndpointFilters | null;
  }
  if (body.method !== undefined) {
    if (body.method !== 'POST' && body.method !== 'PUT')
      problem('method', `method must be "POST" or "PUT" (got ${JSON.stringify(body.method)})`);
    else out.method = body.method;
  }
  if (body.fields !== undefined) {
    const result = fieldsProblem(body.fields);
    if (typeof result === 'string') problem('fields', result);
    else out.fields = result;
  }
  for (const [key, names, what] of [
    ['transform', rules.transformers, '@WebhookTransformer'],
    ['headerProvider', rules.headerProviders, '@WebhookHeaderProvider'],
  ] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (v === null) out[key] = null;
    else if (typeof v !== 'string' || !names?.has(v)) {
      const known = [...(names ?? [])];
      problem(key, `${key} ${JSON.stringify(v)} is not a registered ${what}() name (registered: ${known.join(', ') || 'none'})`);
    } else out[key] = v;
  }
  if (body.auth !== undefined) {
    const result = authProblem(body.auth, rules);
    if (typeof result === 'string') problem('auth', result);
    else out.auth = result;
  }
  if (problems.length) throw new WebhookValidationError(`Invalid endpoint: ${problems.join('; ')}.`, byField);
  return out;
}

function urlProblem(value: unknown, rules: EndpointRules): string | undefined {
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
  if (url.protocol === 'http:' && !rules.allowHttp) return 'url must use https (http is off; the allowHttp option turns it on)';
  const network = rules.network?.urlProblem(url);
  if (network) return `url host ${network}`;
  if (rules.allowedUrls && !rules.allowedUrls.some((pattern) => urlAllowed(url, pattern))) {
    return `url ${url.toString()} matches none of the allowedUrls patterns`;
  }
  return undefined;
}

/**
 * A RegExp must match the whole URL (as if anchored). A string is a URL prefix that ends at a path segment
 * (`https://a.example/in` admits `/in` and `/in/x`, not `/inbox`), whose host may start with `*.` (any subdomain).
 */
export function urlAllowed(url: URL, pattern: string | RegExp): boolean {
  const href = url.toString();
  if (pattern instanceof RegExp) {
    const match = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).exec(href);
    return match !== null && match.index === 0 && match[0].length === href.length;
  }
  const wildcard = /^(https?:\/\/)\*\.(.+)$/.exec(pattern);
  const base = new URL(wildcard ? `${wildcard[1]}${wildcard[2]}` : pattern);
  if (url.protocol !== base.protocol || url.port !== base.port) return false;
  const hostMatches = wildcard ? url.hostname.endsWith(`.${base.hostname}`) : url.hostname === base.hostname;
  if (!hostMatches) return false;
  const prefix = base.pathname + base.search;
  const rest = url.pathname + url.search;
  if (!rest.startsWith(prefix)) return false;
  return prefix.endsWith('/') || rest.length === prefix.length || '/?'.includes(rest[prefix.length]!);
}

/** Whether a header is set by the library or the connection (so neither stored headers nor providers may set it). */
export function isReservedHeader(lower: string): boolean {
  return RESERVED_HEADERS.has(lower) || /^(webhook|svix|proxy)-/.test(lower);
}

function fieldsProblem(value: unknown): EndpointFields | null | string {
  if (value === null) return null;
  const usage = 'fields must be an object with include, exclude and/or redact lists of field names, or null';
  if (typeof value !== 'object' || Array.isArray(value)) return usage;
  const out: EndpointFields = {};
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    if (key !== 'include' && key !== 'exclude' && key !== 'redact') return `${usage} (unknown key "${key}")`;
    if (!Array.isArray(list) || list.length > MAX_FIELD_NAMES || list.some((f) => typeof f !== 'string' || !f)) {
      return `fields.${key} must be a list of up to ${MAX_FIELD_NAMES} field names`;
    }
    out[key] = [...new Set(list as string[])];
  }
  return Object.keys(out).length ? out : null;
}

function authProblem(value: unknown, rules: EndpointRules): EndpointAuth | null | string {
  if (value === null) return null;
  const usage = 'auth must be {"type": "oauth2", "tokenUrl", "clientId", "clientSecret", "scope"?, "audience"?, "clientAuth"?} or null';
  if (typeof value !== 'object' || Array.isArray(value)) return usage;
  const a = value as Record<string, unknown>;
  const bad: string[] = [];
  const unknown = Object.keys(a).filter(
    (k) => !['type', 'tokenUrl', 'clientId', 'clientSecret', 'scope', 'audience', 'clientAuth'].includes(k),
  );
  if (unknown.length) bad.push(`auth has unknown field ${unknown.map((k) => `"${k}"`).join(', ')}`);
  if (a.type !== 'oauth2') bad.push('auth.type must be "oauth2" (client credentials)');
  const tokenUrl = urlProblem(a.tokenUrl, rules);
  if (tokenUrl) bad.push(`auth.tokenUrl: ${tokenUrl.replace(/^url /, '')}`);
  for (const key of ['clientId', 'clientSecret'] as const) {
    const v = a[key];
    if (typeof v !== 'string' || !v || v.length > 1024 || /[\r\n\0]/.test(v))
      bad.push(`auth.${key} must be a non-empty string of at most 1024 characters`);
    else if (v === HIDDEN_HEADER_VALUE) bad.push(`auth.${key} holds the placeholder shown for hidden values; send the real value`);
  }
  for (const key of ['scope', 'audience'] as const) {
    const v = a[key];
    if (v !== undefined && (typeof v !== 'string' || v.length > 1024 || /[\r\n\0]/.test(v))) bad.push(`auth.${key} must be a string`);
  }
  if (a.clientAuth !== undefined && a.clientAuth !== 'basic' && a.clientAuth !== 'body')
    bad.push('auth.clientAuth must be "basic" or "body"');
  if (bad.length) return bad.join('; ');
  return {
    type: 'oauth2',
    tokenUrl: new URL(a.tokenUrl as string).toString(),
    clientId: a.clientId as string,
    clientSecret: a.clientSecret as string,
    ...(a.scope ? { scope: a.scope as string } : {}),
    ...(a.audience ? { audience: a.audience as string } : {}),
    ...(a.clientAuth ? { clientAuth: a.clientAuth as 'basic' | 'body' } : {}),
  };
}

function headersProblem(value: unknown): Record<string, string> | null | string {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'headers must be an object of header names to string values, or null';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return `headers has more than ${MAX_HEADERS} entries`;
  const out: Record<string, string> = {};
  const bad: string[] = [];
  let total = 0;
  for (const [name, v] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) bad.push(`header name ${JSON.stringify(name)} is not a valid HTTP header name`);
    else if (isReservedHeader(lower)) {
      bad.push(`header ${JSON.stringify(name)} is set by the library or the HTTP connection and cannot be overridden`);
    } else if (typeof v !== 'string') bad.push(`header ${JSON.stringify(name)} must have a string value`);
    else if (v === HIDDEN_HEADER_VALUE)
      bad.push(`header ${JSON.stringify(name)} holds the placeholder shown for hidden values; send the real value`);
    else if (/[\r\n\0]/.test(v)) bad.push(`header ${JSON.stringify(name)} must not contain CR, LF or NUL characters`);
    // Printable ASCII and Latin-1 (RFC 9110 field-vchar / obs-text), plus spaces and tabs inside.
    else if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(v))
      bad.push(`header ${JSON.stringify(name)} has characters that cannot be sent in a header`);
    else if (v.length > MAX_HEADER_VALUE_LENGTH)
      bad.push(`header ${JSON.stringify(name)} is longer than ${MAX_HEADER_VALUE_LENGTH} characters`);
    else if (Object.hasOwn(out, lower)) bad.push(`header ${JSON.stringify(name)} is given twice`);
    else {
      out[lower] = v;
      total += name.length + v.length + 4;
    }
  }
  if (total > MAX_HEADERS_TOTAL) bad.push(`headers add up to more than ${MAX_HEADERS_TOTAL} bytes`);
  return bad.length ? bad.join('; ') : out;
}

function topicsProblem(value: unknown, knownTopics: readonly string[]): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return 'topics must be a non-empty list, e.g. ["order.created"]';
  if (value.length > MAX_TOPICS) return `topics has more than ${MAX_TOPICS} entries`;
  const bad = value.filter((t) => typeof t !== 'string' || !isTopicPattern(t));
  if (bad.length)
    return `topics ${bad.map((t) => JSON.stringify(t)).join(', ')} are not topics like "order.created" or patterns like "order.*"`;
  const unknown = (value as string[]).filter((t) => !knownTopics.some((k) => topicMatches(t, k)));
  if (unknown.length) {
    return `topics ${unknown.map((t) => JSON.stringify(t)).join(', ')} match no known topic (known: ${knownTopics.join(', ') || 'none'})`;
  }
  return undefined;
}
