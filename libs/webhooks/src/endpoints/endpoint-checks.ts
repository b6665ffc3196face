/** The checks of endpoint fields (used by the field table in endpoint-input.ts) and the rules they apply. */
import type { NetworkPolicy } from '../security/network-policy.js';
import { isTopicPattern, topicMatches } from '../topics/topics.js';
import { shown } from '../util/shown.js';

export const MAX_URL_LENGTH = 2048;
export const MAX_DESCRIPTION_LENGTH = 500;
const MAX_TOPICS = 100;
export const MAX_IN_FLIGHT = 1000;

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

export const DEFAULT_RULES: EndpointRules = { maxTimeoutMs: 30_000, allowHttp: true };

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
export const MAX_RETRIES = 50;
export const MAX_RETRY_DELAY_MS = 7 * 86_400_000;

export function urlProblem(value: unknown, rules: EndpointRules): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'url is required (an http or https URL)';
  if (value.length > MAX_URL_LENGTH) return `url is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `url ${shown(value)} is not a valid absolute URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url must use http or https, not ${url.protocol.slice(0, -1)}`;
  if (url.username || url.password) return 'url must not contain credentials (user:password@); use signing instead';
  if (url.hash) return 'url must not contain a #fragment';
  // Stored normalised: characters escaped there (non-ASCII in the path, say) take three times the room.
  const normalised = url.toString().length;
  if (normalised > MAX_URL_LENGTH) return `url is longer than ${MAX_URL_LENGTH} characters once normalised (${normalised})`;
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

export function fieldsProblem(value: unknown): EndpointFields | null | string {
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

export function authProblem(value: unknown, rules: EndpointRules): EndpointAuth | null | string {
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

export function headersProblem(value: unknown): Record<string, string> | null | string {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'headers must be an object of header names to string values, or null';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return `headers has more than ${MAX_HEADERS} entries`;
  const out: Record<string, string> = {};
  const bad: string[] = [];
  let total = 0;
  for (const [name, v] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) bad.push(`header name ${shown(name)} is not a valid HTTP header name`);
    // A valid token, but as an object key it would set the prototype: the header would vanish without a word.
    else if (lower === '__proto__') bad.push(`header name ${shown(name)} is not allowed`);
    else if (isReservedHeader(lower)) {
      bad.push(`header ${shown(name)} is set by the library or the HTTP connection and cannot be overridden`);
    } else if (typeof v !== 'string') bad.push(`header ${shown(name)} must have a string value`);
    else if (v === HIDDEN_HEADER_VALUE)
      bad.push(`header ${shown(name)} holds the placeholder shown for hidden values; send the real value`);
    else if (/[\r\n\0]/.test(v)) bad.push(`header ${shown(name)} must not contain CR, LF or NUL characters`);
    // Printable ASCII and Latin-1 (RFC 9110 field-vchar / obs-text), plus spaces and tabs inside.
    else if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(v)) bad.push(`header ${shown(name)} has characters that cannot be sent in a header`);
    else if (v.length > MAX_HEADER_VALUE_LENGTH) bad.push(`header ${shown(name)} is longer than ${MAX_HEADER_VALUE_LENGTH} characters`);
    else if (Object.hasOwn(out, lower)) bad.push(`header ${shown(name)} is given twice`);
    else {
      out[lower] = v;
      total += name.length + v.length + 4;
    }
  }
  if (total > MAX_HEADERS_TOTAL) bad.push(`headers add up to more than ${MAX_HEADERS_TOTAL} bytes`);
  return bad.length ? bad.join('; ') : out;
}

export function topicsProblem(value: unknown, knownTopics: readonly string[]): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return 'topics must be a non-empty list, e.g. ["order.created"]';
  if (value.length > MAX_TOPICS) return `topics has more than ${MAX_TOPICS} entries`;
  const bad = value.filter((t) => typeof t !== 'string' || !isTopicPattern(t));
  if (bad.length) return `topics ${bad.map((t) => shown(t)).join(', ')} are not topics like "order.created" or patterns like "order.*"`;
  const unknown = (value as string[]).filter((t) => !knownTopics.some((k) => topicMatches(t, k)));
  if (unknown.length) {
    return `topics ${unknown.map((t) => shown(t)).join(', ')} match no known topic (known: ${knownTopics.join(', ') || 'none'})`;
  }
  return undefined;
}
