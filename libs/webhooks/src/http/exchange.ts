/**
 * One exchange with a receiver, as the delivery engine sees it: the request it sends, the response it records
 * (also for attempts that sent nothing), and the client interface a host may replace.
 */

export interface WebhookRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
  /** Deadline for the whole exchange, connect to the end of the (capped) response body. */
  timeoutMs: number;
  /** Bytes of response body to read; the rest is discarded as it arrives. */
  responseBodyLimitBytes: number;
}

export interface WebhookResponse {
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  durationMs: number;
  /** Set when no response arrived: `ETIMEDOUT: ...`, `ECONNREFUSED: ...`. */
  error: string | null;
  /** The network policy refused the address: nothing was sent, and retrying will not help. */
  blocked?: boolean;
  /** Nothing was sent for a reason on this side (endpoint disabled, a transformer failed): says nothing of the receiver. */
  unsent?: boolean;
}

/** Sends one webhook request. Swap the implementation by providing `WEBHOOK_HTTP_CLIENT`. */
export interface WebhookHttpClient {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

export const WEBHOOK_HTTP_CLIENT = Symbol('WEBHOOK_HTTP_CLIENT');

/** A response-shaped value for an attempt that sent nothing (disabled endpoint, lost worker). */
export function notSent(error: string): WebhookResponse {
  return { status: null, headers: null, body: null, durationMs: 0, error, unsent: true };
}
