import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ComponentLoader,
  type ActionContext,
  type ActionRequest,
  type ActionResponse,
  type AdminJSOptions,
  type ResourceWithOptions,
} from 'adminjs';
import { ATTEMPT_TRIGGERS, DELIVERY_STATUSES, WebhookAttempt, WebhookDelivery, WebhookEvent } from '../entities/index.js';
import { HEALTH_STATES } from '../endpoints/endpoint-health.js';
import { WebhooksError, WebhookValidationError } from '../errors/webhooks.errors.js';
import { DEFAULT_GRACE_SECONDS } from '../endpoints/endpoint-secrets.js';
import type { WebhooksService } from '../webhooks.service.js';
import { BoundTypeormResource } from './bound-resource.js';
import { ENDPOINT_RESOURCE_ID, WebhookEndpointResource } from './endpoint-resource.js';
import { endpointParams } from './endpoint-form.js';

export interface WebhooksAdminOptions {
  /** Add the components to this loader (a host that has its own components passes its loader). */
  componentLoader?: ComponentLoader;
  /** Sidebar group of the webhook resources. @default 'Webhooks' */
  navigation?: string;
  /** Deliveries listed on an endpoint's page. @default 20 */
  recentDeliveries?: number;
}

export interface WebhooksAdmin {
  /** Endpoints, events, deliveries and attempts, with their actions. */
  resources: ResourceWithOptions[];
  /** The health dashboard (use it as the AdminJS home page). */
  dashboard: NonNullable<AdminJSOptions['dashboard']>;
  componentLoader: ComponentLoader;
  /** English labels for the resources and actions. */
  locale: NonNullable<AdminJSOptions['locale']>;
  /** Everything above as AdminJS options, merged with the host's own (`rootPath`, `branding`...). */
  options(overrides?: Partial<AdminJSOptions>): AdminJSOptions;
}

type Components = ReturnType<typeof registerComponents>;

/**
 * The AdminJS pieces of the webhook admin, bound to one `WebhooksService` (and so to its DataSource). Every action
 * calls the service: the admin has no delivery logic of its own.
 *
 * ```ts
 * AdminModule.createAdminAsync({
 *   customLoader: ExpressLoader,
 *   inject: [WebhooksService],
 *   useFactory: (webhooks: WebhooksService) => ({
 *     adminJsOptions: webhooksAdmin(webhooks).options({ rootPath: '/admin' }),
 *     ...webhooksAdminAuth({ email, password, cookieSecret }),
 *   }),
 * })
 * ```
 */
export function webhooksAdmin(webhooks: WebhooksService, options: WebhooksAdminOptions = {}): WebhooksAdmin {
  const componentLoader = options.componentLoader ?? new ComponentLoader();
  const components = registerComponents(componentLoader);
  const navigation = { name: options.navigation ?? 'Webhooks', icon: 'Send' };
  const resources = [
    endpointResource(webhooks, components, navigation, options.recentDeliveries ?? 20),
    eventResource(webhooks, components, navigation),
    deliveryResource(webhooks, components, navigation),
    attemptResource(webhooks, components, navigation),
  ];
  const dashboard = {
    component: components.Dashboard,
    handler: async () => webhooks.overview(),
  };
  const locale = { language: 'en', availableLanguages: ['en'], translations: { en: TRANSLATIONS } };
  return {
    resources,
    dashboard,
    componentLoader,
    locale,
    options: (overrides = {}) => ({
      rootPath: '/admin',
      branding: { companyName: 'Webhooks', withMadeWithLove: false },
      ...overrides,
      resources: [...resources, ...(overrides.resources ?? [])],
      dashboard: overrides.dashboard ?? dashboard,
      componentLoader,
      locale: overrides.locale ?? locale,
    }),
  };
}

/** The React components, bundled by AdminJS from their .tsx sources. */
function registerComponents(loader: ComponentLoader) {
  const dir = componentsDir();
  const add = (name: string) => loader.add(`Webhooks${name}`, join(dir, `${name}.tsx`));
  return {
    Dashboard: add('Dashboard'),
    HealthBadge: add('HealthBadge'),
    StatusBadge: add('StatusBadge'),
    JsonView: add('JsonView'),
    RecentDeliveries: add('RecentDeliveries'),
    Attempts: add('Attempts'),
    EndpointCreate: add('EndpointCreate'),
    SendTest: add('SendTest'),
    RotateSecret: add('RotateSecret'),
    Recover: add('Recover'),
    ConfirmAction: add('ConfirmAction'),
    BulkConfirm: add('BulkConfirm'),
    TopicsList: add('TopicsList'),
  };
}

