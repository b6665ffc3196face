import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, IsNull, type EntityManager } from 'typeorm';
import { EndpointGate } from '../delivery/endpoint-gate.js';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { EndpointHealth } from '../endpoints/endpoint-health.js';
import {
  ENDPOINT_FIELD_NAMES,
  ENDPOINT_FIELDS,
  HIDDEN_HEADER_VALUE,
  isOwnerId,
  ownerIdProblem,
  validateEndpointInput,
  type EndpointFieldName,
  type EndpointFieldSpec,
  type EndpointAuth,
  type EndpointInput,
  type EndpointRules,
} from '../endpoints/endpoint-input.js';
import { EndpointSecrets, type RotateSecretOptions, type RotatedSecret } from '../endpoints/endpoint-secrets.js';
import { WebhookEndpoint } from '../entities/index.js';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { WebhookExtensions } from '../extensions/extensions.js';
import { newId } from '../ids.js';
import { EntityRegistry } from '../registry/entity-registry.js';
import { NetworkPolicy } from '../security/network-policy.js';
import { generateSecret } from '../signing/signing.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { withOwnerLock } from './owner-lock.js';
import { EndpointViews, type CreatedEndpoint, type EndpointView } from './views.js';

const DISABLED_BY_OPERATOR = 'Disabled by an operator.';

/**
 * Endpoints: create, change, enable and disable, delete, read; their secrets. Every change is announced to the
 * endpoint caches of all instances.
 */
