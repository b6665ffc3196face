import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { rateLimitProblem } from '../webhooks.options.js';
import {
  authProblem,
  DEFAULT_RULES,
  fieldsProblem,
  headersProblem,
  HIDDEN_HEADER_VALUE,
  MAX_DESCRIPTION_LENGTH,
  MAX_IN_FLIGHT,
  MAX_RETRIES,
  MAX_RETRY_DELAY_MS,
  topicsProblem,
  urlProblem,
  type EndpointAuth,
  type EndpointFields,
  type EndpointRules,
} from './endpoint-checks.js';
import { filtersProblems, type EndpointFilters } from './filters.js';
import { depthOf, MAX_INPUT_DEPTH, shown } from '../util/shown.js';

export {
  HIDDEN_HEADER_VALUE,
  isReservedHeader,
  MAX_URL_LENGTH,
  urlAllowed,
  type EndpointAuth,
  type EndpointFields,
  type EndpointRules,
} from './endpoint-checks.js';

/** How the admin shows and edits a field. */
export type AdminWidget = 'text' | 'textarea' | 'list' | 'boolean' | 'integer' | 'json' | 'select';

/** What the table says of one endpoint field. */
export interface EndpointFieldSpec<T> {
  /** Must be given on create. */
  required: boolean;
  /** The value stored when created without it. */
  default: T;
  /** Checks a given value (never `undefined`) and answers it normalised, or its problems. */
  check(value: unknown, context: FieldContext): { value: T } | { problems: string[] };
  /** Stored encrypted at rest (`EndpointSecrets.seal`); views show `mask(value)`. */
  sealed?: { mask(value: NonNullable<T>): T };
  admin: {
    widget: AdminWidget;
    /** Help text under the field. */
    description?: string;
    /** The list of the admin sorts by it (a plain column). */
    sortable?: boolean;
    /** On the endpoint page above the health block (else below it, with the delivery settings). */
    summary?: boolean;
    /** In the create and edit form (`active` is changed by the enable and disable actions). @default true */
    form?: boolean;
    /** The choices of a `select`. */
    values?: readonly string[];
  };
}

export interface FieldContext {
  partial: boolean;
  knownTopics: readonly string[];
  rules: EndpointRules;
}

/** The longest owner id (the column's length). */
export const MAX_OWNER_LENGTH = 200;

const hasControlCharacters = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20);

/** Whether a value is an owner id: a string of 1 to MAX_OWNER_LENGTH characters, no control characters. */
export function isOwnerId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_OWNER_LENGTH && !hasControlCharacters(value);
}

/** What is wrong with `value` as the owner id named `name` (`nullable`: null is allowed too). */
export function ownerIdProblem(name: string, value: unknown, nullable: boolean): string {
  return `${name} must be ${nullable ? 'null or ' : ''}a string of 1 to ${MAX_OWNER_LENGTH} characters without control characters (got ${shown(value)})`;
}

/** Fields stored as JSON text, and how much of it a column takes everywhere (MySQL's `text` holds 65,535 bytes). */
const JSON_COLUMNS = new Set<string>(['topics', 'retrySchedule', 'rateLimit', 'filters', 'fields']);
const MAX_JSON_COLUMN_BYTES = 60_000;

const ok = <T>(value: T) => ({ value });
const bad = (...problems: string[]) => ({ problems });

function required<T>(spec: Omit<EndpointFieldSpec<T>, 'required' | 'default'>): EndpointFieldSpec<T> & { required: true } {
  return { ...spec, required: true, default: undefined as T };
}
function optional<T>(spec: Omit<EndpointFieldSpec<T>, 'required'>): EndpointFieldSpec<T> & { required: false } {
  return { ...spec, required: false };
}

/** `null`, or an integer from 1 to `max`. */
function limit(name: string, max: () => number, hint = '') {
  return (v: unknown) =>
    v === null
      ? ok(null)
      : Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max()
        ? ok(v as number)
        : bad(`${name} must be null or an integer from 1 to ${max()}${hint}`);
}

/** A registered extension's name, or null. */
function registered(key: 'transform' | 'headerProvider', what: string, names: (rules: EndpointRules) => ReadonlySet<string> | undefined) {
  return (v: unknown, { rules }: FieldContext) => {
    if (v === null) return ok(null);
    const known = names(rules);
    if (typeof v === 'string' && known?.has(v)) return ok<string | null>(v);
    return bad(`${key} ${shown(v)} is not a registered ${what}() name (registered: ${[...(known ?? [])].join(', ') || 'none'})`);
  };
}

const SENSITIVE_HEADER = /auth|cookie|token|secret|key|pass|signature|session|credential|jwt|hmac|sas|bearer|private|sig/i;

/**
 * Every field a caller may set on an endpoint, in one table: its check, its default, whether it is stored
 * encrypted, how the admin shows it. `EndpointInput` and the field part of `EndpointView` are derived from it, and
 * so are input validation, the created row, views, and the admin's form, list and record. A new endpoint field is a
 * column on the entity, an entry here and a migration.
 */
