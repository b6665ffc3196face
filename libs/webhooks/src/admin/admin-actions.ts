import type { ActionContext, ActionRequest, ActionResponse } from 'adminjs';
import { WebhooksError } from '../errors/webhooks.errors.js';
import type { Components } from './components.js';

/** Building blocks of the admin's actions: read-only resources, service calls as actions, bulk actions. */

export function readOnly() {
  return {
    new: { isAccessible: false },
    edit: { isAccessible: false },
    delete: { isAccessible: false },
    bulkDelete: { isAccessible: false },
  };
}

export function isActive(active: boolean) {
  return ({ record }: { record?: { param(p: string): unknown } }) => !record || record.param('active') === active;
}

export type Handler = (request: ActionRequest, context: ActionContext) => Promise<ActionResponse>;

/**
 * Runs an action; a library error (bad input, a disabled endpoint, an unknown id) becomes an error notice with the
 * library's message instead of a crash page. `form` actions rethrow validation errors for AdminJS to put on fields.
 */
export function operation(run: Handler, kind: 'form' | 'action' = 'action') {
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
export function recordOperation(run: (id: string, request: ActionRequest, context: ActionContext) => Promise<ActionResponse>) {
  return operation(async (request, context) => {
    if (request.method !== 'post') return { record: context.record!.toJSON(context.currentAdmin) };
    return run(context.record!.id(), request, context);
  });
}

export function bulkAction(c: Components, name: string, icon: string, run: (id: string) => Promise<void>, done: string) {
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

export function toRecordJSON(context: ActionContext, params: Record<string, unknown>) {
  return context.resource.build(params as never).toJSON(context.currentAdmin);
}
