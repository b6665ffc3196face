import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookConfigurationError, WebhooksError } from '../errors/webhooks.errors.js';
import { SECRET_PREFIX } from '../signing/signing.js';

/** Why a received webhook was rejected (`WebhookVerificationError.reason`). */
export type WebhookVerificationFailure =
  | 'missing-headers'
  | 'invalid-timestamp'
  | 'timestamp-too-old'
  | 'timestamp-too-new'
  | 'invalid-signature'
  | 'invalid-payload'
  | 'no-secret';

/** A received webhook failed verification; `reason` says which check, the message says how. Never names a secret. */
export class WebhookVerificationError extends WebhooksError {
  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A webhook whose signature and timestamp checked out. */
export interface VerifiedWebhook {
  /** `webhook-id`: the message id, the same on every retry of one message (dedupe processing by it). */
  id: string;
  /** `webhook-timestamp`, Unix seconds. */
  timestamp: number;
  /** The exact body text that was signed. */
  body: string;
  /** `JSON.parse(body)`. */
  payload: unknown;
}

/**
 * Request headers: a Node `IncomingHttpHeaders`-like record (any key case, values string or string[]) or a
 * WHATWG `Headers` instance (anything with `get(name)`).
 */
export type WebhookHeaders = { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, in the past or the future, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The current time in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

const SIGNATURE_BYTES = 32; // HMAC-SHA256
const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies Standard Webhooks (v1, symmetric) requests against one or more secrets, with the HMAC keys decoded once.
 * Several secrets verify during a rotation: a request passes when any `v1` signature matches any secret.
 */
export class WebhookVerifier {
  private readonly keys: readonly Buffer[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;
  private fingerprintValue: string | undefined;

  /** Throws `WebhookVerificationError` (reason `no-secret`) when no usable secret is given. */
  constructor(secrets: string | readonly string[], options: VerifyWebhookOptions = {}) {
    this.toleranceSeconds = checkTolerance(options.toleranceSeconds);
    this.now = options.now ?? Date.now;
    this.keys = decodeSecrets(secrets);
  }

  /**
   * A short hash naming this set of secrets (order does not matter), not revealing them: scopes replay keys to the
   * sender the secrets belong to.
   */
  get fingerprint(): string {
    this.fingerprintValue ??= createHash('sha256')
      .update(
        this.keys
          .map((k) => k.toString('base64'))
          .sort()
          .join(' '),
      )
      .digest('base64url')
      .slice(0, 22);
    return this.fingerprintValue;
  }

  /**
   * Checks, in order: the three headers are present, the timestamp is digits, it is within the tolerance (past,
   * then future), a signature matches, the body is JSON. The first failed check throws `WebhookVerificationError`.
   * `rawBody` must be the body exactly as received (a Buffer is used byte for byte and decoded as UTF-8).
   */
  verify(rawBody: string | Buffer, headers: WebhookHeaders): VerifiedWebhook {
    const id = header(headers, 'id');
    const timestampText = header(headers, 'timestamp');
    const signature = header(headers, 'signature');
    const missing = [id, timestampText, signature].filter((h) => !h.value).map((h) => h.name);
    if (missing.length > 0) {
      throw new WebhookVerificationError(
        'missing-headers',
        `Missing webhook header${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
          `(the svix-id, svix-timestamp and svix-signature names are accepted too).`,
      );
    }

    const timestamp = /^\d+$/.test(timestampText.value!) ? Number(timestampText.value) : NaN;
    if (!Number.isSafeInteger(timestamp)) {
      throw new WebhookVerificationError(
        'invalid-timestamp',
        `${timestampText.name} ${JSON.stringify(clip(timestampText.value!))} is not a Unix time in seconds (digits only).`,
      );
    }
    const age = Math.floor(this.now() / 1000) - timestamp;
    if (age > this.toleranceSeconds) {
      throw new WebhookVerificationError(
        'timestamp-too-old',
        `${timestampText.name} is ${age} s in the past; the tolerance is ${this.toleranceSeconds} s.`,
      );
    }
    if (-age > this.toleranceSeconds) {
      throw new WebhookVerificationError(
        'timestamp-too-new',
        `${timestampText.name} is ${-age} s in the future; the tolerance is ${this.toleranceSeconds} s.`,
      );
    }

    // The signed content is "id.timestamp.body" with the body exactly as received: never re-serialise it.
    const prefix = `${id.value}.${timestampText.value}.`;
    const bodyBytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    const candidates = v1Signatures(signature.value!);
    if (candidates.length === 0) {
      throw new WebhookVerificationError(
        'invalid-signature',
        `${signature.name} holds no v1 signature of ${SIGNATURE_BYTES} bytes (expected "v1,<base64>" entries separated by spaces).`,
      );
    }
    if (!this.matches(prefix, bodyBytes, candidates)) {
      throw new WebhookVerificationError(
        'invalid-signature',
        `No signature in ${signature.name} matches the body signed with the configured secret` +
          `${this.keys.length > 1 ? 's' : ''} (${candidates.length} v1 signature${candidates.length > 1 ? 's' : ''} checked).`,
      );
    }

    const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new WebhookVerificationError('invalid-payload', `The webhook body is correctly signed but is not valid JSON.`);
    }
    return { id: id.value!, timestamp, body, payload };
  }

  private matches(prefix: string, body: Buffer, candidates: readonly Buffer[]): boolean {
    for (const key of this.keys) {
      const expected = createHmac('sha256', key).update(prefix, 'utf8').update(body).digest();
      for (const candidate of candidates) {
        if (timingSafeEqual(expected, candidate)) return true;
      }
    }
    return false;
  }
}

/**
 * Verifies one received webhook (see `WebhookVerifier.verify` for the checks). Throws `WebhookVerificationError`.
 * To verify many requests with the same secrets, build a `WebhookVerifier` once instead.
 */
export function verifyWebhook(
  rawBody: string | Buffer,
  headers: WebhookHeaders,
  secrets: string | readonly string[],
  options?: VerifyWebhookOptions,
): VerifiedWebhook {
  return new WebhookVerifier(secrets, options).verify(rawBody, headers);
}

/** A tolerance option, checked: a finite number of seconds, 0 or more. */
export function checkTolerance(toleranceSeconds: number | undefined): number {
  const tolerance = toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new WebhookConfigurationError(
      `toleranceSeconds must be a finite number of seconds, 0 or more (got ${String(toleranceSeconds)}).`,
    );
  }
  return tolerance;
}

/** The HMAC keys of `whsec_<base64>` (or bare base64) secrets. Messages say which secret, never what it is. */
function decodeSecrets(secrets: string | readonly string[]): Buffer[] {
  const list: readonly unknown[] = typeof secrets === 'string' ? [secrets] : Array.isArray(secrets) ? secrets : [];
  if (list.length === 0) {
    throw new WebhookVerificationError('no-secret', 'No webhook secret is configured to verify this webhook with.');
  }
  return list.map((secret, i) => {
    const which = list.length > 1 ? `Webhook secret #${i + 1}` : 'The webhook secret';
    if (typeof secret !== 'string') {
      throw new WebhookVerificationError('no-secret', `${which} is ${secret === undefined ? 'undefined' : 'not a string'}.`);
    }
    const trimmed = secret.trim();
    const encoded = trimmed.startsWith(SECRET_PREFIX) ? trimmed.slice(SECRET_PREFIX.length) : trimmed;
    const key = STANDARD_BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length === 0) {
      throw new WebhookVerificationError(
        'no-secret',
        `${which} is not a Standard Webhooks secret: expected "${SECRET_PREFIX}" followed by base64 (or the base64 alone).`,
      );
    }
    return key;
  });
}

type HeaderPart = 'id' | 'timestamp' | 'signature';

/** `webhook-<part>`, else `svix-<part>`: the value (undefined when absent or empty) and the name it came from. */
function header(headers: WebhookHeaders, part: HeaderPart): { name: string; value: string | undefined } {
  for (const name of [`webhook-${part}`, `svix-${part}`]) {
    const value = lookup(headers, name);
    if (value) return { name, value };
  }
  return { name: `webhook-${part}`, value: undefined };
}

function lookup(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  // Repeated headers: joined the way Node joins them; the signature list is space-separated anyway.
  return typeof value === 'string' ? value : value.join(name.endsWith('-signature') ? ' ' : ', ');
}

/** The decoded `v1,<base64>` entries of a signature header that are 32 bytes long; other versions are ignored. */
function v1Signatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const decoded = Buffer.from(entry.slice(comma + 1), 'base64');
    if (decoded.length === SIGNATURE_BYTES) signatures.push(decoded);
  }
  return signatures;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