export const ENDPOINT_FIELDS = {
  /** Where events are sent: an absolute http(s) URL (https only unless `allowHttp`), normalised. */
  url: required<string>({
    check: (v, { rules }) => {
      const problem = urlProblem(v, rules);
      return problem ? bad(problem) : ok(new URL(v as string).toString());
    },
    admin: { widget: 'text', sortable: true, summary: true, description: 'Where events are sent (https; http only where allowed).' },
  }),
  description: optional<string | null>({
    default: null,
    check: (v) =>
      v !== null && typeof v !== 'string'
        ? bad('description must be a string')
        : typeof v === 'string' && v.length > MAX_DESCRIPTION_LENGTH
          ? bad(`description is longer than ${MAX_DESCRIPTION_LENGTH} characters`)
          : typeof v === 'string' && v.includes('\0')
            ? bad('description must not contain NUL characters') // PostgreSQL's text refuses them
            : ok(v as string | null),
    admin: { widget: 'text', summary: true },
  }),
  /** Topics (`order.created`) or patterns (`order.*`, `*`); each must match a known topic. */
  topics: required<string[]>({
    check: (v, { knownTopics }) => {
      const problem = topicsProblem(v, knownTopics);
      return problem ? bad(problem) : ok([...new Set(v as string[])]);
    },
    admin: { widget: 'list', summary: true, description: 'Topics (order.created) or patterns (order.*, *).' },
  }),
  /**
   * The tenant (your customer's id) that owns the endpoint: it receives only that owner's events. Null: an operator
   * endpoint, which receives every event of its topics, whoever owns it.
   */
  ownerId: optional<string | null>({
    default: null,
    check: (v) => (v === null || isOwnerId(v) ? ok(v as string | null) : bad(ownerIdProblem('ownerId', v, true))),
    admin: { widget: 'text', summary: true, description: "The owner's id; empty: an operator endpoint that gets every owner's events." },
  }),
  /** @default true */
  active: optional<boolean>({
    default: true,
    check: (v) => (typeof v === 'boolean' ? ok(v) : bad('active must be true or false')),
    admin: { widget: 'boolean', sortable: true, summary: true, form: false },
  }),
  /** HTTP method. @default 'POST' */
  method: optional<'POST' | 'PUT'>({
    default: 'POST',
    check: (v) => (v === 'POST' || v === 'PUT' ? ok(v) : bad(`method must be "POST" or "PUT" (got ${shown(v)})`)),
    admin: { widget: 'select', values: ['POST', 'PUT'] },
  }),
  /** Request timeout in ms for this endpoint (null: the module's), at most `maxRequestTimeoutMs`. */
  timeoutMs: optional<number | null>({
    default: null,
    check: (v, { rules }) => limit('timeoutMs', () => rules.maxTimeoutMs, ' (maxRequestTimeoutMs)')(v),
    admin: { widget: 'integer', description: 'Request timeout in ms; empty: the module default.' },
  }),
  /** Deliveries in flight to this endpoint at most, across all workers (null: the module's `maxInFlightPerEndpoint`). */
  maxInFlight: optional<number | null>({
    default: null,
    check: limit('maxInFlight', () => MAX_IN_FLIGHT),
    admin: { widget: 'integer', description: 'Deliveries in flight at most, across workers; empty: the module default.' },
  }),
  /** At most `max` requests per `perMs` milliseconds to this endpoint (null: the module's `rateLimit`). */
  rateLimit: optional<{ max: number; perMs: number } | null>({
    default: null,
    check: (v) => {
      const problem = rateLimitProblem(v);
      if (problem) return bad(`rateLimit ${problem}`);
      const limit = v as { max: number; perMs: number } | null | undefined;
      return ok(limit ? { max: limit.max, perMs: limit.perMs } : null);
    },
    admin: { widget: 'json', description: 'JSON { "max": 10, "perMs": 1000 }: requests per window at most; empty: the module default.' },
  }),
  /** Retry delays in ms for this endpoint (null: the module's schedule). */
  retrySchedule: optional<number[] | null>({
    default: null,
    check: (v) =>
      v === null
        ? ok(null)
        : !Array.isArray(v) || v.length > MAX_RETRIES || v.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_RETRY_DELAY_MS)
          ? bad(
              `retrySchedule must be null or a list of at most ${MAX_RETRIES} delays in milliseconds, each from 0 to ${MAX_RETRY_DELAY_MS} (7 days)`,
            )
          : ok(v as number[]),
    admin: { widget: 'json', description: 'JSON list of retry delays in ms, e.g. [5000, 300000]; empty: the module default.' },
  }),
  /** Extra request headers (e.g. a static `authorization` the receiver expects). Stored encrypted. */
  headers: optional<Record<string, string> | null>({
    default: null,
    check: (v) => {
      const result = headersProblem(v);
      return typeof result === 'string' ? bad(result) : ok(result);
    },
    // Values of sensitive headers (authorization, *token*, *key*...) show as HIDDEN_HEADER_VALUE.
    sealed: {
      mask: (headers) =>
        Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, SENSITIVE_HEADER.test(n) ? HIDDEN_HEADER_VALUE : v])),
    },
    admin: {
      widget: 'json',
      description: 'JSON object of extra request headers. Sensitive values show as ••••••; leave them so to keep them.',
    },
  }),
  /** Only events passing these conditions, keyed by entity name: `{ "order": { "bucket": "eu" } }`. */
  filters: optional<EndpointFilters | null>({
    default: null,
    check: (v, { rules }) => {
      const problems = filtersProblems(v, rules.fieldsOf ?? (() => undefined));
      return problems.length ? bad(...problems) : ok(v as EndpointFilters | null);
    },
    admin: { widget: 'json', description: 'JSON conditions per entity, e.g. {"order": {"status": {"in": ["paid"]}}}; empty: every event.' },
  }),
  /** Which top-level fields of `data` and `changes` this endpoint gets. */
  fields: optional<EndpointFields | null>({
    default: null,
    check: (v) => {
      const result = fieldsProblem(v);
      return typeof result === 'string' ? bad(result) : ok(result);
    },
    admin: { widget: 'json', description: 'JSON {"include": [...], "exclude": [...], "redact": [...]} for data and changes.' },
  }),
  /** Name of a `@WebhookTransformer()` that reshapes the body for this endpoint. */
  transform: optional<string | null>({
    default: null,
    check: registered('transform', '@WebhookTransformer', (r) => r.transformers),
    admin: { widget: 'text' },
  }),
  /** Name of a `@WebhookHeaderProvider()` that adds headers at send time. */
  headerProvider: optional<string | null>({
    default: null,
    check: registered('headerProvider', '@WebhookHeaderProvider', (r) => r.headerProviders),
    admin: { widget: 'text' },
  }),
  /** OAuth2 client credentials: a bearer token is fetched, cached until it expires, and sent. Stored encrypted. */
  auth: optional<EndpointAuth | null>({
    default: null,
    check: (v, { rules }) => {
      const result = authProblem(v, rules);
      return typeof result === 'string' ? bad(result) : ok(result);
    },
    // The client secret shows as HIDDEN_HEADER_VALUE.
    sealed: { mask: (auth) => ({ ...auth, clientSecret: HIDDEN_HEADER_VALUE }) },
    admin: {
      widget: 'json',
      description:
        'JSON OAuth2 client credentials: {"type": "oauth2", "tokenUrl": "...", "clientId": "...", "clientSecret": "..."}. The client secret shows as ••••••; leave it so to keep it.',
    },
  }),
};