@Injectable()
export class EndpointsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly cache: EndpointCache,
    private readonly health: EndpointHealth,
    private readonly secrets: EndpointSecrets,
    private readonly network: NetworkPolicy,
    private readonly extensions: WebhookExtensions,
    private readonly gate: EndpointGate,
    private readonly views: EndpointViews,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  async create(input: EndpointInput): Promise<CreatedEndpoint> {
    const fields = validateEndpointInput(input, this.registry.topics(), false, this.rules());
    const secret = generateSecret();
    const id = newId('ep');
    const transaction = <T>(fn: (manager: EntityManager) => Promise<T>) =>
      fields.ownerId ? withOwnerLock(this.dataSource, fields.ownerId, fn) : this.dataSource.transaction(fn);
    const endpoint = await transaction(async (manager) => {
      if (fields.ownerId) await this.checkOwnerLimit(manager, fields.ownerId);
      // Each field as given, else its default; encrypted ones sealed.
      const values: Record<string, unknown> = {};
      for (const name of ENDPOINT_FIELD_NAMES) {
        const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name];
        const value = (fields as Record<string, unknown>)[name] ?? spec.default;
        values[name] = spec.sealed ? this.secrets.seal(id, name as 'headers' | 'auth', value as object | null) : value;
      }
      const row = manager.create(WebhookEndpoint, {
        ...(values as Partial<WebhookEndpoint>),
        id,
        disabledAt: fields.active === false ? new Date() : null,
        disabledReason: fields.active === false ? DISABLED_BY_OPERATOR : null,
      });
      await manager.save(row);
      await this.secrets.insert(manager, row.id, secret, new Date());
      return row;
    });
    await this.cache.changed();
    return { ...this.views.one(endpoint, undefined, (await this.views.states([id]))?.get(id)), secret };
  }

  async rotateSecret(endpointId: string, options: RotateSecretOptions = {}): Promise<RotatedSecret> {
    await this.find(endpointId);
    const rotated = await this.secrets.rotate(endpointId, options);
    await this.cache.changed();
    return rotated;
  }

  async signingSecrets(endpointId: string): Promise<string[]> {
    await this.find(endpointId);
    return this.secrets.signingSecrets(endpointId);
  }

  async reencryptSecrets(): Promise<{ secrets: number; values: number }> {
    const result = await this.secrets.reencrypt();
    await this.cache.changed();
    return result;
  }

  async update(id: string, patch: Partial<EndpointInput>): Promise<EndpointView> {
    const endpoint = await this.find(id);
    patch = this.keepStoredHeaderValues(endpoint, this.keepStoredClientSecret(endpoint, patch));
    const { active, ...fields } = validateEndpointInput(patch, this.registry.topics(), true, this.rules());
    const columns: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(fields)) {
      const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name as EndpointFieldName];
      columns[name] = spec.sealed ? this.secrets.seal(id, name as 'headers' | 'auth', value as object | null) : value;
    }
    if (Object.keys(columns).length) {
      // Only the patched columns: a concurrent auto-disable or health update must not be written back.
      const write = (manager: EntityManager) =>
        manager.getRepository(WebhookEndpoint).update({ id }, columns as Partial<WebhookEndpoint> as never);
      const newOwner = fields.ownerId && fields.ownerId !== endpoint.ownerId ? fields.ownerId : undefined;
      if (newOwner) {
        await withOwnerLock(this.dataSource, newOwner, async (manager) => {
          await this.checkOwnerLimit(manager, newOwner);
          await write(manager);
        });
      } else await write(this.dataSource.manager);
      await this.cache.changed();
    }
    if (active === true && !endpoint.active) await this.enable(id);
    if (active === false && endpoint.active) await this.disable(id);
    return this.get(id);
  }

  async enable(id: string): Promise<EndpointView> {
    await this.find(id);
    await this.health.enable(id);
    await this.gate.reset(id).catch(() => undefined); // a clean slate: no pause, circuit closed
    return this.get(id);
  }

  async disable(id: string, reason = DISABLED_BY_OPERATOR): Promise<EndpointView> {
    await this.find(id);
    await this.health.disable(id, reason);
    return this.get(id);
  }

  async resetHealth(id: string): Promise<EndpointView> {
    await this.find(id);
    await this.health.reset(id);
    await this.gate.reset(id).catch(() => undefined); // also closes the circuit and lifts a pause
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const result = await this.dataSource.getRepository(WebhookEndpoint).delete({ id });
    if (!result.affected) throw new WebhookNotFoundError('Webhook endpoint', id);
    await this.cache.changed();
    await this.gate.forget(id).catch(() => undefined);
  }

  async get(id: string): Promise<EndpointView> {
    const [view] = await this.views.of([await this.find(id)]);
    return view;
  }

  /** The endpoints with these ids, in the order given (ids that do not exist are left out). */
  async getMany(ids: readonly string[]): Promise<EndpointView[]> {
    if (ids.length === 0) return [];
    const rows = await this.dataSource.getRepository(WebhookEndpoint).findBy({ id: In([...ids]) });
    const byId = new Map(rows.map((e) => [e.id, e]));
    return this.views.of(ids.flatMap((id) => byId.get(id) ?? []));
  }

  /** Every endpoint, newest first; with `ownerId`, only that owner's (null: only the ownerless ones). */
  async list(options: { ownerId?: string | null } = {}): Promise<EndpointView[]> {
    const owned = options.ownerId !== undefined;
    if (owned && options.ownerId !== null && !isOwnerId(options.ownerId)) {
      throw new WebhookValidationError(`${ownerIdProblem('ownerId', options.ownerId, true)}.`);
    }
    const rows = await this.dataSource.getRepository(WebhookEndpoint).find({
      where: owned ? { ownerId: options.ownerId === null ? IsNull() : options.ownerId } : {},
      order: { createdAt: 'DESC', id: 'DESC' },
    });
    return this.views.of(rows, { allEndpoints: !owned });
  }

  /** Refuses one more endpoint for an owner at `maxEndpointsPerOwner`. */
  private async checkOwnerLimit(manager: EntityManager, ownerId: string): Promise<void> {
    const max = this.options.maxEndpointsPerOwner;
    const count = await manager.getRepository(WebhookEndpoint).countBy({ ownerId });
    if (count >= max) {
      throw new WebhookConflictError(
        `Owner ${JSON.stringify(ownerId)} has ${count} webhook endpoints, the most maxEndpointsPerOwner (${max}) allows; delete one first.`,
      );
    }
  }

  /** The endpoint row, or a not-found error naming the id. */
  async find(id: string): Promise<WebhookEndpoint> {
    // findOneBy({ id: undefined }) would match any row; PostgreSQL refuses a NUL character (no id holds one).
    if (typeof id !== 'string' || id.includes('\0')) throw new WebhookNotFoundError('Webhook endpoint', String(id));
    const endpoint = await this.dataSource.getRepository(WebhookEndpoint).findOneBy({ id });
    if (!endpoint) throw new WebhookNotFoundError('Webhook endpoint', id);
    return endpoint;
  }

  private keepStoredClientSecret(endpoint: WebhookEndpoint, patch: Partial<EndpointInput>): Partial<EndpointInput> {
    const given = (patch as { auth?: unknown } | null)?.auth;
    if (!given || typeof given !== 'object' || Array.isArray(given)) return patch;
    const a = given as Partial<EndpointAuth>;
    if (a.clientSecret !== undefined && a.clientSecret !== HIDDEN_HEADER_VALUE) return patch;
    const stored = this.secrets.openAuth(endpoint);
    if (!stored || typeof a.tokenUrl !== 'string' || !URL.canParse(a.tokenUrl)) return patch;
    if (new URL(a.tokenUrl).toString() !== stored.tokenUrl || a.clientId !== stored.clientId) return patch;
    return { ...patch, auth: { ...a, clientSecret: stored.clientSecret } as EndpointAuth };
  }

  /** A header sent back with the placeholder shown for hidden values keeps its stored value (same name). */
  private keepStoredHeaderValues(endpoint: WebhookEndpoint, patch: Partial<EndpointInput>): Partial<EndpointInput> {
    const given = (patch as { headers?: unknown } | null)?.headers;
    if (!given || typeof given !== 'object' || Array.isArray(given)) return patch;
    if (!Object.values(given).includes(HIDDEN_HEADER_VALUE)) return patch;
    const stored = new Map(Object.entries(this.secrets.openHeaders(endpoint) ?? {}).map(([n, v]) => [n.toLowerCase(), v]));
    const headers = Object.fromEntries(
      Object.entries(given as Record<string, unknown>).map(([name, value]) => [
        name,
        value === HIDDEN_HEADER_VALUE && stored.has(name.toLowerCase()) ? stored.get(name.toLowerCase()) : value,
      ]),
    );
    return { ...patch, headers: headers as Record<string, string> };
  }

  private rules(): EndpointRules {
    return {
      maxTimeoutMs: this.options.maxRequestTimeoutMs,
      allowHttp: this.options.allowHttp,
      network: this.network,
      allowedUrls: this.options.allowedUrls,
      fieldsOf: (prefix) => {
        const entity = this.registry.byName(prefix);
        if (entity) return entity.visibleFields ?? undefined;
        return this.registry.topics().some((t) => t.startsWith(`${prefix}.`)) ? undefined : null;
      },
      transformers: new Set(this.extensions.transformers.keys()),
      headerProviders: new Set(this.extensions.headerProviders.keys()),
    };
  }
}
