import { Resource as TypeormResource } from '@adminjs/typeorm';
import { BaseRecord, type BaseProperty, type Filter } from 'adminjs';
import { Between, In, LessThanOrEqual, Like, MoreThanOrEqual, type DataSource, type FindOptionsWhere, type ObjectLiteral } from 'typeorm';

type EntityClass = (new () => ObjectLiteral) & { name: string };

export interface BoundResourceOptions {
  /** Columns left out of list and search results (large text shown on the record page only). */
  omitInList?: string[];
  /** String columns filtered by exact value (status, trigger) rather than "contains". */
  exact?: string[];
}

/**
 * A read-only AdminJS resource for one entity of one DataSource. `@adminjs/typeorm` reads through the entity's
 * static `BaseEntity` methods, which follow whichever DataSource was initialised last; this one always reads the
 * DataSource it was given, so a host with several connections (or tests with several apps) sees the right rows.
 * Filters are converted here too: dates are compared as dates on every driver, strings as exact values where the
 * property has a list of values, as "contains" otherwise.
 */
export class BoundTypeormResource extends TypeormResource {
  constructor(
    private readonly entity: EntityClass,
    private readonly dataSource: DataSource,
    private readonly boundOptions: BoundResourceOptions = {},
  ) {
    super(boundModel(entity, dataSource) as never);
  }

  private repo() {
    return this.dataSource.getRepository(this.entity);
  }

  override async count(filter: Filter): Promise<number> {
    return this.repo().count({ where: whereOf(filter, this.boundOptions.exact) });
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
      where: whereOf(filter, this.boundOptions.exact),
      select: omit.size ? (columns.filter((c) => !omit.has(c)) as never) : undefined,
      take: limit,
      skip: offset,
      order: { [sortBy]: sort.direction === 'asc' ? 'ASC' : 'DESC' } as never,
    });
    return rows.map((row) => new BaseRecord(row, this));
  }

  override async findOne(id: string): Promise<BaseRecord | null> {
    const row = await this.repo().findOneBy({ [this.idName()]: id });
    return row ? new BaseRecord(row, this) : null;
  }

  override async findMany(ids: (string | number)[]): Promise<BaseRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.repo().findBy({ [this.idName()]: In(ids) });
    return rows.map((row) => new BaseRecord(row, this));
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
}

/** What `@adminjs/typeorm`'s constructor reads (metadata and name), bound to one DataSource. */
function boundModel(entity: EntityClass, dataSource: DataSource) {
  const repo = () => dataSource.getRepository(entity);
  return { name: entity.name, getRepository: repo };
}

/** AdminJS filter -> TypeORM where. */
export function whereOf(filter: Filter | undefined, exact: readonly string[] = []): FindOptionsWhere<ObjectLiteral> {
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
      const n = Number(value);
      if (value === '' || !Number.isFinite(n)) continue;
      where[key] = n;
    } else if (type === 'boolean') {
      where[key] = value === 'true';
    } else if (type === 'reference' || property.isId() || exact.includes(key)) {
      where[key] = String(value);
    } else {
      where[key] = Like(`%${String(value)}%`);
    }
  }
  return where as FindOptionsWhere<ObjectLiteral>;
}
