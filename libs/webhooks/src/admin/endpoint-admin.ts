import type { ActionRequest, ActionResponse, ResourceWithOptions } from 'adminjs';
import { HEALTH_STATES } from '../endpoints/endpoint-health.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, type EndpointFieldSpec } from '../endpoints/endpoint-input.js';
import { DEFAULT_GRACE_SECONDS } from '../endpoints/endpoint-secrets.js';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import type { WebhooksService } from '../webhooks.service.js';
import { ENDPOINT_RESOURCE_ID, WebhookEndpointResource } from './endpoint-resource.js';
import { endpointParams } from './endpoint-form.js';
import type { Components, Navigation } from './components.js';
import { bulkAction, isActive, operation, recordOperation, toRecordJSON } from './admin-actions.js';

/** Endpoints in the admin: the list with health, the form, and the operator's actions on an endpoint. */

type FieldAdmin = EndpointFieldSpec<unknown>['admin'];

/** The endpoint fields whose admin settings pass `test`, in the table's order. */
function fieldsWhere(test: (admin: FieldAdmin) => boolean): string[] {
  return ENDPOINT_FIELD_NAMES.filter((name) => test(ENDPOINT_FIELDS[name].admin));
}

/** The times and reasons of an endpoint's history, most of which matter only when something is wrong. */
const HISTORY_FIELDS = ['lastDeliveryAt', 'lastSuccessAt', 'lastFailureAt', 'failingSince', 'disabledAt', 'disabledReason'];

/**
 * Shown on an endpoint's page only when set: the optional settings, and the history (a healthy endpoint's page does
 * not list "Failing since", "Disabled at", ...).
 */
const SHOWN_WHEN_SET = [
  ...ENDPOINT_FIELD_NAMES.filter((name) => !ENDPOINT_FIELDS[name].required && !['ownerId', 'active', 'method'].includes(name)),
  ...HISTORY_FIELDS,
];

/** Adds the show component that hides a property without a value to each of SHOWN_WHEN_SET. */
function hiddenWhenEmpty(properties: Record<string, Record<string, unknown>>, component: string): Record<string, Record<string, unknown>> {
  const out = { ...properties };
  for (const name of SHOWN_WHEN_SET) {
    const own = out[name] ?? {};
    out[name] = { ...own, components: { ...(own.components as object | undefined), show: component } };
  }
  return out;
}

/** AdminJS property options of the endpoint fields: required marks, help texts, choices. */
function fieldOptions(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    ENDPOINT_FIELD_NAMES.map((name) => {
      const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name];
      const { description, values } = spec.admin;
      return [
        name,
        {
          ...(spec.required ? { isRequired: true } : {}),
          ...(description ? { description } : {}),
          ...(values ? { availableValues: values.map((v) => ({ value: v, label: v })) } : {}),
        },
      ];
    }),
  );
}

export function endpointResource(
  webhooks: WebhooksService,
  c: Components,
  navigation: Navigation,
  recentLimit: number,
): ResourceWithOptions {
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
      listProperties: ['url', 'ownerId', 'topics', 'health', 'successRate', 'delivery', 'lastDeliveryAt'],
      filterProperties: ['url', 'ownerId', 'health', 'active', 'description', 'createdAt'],
      showProperties: [
        'id',
        ...fieldsWhere((a) => a.summary === true),
        'health',
        'successRate',
        // One line for in flight, held, circuit and pause (their own fields would repeat it).
        'delivery',
        'consecutiveFailures',
        ...HISTORY_FIELDS,
        ...fieldsWhere((a) => a.summary !== true),
        'createdAt',
        'updatedAt',
        'recentDeliveries',
      ],
      editProperties: fieldsWhere((a) => a.form !== false),
      properties: hiddenWhenEmpty(
        {
          id: { isVisible: { list: false, show: true, edit: false, filter: false } },
          ...fieldOptions(),
          url: { ...fieldOptions().url, isTitle: true },
          ownerId: {
            ...fieldOptions().ownerId,
            custom: { emptyText: "None: an operator endpoint, which gets every owner's events" },
            components: { show: c.OptionalField },
          },
          topics: {
            ...fieldOptions().topics,
            isArray: true,
            availableValues: topicValues(),
            components: { list: c.TopicsList, show: c.TopicsList },
          },
          health: {
            availableValues: HEALTH_STATES.map((v) => ({ value: v, label: v })),
            components: { list: c.HealthBadge, show: c.HealthBadge },
            isSortable: false,
          },
          successRate: { isSortable: false, description: 'Succeeded of finished deliveries in the health window (tests excluded).' },
          delivery: {
            isSortable: false,
            description:
              'Across all workers, from Redis: deliveries in flight and held; the circuit (open: connection errors or timeouts in a row, deliveries held until a probe gets an answer); a pause the receiver asked for (429/503 with Retry-After).',
          },
          recentDeliveries: {
            type: 'string',
            components: { show: c.RecentDeliveries },
            isVisible: { list: false, show: true, edit: false, filter: false },
          },
        },
        c.OptionalField,
      ),
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
