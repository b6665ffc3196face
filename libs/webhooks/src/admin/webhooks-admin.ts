import { ComponentLoader, type AdminJSOptions, type ResourceWithOptions } from 'adminjs';
import type { WebhooksService } from '../webhooks.service.js';
import { registerComponents } from './components.js';
import { endpointResource } from './endpoint-admin.js';
import { attemptResource, deliveryResource, eventResource } from './log-resources.js';

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
  /** The event catalogue page (`/admin/pages/eventCatalogue`): every topic with its JSON Schema. */
  pages: NonNullable<AdminJSOptions['pages']>;
  componentLoader: ComponentLoader;
  /** English labels for the resources and actions. */
  locale: NonNullable<AdminJSOptions['locale']>;
  /** Everything above as AdminJS options, merged with the host's own (`rootPath`, `branding`...). */
  options(overrides?: Partial<AdminJSOptions>): AdminJSOptions;
}

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
  const pages = {
    eventCatalogue: { component: components.EventCatalogue, icon: 'Book', handler: async () => webhooks.eventTypes() },
  };
  const locale = { language: 'en', availableLanguages: ['en'], translations: { en: TRANSLATIONS } };
  return {
    resources,
    dashboard,
    pages,
    componentLoader,
    locale,
    options: (overrides = {}) => ({
      rootPath: '/admin',
      branding: { companyName: 'Webhooks', withMadeWithLove: false },
      ...overrides,
      resources: [...resources, ...(overrides.resources ?? [])],
      dashboard: overrides.dashboard ?? dashboard,
      pages: { ...pages, ...overrides.pages },
      componentLoader,
      locale: overrides.locale ?? locale,
    }),
  };
}

const TRANSLATIONS = {
  pages: { eventCatalogue: 'Event catalogue' },
  labels: {
    Webhooks: 'Webhooks',
    eventCatalogue: 'Event catalogue',
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
  // Every property of the four resources, in sentence case (AdminJS would title-case the rest: "Last Success At").
  properties: {
    id: 'ID',
    url: 'URL',
    description: 'Description',
    topics: 'Topics',
    ownerId: 'Owner',
    active: 'Active',
    method: 'Method',
    timeoutMs: 'Timeout (ms)',
    maxInFlight: 'Max in flight',
    rateLimit: 'Rate limit',
    retrySchedule: 'Retry schedule',
    headers: 'Headers',
    filters: 'Filters',
    fields: 'Payload fields',
    transform: 'Transformer',
    headerProvider: 'Header provider',
    auth: 'Authentication',
    health: 'Health',
    successRate: 'Success rate',
    lastDeliveryAt: 'Last delivery',
    recentDeliveries: 'Recent deliveries',
    delivery: 'Delivery engine',
    circuit: 'Circuit',
    circuitOpenedAt: 'Circuit open since',
    circuitRetryAt: 'Probe at',
    pausedUntil: 'Paused until',
    inFlight: 'In flight',
    held: 'Held',
    consecutiveFailures: 'Failures in a row',
    lastSuccessAt: 'Last success',
    lastFailureAt: 'Last failure',
    failingSince: 'Failing since',
    disabledAt: 'Disabled at',
    disabledReason: 'Why disabled',
    createdAt: 'Created',
    updatedAt: 'Updated',
    topic: 'Topic',
    entityName: 'Entity',
    entityId: 'Entity ID',
    payload: 'Payload',
    endpointId: 'Endpoint',
    eventId: 'Event',
    status: 'Status',
    attemptCount: 'Attempts made',
    lastResponseStatus: 'Last status code',
    lastError: 'Last error',
    nextAttemptAt: 'Next attempt',
    attempts: 'Attempts',
    deliveryId: 'Delivery',
    attemptNumber: 'Attempt',
    trigger: 'Trigger',
    requestUrl: 'Request URL',
    responseStatus: 'Status code',
    durationMs: 'Duration (ms)',
    error: 'Error',
    responseHeaders: 'Response headers',
    responseBody: 'Response body',
  },
};
