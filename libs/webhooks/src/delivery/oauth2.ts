import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EndpointAuth } from '../endpoints/endpoint-input.js';
import { WEBHOOK_HTTP_CLIENT, type WebhookHttpClient } from '../http/exchange.js';

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is fetched again (a margin before it really expires). */
  refreshAt: number;
}

/** A token request failed; the message says how, never with the client secret. */
export class OAuth2TokenError extends Error {
  override name = 'OAuth2TokenError';
  constructor(
    message: string,
    /** The network policy refused the token URL: retrying will not help. */
    readonly blocked = false,
  ) {
    super(message);
  }
}

/** Token lifetime assumed when the server sends no `expires_in`. */
const DEFAULT_LIFETIME_S = 300;
const MAX_TOKEN_RESPONSE_BYTES = 65_536;

/**
 * OAuth2 client-credentials tokens for endpoints (RFC 6749 4.4): fetched on first use through the same guarded
 * HTTP client as deliveries (so the token URL is held to the network policy too), cached per endpoint and settings
 * until shortly before `expires_in`, shared by concurrent attempts (one request in flight per endpoint), and
 * dropped on demand when the receiver answers 401.
 */
@Injectable()
export class OAuth2Tokens {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(@Inject(WEBHOOK_HTTP_CLIENT) private readonly http: WebhookHttpClient) {}

  /** A valid access token for this endpoint's settings. */
  async token(endpointId: string, auth: EndpointAuth, timeoutMs: number): Promise<string> {
    const key = cacheKey(endpointId, auth);
    const cached = this.cache.get(key);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    let pending = this.inflight.get(key);
    if (!pending) {
      const requestedAt = Date.now(); // the lifetime counts from the request, not from a slow answer
      this.prune(requestedAt);
      pending = this.fetch(auth, timeoutMs)
        .then(({ token, lifetimeS }) => {
          // Refresh a little early: 10 % of the lifetime, at most a minute. expires_in 0: use once.
          const margin = Math.min(60_000, lifetimeS * 100);
          if (lifetimeS > 0) this.cache.set(key, { token, refreshAt: requestedAt + lifetimeS * 1000 - margin });
          return token;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Forgets the token (the receiver refused it); the next `token()` fetches a new one. */
  invalidate(endpointId: string, auth: EndpointAuth, token: string): void {
    const key = cacheKey(endpointId, auth);
    if (this.cache.get(key)?.token === token) this.cache.delete(key);
  }

  /** Drops tokens past their refresh time (deleted endpoints, changed settings). */
  private prune(now: number): void {
    for (const [key, cached] of this.cache) if (cached.refreshAt <= now) this.cache.delete(key);
  }

  private async fetch(auth: EndpointAuth, timeoutMs: number): Promise<{ token: string; lifetimeS: number }> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) form.set('scope', auth.scope);
    if (auth.audience) form.set('audience', auth.audience);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (auth.clientAuth === 'body') {
      form.set('client_id', auth.clientId);
      form.set('client_secret', auth.clientSecret);
    } else {
      // RFC 6749 2.3.1: each part form-encoded, then Basic.
      const user = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const response = await this.http.send({
      url: auth.tokenUrl,
      method: 'POST',
      headers,
      body: form.toString(),
      timeoutMs,
      responseBodyLimitBytes: MAX_TOKEN_RESPONSE_BYTES,
    });
    // Origin and path only: a query string may carry credentials.
    const url = new URL(auth.tokenUrl);
    const where = `OAuth2 token request to ${url.origin}${url.pathname}`;
    if (response.status === null)
      throw new OAuth2TokenError(`${where} failed: ${response.error ?? 'no response'}`, response.blocked === true);
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(response.body ?? '') as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (response.status < 200 || response.status >= 300) {
      const detail =
        typeof body?.error === 'string'
          ? ` (${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''})`
          : '';
      throw new OAuth2TokenError(`${where} failed: HTTP ${response.status}${detail.slice(0, 300)}`);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || !token || /[\r\n\0]/.test(token))
      throw new OAuth2TokenError(`${where} answered without a usable access_token`);
    const type = body?.token_type;
    if (type !== undefined && String(type).toLowerCase() !== 'bearer') {
      throw new OAuth2TokenError(`${where} answered token_type ${JSON.stringify(type)}; only bearer tokens are supported`);
    }
    const expiresIn = body?.expires_in === undefined ? DEFAULT_LIFETIME_S : Number(body.expires_in);
    return { token, lifetimeS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 0 };
  }
}

function cacheKey(endpointId: string, auth: EndpointAuth): string {
  return `${endpointId}:${createHash('sha256').update(JSON.stringify(auth)).digest('base64url')}`;
}
