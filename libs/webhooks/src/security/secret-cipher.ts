import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';

/** One AES-256 key: an id (stored with every value it encrypts) and 32 bytes as base64 or hex. */
export interface EncryptionKey {
  id: string;
  key: string;
}

/** Prefix of an encrypted value: `enc:v1:<keyId>:<base64 of iv(12) | ciphertext | tag(16)>`. */
const PREFIX = 'enc:v1:';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Encrypts values stored at rest (signing secrets, custom header values) with AES-256-GCM. The first key
 * encrypts; every key decrypts, so a key is rotated by putting the new one first and keeping the old one until
 * `WebhooksService.reencryptSecrets()` has run. Each value is bound to its row (the GCM associated data), so a
 * ciphertext copied to another row does not decrypt.
 *
 * Without keys, values are stored as they are (development only; start-up warns, and fails when encryption is
 * required).
 */
export class SecretCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: { id: string; key: Buffer } | undefined;

  constructor(keys: readonly EncryptionKey[]) {
    const problems: string[] = [];
    for (const { id, key } of keys) {
      if (typeof id !== 'string' || !KEY_ID.test(id)) {
        problems.push(`key id ${JSON.stringify(id)} must be 1-32 letters, digits, "_" or "-"`);
        continue;
      }
      if (this.keys.has(id)) problems.push(`key id "${id}" is used twice`);
      const bytes = decodeKey(key);
      if (!bytes) problems.push(`key "${id}" must be 32 bytes, written as base64 (44 characters) or hex (64 characters)`);
      else this.keys.set(id, bytes);
    }
    if (problems.length) throw new WebhookConfigurationError(`Invalid encryption keys: ${problems.join('; ')}.`);
    const first = keys[0];
    this.current = first ? { id: first.id, key: this.keys.get(first.id)! } : undefined;
  }

  /** Whether values are encrypted (a key is configured). */
  get enabled(): boolean {
    return this.current !== undefined;
  }

  /** Id of the key that encrypts new values. */
  get currentKeyId(): string | undefined {
    return this.current?.id;
  }

  /** The stored form of `plaintext` for the row named by `context` (e.g. `webhook_secret:<id>`). */
  encrypt(plaintext: string, context: string): string {
    if (!this.current) return plaintext;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${this.current.id}:${body.toString('base64')}`;
  }

  /** The plaintext of a stored value. Throws a configuration error naming the key id when that key is missing. */
  decrypt(stored: string, context: string): string {
    if (!isEncrypted(stored)) return stored;
    const rest = stored.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    const keyId = rest.slice(0, colon);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new WebhookConfigurationError(
        `${context} is encrypted with key "${keyId}", which is not among the configured encryption keys ` +
          `(${[...this.keys.keys()].join(', ') || 'none'}). Add that key back (after the current one) to decrypt it.`,
      );
    }
    const body = Buffer.from(rest.slice(colon + 1), 'base64');
    if (body.length < 28) throw new WebhookConfigurationError(`${context} holds a damaged encrypted value.`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookConfigurationError(
        `${context} does not decrypt with key "${keyId}": the value was altered, moved from another row, or the key ` +
          `with that id is not the one that encrypted it.`,
      );
    }
  }

  /** Whether a stored value needs re-encrypting: plaintext while a key is set, or under a key other than the first. */
  isStale(stored: string): boolean {
    if (!this.current) return false;
    return !stored.startsWith(`${PREFIX}${this.current.id}:`);
  }
}

export function isEncrypted(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/**
 * Parses keys from one environment variable: `id:key` pairs separated by commas, the encrypting key first,
 * e.g. `WEBHOOKS_ENCRYPTION_KEYS=k2:<base64>,k1:<base64>`.
 */
export function parseEncryptionKeys(value: string | undefined): EncryptionKey[] {
  if (!value?.trim()) return [];
  return value.split(',').map((pair, i) => {
    const colon = pair.indexOf(':');
    if (colon <= 0) {
      throw new WebhookConfigurationError(`Encryption key ${i + 1} must be written as <id>:<base64 or hex key>.`);
    }
    return { id: pair.slice(0, colon).trim(), key: pair.slice(colon + 1).trim() };
  });
}

function decodeKey(key: unknown): Buffer | undefined {
  if (typeof key !== 'string') return undefined;
  const bytes = /^[0-9a-fA-F]{64}$/.test(key)
    ? Buffer.from(key, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(key)
      ? Buffer.from(key, 'base64')
      : undefined;
  return bytes?.length === 32 ? bytes : undefined;
}
