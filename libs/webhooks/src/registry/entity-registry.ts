import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import {
  WEBHOOK_ACTIONS,
  defaultEntityName,
  getWebhookEntityOptions,
  type WebhookAction,
  type WebhookEntityOptions,
} from '../decorators/webhook-entity.decorator.js';
import { WebhookEvent } from '../entities/index.js';
import { MESSAGES, WebhookConfigurationError } from '../errors/webhooks.errors.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { CUSTOM_TOPIC } from '../topics/topics.js';
import {
  declaredTopicName,
  schemaProblem,
  topicDeclarationProblem,
  type JsonSchema,
  type WebhookTopic,
} from '../topics/topic-declaration.js';
import { DEFAULT_MASK, isRedacted, type FieldRules } from '../payload/shaping.js';
import type { EntityClass } from '../util/entity-class.js';

/** How a column's value is written into a payload. */
export type ValueKind = 'plain' | 'decimal' | 'bigint' | 'boolean';

export interface PayloadColumn {
  key: string;
  column: ColumnMetadata;
  kind: ValueKind;
  scale: number | undefined;
  /** Maintained by TypeORM (update date, version): never a reason to send, never listed in `changes`. */
  automatic: boolean;
}

/** A `@WebhookEntity` as discovered in the DataSource, with everything the hot path needs precomputed. */
export interface RegisteredEntity {
  target: EntityClass;
  className: string;
  name: string;
  events: ReadonlySet<WebhookAction>;
  metadata: EntityMetadata;
  primaryColumn: ColumnMetadata;
  /** How the primary key's value is written (its kind and scale), for the event's `entityId`. */
  primaryValue: PayloadColumn | undefined;
  columns: readonly PayloadColumn[];
  topics: Record<WebhookAction, string>;
  /** Custom topics declared with `topics` (full names, e.g. `order.shipped`). */
  customTopics: readonly string[];
  /** The documentation given with custom topics (`{ name, description, schema }` entries), by full name. */
  topicDocs: ReadonlyMap<string, TopicDoc>;
  /** `updated` is sent only when one of these changed; null: any column. */
  watch: ReadonlySet<string> | null;
  shouldSend: WebhookEntityOptions['shouldSend'];
  serialize: WebhookEntityOptions['serialize'];
  /** The schema of what `serialize` returns (`@WebhookEntity({ schema })`), for the event catalogue. */
  schema: JsonSchema | undefined;
  owner: WebhookEntityOptions['owner'];
  /** include/exclude/redact of the decorator plus the module's redaction patterns. */
  rules: FieldRules;
  /** Fields sent as they are (not excluded, not masked): what endpoint filters may test. Null with a serializer. */
  visibleFields: readonly string[] | null;
}

/** What a custom topic's declaration documents. */
export type TopicDoc = Omit<WebhookTopic, 'name'>;

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const DECIMAL_TYPES = new Set(['decimal', 'numeric', 'money', 'dec', 'fixed']);
const BIGINT_TYPES = new Set(['bigint', 'int8', 'unsigned big int']);

/** Finds the decorated entities of a DataSource at start-up and fails fast on any misconfiguration. */
export class EntityRegistry {
  private readonly byTarget = new Map<EntityClass | string, RegisteredEntity>();

  private customTopics: string[] = [];

  private readonly docs = new Map<string, TopicDoc>();

  static fromDataSource(
    dataSource: DataSource,
    options: Pick<ResolvedWebhooksOptions, 'entities'> & Partial<Pick<ResolvedWebhooksOptions, 'topics' | 'redact'>>,
  ): EntityRegistry {
    if (!dataSource.hasMetadata(WebhookEvent)) throw new WebhookConfigurationError(MESSAGES.entityTablesMissing());
    const registry = new EntityRegistry();
    const byName = new Map<string, string>();
    for (const metadata of dataSource.entityMetadatas) {
      if (typeof metadata.target !== 'function') continue;
      const decorated = getWebhookEntityOptions(metadata.target);
      if (!decorated) continue;
      const entity = describe(metadata, decorated, options.redact ?? { patterns: [], mask: DEFAULT_MASK });
      const clash = byName.get(entity.name);
      if (clash) throw new WebhookConfigurationError(MESSAGES.duplicateEntityName(entity.name, clash, entity.className));
      byName.set(entity.name, entity.className);
      registry.byTarget.set(metadata.target, entity);
    }
    const topics = new Set<string>();
    for (const entry of options.topics ?? []) {
      const topic = declaredTopicName(entry)!; // the module options are validated already
      topics.add(topic);
      if (typeof entry === 'object') registry.docs.set(topic, documentation(entry));
    }
    for (const e of registry.all()) for (const t of e.customTopics) topics.add(t);
    for (const e of registry.all()) for (const [t, doc] of e.topicDocs) registry.docs.set(t, doc);
    for (const e of registry.all()) {
      for (const t of Object.values(e.topics)) {
        if (topics.has(t))
          throw new WebhookConfigurationError(`Custom topic "${t}" is already sent by @WebhookEntity ${e.className}; pick another name.`);
      }
    }
    registry.customTopics = [...topics];
    for (const expected of options.entities ?? []) {
      if (!getWebhookEntityOptions(expected)) throw new WebhookConfigurationError(MESSAGES.notAWebhookEntity(expected.name));
      if (!registry.byTarget.has(expected)) throw new WebhookConfigurationError(MESSAGES.entityNotInDataSource(expected.name));
    }
    return registry;
  }

