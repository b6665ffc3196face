import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  EntitySubscriberInterface,
  InsertEvent,
  ObjectLiteral,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { DataSource } from 'typeorm';
import { MESSAGES, WebhookBulkOperationError, WebhookOwnerError } from '../errors/webhooks.errors.js';
import { isOwnerId } from '../endpoints/endpoint-input.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { EntityRegistry, type RegisteredEntity } from '../registry/entity-registry.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { entityChanges, entityData, keyText } from './entity-data.js';
import { jsonSafe, resolveActor, type Changes } from '../payload/envelope.js';
import { shapeChanges, shapeData, hasRules } from '../payload/shaping.js';
import { webhooksSuppressed } from '../context/suppression.js';
import { guardUpserts } from './upsert-guard.js';
import type { WebhookAction } from '../decorators/webhook-entity.decorator.js';
import type { EntityClass } from '../util/entity-class.js';

/**
 * Turns inserts, updates and removals of `@WebhookEntity` classes into outbox rows in the same transaction, and
 * hands their jobs to the queue after commit.
 */
@Injectable()
export class WebhookSubscriber implements EntitySubscriberInterface, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly warnedSkip = new Set<string>();

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly registry: EntityRegistry,
    private readonly outbox: OutboxService,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
  ) {
    dataSource.subscribers.push(this);
    this.unguard = guardUpserts((ds, target) => ds === dataSource && this.bulk(target as EntityClass, 'upsert'));
  }

  private readonly unguard: () => void;

  onModuleDestroy(): void {
    this.unguard();
  }

  async afterInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    if (!this.active()) return;
    const entity = this.registry.get(event.metadata.target);
    if (!entity?.events.has('created') || !event.entity) return;
    const row = event.entity;
    const owner = ownerOf(entity, row);
    if (!(await this.outbox.routed(entity.topics.created, owner))) return;
    if (!sends(entity, 'created', row)) return;
    await this.record(event, entity, 'created', id(entity, row), owner, this.data(entity, row));
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    if (!event.databaseEntity) this.bulk(event.metadata.target, 'update');
  }

  async afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    if (!this.active()) return;
    const entity = this.registry.get(event.metadata.target);
    const before = event.databaseEntity;
    if (!entity?.events.has('updated') || !before || !event.entity) return;
    const after = event.entity;
    // A partial save holds only some columns: the owner, callbacks, the serializer and `data` see the whole row as
    // it now is (built before routing only when the owner needs it).
    let whole = entity.owner ? updatedRow(entity, before, after, event) : undefined;
    const owner = whole ? ownerOf(entity, whole) : null;
    if (!(await this.outbox.routed(entity.topics.updated, owner))) return;
    const changes = entityChanges(entity, event.updatedColumns, before, after);
    const changed = Object.keys(changes);
    if (changed.length === 0) return; // only automatic columns changed
    if (entity.watch && !changed.some((k) => entity.watch!.has(k))) return; // none of the watched fields changed
    whole ??= updatedRow(entity, before, after, event);
    if (!sends(entity, 'updated', whole, changes)) return;
    const data = this.data(entity, whole);
    let shaped = hasRules(entity.rules) ? shapeChanges(changes, entity.rules) : changes;
    // With a serializer, `changes` lists only fields the serializer sends (it decides what is public).
    if (entity.serialize) shaped = Object.fromEntries(Object.entries(shaped).filter(([k]) => k in data));
    await this.record(event, entity, 'updated', id(entity, after) ?? id(entity, before), owner, data, shaped);
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

  beforeRecover(event: RecoverEvent<ObjectLiteral>): void {
    if (!event.entity) this.bulk(event.metadata.target, 'restore');
  }

  /** A soft-deleted row restored (`recover()`): an update of its delete-date column, back to null. */
  async afterRecover(event: RecoverEvent<ObjectLiteral>): Promise<void> {
    if (!this.active()) return;
    const entity = this.registry.get(event.metadata.target);
    const column = event.metadata.deleteDateColumn;
    if (!entity?.events.has('updated') || !event.entity || !column) return;
    const before = event.databaseEntity ?? event.entity;
    const row = overlay(entity, before, event.entity); // a copy, of the entity's class: the entity is not touched
    column.setEntityValue(row, null);
    const owner = ownerOf(entity, row);
    if (!(await this.outbox.routed(entity.topics.updated, owner))) return;
    const changes = entityChanges(entity, [column], before, row);
    if (entity.watch && !Object.keys(changes).some((k) => entity.watch!.has(k))) return;
    if (!sends(entity, 'updated', row, changes)) return;
    const data = this.data(entity, row);
    let shaped = hasRules(entity.rules) ? shapeChanges(changes, entity.rules) : changes;
    if (entity.serialize) shaped = Object.fromEntries(Object.entries(shaped).filter(([k]) => k in data));
    await this.record(event, entity, 'updated', id(entity, row) ?? idOf(entity, event.entityId), owner, data, shaped);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    this.outbox.committed(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.outbox.rolledBack(event.queryRunner);
  }

  private async removed(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    if (!this.active()) return;
    const entity = this.registry.get(event.metadata.target);
    if (!entity?.events.has('deleted') || !event.entity) return;
    // remove() strips the id from the entity; the row as loaded still has it.
    const before = event.databaseEntity;
    // The owner of the row as stored, not as the entity object may have been changed in memory before the removal.
    const owner = ownerOf(entity, before ?? event.entity);
    if (!(await this.outbox.routed(entity.topics.deleted, owner))) return;
    const entityId = id(entity, event.entity) ?? (before && id(entity, before)) ?? idOf(entity, event.entityId);
    let data: Record<string, unknown>;
    if (entity.shouldSend || entity.serialize) {
      // Callbacks and the serializer get the row as it was, id included.
      const row = merged(entity, before, event.entity);
      if (entityId !== null && id(entity, row) === null)
        entity.primaryColumn.setEntityValue(row, rawId(entity, before, event.entityId, entityId));
      if (!sends(entity, 'deleted', row)) return;
      data = this.data(entity, row);
    } else {
      const raw = entityData(entity, event.entity, before);
      raw[entity.primaryColumn.propertyPath] ??= entityId;
      data = hasRules(entity.rules) ? shapeData(raw, entity.rules) : raw;
    }
    await this.record(event, entity, 'deleted', entityId, owner, data);
  }

  /** Off globally, or inside `runWithoutWebhooks()`. */
  private active(): boolean {
    return this.options.enabled && !webhooksSuppressed();
  }

  /** `data` of an event: the serializer's output or the columns, with the entity's field rules applied. */
  private data(entity: RegisteredEntity, row: ObjectLiteral, fallback?: ObjectLiteral): Record<string, unknown> {
    let raw: Record<string, unknown>;
    if (entity.serialize) {
      const out = jsonSafe(entity.serialize(row));
      raw = out !== null && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : { value: out };
    } else raw = entityData(entity, row, fallback);
    return hasRules(entity.rules) ? shapeData(raw, entity.rules) : raw;
  }

  private actor(): unknown {
    return resolveActor(this.options.actor, (m) => this.logger.warn(m));
  }

  private async record(
    event: InsertEvent<ObjectLiteral> | UpdateEvent<ObjectLiteral> | RemoveEvent<ObjectLiteral>,
    entity: RegisteredEntity,
    action: 'created' | 'updated' | 'deleted',
    entityId: string | null,
    owner: string | null,
    data: Record<string, unknown>,
    changes?: Changes,
  ): Promise<void> {
    await this.outbox.record(event.manager, event.queryRunner, {
      topic: entity.topics[action],
      entityName: entity.name,
      entityId,
      owner,
      data,
      changes,
      actor: this.actor(),
    });
  }

  /** A bulk statement on a webhook entity: throws (reject), or answers true (skip: it runs without events). */
  private bulk(target: EntityClass | string, op: string): boolean {
    const entity = this.registry.get(target);
    if (!entity || !this.active()) return false; // webhooks off: nothing to lose
    if (this.options.bulkOperations === 'reject') {
      throw new WebhookBulkOperationError(MESSAGES.bulkOperation(entity.className, op));
    }
    if (!this.warnedSkip.has(entity.className)) {
      this.warnedSkip.add(entity.className);
      this.logger.warn(`Bulk ${op}() on ${entity.className} sends no webhook events (bulkOperations: 'skip').`);
    }
    return true;
  }
}

