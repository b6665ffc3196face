import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import {
  WEBHOOK_ACTIONS,
  defaultEntityName,
  getWebhookEntityOptions,
  type WebhookAction,
} from '../decorators/webhook-entity.decorator.js';
import { WebhookEvent } from '../entities/index.js';
import { MESSAGES, WebhookConfigurationError } from '../errors/webhooks.errors.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';

/** How a column's value is written into a payload. */
type ValueKind = 'plain' | 'decimal' | 'bigint';

interface PayloadColumn {
  key: string;
  column: ColumnMetadata;
  kind: ValueKind;
  scale: number | undefined;
  /** Maintained by TypeORM (update date, version): never a reason to send, never listed in `changes`. */
  automatic: boolean;
}

/** A `@WebhookEntity` as discovered in the DataSource, with everything the hot path needs precomputed. */
export interface RegisteredEntity {
  target: Function;
  className: string;
  name: string;
  events: ReadonlySet<WebhookAction>;
  metadata: EntityMetadata;
  primaryColumn: ColumnMetadata;
  columns: readonly PayloadColumn[];
  topics: Record<WebhookAction, string>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const DECIMAL_TYPES = new Set(['decimal', 'numeric', 'money', 'dec', 'fixed']);
const BIGINT_TYPES = new Set(['bigint', 'int8', 'unsigned big int']);

/** Finds the decorated entities of a DataSource at start-up and fails fast on any misconfiguration. */
export class EntityRegistry {
  private readonly byTarget = new Map<Function | string, RegisteredEntity>();

  static fromDataSource(dataSource: DataSource, options: Pick<ResolvedWebhooksOptions, 'entities'>): EntityRegistry {
    if (!dataSource.hasMetadata(WebhookEvent)) throw new WebhookConfigurationError(MESSAGES.entityTablesMissing());
    const registry = new EntityRegistry();
    const byName = new Map<string, string>();
    for (const metadata of dataSource.entityMetadatas) {
      if (typeof metadata.target !== 'function') continue;
      const decorated = getWebhookEntityOptions(metadata.target);
      if (!decorated) continue;
      const entity = describe(metadata, decorated);
      const clash = byName.get(entity.name);
      if (clash) throw new WebhookConfigurationError(MESSAGES.duplicateEntityName(entity.name, clash, entity.className));
      byName.set(entity.name, entity.className);
      registry.byTarget.set(metadata.target, entity);
    }
    for (const expected of options.entities ?? []) {
      if (!getWebhookEntityOptions(expected)) throw new WebhookConfigurationError(MESSAGES.notAWebhookEntity(expected.name));
      if (!registry.byTarget.has(expected)) throw new WebhookConfigurationError(MESSAGES.entityNotInDataSource(expected.name));
    }
    return registry;
  }

  get(target: Function | string): RegisteredEntity | undefined {
    return this.byTarget.get(target);
  }

  all(): RegisteredEntity[] {
    return [...this.byTarget.values()];
  }

  /** Every topic an entity can emit (for validating subscriptions). */
  topics(): string[] {
    return this.all().flatMap((e) => [...e.events].map((a) => e.topics[a]));
  }
}

function describe(
  metadata: EntityMetadata,
  options: { name?: string; events?: WebhookAction[] },
): RegisteredEntity {
  const target = metadata.target as Function;
  const className = target.name;
  const name = options.name ?? defaultEntityName(className);
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new WebhookConfigurationError(MESSAGES.badEntityName(className, String(name)));
  }
  const events = options.events ?? [...WEBHOOK_ACTIONS];
  if (!Array.isArray(events) || events.length === 0 || events.some((e) => !WEBHOOK_ACTIONS.includes(e))) {
    throw new WebhookConfigurationError(MESSAGES.badEvents(className, events));
  }
  if (metadata.primaryColumns.length !== 1) throw new WebhookConfigurationError(MESSAGES.compositeKey(className));
  const columns = metadata.columns
    .filter((c) => !c.isVirtual)
    .map<PayloadColumn>((column) => {
      const type = typeof column.type === 'string' ? column.type.toLowerCase() : '';
      return {
        key: column.propertyPath,
        column,
        kind: DECIMAL_TYPES.has(type) ? 'decimal' : BIGINT_TYPES.has(type) ? 'bigint' : 'plain',
        scale: column.scale,
        automatic: column.isUpdateDate || column.isVersion,
      };
    });
  return {
    target,
    className,
    name,
    events: new Set(events),
    metadata,
    primaryColumn: metadata.primaryColumns[0],
    columns,
    topics: { created: `${name}.created`, updated: `${name}.updated`, deleted: `${name}.deleted` },
  };
}
