import { Resource as TypeormResource } from '@adminjs/typeorm';
import { BaseProperty, BaseRecord, type Filter } from 'adminjs';
import { Between, In, LessThanOrEqual, MoreThanOrEqual, Raw, type DataSource, type FindOptionsWhere, type ObjectLiteral } from 'typeorm';
import { searchableText } from '../util/stored-text.js';

type EntityClass = (new () => ObjectLiteral) & { name: string };
/** `@adminjs/typeorm`'s property of a column (its class is not exported). */
type ColumnProperty = ReturnType<TypeormResource['property']>;

export interface BoundResourceOptions {
  /** Columns left out of list and search results (large text shown on the record page only). */
  omitInList?: string[];
  /** String columns filtered by exact value (status, trigger) rather than "contains". */
  exact?: string[];
  /**
   * Columns of a many-to-one relation shown and filtered (by exact value) as the entity's own, by column name:
   * `{ ownerId: 'event' }` gives each delivery its event's `ownerId`.
   */
  related?: Record<string, string>;
}

/**
 * A read-only AdminJS resource for one entity of one DataSource. `@adminjs/typeorm` reads through the entity's
 * static `BaseEntity` methods, which follow whichever DataSource was initialised last; this one always reads the
 * DataSource it was given, so a host with several connections (or tests with several apps) sees the right rows.
 * Filters are converted here too: dates are compared as dates on every driver, strings as exact values where the
 * property has a list of values, as "contains" otherwise. Columns of a related row (`related`) are read for a whole
 * page at once, and filtered through the relation.
 */
export class BoundTypeormResource extends TypeormResource {
  private readonly relatedProps: BaseProperty[];
  private readonly text: (text: string) => string;

  constructor(
    private readonly entity: EntityClass,
    private readonly dataSource: DataSource,
    private readonly boundOptions: BoundResourceOptions = {},
  ) {
    super(boundModel(entity, dataSource) as never);
    this.text = searchableText(dataSource);
    const columns = super.properties().length;
    this.relatedProps = Object.keys(boundOptions.related ?? {}).map(
      (path, i) => new BaseProperty({ path, type: 'string', isSortable: false, position: columns + i }),
    );
  }

  private repo() {
    return this.dataSource.getRepository(this.entity);
  }

  /** The columns, then the related ones: plain properties (AdminJS and `whereOf` need their path and type only). */
  override properties(): ColumnProperty[] {
    return [...super.properties(), ...(this.relatedProps as ColumnProperty[])];
  }

  override property(path: string): ColumnProperty {
    return super.property(path) ?? (this.relatedProps.find((p) => p.path() === path) as ColumnProperty);
  }

  override async count(filter: Filter): Promise<number> {
    return this.repo().count({ where: this.where(filter) });
  }

  override async find(
    filter: Filter,
    params: { limit?: number; offset?: number; sort?: { sortBy?: string; direction?: 'asc' | 'desc' } },
  ): Promise<BaseRecord[]> {
    const { limit = 10, offset = 0, sort = {} } = params;
    const columns = this.repo().metadata.columns.map((c) => c.propertyName);
    const sortBy = sort.sortBy && columns.includes(sort.sortBy) ? sort.sortBy : this.idName();
    const omit = new Set(this.boundOptions.omitInList ?? []);
    const rows = await this.repo().find({
      where: this.where(filter),
      select: omit.size ? (columns.filter((c) => !omit.has(c)) as never) : undefined,
      take: limit,
      skip: offset,
      order: { [sortBy]: sort.direction === 'asc' ? 'ASC' : 'DESC' } as never,
    });
    return this.records(rows);
  }

  override async findOne(id: string): Promise<BaseRecord | null> {
    const row = await this.repo().findOneBy({ [this.idName()]: this.text(String(id)) });
    return row ? ((await this.records([row]))[0] ?? null) : null;
  }

  override async findMany(ids: (string | number)[]): Promise<BaseRecord[]> {
    if (ids.length === 0) return [];
    return this.records(await this.repo().findBy({ [this.idName()]: In(ids.map((id) => this.text(String(id)))) }));
  }

  override async create(): Promise<never> {
    throw new Error(`${this.entity.name} is read-only in the admin.`);
  }

  override async update(): Promise<never> {
    throw new Error(`${this.entity.name} is read-only in the admin.`);
  }

  override async delete(): Promise<never> {
    throw new Error(`${this.entity.name} is read-only in the admin.`);
  }

