import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { webhooksSuppressed } from '../context/suppression.js';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { jsonSafe, MAX_EVENT_PAYLOAD_CHARS, resolveActor, stringify } from '../payload/envelope.js';
import { EntityRegistry } from '../registry/entity-registry.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { OutboxService } from './outbox.service.js';
import { isOwnerId, ownerIdProblem } from '../endpoints/endpoint-input.js';

export interface EmitOptions {
  /** From a transaction: the event commits or rolls back with it. */
  manager?: EntityManager;
  /** The id of the entity the event is about (for `ids` filters). */
  entityId?: string | number;
  /** The tenant the event belongs to: it goes to that owner's endpoints and the ownerless ones. */
  owner?: string | null;
}

/** Custom events (`emit`): declared topics, any JSON-safe data, through the same outbox as entity events. */
@Injectable()
export class CustomEvents {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly outbox: OutboxService,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {}

  async emit(topic: string, data: unknown, options: EmitOptions = {}): Promise<string | null> {
    if (typeof topic !== 'string' || !this.registry.isCustomTopic(topic)) {
      const declared = this.registry.topics().filter((t) => this.registry.isCustomTopic(t));
      throw new WebhookValidationError(
        `Cannot emit ${JSON.stringify(topic)}: it is not a declared topic. Declare it in WebhooksModule options ` +
          `topics (or @WebhookEntity({ topics })); declared: ${declared.join(', ') || 'none'}.`,
      );
    }
    const owner = options.owner ?? null;
    if (owner !== null && !isOwnerId(owner)) {
      throw new WebhookValidationError(`Cannot emit ${topic}: ${ownerIdProblem('owner', owner, true)}.`);
    }
    if (options.manager && options.manager.connection !== this.dataSource) {
      // Its rows would go to another database (in SQL built for this one), and its commit would enqueue nothing.
      throw new WebhookValidationError(
        `Cannot emit ${topic}: manager belongs to another DataSource than the one WebhooksModule uses; pass a manager of that one.`,
      );
    }
    if (!this.options.enabled || webhooksSuppressed()) return null;
    if (!(await this.outbox.routed(topic, owner))) return null; // nobody subscribes: no work
    const safe = jsonSafe(data);
    if (stringify(safe ?? null).length > MAX_EVENT_PAYLOAD_CHARS) {
      throw new WebhookValidationError(`Cannot emit ${topic}: the payload is larger than ${MAX_EVENT_PAYLOAD_CHARS / 1024} KiB.`);
    }
    const manager = options.manager ?? this.dataSource.manager;
    const entityId = options.entityId === undefined || options.entityId === null ? null : String(options.entityId);
    return this.outbox.record(manager, manager.queryRunner, {
      topic,
      entityName: null,
      entityId,
      owner,
      data: safe ?? null,
      actor: resolveActor(this.options.actor, (m) => this.logger.warn(m)),
      customOfEntity: this.registry.byName(topic.slice(0, topic.indexOf('.'))) !== undefined,
    });
  }
}
