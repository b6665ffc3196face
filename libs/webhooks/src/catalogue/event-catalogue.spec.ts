import 'reflect-metadata';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  Column,
  CreateDateColumn,
  DataSource,
  DeleteDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
  type DataSourceOptions,
} from 'typeorm';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookEntity } from '../decorators/webhook-entity.decorator.js';
import { WEBHOOK_ENTITIES } from '../entities/index.js';
import { envelope } from '../payload/envelope.js';
import { DEFAULT_MASK, shapeChanges, shapeData } from '../payload/shaping.js';
import { EntityRegistry } from '../registry/entity-registry.js';
import { entityChanges, entityData } from '../subscriber/entity-data.js';
import { resolveOptions } from '../webhooks.options.js';
import type { EntityClass } from '../util/entity-class.js';
import { eventCatalogue, type WebhookEventType } from './event-catalogue.js';

const upper = { to: (v: string) => v, from: (v: string) => v?.toUpperCase() };

@WebhookEntity({
  name: 'item',
  exclude: ['internal'],
  redact: ['note'],
  topics: [
    'flagged',
    {
      name: 'archived',
      description: 'An operator archived the item.',
      schema: { type: 'object', properties: { by: { type: 'string' }, apiKey: { type: 'string' } }, required: ['by'] },
    },
  ],
})
@Entity({ name: 'catalogue_item' })
class Item {
  @PrimaryGeneratedColumn() id: number;
  @Column({ type: 'varchar', length: 50, comment: 'Shown to customers.' }) name: string;
  @Column({ type: 'varchar', nullable: true }) nickname: string | null;
  @Column({ type: 'decimal', precision: 10, scale: 2 }) price: string;
  @Column({ type: 'bigint' }) stock: string;
  @Column() count: number;
  @Column({ type: 'float' }) ratio: number;
  @Column() active: boolean;
  @Column({ type: 'datetime', nullable: true }) seenAt: Date | null;
  @Column({ type: 'date', nullable: true }) day: string | null;
  @Column({ type: 'simple-json', nullable: true }) meta: unknown;
  @Column({ type: 'simple-enum', enum: ['small', 'large'] }) size: string;
  @Column({ type: 'blob', nullable: true }) photo: Buffer | null;
  @Column({ type: 'varchar', transformer: upper }) code: string;
  @Column({ type: 'varchar', select: false, default: '' }) hidden: string;
  @Column({ type: 'varchar', nullable: true }) internal: string | null;
  @Column({ type: 'varchar', nullable: true }) note: string | null;
  @Column({ type: 'varchar', default: '' }) apiToken: string;
  @CreateDateColumn() createdAt: Date;
  @UpdateDateColumn() updatedAt: Date;
  @VersionColumn() version: number;
  @DeleteDateColumn() deletedAt: Date | null;
}

@WebhookEntity({
  name: 'card',
  events: ['created', 'updated'],
  exclude: ['label'],
  serialize: (c: Card) => ({ id: c.id, title: c.label, secretCode: 'x' }),
  schema: {
    type: 'object',
    properties: { id: { type: 'integer' }, title: { type: 'string' }, secretCode: { type: 'string' } },
    required: ['id', 'title', 'secretCode'],
    additionalProperties: false,
  },
})
@Entity({ name: 'catalogue_card' })
class Card {
  @PrimaryGeneratedColumn() id: number;
  @Column({ type: 'varchar' }) label: string;
  @Column({ type: 'varchar' }) title: string;
}

@WebhookEntity({ name: 'blob', events: ['deleted'], serialize: (b: Blob) => ({ id: b.id }) })
@Entity({ name: 'catalogue_blob' })
class Blob {
  @PrimaryGeneratedColumn() id: number;
}

const INVOICE_PAID = {
  type: 'object',
  properties: { invoiceId: { type: 'integer' }, amount: { type: 'string' } },
  required: ['invoiceId', 'amount'],
  additionalProperties: false,
};

async function registryOf(
  options: DataSourceOptions,
  entities: EntityClass[],
  topics: NonNullable<Parameters<typeof resolveOptions>[0]>['topics'] = [],
) {
  const dataSource = new DataSource({ ...options, entities: [...WEBHOOK_ENTITIES, ...entities] } as DataSourceOptions);
  // Metadata only: no connection is needed to read the columns.
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  const resolved = resolveOptions({ topics });
  return EntityRegistry.fromDataSource(dataSource, resolved);
}

