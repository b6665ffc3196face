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
  properties: {
    ownerId: 'Owner',
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
