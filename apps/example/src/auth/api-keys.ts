import { createHash, randomBytes } from 'node:crypto';

/** Customer API keys: `ck_` and 32 base64url characters (192 random bits). */
export const API_KEY_PREFIX = 'ck_';

export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** The stored form of a key: hex SHA-256. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
