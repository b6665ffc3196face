import type { DataSource } from 'typeorm';
import { WebhookAttempt, type AttemptTrigger } from '../entities/index.js';
import { newId } from '../ids.js';
import type { WebhookResponse } from './http-client.js';

export interface AttemptRecord {
  deliveryId: string;
  attemptNumber: number;
  trigger: AttemptTrigger;
  requestUrl: string;
  response: WebhookResponse;
  error: string | null;
  nextAttemptAt: Date | null;
  at: Date;
}

/** Appends one row to the attempt log (a plain insert: no subscriber, no reload). */
export async function recordAttempt(dataSource: DataSource, record: AttemptRecord): Promise<void> {
  await dataSource
    .createQueryBuilder()
    .insert()
    .into(WebhookAttempt)
    .values({
      id: newId('att', record.at.getTime()),
      deliveryId: record.deliveryId,
      attemptNumber: record.attemptNumber,
      trigger: record.trigger,
      requestUrl: record.requestUrl,
      responseStatus: record.response.status,
      responseBody: record.response.body,
      responseHeaders: record.response.headers,
      durationMs: record.response.durationMs,
      error: record.error,
      nextAttemptAt: record.nextAttemptAt,
      createdAt: record.at,
    })
    .callListeners(false)
    .updateEntity(false)
    .execute();
}

/** A response-shaped value for an attempt that sent nothing (disabled endpoint, lost worker). */
export function notSent(error: string): WebhookResponse {
  return { status: null, headers: null, body: null, durationMs: 0, error };
}