const SQLITE: DataSourceOptions = { type: 'better-sqlite3', database: ':memory:' };

describe('event catalogue', () => {
  let registry: EntityRegistry;
  let types: Map<string, WebhookEventType>;
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  addFormats.default(ajv);
  const valid = (topic: string, body: unknown) => {
    const validate = ajv.compile(types.get(topic)!.schema);
    return validate(body) ? true : ajv.errorsText(validate.errors);
  };
  const dataOf = (topic: string) => types.get(topic)!.schema.properties as Record<string, Record<string, any>>;

  beforeAll(async () => {
    registry = await registryOf(
      SQLITE,
      [Item, Card, Blob],
      ['report.ready', { name: 'invoice.paid', description: 'Paid.', schema: INVOICE_PAID }],
    );
    types = new Map(eventCatalogue(registry).map((t) => [t.name, t]));
  });

  it('lists every topic, entity events first, with a draft 2020-12 envelope schema', () => {
    expect([...types.keys()]).toEqual([
      'item.created',
      'item.updated',
      'item.deleted',
      'card.created',
      'card.updated',
      'blob.deleted',
      'report.ready',
      'invoice.paid',
      'item.flagged',
      'item.archived',
    ]);
    for (const type of types.values()) expect(ajv.validateSchema(type.schema), type.name).toBe(true);
    const created = types.get('item.created')!.schema;
    expect(created).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      required: ['id', 'type', 'timestamp', 'data'],
      additionalProperties: false,
    });
    expect(dataOf('item.created').type).toEqual({ type: 'string', const: 'item.created', description: 'The topic.' });
    expect(dataOf('item.created')).not.toHaveProperty('changes');
    expect(types.get('item.updated')!.schema.required).toEqual(['id', 'type', 'timestamp', 'data', 'changes']);
    expect(types.get('item.updated')!.description).toContain('changes lists the fields that changed');
  });

  it('maps column types to JSON types as the payload writes them', () => {
    const data = dataOf('item.created').data;
    expect(data).toMatchObject({ type: 'object', additionalProperties: false });
    const p = data.properties;
    expect(p.id).toEqual({ type: 'integer' });
    expect(p.name).toEqual({ type: 'string', description: 'Shown to customers.' });
    expect(p.nickname).toEqual({ type: ['string', 'null'] });
    expect(p.price).toMatchObject({ type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' });
    expect(p.stock).toMatchObject({ type: 'string', pattern: '^-?\\d+$' });
    expect(p.count).toEqual({ type: 'integer' });
    expect(p.ratio).toEqual({ type: 'number' });
    expect(p.active).toEqual({ type: 'boolean' });
    expect(p.seenAt).toEqual({ type: ['string', 'null'], format: 'date-time' });
    expect(p.day).toMatchObject({ type: ['string', 'null'] });
    expect(p.meta).toMatchObject({ description: expect.stringContaining('JSON') });
    expect(p.size).toEqual({ enum: ['small', 'large'] });
    expect(p.photo).toEqual({ type: ['string', 'null'], contentEncoding: 'base64' });
    expect(p.code).toEqual({}); // a transformer decides
    expect(p.hidden).toEqual({ type: ['string', 'null'] }); // select: false is not loaded with the row
    expect(p.createdAt).toEqual({ type: 'string', format: 'date-time' });
    expect(p.version).toEqual({ type: 'integer' });
    expect(p.deletedAt).toEqual({ type: ['string', 'null'], format: 'date-time' });
    expect(data.required).toEqual(Object.keys(p));
  });

  it('applies include, exclude and redact: excluded fields are absent, masked ones the mask', () => {
    const data = dataOf('item.updated').data;
    expect(data.properties).not.toHaveProperty('internal');
    expect(data.required).not.toContain('internal');
    expect(data.properties.note).toMatchObject({ type: ['string', 'null'], enum: [DEFAULT_MASK, null] });
    expect(data.properties.apiToken).toMatchObject({ type: 'string', const: DEFAULT_MASK }); // the default patterns
    const changes = dataOf('item.updated').changes;
    expect(changes).toMatchObject({ type: 'object', additionalProperties: false });
    expect(changes).not.toHaveProperty('required');
    expect(Object.keys(changes.properties)).not.toEqual(expect.arrayContaining(['internal']));
    expect(changes.properties).not.toHaveProperty('updatedAt');
    expect(changes.properties).not.toHaveProperty('version');
    expect(changes.properties.price).toEqual({
      type: 'object',
      properties: { old: data.properties.price, new: data.properties.price },
      required: ['old', 'new'],
      additionalProperties: false,
    });
    expect(changes.properties.note.properties).toEqual({
      old: { type: 'string', const: DEFAULT_MASK },
      new: { type: 'string', const: DEFAULT_MASK },
    });
  });

  it('accepts the payloads the library writes, and refuses others', () => {
    const entity = registry.get(Item)!;
    const row = Object.assign(new Item(), {
      id: 7,
      name: 'Lamp',
      nickname: null,
      price: 12.5,
      stock: '42',
      count: 3,
      ratio: 0.5,
      active: true,
      seenAt: new Date(),
      day: '2026-11-24',
      meta: { nested: [1, 'x'] },
      size: 'small',
      photo: Buffer.from('png'),
      code: 'AB',
      internal: 'x',
      note: 'hello',
      apiToken: 'tok',
      createdAt: new Date(),
      updatedAt: new Date(),
      version: 1,
      deletedAt: null,
    });
    const body = (topic: string, data: Record<string, unknown>, changes?: ReturnType<typeof entityChanges>) =>
      JSON.parse(envelope('evt_01JDZ6Q2V6X9T3R8M4N5P7K2WB', topic, new Date(), data, changes, { user: 'u1' })) as Record<string, any>;
    const data = shapeData(entityData(entity, row), entity.rules);
    expect(valid('item.created', body('item.created', data))).toBe(true);
    expect(valid('item.deleted', body('item.deleted', data))).toBe(true);
    const after = Object.assign(new Item(), row, { price: '13.00', note: null, internal: 'y', version: 2 });
    const changed = entity.columns.filter((c) => ['price', 'note', 'internal', 'version'].includes(c.key)).map((c) => c.column);
    const changes = shapeChanges(entityChanges(entity, changed, row, after), entity.rules);
    expect(Object.keys(changes).sort()).toEqual(['note', 'price']);
    const updated = body('item.updated', shapeData(entityData(entity, after), entity.rules), changes);
    expect(valid('item.updated', updated)).toBe(true);

    expect(valid('item.created', { ...body('item.created', data), changes: {} })).toMatch(/must NOT have additional properties/);
    expect(valid('item.updated', { ...updated, changes: undefined })).toMatch(/must have required property 'changes'/);
    expect(valid('item.created', body('item.created', { ...data, price: 12.5 }))).toMatch(/data\/price must be string/);
    expect(valid('item.created', body('item.created', { ...data, internal: 'x' }))).toMatch(/additional properties/);
    expect(valid('item.created', body('item.created', { ...data, note: 'plain' }))).toMatch(/data\/note must be equal to one of/);
    const { name: _name, ...withoutName } = data;
    expect(valid('item.created', body('item.created', withoutName))).toMatch(/required property 'name'/);
    expect(valid('item.created', { ...body('item.created', data), id: 'evt_x' })).toMatch(/\/id must match pattern/);
    expect(valid('item.created', { ...body('item.created', data), timestamp: 'yesterday' })).toMatch(/timestamp must match format/);
    expect(valid('item.created', { ...body('item.created', data), type: 'item.deleted' })).toMatch(/type must be equal to constant/);
  });

  it('takes the schema given with serialize, with the field rules applied; open objects without one', () => {
    const data = dataOf('card.created').data;
    expect(data.properties).toEqual({
      id: { type: 'integer' },
      title: { type: 'string' },
      secretCode: expect.objectContaining({ const: DEFAULT_MASK }),
    });
    expect(data.required).toEqual(['id', 'title', 'secretCode']);
    // changes lists column changes (title, not the excluded label)
    expect(Object.keys(dataOf('card.updated').changes.properties)).toEqual(['id', 'title']);
    expect(dataOf('blob.deleted').data).toEqual({ type: 'object', description: expect.stringContaining('serialize') });
    expect(
      valid('blob.deleted', {
        id: 'evt_01JDZ6Q2V6X9T3R8M4N5P7K2WB',
        type: 'blob.deleted',
        timestamp: new Date().toISOString(),
        data: { any: 1 },
      }),
    ).toBe(true);
  });

  it('takes the data schema and description declared with a custom topic; any JSON without one', () => {
    expect(types.get('invoice.paid')!.description).toBe('Paid.');
    expect(dataOf('invoice.paid').data).toEqual(INVOICE_PAID);
    expect(types.get('item.archived')!.description).toBe('An operator archived the item.');
    expect(types.get('report.ready')!.description).toContain("emit('report.ready'");
    const event = (type: string, data: unknown) => ({
      id: 'evt_01JDZ6Q2V6X9T3R8M4N5P7K2WB',
      type,
      timestamp: new Date().toISOString(),
      data,
    });
    expect(valid('report.ready', event('report.ready', ['anything', 1]))).toBe(true);
    expect(valid('invoice.paid', event('invoice.paid', { invoiceId: 1, amount: '2.00' }))).toBe(true);
    expect(valid('invoice.paid', event('invoice.paid', { invoiceId: '1', amount: '2.00' }))).toMatch(/invoiceId must be integer/);
  });

  it('shapes the schemas by an endpoint’s own fields, on top of the entity’s rules', () => {
    const rules = { include: new Set(['id', 'name', 'note', 'by', 'apiKey']), redact: new Set(['name']), mask: '***' };
    const shaped = new Map(eventCatalogue(registry, rules).map((t) => [t.name, t.schema.properties as Record<string, any>]));
    const item = shaped.get('item.updated')!;
    expect(Object.keys(item.data.properties)).toEqual(['id', 'name', 'note']);
    expect(item.data.properties.name).toMatchObject({ const: '***' });
    expect(item.data.properties.note).toMatchObject({ enum: [DEFAULT_MASK, null] }); // masked by the entity already
    expect(Object.keys(item.changes.properties)).toEqual(['id', 'name', 'note']);
    expect(shaped.get('item.archived')!.data.properties).toEqual({ by: { type: 'string' }, apiKey: { type: 'string' } });
    expect(shaped.get('report.ready')!.data).toEqual(dataOf('report.ready').data);
    // The entity-level catalogue is unchanged.
    expect(Object.keys(dataOf('item.updated').data.properties)).toContain('price');
  });

  it('writes timestamp columns as date-times where the driver reads them as dates', async () => {
    @WebhookEntity({ name: 'stamp' })
    @Entity({ name: 'catalogue_stamp' })
    class Stamp {
      @PrimaryGeneratedColumn('uuid') id: string;
      @Column({ type: 'timestamptz' }) at: Date;
      @Column({ type: 'int', array: true }) counts: number[];
      @CreateDateColumn() createdAt: Date;
    }
    const pg = await registryOf({ type: 'postgres', url: 'postgres://127.0.0.1:5432/none' }, [Stamp]);
    const data = (eventCatalogue(pg)[0].schema.properties as Record<string, any>).data.properties;
    expect(data).toEqual({
      id: { type: 'string', format: 'uuid' },
      at: { type: 'string', format: 'date-time' },
      counts: { type: 'array', items: { type: 'integer' } },
      createdAt: { type: 'string', format: 'date-time' },
    });
  });

  it('refuses a schema without serialize and malformed topic declarations at start-up', async () => {
    @WebhookEntity({ name: 'bad', schema: { type: 'object' } })
    @Entity({ name: 'catalogue_bad' })
    class Bad {
      @PrimaryGeneratedColumn() id: number;
    }
    await expect(registryOf(SQLITE, [Bad])).rejects.toThrow(/schema describes what serialize returns/);
    @WebhookEntity({ name: 'worse', topics: [{ name: 'gone', schema: 'no' as never }, { name: 'x', colour: 1 } as never] })
    @Entity({ name: 'catalogue_worse' })
    class Worse {
      @PrimaryGeneratedColumn() id: number;
    }
    await expect(registryOf(SQLITE, [Worse])).rejects.toThrow(
      /"gone" schema must be a JSON Schema object; topics entry "x" has unknown key "colour"/,
    );
    expect(() => resolveOptions({ topics: [{ name: 'report.ready', description: 1 as never }] })).toThrow(
      /topics must be a list of topics like "invoice.paid" or \{ name, description\?, schema\? \}/,
    );
    expect(() => resolveOptions({ topics: [{ name: 'report' }] })).toThrow(/topics must be a list/);
  });
});
