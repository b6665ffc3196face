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

  async emit(topic: string, data: unknown, options: { manager?: EntityManager; entityId?: string | number } = {}): Promise<string | null> {
    if (typeof topic !== 'string' || !this.registry.isCustomTopic(topic)) {
      const declared = this.registry.topics().filter((t) => this.registry.isCustomTopic(t));
      throw new WebhookValidationError(
        `Cannot emit ${JSON.stringify(topic)}: it is not a declared topic. Declare it in WebhooksModule options ` +
          `topics (or @WebhookEntity({ topics })); declared: ${declared.join(', ') || 'none'}.`,
      );
    }
    if (!this.options.enabled || webhooksSuppressed()) return null;
    if (!(await this.outbox.routed(topic))) return null; // nobody subscribes: no work
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
      data: safe ?? null,
      actor: resolveActor(this.options.actor, (m) => this.logger.warn(m)),
      customOfEntity: this.registry.byName(topic.slice(0, topic.indexOf('.'))) !== undefined,
    });
  }
}