/**
 * The owner of an event of this row (`@WebhookEntity({ owner })`), null without a resolver. A resolver that throws
 * or answers something else than a string (or null) fails the change: an event must not go to the wrong owner.
 */
function ownerOf(entity: RegisteredEntity, row: ObjectLiteral): string | null {
  if (!entity.owner) return null;
  let owner: unknown;
  try {
    owner = entity.owner(row);
  } catch (error) {
    throw new WebhookOwnerError(MESSAGES.ownerThrew(entity.className, (error as Error).message));
  }
  if (owner === null || owner === undefined) return null;
  if (!isOwnerId(owner)) {
    throw new WebhookOwnerError(MESSAGES.badOwner(entity.className, owner));
  }
  return owner;
}

/** Whether the entity's `shouldSend` (if any) lets this change through. */
function sends(entity: RegisteredEntity, action: WebhookAction, row: ObjectLiteral, changes?: Changes): boolean {
  return !entity.shouldSend || entity.shouldSend(row, action, changes ? { changes } : {}) !== false;
}

/**
 * The row as it now is: a copy of the loaded row (same class, so getters and methods work) with the saved entity's
 * defined values on top, for the columns `take` names. A partial save holds only some columns.
 */
function overlay(
  entity: RegisteredEntity,
  before: ObjectLiteral,
  after: ObjectLiteral,
  take: (c: RegisteredEntity['columns'][number]) => boolean = () => true,
): ObjectLiteral {
  const row = Object.assign(Object.create(Object.getPrototypeOf(before) as object) as ObjectLiteral, before);
  for (const c of entity.columns) {
    if (!take(c)) continue;
    const value = c.column.getEntityValue(after);
    if (value !== undefined) c.column.setEntityValue(row, value);
  }
  return row;
}

