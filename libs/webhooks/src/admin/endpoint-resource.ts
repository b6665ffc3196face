import { BaseProperty, BaseRecord, BaseResource, ValidationError, type Filter, type PropertyType } from 'adminjs';
import type { FindOptionsWhere } from 'typeorm';
import { WebhookEndpoint } from '../entities/index.js';
import { healthStateWhere } from '../endpoints/endpoint-health.js';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, type AdminWidget, type EndpointInput } from '../endpoints/endpoint-input.js';
import type { WebhooksService } from '../webhooks.service.js';
import { searchableText } from '../util/stored-text.js';
import { whereOf } from './bound-resource.js';
import { endpointInput, endpointParams } from './endpoint-form.js';

export const ENDPOINT_RESOURCE_ID = 'WebhookEndpoint';

const PROPERTY_TYPES: Record<AdminWidget, PropertyType> = {
  text: 'string',
  textarea: 'textarea',
  list: 'string',
  boolean: 'boolean',
  integer: 'number',
  json: 'textarea',
  select: 'string',
};

/** [path, type, sortable column?]: the endpoint fields (from their table), then what the view adds. */
const PROPERTIES: [string, PropertyType, boolean][] = [
  ['id', 'string', true],
  ...ENDPOINT_FIELD_NAMES.map((name): [string, PropertyType, boolean] => {
    const { widget, sortable } = ENDPOINT_FIELDS[name].admin as { widget: AdminWidget; sortable?: boolean };
    return [name, PROPERTY_TYPES[widget], sortable ?? false];
  }),
  ['health', 'string', false],
  ['successRate', 'string', false],
  ['lastDeliveryAt', 'datetime', false],
  ['delivery', 'string', false],
  ['inFlight', 'number', false],
  ['held', 'number', false],
  ['circuit', 'string', false],
  ['circuitOpenedAt', 'datetime', false],
  ['circuitRetryAt', 'datetime', false],
  ['pausedUntil', 'datetime', false],
  ['consecutiveFailures', 'number', true],
  ['lastSuccessAt', 'datetime', true],
  ['lastFailureAt', 'datetime', true],
  ['failingSince', 'datetime', true],
  ['disabledAt', 'datetime', true],
  ['disabledReason', 'string', false],
  ['createdAt', 'datetime', true],
  ['updatedAt', 'datetime', true],
];

/**
 * Webhook endpoints in AdminJS, read and written only through `WebhooksService`: records are built from the
 * service's endpoint view (no secret, sensitive header values and the OAuth2 client secret masked), and creating
 * or editing runs the service's validation, whose problems appear on the form fields.
 */
export class WebhookEndpointResource extends BaseResource {
  private readonly props: BaseProperty[];
  private readonly text: (text: string) => string;

  constructor(private readonly webhooks: WebhooksService) {
    super(WebhookEndpoint);
    this.text = searchableText(webhooks.dataSource);
    this.props = PROPERTIES.map(
      ([path, type, sortable], i) => new BaseProperty({ path, type, isId: path === 'id', isSortable: sortable, position: i }),
    );
  }

  override id(): string {
    return ENDPOINT_RESOURCE_ID;
  }

  override databaseName(): string {
    return String(this.webhooks.dataSource.options.database ?? 'typeorm');
  }

  override databaseType(): string {
    return this.webhooks.dataSource.options.type;
  }

  override properties(): BaseProperty[] {
    return this.props;
  }

  override property(path: string): BaseProperty | null {
    return this.props.find((p) => p.path() === path) ?? null;
  }

  private repo() {
    return this.webhooks.dataSource.getRepository(WebhookEndpoint);
  }

  override async count(filter: Filter): Promise<number> {
    return this.repo().count({ where: this.where(filter) });
  }

  override async find(
    filter: Filter,
    params: { limit?: number; offset?: number; sort?: { sortBy?: string; direction?: 'asc' | 'desc' } },
  ): Promise<BaseRecord[]> {
    const { limit = 10, offset = 0, sort = {} } = params;
    const sortable = PROPERTIES.filter(([, , s]) => s).map(([p]) => p);
    const sortBy = sort.sortBy && sortable.includes(sort.sortBy) ? sort.sortBy : 'createdAt';
    const rows = await this.repo().find({
      select: { id: true },
      where: this.where(filter),
      order: { [sortBy]: sort.direction === 'asc' ? 'ASC' : 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return this.records(rows.map((r) => r.id));
  }

  override async findOne(id: string): Promise<BaseRecord | null> {
    return (await this.records([String(id)]))[0] ?? null;
  }

  override async findMany(ids: (string | number)[]): Promise<BaseRecord[]> {
    return this.records(ids.map(String));
  }

  /** Params are the form's; returns the new endpoint's params plus `secret`, which the create action hands out once. */
  override async create(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const created = await this.service(() => this.webhooks.createEndpoint(endpointInput(params) as EndpointInput));
    return { ...endpointParams(created), secret: created.secret };
  }

  override async update(id: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const current = endpointParams(await this.webhooks.getEndpoint(id));
    const view = await this.service(() => this.webhooks.updateEndpoint(id, endpointInput(params, current)));
    return endpointParams(view);
  }

  override async delete(id: string): Promise<void> {
    await this.webhooks.deleteEndpoint(id);
  }

  private async records(ids: string[]): Promise<BaseRecord[]> {
    const views = await this.webhooks.getEndpoints(ids.map(this.text));
    return views.map((view) => new BaseRecord(endpointParams(view), this));
  }

  /** Column filters, and the health filter as the conditions of `healthState()` (computed properties are not columns). */
  private where(filter: Filter): FindOptionsWhere<WebhookEndpoint> | FindOptionsWhere<WebhookEndpoint>[] {
    const where = whereOf(filter, ['method', 'ownerId'], this.text) as Record<string, unknown>;
    const health = filter?.filters?.health?.value;
    delete where.health;
    delete where.successRate;
    delete where.lastDeliveryAt;
    return typeof health === 'string' ? healthStateWhere(health, where) : where;
  }

  /**
   * Runs a service call, turning its validation problems into AdminJS form errors. The one conflict creating or
   * editing an endpoint meets is the owner's endpoint limit (`maxEndpointsPerOwner`): it goes on the owner field.
   */
  private async service<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof WebhookValidationError) {
        const fields = Object.fromEntries(
          Object.entries(error.fieldErrors).map(([field, messages]) => [field, { message: messages.join('; '), type: 'validation' }]),
        );
        throw new ValidationError(fields, { message: error.message, type: 'validation' });
      }
      if (error instanceof WebhookConflictError) {
        const conflict = { message: error.message, type: 'conflict' };
        throw new ValidationError({ ownerId: conflict }, conflict);
      }
      if (error instanceof WebhookNotFoundError) throw new ValidationError({}, { message: error.message, type: 'notFound' });
      throw error;
    }
  }
}