  get(target: EntityClass | string): RegisteredEntity | undefined {
    return this.byTarget.get(target);
  }

  all(): RegisteredEntity[] {
    return [...this.byTarget.values()];
  }

  /** Every topic that can be sent: entity events and declared custom topics (for validating subscriptions). */
  topics(): string[] {
    return [...this.all().flatMap((e) => [...e.events].map((a) => e.topics[a])), ...this.customTopics];
  }

  /** Whether `emit()` may send this topic. */
  isCustomTopic(topic: string): boolean {
    return this.customTopics.includes(topic);
  }

  /** The description and `data` schema declared with a custom topic, if any. */
  topicDoc(topic: string): TopicDoc | undefined {
    return this.docs.get(topic);
  }

  /** The entity named `name` (the topic prefix). */
  byName(name: string): RegisteredEntity | undefined {
    return this.all().find((e) => e.name === name);
  }
}

function describe(
  metadata: EntityMetadata,
  options: WebhookEntityOptions,
  redaction: { patterns: string[]; mask: string },
): RegisteredEntity {
  const target = metadata.target as EntityClass;
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
        kind: DECIMAL_TYPES.has(type)
          ? 'decimal'
          : BIGINT_TYPES.has(type)
            ? 'bigint'
            : (column.type === Boolean || type === 'boolean' || type === 'bool') && !column.transformer
              ? 'boolean'
              : 'plain',
        scale: column.scale,
        automatic: column.isUpdateDate || column.isVersion,
      };
    });
  const problems: string[] = [];
  const properties = new Set(columns.map((c) => c.key));
  const fieldList = (key: 'watch' | 'include' | 'exclude' | 'redact'): Set<string> | undefined => {
    const list = options[key];
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.some((f) => typeof f !== 'string')) {
      problems.push(`${key} must be a list of property names`);
      return undefined;
    }
    // With a serializer, data has the serializer's keys, which cannot be known here; `watch` always names columns.
    const unknown = options.serialize && key !== 'watch' ? [] : list.filter((f) => !properties.has(f));
    if (unknown.length)
      problems.push(
        `${key} names ${unknown.map((f) => `"${f}"`).join(', ')}, which ${unknown.length > 1 ? 'are not columns' : 'is not a column'} (columns: ${[...properties].join(', ')})`,
      );
    return new Set(list);
  };
  const watch = fieldList('watch');
  const include = fieldList('include');
  const exclude = fieldList('exclude');
  const redact = fieldList('redact');
  if (options.shouldSend !== undefined && typeof options.shouldSend !== 'function') problems.push('shouldSend must be a function');
  if (options.serialize !== undefined && typeof options.serialize !== 'function') problems.push('serialize must be a function');
  if (options.owner !== undefined && typeof options.owner !== 'function') problems.push('owner must be a function (row) => string | null');
  const customTopics: string[] = [];
  const topicDocs = new Map<string, TopicDoc>();
  for (const entry of options.topics ?? []) {
    const t = declaredTopicName(entry);
    const topic = `${name}.${t}`;
    const problem = topicDeclarationProblem(entry);
    if (t === undefined || !CUSTOM_TOPIC.test(topic))
      problems.push(`topics entry ${JSON.stringify(entry)} must be a word like "shipped" or { name: "shipped", description?, schema? }`);
    else if ((WEBHOOK_ACTIONS as readonly string[]).includes(t)) problems.push(`topics entry "${t}" is an entity event already`);
    else if (problem) problems.push(`topics entry "${t}" ${problem}`);
    else {
      customTopics.push(topic);
      if (typeof entry === 'object') topicDocs.set(topic, documentation(entry));
    }
  }
  const schema = schemaProblem(options.schema);
  if (schema) problems.push(schema);
  else if (options.schema !== undefined && !options.serialize)
    problems.push('schema describes what serialize returns; without serialize the schema is derived from the columns');
  if (problems.length) throw new WebhookConfigurationError(`@WebhookEntity on ${className}: ${problems.join('; ')}.`);
  // Columns are known: resolve the redaction patterns to names once, so sending an event matches no patterns.
  const patternRules: FieldRules = { redact, redactPatterns: redaction.patterns, mask: redaction.mask };
  const rules: FieldRules = options.serialize
    ? { include, exclude, ...patternRules }
    : { include, exclude, redact: new Set([...properties].filter((p) => isRedacted(p, patternRules))), mask: redaction.mask };
  const visibleFields = options.serialize
    ? null
    : [...properties].filter((p) => (!include || include.has(p)) && !exclude?.has(p) && !rules.redact!.has(p));
  return {
    target,
    className,
    name,
    events: new Set(events),
    metadata,
    primaryColumn: metadata.primaryColumns[0],
    primaryValue: columns.find((c) => c.column === metadata.primaryColumns[0]),
    columns,
    topics: { created: `${name}.created`, updated: `${name}.updated`, deleted: `${name}.deleted` },
    customTopics,
    topicDocs,
    watch: watch ?? null,
    shouldSend: options.shouldSend,
    serialize: options.serialize,
    schema: options.schema,
    owner: options.owner,
    rules,
    visibleFields,
  };
}

/** The documentation part of a `{ name, description, schema }` declaration. */
function documentation(entry: WebhookTopic): TopicDoc {
  return { description: entry.description, schema: entry.schema };
}
