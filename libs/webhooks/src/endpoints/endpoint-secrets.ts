import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, MoreThan, type EntityManager } from 'typeorm';
import { WebhookEndpoint, WebhookSecret } from '../entities/index.js';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { newId } from '../ids.js';
import { isEncrypted, SecretCipher } from '../security/secret-cipher.js';
import { generateSecret } from '../signing/signing.js';
import type { EndpointAuth } from './endpoint-input.js';
import { shown } from '../util/shown.js';

/** Default grace window of a rotated secret (Svix: 24 h). */
export const DEFAULT_GRACE_SECONDS = 86_400;
/** Longest grace window (Svix: 7 days). */
export const MAX_GRACE_SECONDS = 7 * 86_400;
/** Secrets that may sign at once: the primary and the rotated ones still in their grace window. */
export const MAX_LIVE_SECRETS = 5;

export interface RotatedSecret {
  /** The new primary secret. Shown here once. */
  secret: string;
  /** When the last of the previous secrets stops signing (null: there were none). */
  previousSecretsExpireAt: Date | null;
}

export interface RotateSecretOptions {
  /** Seconds the previous secrets keep signing, 0 to 604800 (7 days). 0 ends them at once (a leaked secret). */
  graceSeconds?: number;
}

/** Stored form of secret rows and header maps, and the rotation of secrets. */
@Injectable()
export class EndpointSecrets {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: SecretCipher,
  ) {}

  /** Inserts a new primary secret for an endpoint (inside the caller's transaction). */
  async insert(manager: EntityManager, endpointId: string, secret: string, now: Date): Promise<void> {
    const id = newId('whs');
    await manager.insert(WebhookSecret, {
      id,
      endpointId,
      secret: this.cipher.encrypt(secret, secretContext(id)),
      createdAt: now,
      expiresAt: null,
    });
  }

  /** The plaintext of a secret row. */
  reveal(row: Pick<WebhookSecret, 'id' | 'secret'>): string {
    return this.cipher.decrypt(row.secret, secretContext(row.id));
  }

  /** Whether a stored value is plaintext although encryption keys are configured (written before they were). */
  isPlaintextAtRest(stored: string | null): boolean {
    return stored !== null && this.cipher.enabled && !isEncrypted(stored);
  }

  /**
   * Stored form of an endpoint's encrypted JSON column (`headers`: custom headers; `auth`: OAuth2 settings with the
   * client secret). Empty values are stored as null.
   */
  seal(endpointId: string, column: SealedColumn, value: object | null | undefined): string | null {
    if (!value || Object.keys(value).length === 0) return null;
    return this.cipher.encrypt(JSON.stringify(value), columnContext(column, endpointId));
  }

  openHeaders(endpoint: Pick<WebhookEndpoint, 'id' | 'headers'>): Record<string, string> | null {
    return this.open(endpoint.id, 'headers', endpoint.headers) as Record<string, string> | null;
  }

  openAuth(endpoint: Pick<WebhookEndpoint, 'id' | 'auth'>): EndpointAuth | null {
    return this.open(endpoint.id, 'auth', endpoint.auth) as EndpointAuth | null;
  }

  /** The value of an encrypted JSON column (null when empty). */
  open(endpointId: string, column: SealedColumn, stored: string | null): unknown {
    return stored ? JSON.parse(this.cipher.decrypt(stored, columnContext(column, endpointId))) : null;
  }

  /** Secrets that sign now, primary first, in plaintext: for a receiver in the same process (demos, tests). */
  async signingSecrets(endpointId: string): Promise<string[]> {
    const rows = await this.dataSource.getRepository(WebhookSecret).find({
      where: [
        { endpointId, expiresAt: IsNull() },
        { endpointId, expiresAt: MoreThan(new Date()) },
      ],
      order: { createdAt: 'DESC', id: 'DESC' },
    });
    return rows.sort((a, b) => Number(a.expiresAt !== null) - Number(b.expiresAt !== null)).map((r) => this.reveal(r));
  }

  /**
   * Makes a new secret the primary one. The previous secrets keep signing (one signature each in
   * `webhook-signature`) until `now + graceSeconds`, or their own earlier expiry; expired rows are deleted.
   */
  async rotate(endpointId: string, options: RotateSecretOptions = {}): Promise<RotatedSecret> {
    const grace = validateRotation(options);
    const secret = generateSecret();
    const previousSecretsExpireAt = await this.dataSource.transaction(async (manager) => {
      // Serialises rotations of one endpoint (a row lock on PostgreSQL; SQLite writes one at a time anyway).
      const locked = await manager
        .createQueryBuilder()
        .update(WebhookEndpoint)
        .set({ updatedAt: new Date() })
        .where({ id: endpointId })
        .execute();
      if (!locked.affected) throw new WebhookNotFoundError('Webhook endpoint', endpointId);
      // Taken under the lock, so rotations of one endpoint see increasing times.
      const now = new Date();
      const graceEnd = new Date(now.getTime() + grace * 1000);
      const rows = await manager.find(WebhookSecret, { where: { endpointId } });
      const live = rows.filter((r) => r.expiresAt === null || r.expiresAt > now);
      const dead = rows.filter((r) => !live.includes(r));
      if (grace > 0 && live.length + 1 > MAX_LIVE_SECRETS) {
        const until = new Date(Math.min(...live.filter((r) => r.expiresAt).map((r) => r.expiresAt!.getTime())));
        throw new WebhookConflictError(
          `Webhook endpoint ${endpointId} already has ${live.length} secrets that sign (at most ${MAX_LIVE_SECRETS}); ` +
            `the next grace window ends at ${until.toISOString()}. Rotate with graceSeconds 0 to retire them now.`,
        );
      }
      let latest: Date | null = null;
      for (const row of live) {
        const expiresAt = row.expiresAt && row.expiresAt < graceEnd ? row.expiresAt : graceEnd;
        if (!latest || expiresAt > latest) latest = expiresAt;
        if (grace === 0)
          dead.push(row); // retired now: nothing left to keep
        else if (row.expiresAt?.getTime() !== expiresAt.getTime()) await manager.update(WebhookSecret, { id: row.id }, { expiresAt });
      }
      if (dead.length)
        await manager.delete(
          WebhookSecret,
          dead.map((r) => r.id),
        );
      await this.insert(manager, endpointId, secret, now);
      return latest;
    });
    return { secret, previousSecretsExpireAt };
  }

  /**
   * Re-encrypts every stored secret and header map that is in plaintext or under a key other than the first of
   * `encryptionKeys`. Run it after putting a new key first, on an instance that has all keys; then the old key
   * can be removed. Returns how many secrets and endpoint values (headers, OAuth2 settings) changed.
   */
  async reencrypt(): Promise<{ secrets: number; values: number }> {
    if (!this.cipher.enabled) return { secrets: 0, values: 0 };
    let secrets = 0;
    let values = 0;
    await this.dataSource.transaction(async (manager) => {
      for (const row of await manager.find(WebhookSecret)) {
        if (!this.cipher.isStale(row.secret)) continue;
        await manager.update(WebhookSecret, { id: row.id }, { secret: this.cipher.encrypt(this.reveal(row), secretContext(row.id)) });
        secrets++;
      }
      const endpoints = await manager.find(WebhookEndpoint, { select: { id: true, headers: true, auth: true } });
      for (const e of endpoints) {
        if (e.headers && this.cipher.isStale(e.headers)) {
          await manager.update(WebhookEndpoint, { id: e.id }, { headers: this.seal(e.id, 'headers', this.openHeaders(e)) });
          values++;
        }
        if (e.auth && this.cipher.isStale(e.auth)) {
          await manager.update(WebhookEndpoint, { id: e.id }, { auth: this.seal(e.id, 'auth', this.openAuth(e)) });
          values++;
        }
      }
    });
    return { secrets, values };
  }
}

function validateRotation(options: unknown): number {
  if (options === undefined || options === null) return DEFAULT_GRACE_SECONDS;
  if (typeof options !== 'object' || Array.isArray(options))
    throw new WebhookValidationError('The rotation request must be a JSON object.');
  const unknown = Object.keys(options).filter((k) => k !== 'graceSeconds');
  if (unknown.length)
    throw new WebhookValidationError(`Invalid rotation request: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}.`);
  const grace = (options as RotateSecretOptions).graceSeconds;
  if (grace === undefined) return DEFAULT_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
    throw new WebhookValidationError(
      `Invalid rotation request: graceSeconds must be an integer from 0 to ${MAX_GRACE_SECONDS} (7 days) (got ${shown(grace)}).`,
    );
  }
  return grace;
}

const secretContext = (id: string) => `webhook_secret:${id}`;
/** The endpoint columns stored encrypted. */
type SealedColumn = 'headers' | 'auth';
const columnContext = (column: SealedColumn, endpointId: string) => `webhook_endpoint.${column}:${endpointId}`;