/** The row before a removal, with what the removed entity still holds on top. */
function merged(entity: RegisteredEntity, before: ObjectLiteral | undefined, after: ObjectLiteral): ObjectLiteral {
  return before ? overlay(entity, before, after) : after;
}

/**
 * The row as an update left it: the updated columns (and those TypeORM maintains) from the saved entity. Not all its
 * defined values: after a partial save, TypeORM sets the nullable columns the save did not name to null on the
 * entity, though the database keeps their values. Updated relations come along too: a join column changed through
 * its relation (`plan.account = other`) is read through the relation, so the loaded one must not stay behind.
 */
function updatedRow(
  entity: RegisteredEntity,
  before: ObjectLiteral,
  after: ObjectLiteral,
  event: Pick<UpdateEvent<ObjectLiteral>, 'updatedColumns' | 'updatedRelations'>,
): ObjectLiteral {
  const row = overlay(entity, before, after, (c) => c.automatic || event.updatedColumns.includes(c.column));
  // Assigned, not through RelationMetadata.setEntityValue, which merges into the loaded object `before` shares.
  for (const relation of event.updatedRelations) {
    if (!relation.embeddedMetadata && !relation.isLazy) row[relation.propertyName] = relation.getEntityValue(after);
  }
  return row;
}

/** The primary key value as the entity holds it (a number for numeric keys), for putting it back on a removed row. */
function rawId(entity: RegisteredEntity, before: ObjectLiteral | undefined, entityId: unknown, text: string): unknown {
  const fromBefore = before ? entity.primaryColumn.getEntityValue(before) : undefined;
  if (fromBefore !== undefined && fromBefore !== null) return fromBefore;
  if (isIdMap(entityId)) return entity.primaryColumn.getEntityValue(entityId);
  return entityId ?? text;
}

function id(entity: RegisteredEntity, row: ObjectLiteral): string | null {
  return keyText(entity, entity.primaryColumn.getEntityValue(row));
}

/** The id of a removal's or recovery's `entityId`: the key itself, or an object holding it. */
function idOf(entity: RegisteredEntity, entityId: unknown): string | null {
  if (entityId === undefined || entityId === null) return null;
  if (isIdMap(entityId)) return id(entity, entityId);
  return keyText(entity, entityId);
}

/** An `entityId` TypeORM gives as an object holding the key (not a key that is an object: bytes, a date). */
function isIdMap(entityId: unknown): entityId is ObjectLiteral {
  return entityId !== null && typeof entityId === 'object' && !Buffer.isBuffer(entityId) && !(entityId instanceof Date);
}