/** Next to this module; in a build that compiled the library to `dist/`, the sources are beside it in the tree. */
function componentsDir(): string {
  const here = join(import.meta.dirname, 'components');
  if (existsSync(join(here, 'Dashboard.tsx'))) return here;
  const source = here.replace(/([\\/])dist[\\/]/, '$1');
  if (existsSync(join(source, 'Dashboard.tsx'))) return source;
  throw new Error(`The webhook admin components were not found in ${here}: copy libs/webhooks/src/admin/components with the build.`);
}

type Navigation = { name: string; icon: string };

function endpointResource(webhooks: WebhooksService, c: Components, navigation: Navigation, recentLimit: number): ResourceWithOptions {
  const topicValues = () => {
    const topics = webhooks.topics();
    const prefixes = [...new Set(topics.map((t) => `${t.split('.')[0]}.*`))];
    return ['*', ...prefixes, ...topics].map((t) => ({ value: t, label: t }));
  };
  const recordAction = (
    name: string,
    run: (id: string, request: ActionRequest) => Promise<ActionResponse>,
    extra: Record<string, unknown> = {},
  ) => ({
    actionType: 'record' as const,
    component: c.ConfirmAction,
    handler: recordOperation(async (id, request, context) => {
      const result = await run(id, request);
      return { ...result, record: toRecordJSON(context, endpointParams(await webhooks.getEndpoint(id))) };
    }),
    ...extra,
    name,
  });

  return {
    resource: new WebhookEndpointResource(webhooks),
    options: {
      id: ENDPOINT_RESOURCE_ID,
      navigation,
      sort: { sortBy: 'createdAt', direction: 'desc' },
      listProperties: ['url', 'topics', 'health', 'successRate', 'delivery', 'lastDeliveryAt'],
      filterProperties: ['url', 'health', 'active', 'description', 'createdAt'],
      showProperties: [
        'id',
        'url',
        'description',
        'topics',
        'active',
        'health',
        'successRate',
        'delivery',
        'circuit',
        'circuitRetryAt',
        'pausedUntil',
        'inFlight',
        'held',
        'consecutiveFailures',
        'lastDeliveryAt',
        'lastSuccessAt',
        'lastFailureAt',
        'failingSince',
        'disabledAt',
        'disabledReason',
        'method',
        'timeoutMs',
        'maxInFlight',
        'rateLimit',
        'retrySchedule',
        'headers',
        'filters',
        'fields',
        'transform',
        'headerProvider',
        'auth',
        'createdAt',
        'updatedAt',
        'recentDeliveries',
      ],
      editProperties: [
        'url',
        'description',
        'topics',
        'method',
        'timeoutMs',
        'maxInFlight',
        'rateLimit',
        'retrySchedule',
        'headers',
        'filters',
        'fields',
        'transform',
        'headerProvider',
        'auth',
      ],
      properties: {
        id: { isVisible: { list: false, show: true, edit: false, filter: false } },
        url: { isTitle: true, isRequired: true, description: 'Where events are sent (https; http only where allowed).' },
        topics: {
          isArray: true,
          isRequired: true,
          availableValues: topicValues(),
          components: { list: c.TopicsList, show: c.TopicsList },
          description: 'Topics (order.created) or patterns (order.*, *).',
        },
        health: {
          availableValues: HEALTH_STATES.map((v) => ({ value: v, label: v })),
          components: { list: c.HealthBadge, show: c.HealthBadge },
          isSortable: false,
        },
        successRate: { isSortable: false, description: 'Succeeded of finished deliveries in the health window (tests excluded).' },
        delivery: { isSortable: false, description: 'In flight, held, circuit and Retry-After pause, across all workers (from Redis).' },
        circuit: {
          isSortable: false,
          description: 'open: connection errors or timeouts in a row; deliveries are held until a probe gets an answer.',
        },
        circuitRetryAt: { isSortable: false, description: 'When the open circuit lets its probe go.' },
        pausedUntil: { isSortable: false, description: 'The receiver asked (429/503 with Retry-After) to wait until then.' },
        maxInFlight: { description: 'Deliveries in flight at most, across workers; empty: the module default.' },
        rateLimit: { description: 'JSON { "max": 10, "perMs": 1000 }: requests per window at most; empty: the module default.' },
        method: {
          availableValues: [
            { value: 'POST', label: 'POST' },
            { value: 'PUT', label: 'PUT' },
          ],
        },
        timeoutMs: { description: 'Request timeout in ms; empty: the module default.' },
        retrySchedule: { description: 'JSON list of retry delays in ms, e.g. [5000, 300000]; empty: the module default.' },
        headers: { description: 'JSON object of extra request headers. Sensitive values show as ••••••; leave them so to keep them.' },
        filters: { description: 'JSON conditions per entity, e.g. {"order": {"status": {"in": ["paid"]}}}; empty: every event.' },
        fields: { description: 'JSON {"include": [...], "exclude": [...], "redact": [...]} for data and changes.' },
        auth: {
          description:
            'JSON OAuth2 client credentials: {"type": "oauth2", "tokenUrl": "...", "clientId": "...", "clientSecret": "..."}. The client secret shows as ••••••; leave it so to keep it.',
        },
        recentDeliveries: {
          type: 'string',
          components: { show: c.RecentDeliveries },
          isVisible: { list: false, show: true, edit: false, filter: false },
        },
      },
      actions: {
        new: {
          component: c.EndpointCreate,
          handler: operation(async (request, context) => {
            if (request.method !== 'post') return {};
            const params = await context.resource.create(request.payload ?? {}, context);
            const { secret, ...rest } = params as Record<string, unknown> & { secret: string };
            return {
              record: toRecordJSON(context, rest),
              secret,
              notice: { type: 'success', message: 'Endpoint created. Copy its signing secret now: it is not shown again.' },
            };
          }, 'form'),
        },
        show: {
          after: async (response: ActionResponse) => {
            if (!response.record?.id) return response;
            const deliveries = await webhooks.listDeliveries(response.record.id, { limit: recentLimit });
            response.record.params.recentDeliveries = JSON.stringify(
              deliveries.map(({ id, topic, status, attemptCount, lastResponseStatus, lastError, createdAt, updatedAt }) => ({
                id,
                topic,
                status,
                attemptCount,
                lastResponseStatus,
                lastError,
                createdAt,
                updatedAt,
              })),
            );
            return response;
          },
        },
        sendTest: recordAction(
          'sendTest',
          async (id) => {
            const result = await webhooks.sendTest(id);
            return {
              result,
              notice: result.ok
                ? { type: 'success', message: `Test delivered: HTTP ${result.status} in ${result.durationMs} ms.` }
                : { type: 'error', message: `Test failed: ${result.error ?? `HTTP ${result.status}`}` },
            };
          },
          { icon: 'Send', component: c.SendTest, isVisible: isActive(true) },
        ),
        rotateSecret: recordAction(
          'rotateSecret',
          async (id, request) => {
            const grace = request.payload?.graceSeconds;
            const graceSeconds = grace === undefined || grace === '' ? DEFAULT_GRACE_SECONDS : Number(grace);
            if (!Number.isInteger(graceSeconds))
              throw new WebhookValidationError(`graceSeconds must be a whole number of seconds (got ${JSON.stringify(grace)}).`);
            const rotated = await webhooks.rotateSecret(id, { graceSeconds });
            return {
              secret: rotated.secret,
              previousSecretsExpireAt: rotated.previousSecretsExpireAt,
              notice: { type: 'success', message: 'Secret rotated. Copy the new secret now: it is not shown again.' },
            };
          },
          { icon: 'Key', component: c.RotateSecret },
        ),
        enable: recordAction(
          'enable',
          async (id) => {
            await webhooks.enable(id);
            return { notice: { type: 'success', message: 'Endpoint enabled; its health starts again as untested.' } };
          },
          { icon: 'Play', isVisible: isActive(false) },
        ),
        disable: recordAction(
          'disable',
          async (id) => {
            await webhooks.disable(id);
            return {
              notice: {
                type: 'success',
                message: 'Endpoint disabled; its pending deliveries were marked failed (recover them after enabling).',
              },
            };
          },
          { icon: 'Pause', variant: 'danger', isVisible: isActive(true) },
        ),
        resetHealth: recordAction(
          'resetHealth',
          async (id) => {
            await webhooks.resetHealth(id);
            return { notice: { type: 'success', message: 'Health counters reset.' } };
          },
          { icon: 'RefreshCw' },
        ),
        recover: recordAction(
          'recover',
          async (id, request) => {
            const { count } = await webhooks.recover(id, {
              since: String(request.payload?.since ?? ''),
              ...(request.payload?.until ? { until: String(request.payload.until) } : {}),
            });
            return {
              count,
              notice: { type: 'success', message: `${count} failed ${count === 1 ? 'delivery' : 'deliveries'} scheduled again.` },
            };
          },
          { icon: 'RotateCcw', component: c.Recover, isVisible: isActive(true) },
        ),
        enableSelected: bulkAction(c, 'enableSelected', 'Play', (id) => webhooks.enable(id).then(() => undefined), 'enabled'),
        disableSelected: bulkAction(c, 'disableSelected', 'Pause', (id) => webhooks.disable(id).then(() => undefined), 'disabled'),
      },
    },
  };
}

function eventResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
  return {
    resource: new BoundTypeormResource(WebhookEvent, webhooks.dataSource, { omitInList: ['payload'] }),
    options: {
      navigation,
      sort: { sortBy: 'id', direction: 'desc' },
      listProperties: ['id', 'topic', 'entityName', 'entityId', 'createdAt'],
      filterProperties: ['topic', 'entityName', 'entityId', 'createdAt', 'id'],
      showProperties: ['id', 'topic', 'entityName', 'entityId', 'createdAt', 'payload'],
      properties: { payload: { type: 'textarea', components: { show: c.JsonView } } },
      actions: readOnly(),
    },
  };
}

function deliveryResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
  const statuses = DELIVERY_STATUSES.map((v) => ({ value: v, label: v }));
  return {
    resource: new BoundTypeormResource(WebhookDelivery, webhooks.dataSource, { exact: ['status'] }),
    options: {
      navigation,
      sort: { sortBy: 'id', direction: 'desc' },
      listProperties: ['id', 'endpointId', 'topic', 'status', 'attemptCount', 'lastResponseStatus', 'createdAt'],
      filterProperties: ['endpointId', 'status', 'topic', 'createdAt', 'eventId'],
      showProperties: [
        'id',
        'endpointId',
        'eventId',
        'topic',
        'status',
        'attemptCount',
        'lastResponseStatus',
        'lastError',
        'nextAttemptAt',
        'createdAt',
        'updatedAt',
        'attempts',
      ],
      properties: {
        status: { availableValues: statuses, components: { list: c.StatusBadge, show: c.StatusBadge } },
        attempts: { type: 'string', components: { show: c.Attempts }, isVisible: { list: false, show: true, edit: false, filter: false } },
      },
      actions: {
        ...readOnly(),
        show: {
          after: async (response: ActionResponse) => {
            if (!response.record?.id) return response;
            const delivery = await webhooks.getDelivery(response.record.id);
            response.record.params.attempts = JSON.stringify(delivery.attempts);
            return response;
          },
        },
        redeliver: {
          actionType: 'record',
          icon: 'RotateCw',
          component: c.ConfirmAction,
          isVisible: ({ record }: { record?: { param(p: string): unknown } }) =>
            ['succeeded', 'failed'].includes(String(record?.param('status'))),
          handler: recordOperation(async (id, _request, context) => {
            const { attempts: _attempts, ...params } = await webhooks.redeliver(id);
            return {
              record: toRecordJSON(context, params),
              notice: { type: 'success', message: 'Delivery scheduled again (attempts logged with trigger "manual").' },
            };
          }),
        },
        redeliverSelected: bulkAction(
          c,
          'redeliverSelected',
          'RotateCw',
          (id) => webhooks.redeliver(id).then(() => undefined),
          'scheduled again',
        ),
      },
    },
  };
}

function attemptResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
  return {
    resource: new BoundTypeormResource(WebhookAttempt, webhooks.dataSource, {
      omitInList: ['responseBody', 'responseHeaders'],
      exact: ['trigger'],
    }),
    options: {
      navigation,
      sort: { sortBy: 'id', direction: 'desc' },
      listProperties: ['id', 'deliveryId', 'attemptNumber', 'trigger', 'responseStatus', 'durationMs', 'error', 'createdAt'],
      filterProperties: ['deliveryId', 'trigger', 'responseStatus', 'createdAt'],
      showProperties: [
        'id',
        'deliveryId',
        'attemptNumber',
        'trigger',
        'requestUrl',
        'responseStatus',
        'durationMs',
        'error',
        'nextAttemptAt',
        'createdAt',
        'responseHeaders',
        'responseBody',
      ],
      properties: {
        trigger: { availableValues: ATTEMPT_TRIGGERS.map((v) => ({ value: v, label: v })) },
        responseBody: { type: 'textarea', components: { show: c.JsonView } },
        responseHeaders: { type: 'mixed', components: { show: c.JsonView } },
      },
      actions: readOnly(),
    },
  };
}

function readOnly() {
  return {
    new: { isAccessible: false },
    edit: { isAccessible: false },
    delete: { isAccessible: false },
    bulkDelete: { isAccessible: false },
  };
}

