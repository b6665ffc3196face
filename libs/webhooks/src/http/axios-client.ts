import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { NetworkPolicy } from '../security/network-policy.js';
import { memoized } from '../util/memo.js';
import type { WebhookHttpClient, WebhookRequest, WebhookResponse } from './exchange.js';

/**
 * axios with keep-alive agents, no redirects (a 3xx is an answer, never followed), no response transform,
 * every status accepted as a response, and a body read that stops at the limit.
 *
 * The `NetworkPolicy` guards every connection: the agents resolve host names through its lookup (the socket
 * connects to the address that was checked), and addresses written in the URL are checked before sending.
 */
@Injectable()
export class AxiosWebhookHttpClient implements WebhookHttpClient, OnApplicationShutdown {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly axios: AxiosInstance;
  /** The policy does not change while the process runs: each URL is judged once. */
  private readonly literalProblem = memoized((url) => this.judgeLiteral(url));

  constructor(private readonly policy: NetworkPolicy) {
    const lookup = policy.allowAll ? undefined : policy.lookup;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, lookup });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, lookup });
    this.axios = axios.create({
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      responseType: 'stream',
      decompress: true,
      validateStatus: () => true,
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      proxy: false,
    });
  }

  async send(request: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const blocked = this.policy.allowAll ? null : this.literalProblem(request.url);
    if (blocked)
      return { status: null, headers: null, body: null, durationMs: elapsed(), error: `EWEBHOOKBLOCKED: ${blocked}`, blocked: true };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    try {
      const response = await this.axios.request<Readable>({
        url: request.url,
        method: request.method,
        headers: request.headers,
        data: request.body,
        signal: controller.signal,
      });
      const body = await readCapped(response.data, request.responseBodyLimitBytes, controller.signal);
      return { status: response.status, headers: flattenHeaders(response.headers), body, durationMs: elapsed(), error: null };
    } catch (error) {
      const timedOut = controller.signal.aborted;
      const refused = blockedBy(error);
      return {
        status: null,
        headers: null,
        body: null,
        durationMs: elapsed(),
        error: refused
          ? `EWEBHOOKBLOCKED: ${refused}`
          : timedOut
            ? `ETIMEDOUT: no complete response within ${request.timeoutMs} ms`
            : describeError(error),
        ...(refused ? { blocked: true } : {}),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sockets skip the lookup for IP literals, so those are judged here (after URL normalisation). */
  private judgeLiteral(url: string): string | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null; // axios reports the bad URL
    }
    return isIP(parsed.hostname.replace(/^\[|\]$/g, '')) ? this.policy.urlProblem(parsed) : null;
  }

  onApplicationShutdown(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads up to `limit` bytes, then stops reading and drops the connection's remaining body. */
function readCapped(stream: Readable, limit: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      cleanup();
      resolve(Buffer.concat(chunks, Math.min(size, limit)).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        stream.destroy(); // discard the rest without buffering it
        finish();
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => onError(new Error('aborted'));
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    if (limit === 0) {
      stream.destroy();
      resolve('');
      return;
    }
    stream.on('data', onData);
    stream.on('end', finish);
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort);
  });
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** The policy's message when the error (or one it wraps) is a refused address. */
function blockedBy(error: unknown): string | undefined {
  for (
    let e = error as (Error & { code?: string; cause?: unknown }) | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (e.code === 'EWEBHOOKBLOCKED' && e.name === 'BlockedAddressError') return e.message;
  }
  return undefined;
}

function describeError(error: unknown): string {
  if (isAxiosError(error)) {
    const code = error.code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
