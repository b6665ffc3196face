import type { EndpointInput } from '../endpoints/endpoint-input.js';
import type { RotateSecretOptions, RotatedSecret } from '../endpoints/endpoint-secrets.js';
import { WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { topicMatches } from '../topics/topics.js';
import type { DeliveriesService, ListDeliveriesOptions, RecoverOptions, TestSendResult } from './deliveries.service.js';
import type { EndpointsService } from './endpoints.service.js';
import type { CreatedEndpoint, DeliveryView, EndpointView } from './views.js';

/**
 * The endpoint and delivery operations of one owner (tenant), for an API the owner calls itself. Every id of
 * another owner's endpoint or delivery is "not found", exactly as an id that does not exist: the scope never tells
 * whether something exists elsewhere. Endpoints created here belong to the owner; `ownerId` cannot be changed.
 */
export class OwnerScope {
  constructor(
    readonly ownerId: string,
    private readonly endpoints: EndpointsService,
    private readonly deliveries: DeliveriesService,
    private readonly allTopics: () => string[],
    /** Patterns of the topics the owner may subscribe to; undefined: every topic. */
    private readonly allowed?: readonly string[],
  ) {}

  /** The topics this owner may subscribe to. */
  topics(): string[] {
    const allowed = this.allowed;
    const all = this.allTopics();
    return allowed ? all.filter((topic) => allowed.some((pattern) => topicMatches(pattern, topic))) : all;
  }

  async createEndpoint(input: EndpointInput): Promise<CreatedEndpoint> {
    const fields = this.checked(this.withoutOwner(input));
    return this.endpoints.create({ ...fields, ownerId: this.ownerId } as EndpointInput);
  }

  listEndpoints(): Promise<EndpointView[]> {
    return this.endpoints.list({ ownerId: this.ownerId });
  }

  async getEndpoint(id: string): Promise<EndpointView> {
    await this.own(id);
    return this.endpoints.get(id);
  }

  async updateEndpoint(id: string, patch: Partial<EndpointInput>): Promise<EndpointView> {
    await this.own(id);
    return this.endpoints.update(id, this.checked(this.withoutOwner(patch)));
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.own(id);
    await this.endpoints.delete(id);
  }

  async enable(id: string): Promise<EndpointView> {
    await this.own(id);
    return this.endpoints.enable(id);
  }

  async disable(id: string): Promise<EndpointView> {
    await this.own(id);
    return this.endpoints.disable(id, 'Disabled by its owner.');
  }

  async rotateSecret(id: string, options: RotateSecretOptions = {}): Promise<RotatedSecret> {
    await this.own(id);
    return this.endpoints.rotateSecret(id, options);
  }

  async sendTest(id: string, options: { payload?: unknown; topic?: string } = {}): Promise<TestSendResult> {
    await this.own(id);
    return this.deliveries.sendTest(id, options);
  }

  async listDeliveries(endpointId: string, options: ListDeliveriesOptions = {}): Promise<DeliveryView[]> {
    await this.own(endpointId);
    return this.deliveries.list(endpointId, options, this.ownerId);
  }

  async getDelivery(deliveryId: string): Promise<DeliveryView> {
    await this.ownDelivery(deliveryId);
    return this.deliveries.get(deliveryId);
  }

  async redeliver(deliveryId: string): Promise<DeliveryView> {
    await this.ownDelivery(deliveryId);
    return this.deliveries.redeliver(deliveryId);
  }

  async recover(endpointId: string, options: RecoverOptions): Promise<{ count: number }> {
    await this.own(endpointId);
    return this.deliveries.recover(endpointId, options, this.ownerId);
  }

  /** The owner's endpoint, or the same not-found error as for an id that does not exist. */
  private async own(id: string): Promise<void> {
    const endpoint = await this.endpoints.find(id);
    if (endpoint.ownerId !== this.ownerId) throw new WebhookNotFoundError('Webhook endpoint', String(id));
  }

  /**
   * A delivery of one of the owner's endpoints, for one of the owner's events: an endpoint given to this owner later
   * keeps deliveries of other owners' events, and those stay theirs.
   */
  private async ownDelivery(deliveryId: string): Promise<void> {
    const { endpointId, eventOwner } = await this.deliveries.ownershipOf(deliveryId);
    const endpoint = await this.endpoints.find(endpointId).catch(() => undefined);
    if (endpoint?.ownerId !== this.ownerId || eventOwner !== this.ownerId) throw new WebhookNotFoundError('Webhook delivery', deliveryId);
  }

  /**
   * Input whose subscriptions stay within the allowed topics. A pattern passes only when an allowed pattern covers
   * it segment by segment (`order.*` covers `order.created` and `order.*`, not `*`), so a topic declared later never
   * reaches an owner through a wider pattern.
   */
  private checked<T extends Partial<EndpointInput>>(input: T): T {
    const allowed = this.allowed;
    if (!allowed || typeof input !== 'object' || input === null || !Array.isArray(input.topics)) return input;
    const refused = input.topics.filter((topic) => typeof topic === 'string' && !allowed.some((pattern) => covers(pattern, topic)));
    if (refused.length > 0) {
      const message = `topics ${refused.map((t) => JSON.stringify(t)).join(', ')} cannot be subscribed to here; allowed: ${allowed.join(', ')}`;
      throw new WebhookValidationError(`Invalid endpoint: ${message}.`, { topics: [message] });
    }
    return input;
  }

  /** Input without `ownerId`: refused when it names anyone but this owner. */
  private withoutOwner<T extends Partial<EndpointInput>>(input: T): T {
    if (typeof input !== 'object' || input === null || !('ownerId' in input)) return input;
    const { ownerId, ...rest } = input as T & { ownerId?: unknown };
    if (ownerId !== undefined && ownerId !== this.ownerId) {
      throw new WebhookValidationError('Invalid endpoint: ownerId is set by the owner scope and cannot be changed.', {
        ownerId: ['ownerId is set by the owner scope and cannot be changed'],
      });
    }
    return rest as T;
  }
}

/** Whether every topic `pattern` can match is matched by `allowed`, whatever topics exist. */
export function covers(allowed: string, pattern: string): boolean {
  if (allowed === '*') return true;
  const a = allowed.split('.');
  const p = pattern.split('.');
  return a.length === p.length && a.every((segment, i) => segment === '*' || segment === p[i]);
}
