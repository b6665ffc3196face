import {
  applyDecorators,
  BadRequestException,
  Inject,
  ConflictException,
  createParamDecorator,
  mixin,
  UnauthorizedException,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { catchError, from, mergeMap, throwError, type Observable } from 'rxjs';
import { ModuleRef } from '@nestjs/core';
import type { Request } from 'express';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import type { WebhookReplayStore } from './replay-store.js';
import { checkTolerance, WebhookVerificationError, WebhookVerifier, type VerifiedWebhook, type WebhookHeaders } from './verify.js';

/** Secrets to verify with: one, several (during a rotation), or looked up per request. */
export type WebhookSecrets = string | readonly string[];

export interface WebhookReceiverOptions<TRequest = Request> {
  /**
   * The `whsec_...` secret(s) of the sender, or a function of the request that returns them (for example by
   * `request.params.endpointId`); an empty list rejects the request with reason `no-secret`. The function also
   * gets the `ModuleRef`, to reach the app's providers (a secret store, a repository).
   */
  secrets: WebhookSecrets | ((request: TRequest, moduleRef: ModuleRef) => WebhookSecrets | Promise<WebhookSecrets>);
  /** How far `webhook-timestamp` may be from now, in the past or the future, in seconds. Default 300. */
  toleranceSeconds?: number;
  /**
   * Refuses a request already received (409). Keys are `${id}.${timestamp}` kept for 2 × toleranceSeconds: the
   * longest a signed request stays inside the timestamp window, per route and per set of secrets (one message
   * goes to several endpoints with the same id). A failing handler takes its record back, so retries get in.
   * Without a store, replays inside the window pass.
   */
  replayStore?: WebhookReplayStore;
}

/** The request as the guard sees it: Express or Fastify, created with `{ rawBody: true }`. */
interface ReceiverRequest {
  headers: WebhookHeaders;
  rawBody?: Buffer | string;
  webhook?: VerifiedWebhook;
  /** Set by the guard when a replay store recorded this request, so a failing handler can take it back. */
  webhookReplay?: { store: WebhookReplayStore; key: string };
}

export const MISSING_RAW_BODY_MESSAGE =
  'The webhook receiver needs the raw request body, and request.rawBody is not set. Create the app with ' +
  'NestFactory.create(AppModule, { rawBody: true }) (or createNestApplication({ rawBody: true }) in tests); Nest ' +
  'then keeps the raw body of application/json requests, which is what webhook senders post.';

/**
 * Verifies the Standard Webhooks signature of the requests to a route (or every route of a controller) before the
 * handler runs, and stores the result on `request.webhook` (read it with `@WebhookMessage()`). Answers 401 with
 * `{ statusCode, error, message, reason }` when verification fails, 400 when the signed body is not JSON, and 409
 * on a replay when a `replayStore` is given. The app must be created with `{ rawBody: true }`.
 */
export function VerifyWebhook<TRequest = Request>(options: WebhookReceiverOptions<TRequest>): ClassDecorator & MethodDecorator {
  return applyDecorators(UseGuards(webhookReceiverGuard(options)), UseInterceptors(ForgetReplayOnError));
}

/**
 * A request is recorded by the replay store before its handler runs; if the handler then fails, the record is
 * dropped, so the sender's retry (which may carry the same timestamp when it comes within the second) gets in.
 */
class ForgetReplayOnError implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<ReceiverRequest>();
    return next.handle().pipe(
      catchError((error: unknown) => {
        const replay = request.webhookReplay;
        if (!replay?.store.forget) return throwError(() => error);
        return from(replay.store.forget(replay.key).catch(() => undefined)).pipe(mergeMap(() => throwError(() => error)));
      }),
    );
  }
}

/** The verified webhook that `@VerifyWebhook()` stored on the request. */
export const WebhookMessage: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VerifiedWebhook => {
    const webhook = context.switchToHttp().getRequest<ReceiverRequest>().webhook;
    if (!webhook) {
      throw new WebhookConfigurationError(
        '@WebhookMessage() found no verified webhook on the request: decorate the route or its controller with ' +
          '@VerifyWebhook({ secrets }).',
      );
    }
    return webhook;
  },
);

/** A guard class for these options (a distinct class per call, so each route keeps its own secrets). */
function webhookReceiverGuard<TRequest>(options: WebhookReceiverOptions<TRequest>): Type<CanActivate> {
  const toleranceSeconds = checkTolerance(options.toleranceSeconds);
  // A signed request is accepted from tolerance before its timestamp until tolerance after it: remembering it for
  // twice the tolerance from its first arrival covers the whole window.
  const ttlSeconds = Math.max(1, 2 * toleranceSeconds);
  const { secrets, replayStore } = options;
  // Fixed secrets: keys decoded on the first request (not at import time, before configuration is loaded), then reused.
  let fixedVerifier: WebhookVerifier | undefined;

  class WebhookReceiverGuard implements CanActivate {
    constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<ReceiverRequest>();
      const rawBody = request.rawBody;
      if (rawBody === undefined || rawBody === null) throw new WebhookConfigurationError(MISSING_RAW_BODY_MESSAGE);

      let webhook: VerifiedWebhook;
      let verifier: WebhookVerifier;
      try {
        if (typeof secrets === 'function') {
          verifier = new WebhookVerifier(await secrets(request as TRequest, this.moduleRef), { toleranceSeconds });
        } else {
          verifier = fixedVerifier ??= new WebhookVerifier(secrets, { toleranceSeconds });
        }
        webhook = verifier.verify(rawBody, request.headers);
      } catch (error) {
        if (error instanceof WebhookVerificationError) throw rejection(error);
        throw error;
      }

      if (replayStore) {
        // Scoped to this route (the same on every instance sharing the store) and to the sender whose secrets
        // verified it; not to the URL, whose spelling (case, trailing slash) the router ignores.
        const route = `${context.getClass().name}.${context.getHandler().name}`;
        const key = `${route}:${verifier.fingerprint}:${webhook.id}.${webhook.timestamp}`;
        if (!(await replayStore.remember(key, ttlSeconds))) {
          throw new ConflictException(`webhook ${webhook.id} with timestamp ${webhook.timestamp} was already received (replay)`);
        }
        request.webhookReplay = { store: replayStore, key };
      }
      request.webhook = webhook;
      return true;
    }
  }
  return mixin(WebhookReceiverGuard);
}

/** 401 for a failed check; 400 for a body that is signed correctly but is not JSON (the sender is authentic). */
function rejection(error: WebhookVerificationError): UnauthorizedException | BadRequestException {
  if (error.reason === 'invalid-payload') {
    return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: error.message, reason: error.reason });
  }
  return new UnauthorizedException({ statusCode: 401, error: 'Unauthorized', message: error.message, reason: error.reason });
}