type Fields = typeof ENDPOINT_FIELDS;
export type EndpointFieldName = keyof Fields;
type ValueOf<K extends EndpointFieldName> = Fields[K] extends EndpointFieldSpec<infer T> ? T : never;

/** The field names, in the table's order. */
export const ENDPOINT_FIELD_NAMES = Object.keys(ENDPOINT_FIELDS) as EndpointFieldName[];

/** Fields a caller may set on an endpoint (`url` and `topics` required). */
export type EndpointInput = { [K in EndpointFieldName as Fields[K]['required'] extends true ? K : never]: ValueOf<K> } & {
  [K in EndpointFieldName as Fields[K]['required'] extends true ? never : K]?: ValueOf<K>;
};

/** Every field's value as stored and shown (sealed ones opened, and masked in views). */
export type EndpointFieldValues = { [K in EndpointFieldName]: ValueOf<K> };

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
  // Before any recursive walk of it (a check, the JSON of a message or of the stored column) overflows the stack.
  if (depthOf(input) > MAX_INPUT_DEPTH)
    throw new WebhookValidationError(`Invalid endpoint: it nests deeper than ${MAX_INPUT_DEPTH} levels.`);
  const body = input as Record<string, unknown>;
  const problems: string[] = [];
  const byField: Record<string, string[]> = {};
  const problem = (field: string, ...messages: string[]) => {
    problems.push(...messages);
    (byField[field] ??= []).push(...messages);
  };
  for (const key of Object.keys(body)) if (!Object.hasOwn(ENDPOINT_FIELDS, key)) problem(key, `unknown field "${key}"`);
  const out: Record<string, unknown> = {};
  const context: FieldContext = { partial, knownTopics, rules };
  for (const name of ENDPOINT_FIELD_NAMES) {
    const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name];
    if (body[name] === undefined && (partial || !spec.required)) continue;
    const result = spec.check(body[name], context);
    if ('problems' in result) problem(name, ...result.problems);
    else if (JSON_COLUMNS.has(name) && Buffer.byteLength(JSON.stringify(result.value) ?? '') > MAX_JSON_COLUMN_BYTES) {
      problem(name, `${name} is longer than ${MAX_JSON_COLUMN_BYTES} bytes as stored JSON`);
    } else out[name] = result.value;
  }
  if (problems.length) throw new WebhookValidationError(`Invalid endpoint: ${problems.join('; ')}.`, byField);
  return out as Partial<EndpointInput>;
}