function isActive(active: boolean) {
  return ({ record }: { record?: { param(p: string): unknown } }) => !record || record.param('active') === active;
}

type Handler = (request: ActionRequest, context: ActionContext) => Promise<ActionResponse>;

/**
 * Runs an action; a library error (bad input, a disabled endpoint, an unknown id) becomes an error notice with the
 * library's message instead of a crash page. `form` actions rethrow validation errors for AdminJS to put on fields.
 */
function operation(run: Handler, kind: 'form' | 'action' = 'action') {
  return async (request: ActionRequest, _response: unknown, context: ActionContext): Promise<ActionResponse> => {
    try {
      return await run(request, context);
    } catch (error) {
      const validation = (error as { propertyErrors?: unknown; baseError?: { message?: string } }).propertyErrors;
      if (kind === 'form' && validation) {
        const record = context.resource.build(request.payload ?? {});
        record.errors = validation as never;
        return {
          record: record.toJSON(context.currentAdmin),
          notice: {
            type: 'error',
            message: (error as { baseError?: { message?: string } }).baseError?.message ?? 'There are validation errors.',
          },
        };
      }
      if (error instanceof WebhooksError) {
        return {
          ...(context.record ? { record: context.record.toJSON(context.currentAdmin) } : {}),
          notice: { type: 'error', message: error.message },
        };
      }
      throw error;
    }
  };
}

/** A record action whose GET only loads the record (for the action's page) and whose POST does the work. */
function recordOperation(run: (id: string, request: ActionRequest, context: ActionContext) => Promise<ActionResponse>) {
  return operation(async (request, context) => {
    if (request.method !== 'post') return { record: context.record!.toJSON(context.currentAdmin) };
    return run(context.record!.id(), request, context);
  });
}

function bulkAction(c: Components, name: string, icon: string, run: (id: string) => Promise<void>, done: string) {
  return {
    actionType: 'bulk' as const,
    icon,
    component: c.BulkConfirm,
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext): Promise<ActionResponse> => {
      const records = context.records ?? [];
      if (request.method !== 'post') return { records: records.map((r) => r.toJSON(context.currentAdmin)) };
      const failures: string[] = [];
      let ok = 0;
      for (const record of records) {
        try {
          await run(record.id());
          ok += 1;
        } catch (error) {
          if (!(error instanceof WebhooksError)) throw error;
          failures.push(`${record.id()}: ${error.message}`);
        }
      }
      const message = `${ok} of ${records.length} ${done}.${failures.length ? ` Not done: ${failures.join(' ')}` : ''}`;
      return {
        records: records.map((r) => r.toJSON(context.currentAdmin)),
        notice: { type: failures.length ? 'error' : 'success', message },
        redirectUrl: context.h.resourceUrl({ resourceId: context.resource.id() }),
      };
    },
  };
}

function toRecordJSON(context: ActionContext, params: Record<string, unknown>) {
  return context.resource.build(params as never).toJSON(context.currentAdmin);
}

const TRANSLATIONS = {
  labels: {
    Webhooks: 'Webhooks',
    WebhookEndpoint: 'Endpoints',
    WebhookEvent: 'Events',
    WebhookDelivery: 'Deliveries',
    WebhookAttempt: 'Attempts',
  },
  actions: {
    sendTest: 'Send test',
    rotateSecret: 'Rotate secret',
    enable: 'Enable',
    disable: 'Disable',
    resetHealth: 'Reset health',
    recover: 'Recover failed',
    enableSelected: 'Enable',
    disableSelected: 'Disable',
    redeliver: 'Redeliver',
    redeliverSelected: 'Redeliver',
  },
  properties: {
    topics: 'Topics',
    status: 'Status',
    attempts: 'Attempts',
    health: 'Health',
    successRate: 'Success rate',
    lastDeliveryAt: 'Last delivery',
    recentDeliveries: 'Recent deliveries',
    endpointId: 'Endpoint',
    eventId: 'Event',
    deliveryId: 'Delivery',
    responseStatus: 'Status code',
    lastResponseStatus: 'Last status code',
    durationMs: 'Duration (ms)',
    timeoutMs: 'Timeout (ms)',
    delivery: 'Delivery engine',
    circuit: 'Circuit',
    circuitRetryAt: 'Probe at',
    pausedUntil: 'Paused until',
    inFlight: 'In flight',
    held: 'Held',
    maxInFlight: 'Max in flight',
    rateLimit: 'Rate limit',
  },
};
