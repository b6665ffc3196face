import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  EntitySubscriberInterface,
  InsertEvent,
  ObjectLiteral,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { DataSource } from 'typeorm';
import { MESSAGES, WebhookBulkOperationError } from '../errors/webhooks.errors.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { EntityRegistry, type RegisteredEntity } from '../registry/entity-registry.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { entityChanges, entityData, envelope } from './payload.js';

/**
 * Turns inserts, updates and removals of `@WebhookEntity` classes into outbox rows in the same transaction, and
 * hands their jobs to the queue after commit.
 */
@Injectable()
export class WebhookSubscriber implements EntitySubscriberInterface {
  private readonly logger = new Logger('Webhooks');
  private readonly warnedSkip = new Set<string>();

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly outbox: OutboxService,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {
    dataSource.subscribers.push(this);
  }

  async afterInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    const entity = this.registry.get(event.metadata.target);
    if (!entity?.events.has('created') || !event.entity) return;
    const row = event.entity;
    await this.record(event, entity, 'created', id(entity, row), () => entityData(entity, row));
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    if (!event.databaseEntity) this.bulk(event.metadata.target, 'update');
  }

  async afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    const entity = this.registry.get(event.metadata.target);
    const before = event.databaseEntity;
    if (!entity?.events.has('updated') || !before || !event.entity) return;
    if (!(await this.outbox.routed(entity.topics.updated))) return;
    const after = event.entity;
    const changes = entityChanges(entity, event.updatedColumns, before, after);
    if (Object.keys(changes).length === 0) return; // only automatic columns changed
    await this.record(event, entity, 'updated', id(entity, after) ?? id(entity, before), () => entityData(entity, after, before), changes);
  }

  beforeRemove(event: RemoveEvent<ObjectLiteral>): void {
    if (!event.entity) this.bulk(event.metadata.target, 'delete');
  }

  beforeSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): void {
    if (!event.entity) this.bulk(event.metadata.target, 'softDelete');
  }

  async afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    await this.removed(event);
  }

  async afterSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): Promise<void> {
    await this.removed(event);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    this.outbox.committed(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.outbox.rolledBack(event.queryRunner);
  }

  private async removed(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    const entity = this.registry.get(event.metadata.target);
    if (!entity?.events.has('deleted') || !event.entity) return;
    const row = event.entity;
    // remove() strips the id from the entity; the row as loaded still has it.
    const before = event.databaseEntity;
    const entityId = id(entity, row) ?? (before && id(entity, before)) ?? idOf(entity, event.entityId);
    await this.record(event, entity, 'deleted', entityId, () => {
      const data = entityData(entity, row, before);
      data[entity.primaryColumn.propertyPath] ??= entityId;
      return data;
    });
  }

  private async record(
    event: InsertEvent<ObjectLiteral> | UpdateEvent<ObjectLiteral> | RemoveEvent<ObjectLiteral>,
    entity: RegisteredEntity,
    action: 'created' | 'updated' | 'deleted',
    entityId: string | null,
    data: () => Record<string, unknown>,
    changes?: ReturnType<typeof entityChanges>,
  ): Promise<void> {
    const topic = entity.topics[action];
    await this.outbox.record(event.manager, event.queryRunner, {
      topic,
      entityName: entity.name,
      entityId,
      body: (eventId, timestamp) => envelope(eventId, topic, timestamp, data(), changes),
    });
  }

  private bulk(target: Function | string, op: string): void {
    const entity = this.registry.get(target);
    if (!entity) return;
    if (this.options.bulkOperations === 'reject') {
      throw new WebhookBulkOperationError(MESSAGES.bulkOperation(entity.className, op));
    }
    if (!this.warnedSkip.has(entity.className)) {
      this.warnedSkip.add(entity.className);
      this.logger.warn(`Bulk ${op}() on ${entity.className} sends no webhook events (bulkOperations: 'skip').`);
    }
  }
}

function id(entity: RegisteredEntity, row: ObjectLiteral): string | null {
  const value = entity.primaryColumn.getEntityValue(row);
  return value === undefined || value === null ? null : String(value);
}

function idOf(entity: RegisteredEntity, entityId: unknown): string | null {
  if (entityId === undefined || entityId === null) return null;
  if (typeof entityId === 'object') return id(entity, entityId as ObjectLiteral);
  return String(entityId);
}