  /** The filter as a where; a related column is compared through its relation (a join in that query only). */
  private where(filter: Filter): FindOptionsWhere<ObjectLiteral> {
    const related = this.boundOptions.related ?? {};
    const where = whereOf(filter, [...(this.boundOptions.exact ?? []), ...Object.keys(related)], this.text) as Record<string, unknown>;
    for (const [path, relation] of Object.entries(related)) {
      if (!(path in where)) continue;
      where[relation] = { ...(where[relation] as object | undefined), [path]: where[path] };
      delete where[path];
    }
    return where as FindOptionsWhere<ObjectLiteral>;
  }

  /** Rows as records, with their related columns: one query by primary key per relation for all the rows. */
  private async records(rows: ObjectLiteral[]): Promise<BaseRecord[]> {
    const byRelation = new Map<string, string[]>();
    for (const [path, relation] of Object.entries(this.boundOptions.related ?? {})) {
      byRelation.set(relation, [...(byRelation.get(relation) ?? []), path]);
    }
    for (const [name, paths] of byRelation) {
      const relation = this.repo().metadata.findRelationWithPropertyPath(name)!;
      const key = relation.joinColumns[0].propertyName;
      const target = relation.inverseEntityMetadata;
      const id = target.primaryColumns[0].propertyName;
      const ids = [...new Set(rows.map((row) => row[key]).filter((v) => v !== null && v !== undefined))];
      const found = ids.length
        ? await this.dataSource.getRepository(target.target).find({
            select: Object.fromEntries([id, ...paths].map((p) => [p, true])),
            where: { [id]: In(ids) },
          })
        : [];
      const byId = new Map(found.map((r) => [r[id], r]));
      for (const row of rows) for (const path of paths) row[path] = byId.get(row[key])?.[path] ?? null;
    }
    return rows.map((row) => new BaseRecord(row, this));
  }
}

/** What `@adminjs/typeorm`'s constructor reads (metadata and name), bound to one DataSource. */
function boundModel(entity: EntityClass, dataSource: DataSource) {
  const repo = () => dataSource.getRepository(entity);
  return { name: entity.name, getRepository: repo };
}

/** AdminJS filter -> TypeORM where; `text` puts string values in the form the database holds (`searchableText`). */
export function whereOf(
  filter: Filter | undefined,
  exact: readonly string[] = [],
  text: (value: string) => string = (value) => value,
): FindOptionsWhere<ObjectLiteral> {
  const where: Record<string, unknown> = {};
  for (const [path, f] of Object.entries(filter?.filters ?? {})) {
    const property = f.property as BaseProperty & { column?: { propertyName: string } };
    const key = property.column?.propertyName ?? path;
    const value = f.value as string | { from?: string; to?: string };
    const type = property.type();
    if (type === 'datetime' || type === 'date') {
      const range = typeof value === 'string' ? { from: value } : value;
      const from = range.from ? new Date(range.from) : undefined;
      const to = range.to ? new Date(range.to) : undefined;
      if ((from && Number.isNaN(from.getTime())) || (to && Number.isNaN(to.getTime()))) continue;
      if (from && to) where[key] = Between(from, to);
      else if (from) where[key] = MoreThanOrEqual(from);
      else if (to) where[key] = LessThanOrEqual(to);
    } else if (type === 'number') {
      // The number columns are 32-bit integers: PostgreSQL refuses 1.5 or 2^31 compared with one, so such a filter
      // is left out like any other it cannot use.
      const n = Number(value);
      if (value === '' || !Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) continue;
      where[key] = n;
    } else if (type === 'boolean') {
      where[key] = value === 'true';
    } else if (type === 'reference' || property.isId() || exact.includes(key)) {
      where[key] = text(String(value));
    } else {
      where[key] = containing(key, text(String(value)));
    }
  }
  return where as FindOptionsWhere<ObjectLiteral>;
}

/**
 * "Contains", taken literally: `%` and `_` in the value match themselves. `!` is the escape character, which
 * PostgreSQL, MySQL/MariaDB and SQLite read the same way (a backslash is a string escape in MySQL, none in SQLite).
 */
function containing(key: string, value: string) {
  const name = `contains_${key.replace(/\W/g, '_')}`; // one parameter per column: several filters in one query
  return Raw((column) => `${column} LIKE :${name} ESCAPE '!'`, { [name]: `%${value.replace(/[!%_]/g, (c) => `!${c}`)}%` });
}
