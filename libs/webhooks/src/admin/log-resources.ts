import type { ActionResponse, ResourceWithOptions } from 'adminjs';
import { ATTEMPT_TRIGGERS, DELIVERY_STATUSES, WebhookAttempt, WebhookDelivery, WebhookEvent } from '../entities/index.js';
import type { WebhooksService } from '../webhooks.service.js';
import { BoundTypeormResource } from './bound-resource.js';
import type { Components, Navigation } from './components.js';
import { bulkAction, readOnly, recordOperation, toRecordJSON } from './admin-actions.js';

/**
 * The delivery log in the admin: events, deliveries (with redelivery) and attempts, read-only otherwise. A delivery's
 * owner is its event's (an endpoint can change owners; its earlier deliveries stay with their events' owners).
 */

export function eventResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
  return {
    resource: new BoundTypeormResource(WebhookEvent, webhooks.dataSource, { omitInList: ['payload'], exact: ['ownerId'] }),
    options: {
      navigation,
      sort: { sortBy: 'id', direction: 'desc' },
      listProperties: ['id', 'topic', 'ownerId', 'entityName', 'entityId', 'createdAt'],
      filterProperties: ['topic', 'ownerId', 'entityName', 'entityId', 'createdAt', 'id'],
      showProperties: ['id', 'topic', 'ownerId', 'entityName', 'entityId', 'createdAt', 'payload'],
      properties: { payload: { type: 'textarea', components: { show: c.JsonView } } },
      actions: readOnly(),
    },
  };
}

export function deliveryResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
  const statuses = DELIVERY_STATUSES.map((v) => ({ value: v, label: v }));
  return {
    resource: new BoundTypeormResource(WebhookDelivery, webhooks.dataSource, { exact: ['status'], related: { ownerId: 'event' } }),
    options: {
      navigation,
      sort: { sortBy: 'id', direction: 'desc' },
      listProperties: ['id', 'endpointId', 'ownerId', 'topic', 'status', 'attemptCount', 'lastResponseStatus', 'createdAt'],
      filterProperties: ['endpointId', 'ownerId', 'status', 'topic', 'createdAt', 'eventId'],
      showProperties: [
        'id',
        'endpointId',
        'eventId',
        'ownerId',
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
        ownerId: { description: "The event's owner (tenant); empty: an event without an owner." },
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

export function attemptResource(webhooks: WebhooksService, c: Components, navigation: Navigation): ResourceWithOptions {
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
