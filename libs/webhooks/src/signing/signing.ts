import { createHmac, randomBytes } from 'node:crypto';

/** Prefix of Standard Webhooks symmetric secrets. */
export const SECRET_PREFIX = 'whsec_';

/** A new `whsec_<base64>` secret of `bytes` random bytes (Standard Webhooks allows 24 to 64). */
export function generateSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 24 || bytes > 64) {
    throw new RangeError(`A webhook secret must have 24 to 64 random bytes (got ${bytes}).`);
  }
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/** The HMAC key of a `whsec_` secret (the base64 part, decoded). */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new RangeError('A webhook secret must be base64 after its "whsec_" prefix.');
  return key;
}

/**
 * The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each key, space-separated
 * (several keys while a rotated secret is still in its grace window).
 */
export function sign(id: string, timestamp: number, body: string, keys: readonly Buffer[]): string {
  const content = `${id}.${timestamp}.${body}`;
  let header = '';
  for (const key of keys) {
    if (header) header += ' ';
    header += 'v1,' + createHmac('sha256', key).update(content).digest('base64');
  }
  return header;
}

/** The three Standard Webhooks headers for one attempt. `timestamp` is Unix seconds. */
export function signatureHeaders(
  id: string,
  timestamp: number,
  body: string,
  keys: readonly Buffer[],
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(id, timestamp, body, keys),
  };
}
